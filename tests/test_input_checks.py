"""Bad input caught before the expensive work, and no annotation value ever reaching a shell:
every record of every split is read at planning, video ids are checked as file names, shell
commands quote every value, a bad annotation file fails the run even when outputs exist, and
what is legal but worth knowing (shared ids, unseen answers, all-failed shards) reaches the table."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mcd_core.cli import main
from mcd_core.data.formats.music_avqa import load_annotations
from mcd_core.data.questions import AnnotationError, AnnotationSet
from mcd_core.features.merge import failures_path, merge_shards
from mcd_core.media.shardrun import Failure, VideoError, find_video, read_ids, write_shard_list
from mcd_core.scoring.tables import score_predictions, split_notes, write_predictions
from test_merge import make_shard

REPO = Path(__file__).resolve().parents[1]
# Characters a shell would act on, blanks and non-ASCII letters; no '/' (an id names a file).
WEIRD_ID = "it's a \"v\" $(touch PWNED) `touch PWNED`; é 名"
WEIRD_DIR = "data dir 'q' $(touch PWNED) `touch PWNED`; é"


def record(qid, video_id, answer="two", **extra):
    return {"video_id": video_id, "question_id": qid, "type": '["Audio", "Counting"]',
            "question_content": "How many instruments are sounding?", "templ_values": "[]",
            "question_deleted": 0, "anser": answer, **extra}


def real_dataset(workdir: Path, splits: dict[str, list], folder: str = "data", run: bool = False,
                 extraction: dict | None = None) -> dict[str, Path]:
    """A non-generated dataset `real` under workdir/folder: annotation files, a videos folder and
    config.yaml. Returns the annotation paths (relative to workdir)."""
    root = workdir / folder
    (root / "videos").mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, records in splits.items():
        paths[split] = Path(folder) / f"avqa {split}.json"
        text = records if isinstance(records, str) else json.dumps(records, ensure_ascii=False)
        (workdir / paths[split]).write_text(text, encoding="utf-8")
        for r in records if isinstance(records, list) else []:  # placeholder files: videos present
            vid = r.get("video_id") if isinstance(r, dict) else None
            if isinstance(vid, str) and vid and "/" not in vid and ".." not in vid and vid == vid.strip():
                try:
                    (root / "videos" / f"{vid}.mp4").touch()
                except OSError:
                    pass
    config = {"run": ["real"] if run else [], "datasets": {"real": {
        "format": "music_avqa", "videos": f"{folder}/videos", "seconds": 2,
        "annotations": {s: str(p) for s, p in paths.items()},
        "extraction": {"weights": "random-init", **(extraction or {})},
        "training": {"epochs": 1}, "table": {"prior": True}}}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return paths


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)


GOOD = {"train": [record(1, "v1"), record(2, "v2", "three")], "val": [record(3, "v1")],
        "test": [record(4, "v2")]}


# -- video ids are file names ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["../outside", "a/b", "..", "x\ny", " padded", "back\\slash"])
def test_path_like_video_ids_are_refused_naming_the_record(tmp_path, bad):
    path = tmp_path / "avqa-train.json"
    path.write_text(json.dumps([record(1, "v1"), record(2, bad)]))
    with pytest.raises(AnnotationError, match=r"avqa-train.json: record 1 \(question_id 2\): field 'video_id'"):
        load_annotations(path)
    with pytest.raises(VideoError, match="cannot name a file"):
        find_video(tmp_path, bad)


def test_shell_characters_and_non_ascii_ids_are_kept_whole(tmp_path):
    path = tmp_path / "avqa-train.json"
    path.write_text(json.dumps([record(1, WEIRD_ID), record(2, "name with spaces é")]))
    assert [q.video_id for q in load_annotations(path).questions] == [WEIRD_ID, "name with spaces é"]
    shard = tmp_path / "shard.txt"
    write_shard_list(shard, [WEIRD_ID, "name with spaces é"])
    assert read_ids(shard) == [WEIRD_ID, "name with spaces é"]
    with pytest.raises(VideoError, match="control character"):
        write_shard_list(tmp_path / "s2.txt", ["ok", "two\nids"])


# -- every record of every split, before any job --------------------------------------------------
@pytest.mark.parametrize("split, records, expected", [
    ("val", [record(3, "v1", comment="x")], r"avqa val.json: record 0 \(question_id 3\): unexpected field\(s\) 'comment'"),
    ("test", [record("7", "v2")], r"avqa test.json: record 0 \(question_id '7'\): field 'question_id' must be an integer"),
    ("train", [record(1, 12)], r"avqa train.json: record 0 \(question_id 1\): field 'video_id' must be a non-empty string, got 12"),
    ("test", [record(4, "../../etc/x")], r"avqa test.json: record 0 \(question_id 4\): field 'video_id' '../../etc/x' contains"),
])
def test_every_record_of_every_split_is_checked_before_any_job(tmp_path, split, records, expected):
    real_dataset(tmp_path, {**GOOD, split: records})
    proc = snakemake(tmp_path, "-n", "results/real/table3.csv")
    assert proc.returncode != 0
    assert re.search(expected, proc.stdout + proc.stderr), proc.stderr[-2000:]
    assert not (tmp_path / "results").exists()


def _fabricate_outputs(workdir: Path, target: str) -> list[str]:
    """Every output of `target`'s plan, created in plan order with rising times: a built dataset
    as far as Snakemake can tell, in a second instead of minutes."""
    proc = snakemake(workdir, "-n", target)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = [o.strip() for line in re.findall(r"^\s+output: (.*)$", proc.stdout, re.M) for o in line.split(", ")]
    start = 1_700_000_000
    for i, out in enumerate(outputs):
        path = workdir / out
        if path.suffix in (".zarr", "") and not out.endswith(".txt"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x")
        os.utime(path, (start + i, start + i))
    return outputs


@pytest.mark.parametrize("damage, expected", [
    ("truncate", "not a JSON file"),
    ("non-object", r"record 1: expected an object, got list"),
    ("missing", r"annotation file\(s\) are missing \(test: data/avqa test.json\)"),
])
def test_bad_annotation_file_fails_the_run_even_when_outputs_exist(tmp_path, damage, expected):
    paths = real_dataset(tmp_path, GOOD)
    for name in ("v1", "v2"):
        (tmp_path / "data" / "videos" / f"{name}.mp4").write_bytes(b"")
    outputs = _fabricate_outputs(tmp_path, "results/real/table3.csv")
    assert "results/real/table3.md" in outputs
    test = tmp_path / paths["test"]
    if damage == "truncate":
        test.write_text(test.read_text()[:40])
    elif damage == "non-object":
        test.write_text(json.dumps([record(4, "v2"), [1, 2]]))
    else:
        test.unlink()
    for args in (["-n"], ["--cores", "1"]):
        proc = snakemake(tmp_path, *args, "results/real/table3.csv")
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out[-2000:]
        assert "avqa test.json" in out and re.search(expected, out), out[-2000:]
    assert (tmp_path / "results/real/table3.md").read_text() == "x"  # nothing was rebuilt


def test_ids_shared_by_splits_are_reported_at_planning_and_in_the_table(tmp_path):
    real_dataset(tmp_path, {**GOOD, "test": [record(1, "v2"), record(5, "v1", "seven")]}, run=True)
    proc = snakemake(tmp_path, "-n", "results/real/table3.csv")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 question id(s) occur in more than one split: 1 (train/test)" in proc.stderr

    splits = {s: load_annotations(tmp_path / "data" / f"avqa {s}.json") for s in ("train", "val", "test")}
    assert split_notes(splits) == [
        "1 question ids occur in more than one split, e.g. 1 (train/test)",
        "1 of 2 test questions have an answer never seen in training (e.g. 'seven'): they are scored wrong"]
    test = splits["test"]
    write_predictions(tmp_path / "p.csv", test.questions, {1: "two", 5: "two"})
    row = tmp_path / "row.csv"
    assert main(["score", "--annotations", str(test.path), "--predictions", str(tmp_path / "p.csv"),
                 "--name", "M", "--out", str(row)]) == 0
    assert main(["table", "--rows", str(row), "--out", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md"),
                 "--train", str(splits["train"].path), "--val", str(splits["val"].path),
                 "--test", str(test.path)]) == 0
    md = (tmp_path / "t.md").read_text()
    assert "- 1 of 2 test questions have an answer never seen in training" in md
    assert "- 1 question ids occur in more than one split" in md


# -- shell commands ---------------------------------------------------------------------------------
def test_shell_commands_quote_every_value_from_annotations_and_config(tmp_path):
    """Dry run with paths and ids full of shell syntax: each printed command splits (as sh would)
    into exactly the intended arguments; the shard list job, run for real, writes the ids whole."""
    ids = [WEIRD_ID, "name with spaces é"]
    paths = real_dataset(tmp_path, {"train": [record(1, ids[0]), record(2, ids[1])],
                                    "val": [record(3, ids[0])], "test": [record(4, ids[1])]},
                         folder=WEIRD_DIR, extraction={"on_error": "skip", "shard_size": 2})
    proc = snakemake(tmp_path, "-n", "-p", "results/real/table3.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    commands = [shlex.split(line.split("Shell command: ", 1)[1])
                for line in proc.stdout.splitlines() if line.startswith("Shell command: mcd")]
    verbs = {c[1] for c in commands}
    assert {"frames", "audio", "extract-visual", "extract-audio", "merge", "vocab", "train", "predict",
            "score", "prior", "table"} <= verbs
    wanted = {str(p) for p in paths.values()} | {f"{WEIRD_DIR}/videos"}
    seen = set()
    for argv in commands:
        for arg in argv:
            if "PWNED" in arg:  # a configured path, whole, or the table's notes and meta naming one
                assert any(arg == w or arg.endswith(w) for w in wanted), (arg, argv)
                seen |= {w for w in wanted if arg.endswith(w)}
        if argv[1] == "extract-visual":
            assert argv[argv.index("--on-error") + 1] == "skip"
    assert seen == wanted
    run = snakemake(tmp_path, "--cores", "1", "results/real/shards/shard_00000.txt")
    assert run.returncode == 0, run.stderr[-3000:]
    assert read_ids(tmp_path / "results/real/shards/shard_00000.txt") == sorted(ids)
    assert not list(tmp_path.rglob("PWNED")) and not list(REPO.glob("PWNED"))


def test_shard_failure_lists_are_declared_outputs(tmp_path):
    real_dataset(tmp_path, GOOD)
    proc = snakemake(tmp_path, "-n", "results/real/table3.csv")
    for folder in ("features/visual/resnet18", "features/audio/vggish", "logmel"):
        assert f"results/real/{folder}/shard_00000.failures.json" in proc.stdout


# -- extraction failures ------------------------------------------------------------------------------
def test_a_shard_whose_every_video_failed_is_warned_of_and_noted(tmp_path, caplog):
    lost = [Failure("v3", "frames", "moov atom not found"), Failure("v4", "frames", "moov atom not found")]
    make_shard(tmp_path / "shard_00000.zarr", ["v1", "v2"], 0)
    make_shard(tmp_path / "shard_00001.zarr", [], 1, failures=lost)
    out = tmp_path / "visual" / "resnet18.zarr"
    with caplog.at_level("WARNING"):
        merge_shards([tmp_path / "shard_00000.zarr", tmp_path / "shard_00001.zarr"], out)
    assert "every one of its 2 videos failed" in caplog.text
    listed = json.loads(failures_path(out).read_text())
    assert [f.get("whole_shard") for f in listed] == ["shard_00001", "shard_00001"]

    questions = [record(1, "v1"), record(2, "v3"), record(3, "v4")]
    (tmp_path / "test.json").write_text(json.dumps(questions))
    test = load_annotations(tmp_path / "test.json")
    write_predictions(tmp_path / "p.csv", test.questions, {1: "two"})
    table = score_predictions(test, tmp_path / "p.csv", "MCD", {}, [failures_path(out)])
    notes = table.rows[0]["notes"]
    assert "every video of shard_00001 failed extraction (2 videos; visual/resnet18.failures.json)" in notes
    assert "2 videos / 2 questions left out" in notes


def test_a_redone_extraction_removes_the_stale_failure_list_first(tmp_path, monkeypatch):
    from mcd_core.features import extract_visual as ev
    from test_extract_visual import make_frames_shard

    frames = make_frames_shard(tmp_path / "frames", {"00000001": 2}, seconds=2)
    job = ev.VisualJob(frames=frames, backbone="resnet18", out=tmp_path / "shard_00000.zarr",
                       device="cpu", workers=0)
    failures_path(job.out).write_text(json.dumps([{"video_id": "old", "stage": "frames", "error": "x"}]))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for a SIGKILL while the model runs

    monkeypatch.setattr(ev, "_run_model", killed)
    with pytest.raises(KeyboardInterrupt):
        ev.extract_visual(job)
    assert not failures_path(job.out).exists() and not job.out.exists()


def test_split_notes_are_empty_for_clean_splits():
    def aset(records):
        from mcd_core.data.formats.music_avqa import parse_record
        return AnnotationSet(Path("x.json"), [parse_record(r, i, Path("x.json")) for i, r in enumerate(records)])
    assert split_notes({"train": aset(GOOD["train"]), "val": aset(GOOD["val"]), "test": aset(GOOD["test"])}) == []
