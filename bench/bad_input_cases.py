"""The cases of the bad-input catalogue (bench/bad_inputs.py), built on the tests' own helpers
(tests/ on sys.path): annotation files and config values through `snakemake -n` (the checks run at
parse), checkpoints, stores, CSVs, videos and `mcd ask` through the `mcd` verbs."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import shutil
import subprocess
from functools import cached_property
from pathlib import Path

import yaml

from bad_inputs import MARKER, Case
from test_input_checks import GOOD, WEIRD_ID, real_dataset, record

INT64_MAX = 2 ** 63 - 1
TINY = ["--set", "d_model=16", "--set", "word_dim=16", "--set", "ffn_hidden=24", "--set", "proj_dim=8"]


@contextlib.contextmanager
def _quiet():
    """Progress lines and logs of a fixture build are not the catalogue's output."""
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)


class Fixtures:
    """Inputs shared by cases, built once on first use under `root` (cases copy what they damage)."""

    def __init__(self, root: Path):
        self.root = root

    @cached_property
    def task(self) -> dict[str, Path]:
        """The synthetic feature-level task of the training tests: stores, annotations, vocab."""
        from avqa_synthetic import make_task, write_task_stores
        from test_train import _write_annotations

        from mcd_core.data.vocab import Vocab

        folder = self.root / "task"
        folder.mkdir(parents=True, exist_ok=True)
        questions, audio, visual, ids = make_task(6, seconds=6, audio_dim=5, visual_dim=7)
        a, v = write_task_stores(folder, audio, visual, ids)
        Vocab.from_questions(questions).save(folder / "vocab.json")
        return {"audio": a, "visual": v, "vocab": folder / "vocab.json",
                "train": _write_annotations(folder / "train.json", [q for q in questions if int(q.video_id) < 4]),
                "val": _write_annotations(folder / "val.json", [q for q in questions if int(q.video_id) >= 4])}

    @cached_property
    def best(self) -> Path:
        """best.pt of one tiny epoch on the task."""
        run = self.root / "run"
        with _quiet():
            code = _mcd_in_process(train_args(self.task, run, self.task))
        assert code == 0, "tiny training failed"
        return run / "best.pt"

    @cached_property
    def toy_run(self) -> Path:
        """A real tiny run (frames, audio, random-init backbones) that `mcd ask` can use."""
        from ask_tiny_run import build_tiny_run

        shutil.rmtree(self.root / "toy", ignore_errors=True)
        with _quiet():
            return build_tiny_run(self.root / "toy")

    @cached_property
    def video(self) -> Path:
        from videos import make_video

        return make_video(self.root / "videos" / "good.mp4", seconds=2, size=(32, 24))


def _mcd_in_process(args: list[str]) -> int:
    from mcd_core.cli import main

    return main(args)


def train_args(task: dict, out: Path, stores: dict, resume: bool = False) -> list[str]:
    return ["train", "--train", str(task["train"]), "--val", str(task["val"]), "--vocab", str(task["vocab"]),
            "--audio", str(stores["audio"]), "--visual", str(stores["visual"]), "--out-dir", str(out),
            "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--threads", "1", *TINY,
            *(["--resume"] if resume else [])]


def predict_args(task: dict, checkpoint: Path, out: Path, stores: dict | None = None) -> list[str]:
    stores = stores or task
    return ["predict", "--checkpoint", str(checkpoint), "--annotations", str(task["val"]), "--vocab",
            str(task["vocab"]), "--audio", str(stores["audio"]), "--visual", str(stores["visual"]),
            "--out", str(out), "--device", "cpu"]


def crafted(path: Path, folder: Path) -> Path:
    """A torch file whose unpickling would create folder/PWNED (tests/test_no_code_execution.py)."""
    from test_no_code_execution import _crafted

    return _crafted(path, folder / MARKER)


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


# -- annotation files, read by Snakemake at parse ----------------------------------------------------------

def annotations(name: str, split: str, records, names: tuple[str, ...], raw: bytes | None = None,
                args: tuple[str, ...] = ("-n",), check=None) -> Case:
    def setup(folder: Path, fx) -> list[str]:
        paths = real_dataset(folder, {**GOOD, split: records}, run=True)
        if raw is not None:
            (folder / paths[split]).write_bytes(raw)
        return ["snakemake", *args]
    return Case(name, "annotations", setup, names, check)


def _planned(folder: Path, run) -> bool:
    return "Job stats:" in run.out or "Nothing to be done" in run.out


def _ids_kept_whole(folder: Path, run) -> bool:
    return sorted(lines_of(folder / "results/real/shards/shard_00000.txt")) == sorted([WEIRD_ID, "v1", "v2"])


def _avqa(qid=7, video_name="-abc_000010") -> dict:
    return {"id": qid, "video_name": video_name, "video_id": 1, "question_text": "What is sounding?",
            "multi_choice": ["a", "b", "c", "d"], "answer": 0, "question_relation": "Both",
            "question_type": "Which"}


def avqa_vocab(name: str, records, names: tuple[str, ...]) -> Case:
    def setup(folder: Path, fx) -> list[str]:
        (folder / "train_qa.json").write_text(json.dumps(records))
        return ["mcd", "vocab", "--format", "avqa", "--train", "train_qa.json", "--out", "vocab.json"]
    return Case(name, "annotations", setup, names)


LATIN1 = '[{"video_id": "caf\xe9"}]'.encode("latin-1")
ANNOTATION_CASES = [
    annotations("truncated JSON", "test", json.dumps([record(4, "v2")])[:30], ("avqa test.json", "not a JSON file")),
    annotations("empty file", "test", "", ("avqa test.json", "not a JSON file")),
    annotations("not a list", "train", '{"questions": []}', ("avqa train.json",)),
    annotations("record not an object", "test", [record(4, "v2"), [1, 2]], ("avqa test.json", "record 1")),
    annotations("missing field", "val", [{k: v for k, v in record(3, "v1").items() if k != "anser"}],
                ("avqa val.json", "record 0", "anser")),
    annotations("unexpected field", "val", [record(3, "v1", comment="x")], ("avqa val.json", "'comment'")),
    annotations("video id a number", "train", [record(1, 12)], ("avqa train.json", "'video_id'", "12")),
    annotations("question id above int64", "test", [record(INT64_MAX + 1, "v2")],
                ("avqa test.json", str(INT64_MAX + 1), "64-bit")),
    annotations("question id below int64", "test", [record(-(2 ** 63) - 1, "v2")], ("avqa test.json", "64-bit")),
    annotations("question id true", "test", [record(True, "v2")], ("'question_id'", "True")),
    annotations("question id 7.0", "test", [record(7.0, "v2")], ("'question_id'", "7.0")),
    annotations("question id '7'", "test", [record("7", "v2")], ("'question_id'", "'7'")),
    annotations("question id null", "test", [record(None, "v2")], ("avqa test.json", "'question_id'")),
    annotations("video id '.'", "test", [record(4, ".")], ("'video_id' '.'",)),
    annotations("video id '..'", "test", [record(4, "..")], ("'video_id' '..'",)),
    annotations("video id a/b", "test", [record(4, "a/b")], ("'video_id' 'a/b'",)),
    annotations("video id ../../etc/x", "test", [record(4, "../../etc/x")], ("'video_id'", "etc")),
    annotations("video id with NUL", "test", [], ("'video_id'", "U+0000"), raw=json.dumps([record(4, "x\x00y")]).encode()),
    annotations("video id with newline", "test", [record(4, "x\ny")], ("'video_id'", "U+000A")),
    annotations("video id with ESC", "test", [record(4, "x\x1by")], ("'video_id'", "U+001B")),
    annotations("video id with U+0085", "test", [record(4, "x\x85y")], ("'video_id'", "U+0085")),
    annotations("video id 201 bytes", "test", [record(4, "v" * 201)], ("'video_id'", "200 bytes")),
    annotations("video id leading blank", "test", [record(4, " v2")], ("'video_id' ' v2'",)),
    annotations("video id empty", "test", [record(4, "")], ("'video_id'",)),
    annotations("not UTF-8", "train", [], ("avqa train.json", "not UTF-8", "0xe9"), raw=LATIN1),
    annotations("empty split", "val", [], ("avqa val.json", "holds no question records")),
    annotations("duplicated question ids (legal, warned)", "train",
                [record(1, "v1"), record(1, "v2", "three"), record(2, "v2")], (),
                check=lambda folder, run: _planned(folder, run) and run.out.count("duplicated question id") == 1),
    annotations("byte-order mark (legal)", "val", [], (), raw=b"\xef\xbb\xbf" + json.dumps([record(3, "v1")]).encode(),
                check=_planned),
    annotations("shell syntax in video ids (legal, never run)", "train", [record(1, WEIRD_ID), record(2, "v2")], (),
                args=("--cores", "1", "results/real/shards/shard_00000.txt"), check=_ids_kept_whole),
    avqa_vocab("avqa: id a string", [_avqa("7")], ("train_qa.json", "'id'", "'7'")),
    avqa_vocab("avqa: video_name '..'", [_avqa(7, "..")], ("train_qa.json", "'video_name'", "'..'")),
    avqa_vocab("avqa: multi_choice not a list", [{**_avqa(), "multi_choice": "a b c d"}],
               ("train_qa.json", "multi_choice")),
]


# -- config values, checked by Snakemake at parse ------------------------------------------------------

def config(name: str, change, names: tuple[str, ...], extra: tuple[str, ...] = (), check=None,
           raw: str | None = None) -> Case:
    """`change(config, folder)` edits the parsed config.yaml of a good dataset `real` in place."""
    def setup(folder: Path, fx) -> list[str]:
        real_dataset(folder, GOOD, run=True)
        cfg = yaml.safe_load((folder / "config.yaml").read_text())
        if change:
            change(cfg, folder)
        (folder / "config.yaml").write_text(raw if raw is not None else yaml.safe_dump(cfg))
        return ["snakemake", "-n", *extra]
    return Case(name, "config", setup, names, check)


def _set(path: str, value):
    def change(cfg, folder):
        node = cfg
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return change


def _results_blocked(cfg, folder):
    (folder / "results").write_text("a file where the results folder goes")


def _videos_gone(cfg, folder):
    shutil.rmtree(folder / "data/videos")


def _imported_without_videos(cfg, folder):
    """Both streams imported, no videos, and TSPM listed: its ToMe tokens only come from videos."""
    entry = cfg["datasets"]["real"]
    del entry["videos"]
    entry["features"] = {}
    for stream, layout in (("visual", "resnet18"), ("audio", "vggish")):
        (folder / "released" / stream).mkdir(parents=True)
        entry["features"][stream] = {"import": f"released/{stream}", "layout": layout}
    entry["training"]["variants"] = ["mcd", "tspm"]


D = "datasets.real."
CONFIG_CASES = [
    config("unknown top-level key", _set("trainning", {"epochs": 1}), ("'trainning' was unexpected",)),
    config("unknown nested key", _set(D + "extraction.visual_backbon", "resnet18"), ("'visual_backbon' was unexpected",)),
    config("epochs a string", _set(D + "training.epochs", "three"), ("'three'",)),
    config("negative epochs", _set(D + "training.epochs", -1), ("-1",)),
    config("batch size 0", _set(D + "training.batch_size", 0), ("batch_size",)),
    config("seconds negative", _set(D + "seconds", -2), ("-2",)),
    config("unknown backbone", _set(D + "extraction.visual_backbone", "resnet1000"), ("resnet1000",)),
    config("unknown variant", _set(D + "training.variants", ["mcd", "nope"]), ("nope",)),
    config("unknown extra field", _set(D + "training.extra", ["nonsense=3"]), ("nonsense",)),
    config("extra field of the wrong type", _set(D + "training.extra", ["d_model=abc"]), ("d_model", "abc")),
    config("extra without '='", _set(D + "training.extra", ["d_model"]), ("d_model",)),
    config("unknown format", _set(D + "format", "music_avqa2"), ("music_avqa2",)),
    config("results folder is a file", _results_blocked, ("results folder results cannot be written",)),
    config("videos folder missing", _videos_gone, ("data/videos",)),
    config("no videos, TSPM listed", _imported_without_videos, ("no `videos` folder", "TSPM", "tome")),
    config("--config unknown key", None, ("'bogus' was unexpected",), extra=("--config", "bogus=1")),
    config("--config negative epochs", None, ("-2",), extra=("--config", 'training={"epochs": -2}')),
    config("--config seeds (legal)", None, (), extra=("--config", 'training={"seeds": [0, 1]}'),
           check=lambda folder, run: "seed0" in run.out and "seed1" in run.out),
    # Snakemake reads --configfile itself (safe YAML), before the Snakefile: its own two-line WorkflowError
    config("config YAML with a python tag", None, ("Config file is not valid JSON or YAML",),
           raw=f"run: []\nx: !!python/object/apply:os.system ['touch {MARKER}']\n"),
    config("config YAML malformed", None, ("Config file is not valid JSON or YAML",), raw="run: [real\n"),
]


# -- checkpoints and weights files -------------------------------------------------------------------------

def mcd(name: str, kind: str, build, names: tuple[str, ...] = (), check=None) -> Case:
    """`build(folder, fixtures)` prepares the folder and returns the verb's arguments."""
    return Case(name, kind, lambda folder, fx: ["mcd", *build(folder, fx)], names, check)


def _resume_crafted(folder: Path, fx) -> list[str]:
    args = train_args(fx.task, folder / "run", fx.task, resume=True)
    with _quiet():
        assert _mcd_in_process(args) == 0
    (folder / "run/final.json").unlink()     # as if killed after an epoch: --resume reads last.pt
    crafted(folder / "run/last.pt", folder)
    return args


def _ask_crafted(folder: Path, fx) -> list[str]:
    run = folder / "run"
    shutil.copytree(fx.toy_run, run)
    crafted(run / "best.pt", folder)
    return ["ask", "--run", str(run), "--video", str(fx.video), "--question", "Is there a cello sound?",
            "--device", "cpu"]


def _paper_table(folder: Path, checkpoint: Path) -> list[str]:
    from test_paper_tables import write_scores

    from mcd_core.scoring.experiments import get_experiment

    args = ["paper-table", "--experiment", "table8", "--out", "t.csv", "--md", "t.md"]
    for row in get_experiment("table8").rows:
        args += ["--scores", f"{row.key}={write_scores(folder / f'{row.key}.csv', 60.0, '0')}",
                 "--checkpoint", f"{row.key}={checkpoint}"]
    return args


def _resnet18_state(folder: Path, damage: bool) -> Path:
    import torch
    from torchvision.models import resnet18

    state = resnet18(weights=None).state_dict()
    if damage:
        del state["fc.bias"]
        state["conv1.weight"] = torch.zeros(32, 3, 7, 7)
    torch.save(state, folder / "download.pth")
    return folder / "download.pth"


def _weights_import(name: str, make) -> callable:
    return lambda folder, fx: ["weights", "import", name, str(make(folder)), "--weights-dir", "w"]


def _predicted_every_question(folder: Path, run) -> bool:
    import csv

    with open(folder / "p.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return len(rows) == len(json.loads((folder / "val.json").read_text())) and all(r["prediction"] for r in rows)


def _predict_valid(folder: Path, fx) -> list[str]:
    shutil.copy(fx.task["val"], folder / "val.json")
    return predict_args(fx.task, fx.best, folder / "p.csv")


def _checkpoint_bytes(data) -> callable:
    def build(folder: Path, fx) -> list[str]:
        path = folder / "best.pt"
        path.write_bytes(data(fx))
        return predict_args(fx.task, path, folder / "p.csv")
    return build


CHECKPOINT_CASES = [
    mcd("predict: crafted pickle", "checkpoints",
        lambda f, fx: predict_args(fx.task, crafted(f / "best.pt", f), f / "p.csv"), ("best.pt", "could run code")),
    mcd("train --resume: crafted last.pt", "checkpoints", _resume_crafted, ("last.pt", "could run code")),
    mcd("ask: crafted best.pt", "checkpoints", _ask_crafted, ("best.pt", "could run code")),
    mcd("paper-table --checkpoint: crafted pickle", "checkpoints",
        lambda f, fx: _paper_table(f, crafted(f / "best.pt", f)), ("best.pt", "could run code")),
    *(mcd(f"weights import {name}: crafted pickle", "checkpoints",
          _weights_import(name, lambda f: crafted(f / "download.pth", f)), ("download.pth", "could run code"))
      for name in ("resnet18", "panns_cnn14", "vggish_pca")),
    mcd("weights import: wrong architecture", "checkpoints", _weights_import("resnet18", lambda f: _resnet18_state(f, True)),
        ("download.pth", "does not fit", "conv1.weight")),
    mcd("weights import: a fitting file (legal)", "checkpoints",
        _weights_import("resnet18", lambda f: _resnet18_state(f, False)),
        check=lambda folder, run: (folder / "w/resnet18_imagenet1k_v1.pth").is_file()),
    mcd("predict: random bytes", "checkpoints", _checkpoint_bytes(lambda fx: bytes(range(256)) * 8),
        ("best.pt", "not a torch file")),
    mcd("predict: truncated checkpoint", "checkpoints",
        _checkpoint_bytes(lambda fx: fx.best.read_bytes()[: fx.best.stat().st_size // 2]), ("best.pt",)),
    mcd("predict: missing checkpoint", "checkpoints",
        lambda f, fx: predict_args(fx.task, f / "nothing.pt", f / "p.csv"), ("nothing.pt",)),
    mcd("predict: a valid checkpoint (legal)", "checkpoints", _predict_valid, check=_predicted_every_question),
]


# -- feature stores --------------------------------------------------------------------------------------

def _copied_stores(folder: Path, fx) -> dict[str, Path]:
    return {s: Path(shutil.copytree(fx.task[s], folder / fx.task[s].name)) for s in ("audio", "visual")}


def _chunk(store: Path) -> Path:
    return store / "features/c/1/0/0"


def _damaged(how: str):
    def damage(folder: Path, fx) -> dict[str, Path]:
        stores = _copied_stores(folder, fx)
        chunk = _chunk(stores["visual"])
        if how == "delete":
            chunk.unlink()
        else:
            data = bytearray(chunk.read_bytes())
            span = range(len(data)) if how == "garble" else range(len(data) // 2, len(data) // 2 + 4)
            for i in span:
                data[i] ^= 0xFF
            chunk.write_bytes(bytes(data))
        return stores
    return damage


def _no_manifest(folder: Path, fx) -> list[str]:
    stores = _copied_stores(folder, fx)
    (stores["visual"] / "manifest.json").unlink()
    return ["verify", str(stores["visual"])]


def _val_elsewhere(folder: Path, fx) -> list[str]:
    records = json.loads(fx.task["val"].read_text())
    (folder / "val.json").write_text(json.dumps([{**r, "video_id": "elsewhere"} for r in records]))
    return train_args({**fx.task, "val": folder / "val.json"}, folder / "run", fx.task)


STORE_CASES = [
    mcd("verify: deleted chunk", "stores", lambda f, fx: ["verify", str(_damaged("delete")(f, fx)["visual"])],
        ("chunk c/1/0/0", "missing")),
    mcd("verify: garbled chunk (same length)", "stores",
        lambda f, fx: ["verify", str(_damaged("flip")(f, fx)["visual"])], ("chunk c/1/0/0", "garbled")),
    mcd("verify: no manifest", "stores", _no_manifest, ("no manifest",)),
    mcd("verify: a sound store (legal)", "stores", lambda f, fx: ["verify", str(_copied_stores(f, fx)["visual"])],
        check=lambda folder, run: "ok: 1 stores" in run.out),
    mcd("train: deleted chunk", "stores",
        lambda f, fx: train_args(fx.task, f / "run", _damaged("delete")(f, fx)), ("task_visual.zarr", "c/1/0/0")),
    mcd("train: chunk that does not decode", "stores",
        lambda f, fx: train_args(fx.task, f / "run", _damaged("garble")(f, fx)), ("task_visual.zarr", "c/1/0/0")),
    mcd("predict: deleted chunk", "stores",
        lambda f, fx: predict_args(fx.task, fx.best, f / "p.csv", _damaged("delete")(f, fx)),
        ("task_visual.zarr", "c/1/0/0")),
    mcd("train: no validation video in the stores", "stores", _val_elsewhere, ("val.json", "no validation question")),
    mcd("train: store path missing", "stores",
        lambda f, fx: train_args(fx.task, f / "run", {"audio": fx.task["audio"], "visual": f / "gone.zarr"}),
        ("gone.zarr",)),
]


# -- predictions and score CSVs -----------------------------------------------------------------------------

def _score(predictions: bytes, names=(), check=None, name="") -> Case:
    def build(folder: Path, fx) -> list[str]:
        (folder / "test.json").write_text(json.dumps([record(1, "v1"), record(2, "v2", "three")]))
        (folder / "pred.csv").write_bytes(predictions)
        return ["score", "--annotations", "test.json", "--predictions", "pred.csv", "--out", "s.csv"]
    return mcd(name, "csv", build, names, check)


def _table(rows: bytes, names=(), name="") -> Case:
    def build(folder: Path, fx) -> list[str]:
        (folder / "rows.csv").write_bytes(rows)
        return ["table", "--rows", "rows.csv", "--out", "t.csv", "--md", "t.md"]
    return mcd(name, "csv", build, names)


def _overall(folder: Path, run) -> bool:
    import csv

    rows = list(csv.DictReader(open(folder / "s.csv", encoding="utf-8")))
    return [float(r["overall"]) for r in rows if r["method"] == "pred"] == [50.0]


CSV_CASES = [
    _score(b"question_id,prediction\n1,caf\xe9\n", ("pred.csv", "not UTF-8", "0xe9"), name="score: predictions not UTF-8"),
    _score(f"question_id,prediction\n1,two\n{INT64_MAX + 1},x\n".encode(), ("pred.csv", "line 3", "64-bit"),
           name="score: question id above int64"),
    _score(b"question_id,prediction\nseven,two\n", ("pred.csv", "seven"), name="score: question id not a number"),
    _score(b"id,pred\n1,two\n", ("pred.csv", "question_id"), name="score: columns missing"),
    _score(b"", ("pred.csv",), name="score: empty predictions file"),
    _score(b"question_id,prediction\n1,two\n2,two\n", check=_overall, name="score: half right (legal)"),
    _table(b"method,overall\nMCD,caf\xe9\n", ("rows.csv", "not UTF-8"), name="table: score CSV not UTF-8"),
    _table(b"method,overall\n", ("rows.csv",), name="table: score CSV without rows"),
    _table(b"", ("rows.csv",), name="table: empty score CSV"),
]


# -- video files ----------------------------------------------------------------------------------------------

def _silent_video(path: Path) -> Path:
    from mcd_core.media.ffmpeg import ffmpeg_executable

    subprocess.run([ffmpeg_executable(), "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:s=32x24:r=10:d=2", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)],
                   check=True, capture_output=True)
    return path


def media(name: str, verb: str, make, names=(), check=None, vid: str = "clip", extra: tuple = ()) -> Case:
    """`make(path, fixtures)` writes the video file `vid`.mp4 (or nothing)."""
    def build(folder: Path, fx) -> list[str]:
        (folder / "videos").mkdir()
        make(folder / "videos" / f"{vid}.mp4", fx)
        (folder / "ids.txt").write_text(vid + "\n", encoding="utf-8")
        return [verb, "--videos", "videos", "--ids-file", "ids.txt", "--seconds", "2", "--out", "shard", *extra]
    return mcd(name, "videos", build, names, check)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "shard/manifest.json").read_text())


def _wav_silent(folder: Path, run) -> bool:
    import numpy as np
    from scipy.io import wavfile

    rate, data = wavfile.read(folder / "shard/clip.wav")
    return rate == 16000 and len(data) == 2 * 16000 and not np.any(data)


def _copy(fx_attr):
    return lambda path, fx: shutil.copy(getattr(fx, fx_attr), path)


def _no_audio(path: Path, fx):
    from videos import make_video

    make_video(path, seconds=2, size=(32, 24), audio="none")


def _truncated(path: Path, fx):
    from videos import make_truncated

    make_truncated(fx.video, path)


VIDEO_CASES = [
    media("frames: empty file", "frames", lambda p, fx: p.write_bytes(b""), ("clip.mp4",)),
    media("frames: random bytes named .mp4", "frames", lambda p, fx: p.write_bytes(bytes(range(256)) * 40), ("clip",)),
    media("frames: truncated mp4", "frames", _truncated, ("clip",)),
    media("frames: video missing", "frames", lambda p, fx: None, ("clip",)),
    media("audio: random bytes named .mp4", "audio", lambda p, fx: p.write_bytes(bytes(range(256)) * 40), ("clip",)),
    media("frames: bad video with --on-error skip (legal, listed)", "frames", lambda p, fx: p.write_bytes(b"x" * 100),
          extra=("--on-error", "skip"), check=lambda f, run: [x["video_id"] for x in _manifest(f)["failures"]] == ["clip"]),
    media("audio: no audio stream (legal, noted)", "audio", _no_audio,
          check=lambda f, run: _manifest(f)["videos"]["clip"]["no_audio"] is True),
    media("audio: silent audio stream (legal)", "audio", lambda p, fx: _silent_video(p), check=_wav_silent),
    media("frames: shell syntax in the video id (legal, never run)", "frames", _copy("video"), vid=WEIRD_ID,
          check=lambda f, run: _manifest(f)["videos"][WEIRD_ID]["length"] == 2),
    media("frames: --seconds 0", "frames", _copy("video"), ("--seconds", "0"), extra=("--seconds", "0")),
    media("audio: --workers -1", "audio", _copy("video"), ("--workers", "-1"), extra=("--workers", "-1")),
    media("frames: --frame-short-side -5", "frames", _copy("video"), ("--frame-short-side", "-5"),
          extra=("--frame-short-side", "-5")),
]


# -- mcd ask --------------------------------------------------------------------------------------------------

def ask(name: str, video, question: str | None, names=(), check=None, extra: tuple = ()) -> Case:
    def build(folder: Path, fx) -> list[str]:
        path = video(folder, fx)
        return ["ask", "--run", str(fx.toy_run), "--video", str(path), "--device", "cpu",
                *(["--question", question] if question is not None else []), *extra]
    return mcd(name, "ask", build, names, check)


def _bytes_video(folder: Path, fx) -> Path:
    (folder / "v.mp4").write_bytes(bytes(range(256)) * 40)
    return folder / "v.mp4"


ASK_CASES = [
    ask("missing video", lambda f, fx: f / "gone.mp4", "Is there a cello sound?", ("gone.mp4",)),
    ask("random bytes as video", _bytes_video, "Is there a cello sound?", ("v.mp4",)),
    ask("no question", lambda f, fx: fx.video, None, ("--question",)),
    ask("empty question", lambda f, fx: fx.video, "", ("question",)),
    ask("question without a known word", lambda f, fx: f and fx.video, "zzz qqq", ("zzz",)),
    ask("--top 0", lambda f, fx: fx.video, "Is there a cello sound?", ("--top",), extra=("--top", "0")),
    ask("a sounding question (legal)", lambda f, fx: fx.video, "Is there a cello sound?",
        check=lambda folder, run: re.search(r"^  answers: \S+ \d\.\d{3} \| \S+ \d\.\d{3} \| \S+ \d\.\d{3}$", run.out,
                                            re.M) is not None),
]


# -- command-line values ----------------------------------------------------------------------------------------

def _train_with(*extra: str):
    return lambda f, fx: [*train_args(fx.task, f / "run", fx.task), *extra]


def _shard_ids(folder: Path, fx) -> list[str]:
    return ["shard-ids", "--out", "shard.txt", WEIRD_ID, "it's a \"quoted\" id; rm -rf x"]


CLI_CASES = [
    mcd("train --epochs -1", "cli", _train_with("--epochs", "-1"), ("epochs", "-1")),
    mcd("train --batch-size 0", "cli", _train_with("--batch-size", "0"), ("batch", "0")),
    mcd("train --lr -1", "cli", _train_with("--lr", "-1"), ("lr", "-1")),
    mcd("train --threads 0", "cli", _train_with("--threads", "0"), ("threads", "0")),
    mcd("train --variant nope", "cli", _train_with("--variant", "nope"), ("nope",)),
    mcd("train --set nonsense=1", "cli", _train_with("--set", "nonsense=1"), ("nonsense",)),
    mcd("train --set d_model=abc", "cli", _train_with("--set", "d_model=abc"), ("d_model", "abc")),
    mcd("train --epochs three", "cli", _train_with("--epochs", "three"), ("--epochs", "three")),
    mcd("predict --batch-size 0", "cli", lambda f, fx: [*predict_args(fx.task, fx.best, f / "p.csv"), "--batch-size", "0"],
        ("batch", "0")),
    mcd("vocab: training file missing", "cli", lambda f, fx: ["vocab", "--train", "gone.json", "--out", "v.json"],
        ("gone.json",)),
    mcd("missing-videos: videos folder missing", "cli",
        lambda f, fx: ["missing-videos", "--videos", "nowhere", "--annotations", str(fx.task["val"]), "--out", "m.json"],
        ("nowhere",)),
    mcd("score: annotations a folder", "cli",
        lambda f, fx: ["score", "--annotations", ".", "--predictions", "p.csv", "--out", "s.csv"], (".: annotation file is a folder",)),
    mcd("merge: part missing", "cli", lambda f, fx: ["merge", "--parts", "gone.zarr", "--out", "m.zarr"],
        ("gone.zarr", "no such shard store")),
    mcd("shard-ids: shell syntax (legal, never run)", "cli", _shard_ids,
        check=lambda folder, run: lines_of(folder / "shard.txt") == [WEIRD_ID, "it's a \"quoted\" id; rm -rf x"]),
]

CASES = [*ANNOTATION_CASES, *CONFIG_CASES, *CHECKPOINT_CASES, *STORE_CASES, *CSV_CASES, *VIDEO_CASES,
         *ASK_CASES, *CLI_CASES]
