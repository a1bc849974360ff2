"""Console progress: one line per training epoch and one per extracted shard, on stdout only."""

import re

import pytest

from mcd_core.cli import main
from mcd_core.common.progress_lines import duration, epoch_line, run_label, shard_label, shard_line
from test_extract_visual import make_frames_shard
from test_train import TINY_SET, _train, files  # noqa: F401  (files: the tiny run's fixture)

EPOCH = re.compile(r"^\[(?P<label>[^\]]+)\] epoch (?P<k>\d+)/(?P<K>\d+) loss (?P<loss>\d+\.\d{4}) "
                   r"val (?P<val>\d+\.\d)% (?P<elapsed>\d+ s|\d+\.\d (min|h)), ETA (?P<eta>\d+ s|\d+\.\d (min|h))$")
SHARD = re.compile(r"^\[(?P<label>[^\]]+)\] (?P<done>\d+) videos done, (?P<failed>\d+) failed, (?P<s>\d+ s)$")


def test_formats_are_short_and_parseable():
    assert [duration(s) for s in (0.4, 59, 125, 7300, float("nan"))] == ["0 s", "59 s", "2.1 min", "2.0 h", "?"]
    assert run_label("results/demo/runs/resnet18-vggish/mcd/seed0") == "train demo resnet18-vggish/mcd seed0"
    assert run_label("/tmp/x") == "train /tmp/x"
    line = epoch_line(run_label("results/demo/runs/resnet18-vggish/mcd/seed0"), 3, 10, 1.2344, 45.63, 12, 28)
    assert line == "[train demo resnet18-vggish/mcd seed0] epoch 3/10 loss 1.2344 val 45.6% 12 s, ETA 28 s"
    assert EPOCH.match(line)
    label = shard_label("visual", "results/demo/features/visual/resnet18/shard_00001.zarr", "resnet18")
    assert label == "visual demo resnet18 shard_00001"
    assert shard_line(label, 12, 1, 41.2) == "[visual demo resnet18 shard_00001] 12 videos done, 1 failed, 41 s"
    assert shard_label("frames", "results/demo/frames/shard_00001") == "frames demo shard_00001"


def test_training_prints_one_line_per_epoch_with_its_fields(files, tmp_path, capsys):  # noqa: F811
    lines = []
    out = tmp_path / "results" / "tiny" / "runs" / "a-b" / "mcd" / "seed0"
    result = _train(files, out, epochs=3, announce=lines.append)
    assert len(lines) == 3
    fields = [EPOCH.match(line) for line in lines]
    assert all(fields), lines
    assert {f["label"] for f in fields} == {"train tiny a-b/mcd seed0"}
    assert [(int(f["k"]), int(f["K"])) for f in fields] == [(1, 3), (2, 3), (3, 3)]
    assert [float(f["loss"]) for f in fields] == [round(r["train_loss"], 4) for r in result.history]
    assert [float(f["val"]) for f in fields] == [round(r["val_acc"], 1) for r in result.history]
    assert fields[-1]["eta"] == "0 s"
    again = []  # a finished run says so in one line
    _train(files, out, epochs=3, announce=again.append)
    assert again == [f"[train tiny a-b/mcd seed0] already finished: best epoch {result.best_epoch} "
                     f"val {result.best_val_acc:.1f}%"]


def test_a_resumed_run_says_so_and_goes_on_from_its_epoch(files, tmp_path):  # noqa: F811
    def stop(epoch):
        raise KeyboardInterrupt

    lines = []
    with pytest.raises(KeyboardInterrupt):
        _train(files, tmp_path / "r", epochs=3, announce=lines.append, on_epoch_end=stop)
    _train(files, tmp_path / "r", epochs=3, resume=True, announce=lines.append)
    assert lines[1] == f"[train {tmp_path / 'r'}] resuming after epoch 1/3"
    assert [EPOCH.match(line)["k"] for line in (lines[0], *lines[2:])] == ["1", "2", "3"]


def test_cli_train_writes_the_lines_to_stdout_and_nothing_else(files, tmp_path, capsys):  # noqa: F811
    common = ["train", "--train", str(files.train), "--val", str(files.val), "--vocab", str(files.vocab),
              "--audio", str(files.audio), "--visual", str(files.visual), "--epochs", "2", "--batch-size", "8",
              "--device", "cpu", *sum((["--set", s] for s in TINY_SET), [])]
    assert main([*common, "--out-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(EPOCH.match(line) for line in out), out
    assert main([*common, "--out-dir", str(tmp_path / "q"), "--progress", "off"]) == 0
    assert capsys.readouterr().out == ""


def test_extraction_prints_one_line_when_the_shard_is_done(tmp_path, capsys):
    frames = make_frames_shard(tmp_path / "frames", {"00000001": 2, "00000002": 2}, seconds=2)
    out = tmp_path / "results" / "tiny" / "features" / "visual" / "resnet18" / "shard_00000.zarr"
    args = ["extract-visual", "--frames", str(frames), "--backbone", "resnet18", "--weights", "random-init",
            "--device", "cpu", "--batch-size", "4", "--workers", "0", "--on-error", "skip", "--out", str(out)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and SHARD.match(lines[0]), lines
    fields = SHARD.match(lines[0])
    # the frames shard lists one video its frames stage lost: carried into the shard's failures
    assert (fields["label"], fields["done"], fields["failed"]) == ("visual tiny resnet18 shard_00000", "2", "1")
    assert main(args) == 0  # complete already: one line that says so
    assert capsys.readouterr().out == "[visual tiny resnet18 shard_00000] already complete: 2 videos, 1 failed\n"
    # merging that shard: one line with the videos of the merged store and the failed ones
    merged = out.parent.with_suffix(".zarr")
    assert main(["merge", "--parts", str(out), "--out", str(merged)]) == 0
    line = capsys.readouterr().out
    assert re.fullmatch(r"\[merge tiny resnet18\] 2 videos from 1 shards, 1 failed, \d+ s\n", line), line


def test_extract_text_prints_one_line_with_the_questions_of_each_store(tmp_path, capsys):
    import json

    from test_input_checks import record

    annotations = tmp_path / "avqa-train.json"
    annotations.write_text(json.dumps([record(1, "00000001"), record(2, "00000002"), record(3, "00000001")]))
    out = tmp_path / "results" / "tiny" / "features"
    args = ["extract-text", "--annotations", str(annotations), "--backbone", "clip_text_b32",
            "--weights", "random-init", "--device", "cpu",
            "--out", f"text_sentence={out / 'text_sentence' / 'clip_text_b32.zarr'}"]
    assert main(args) == 0
    line = capsys.readouterr().out
    assert re.fullmatch(r"\[text tiny clip_text_b32\] text_sentence 3 questions, \d+ s\n", line), line
