"""Hostile values are refused where they enter, in one line naming the file, the field and the
value: path-like video ids, question ids outside int64, empty splits, bytes that are not UTF-8,
output folders that cannot be written, and weights files that do not fit their network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import yaml

from mcd_core.cli import main
from mcd_core.common.folders import unwritable_problem
from mcd_core.common.ids import question_id_problem, video_id_problem
from mcd_core.data.formats import avqa, music_avqa
from mcd_core.data.questions import AnnotationError
from mcd_core.media.shardrun import VideoError, read_ids
from mcd_core.scoring.tables import TableError, read_predictions
from test_input_checks import GOOD, real_dataset, record, snakemake

INT64_MAX = 2 ** 63 - 1


def avqa_record(qid, video_name="-abc_000010", **extra):
    return {"id": qid, "video_name": video_name, "video_id": 1, "question_text": "What is sounding?",
            "multi_choice": ["a", "b", "c", "d"], "answer": 0, "question_relation": "Both",
            "question_type": "Which", **extra}


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def one_line_error(capsys, verb: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith(f"mcd {verb}: error: "), err
    return err


def only_the_message(proc) -> str:
    """Snakemake stopped before any job with our `Error: ...` line alone."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    for noise in ("Traceback", "InputFunctionException", "WorkflowError", 'File "', "Job stats"):
        assert noise not in out, out[-2000:]
    return out


# -- 1. video ids ----------------------------------------------------------------------------------
BAD_IDS = [(".", "the folder itself"), ("..", "'..'"), ("a/b", "path separator"), ("a\\b", "path separator"),
           ("x\x00y", "U+0000"), ("x\x85y", "U+0085"), ("x\u2028y", "U+2028"), ("x\ty", "U+0009"),
           ("v" * 201, "longer than 200 bytes")]


@pytest.mark.parametrize("bad, why", BAD_IDS)
def test_video_ids_that_cannot_name_a_file_are_refused_by_both_formats(tmp_path, bad, why):
    path = write_json(tmp_path / "avqa-train.json", [record(1, "v1"), record(2, bad)])
    with pytest.raises(AnnotationError) as caught:
        music_avqa.load_annotations(path)
    assert f"{path}: record 1 (question_id 2): field 'video_id' {bad!r}" in str(caught.value)
    assert why in str(caught.value)
    path = write_json(tmp_path / "train_qa.json", [avqa_record(5), avqa_record(6, bad)])
    with pytest.raises(AnnotationError, match=r"train_qa.json: record 1 \(id 6\): field 'video_name'"):
        avqa.load_annotations(path)


def test_ordinary_odd_ids_still_pass():
    for ok in (".hidden", "a.b", "-abc_000010", "it's $(x) é 名", "v" * 200):
        assert video_id_problem(ok) is None, ok


def test_shard_ids_verb_and_list_files_check_each_id(tmp_path, capsys):
    out = tmp_path / "shard.txt"
    assert main(["shard-ids", "--out", str(out), "v1", "."]) == 2
    assert "video id '.' is '.' (the folder itself)" in one_line_error(capsys, "shard-ids")
    assert not out.exists()
    listed = tmp_path / "list.txt"
    listed.write_bytes(b"v1\r\n\n..\n")
    with pytest.raises(VideoError, match=rf"{listed}: line 3: video id '\.\.' contains '\.\.'"):
        read_ids(listed)
    listed.write_bytes(b"v1\r\nv2\n")
    assert read_ids(listed) == ["v1", "v2"]


def test_a_dot_video_id_stops_snakemake_at_parse(tmp_path):
    real_dataset(tmp_path, {**GOOD, "test": [record(4, ".")]}, run=True)
    out = only_the_message(snakemake(tmp_path, "-n"))
    assert "Error: data/avqa test.json: record 0 (question_id 4): field 'video_id' '.' is '.'" in out
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("target, message", [
    ("results/real/runs/clip_vit_b32-vggish+tome_vit_s16_224/tspm/seed0/best.pt", "declares 3 input"),
    ("results/real/features/tome/resnet18/shard_00000.zarr", "no token store tome/resnet18"),
])
def test_a_target_that_names_no_run_or_store_stops_with_its_message_alone(tmp_path, target, message):
    """The input functions behind run tags and token stores stop as the config check does."""
    real_dataset(tmp_path, GOOD, run=True)
    out = only_the_message(snakemake(tmp_path, "-n", target))
    assert message in out and out.count("Error: ") == 1


# -- 2. question ids -------------------------------------------------------------------------------
@pytest.mark.parametrize("qid, message", [
    (INT64_MAX + 1, f"{INT64_MAX + 1} is outside the 64-bit integer range"),
    (-(2 ** 63) - 1, f"{-(2 ** 63) - 1} is outside the 64-bit integer range"),
    (True, "must be an integer, got True"),
    (7.0, "must be an integer, got 7.0"),
    (7.5, "must be an integer, got 7.5"),
    ("7", "must be an integer, got '7'"),
])
def test_question_ids_outside_int64_or_not_integers_are_refused_at_parse(tmp_path, qid, message):
    path = write_json(tmp_path / "avqa-test.json", [record(1, "v1"), record(2, "v2"), record(qid, "v3")])
    with pytest.raises(AnnotationError) as caught:
        music_avqa.load_annotations(path)
    assert f"{path}: record 2 (question_id {qid!r}): field 'question_id' {message}" in str(caught.value)
    path = write_json(tmp_path / "val_qa.json", [avqa_record(qid)])
    with pytest.raises(AnnotationError, match=rf"val_qa.json: record 0 .*field 'id' "):
        avqa.load_annotations(path)


def test_int64_bounds_themselves_are_kept(tmp_path):
    path = write_json(tmp_path / "a.json", [record(INT64_MAX, "v1"), record(-(2 ** 63), "v2")])
    assert [q.question_id for q in music_avqa.load_annotations(path).questions] == [INT64_MAX, -(2 ** 63)]
    assert question_id_problem(0) is None


def test_a_prediction_file_with_an_id_outside_int64_names_its_line(tmp_path):
    path = tmp_path / "pred.csv"
    path.write_text(f"question_id,prediction\n1,two\n{INT64_MAX + 1},three\n")
    with pytest.raises(TableError, match=rf"{path}: line 3: column 'question_id' {INT64_MAX + 1} is outside"):
        read_predictions(path)


# -- 3. empty splits -------------------------------------------------------------------------------
def test_an_empty_split_is_refused_by_both_formats_and_mcd_table(tmp_path, capsys):
    empty = write_json(tmp_path / "avqa-val.json", [])
    with pytest.raises(AnnotationError, match=rf"{empty}: holds no question records"):
        music_avqa.load_annotations(empty)
    with pytest.raises(AnnotationError, match=r"val_qa.json: holds no question records"):
        avqa.load_annotations(write_json(tmp_path / "val_qa.json", []))
    good = write_json(tmp_path / "avqa-train.json", [record(1, "v1")])
    scores = tmp_path / "scores.csv"
    scores.write_text("method,overall\n")
    assert main(["table", "--train", str(good), "--val", str(empty), "--test", str(good), "--rows", str(scores),
                 "--out", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md")]) == 2
    assert f"{empty}: holds no question records" in one_line_error(capsys, "table")
    assert not (tmp_path / "t.csv").exists()


def test_an_empty_split_stops_snakemake_at_parse(tmp_path):
    real_dataset(tmp_path, {**GOOD, "val": []}, run=True)
    out = only_the_message(snakemake(tmp_path, "-n"))
    assert "Error: data/avqa val.json: holds no question records" in out


def test_a_split_left_without_videos_by_missing_videos_skip_is_named(tmp_path):
    real_dataset(tmp_path, {**GOOD, "test": [record(4, "gone1"), record(5, "gone2")]},
                 extraction={"missing_videos": "skip"})
    for name in ("gone1", "gone2"):
        (tmp_path / "data/videos" / f"{name}.mp4").unlink()
    out = only_the_message(snakemake(tmp_path, "-n", "results/real/table3.csv"))
    assert ("dataset 'real', split test (data/avqa test.json): 0 of its 2 annotated videos found in "
            "data/videos") in out


@pytest.mark.parametrize("mode, run, target", [
    ("skip", True, []),                                 # the config check at parse, before the DAG
    ("skip", False, ["results/real/table3.csv"]),       # a dataset named by its target: at the DAG
    ("stop", True, []),                                 # not "put them there or skip them"
])
def test_a_videos_folder_holding_none_of_the_annotated_videos_stops_before_any_job(tmp_path, mode, run, target):
    """With `missing_videos: skip` such a dataset went on to extract nothing; the path is wrong."""
    real_dataset(tmp_path, GOOD, run=run, extraction={"missing_videos": mode})
    for video in (tmp_path / "data/videos").iterdir():
        video.unlink()
    out = only_the_message(snakemake(tmp_path, "-n", *target))
    lines = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and lines[0].startswith(
        "Error: datasets.real: 0 of 2 annotated videos found under data/videos ("), out
    assert "check `videos` in the config (datasets.real.videos)" in lines[0]
    assert ("Building DAG" in out) == (not run), out
    assert not (tmp_path / "results").exists()


# -- 4. bytes that are not UTF-8 -------------------------------------------------------------------
LATIN1 = '[{"video_id": "caf\xe9"}]'.encode("latin-1")   # 0xe9 at byte offset 18
OFFSET = LATIN1.index(b"\xe9")


def _readers():
    from mcd_core.ask.question import read_questions_file
    from mcd_core.data.vocab import Vocab
    from mcd_core.demo.dataset import DemoConfig, _check_reusable
    from mcd_core.scoring.tables import read_failure_stages, read_score_table

    return {
        "music_avqa annotations": music_avqa.load_annotations,
        "avqa annotations": avqa.load_annotations,
        "vocabulary": Vocab.load,
        "predictions": read_predictions,
        "score table": read_score_table,
        "failures manifest": read_failure_stages,
        "shard list": read_ids,
        "questions file": read_questions_file,
        "demo scenes": lambda path: _check_reusable(path, DemoConfig()),
    }


@pytest.mark.parametrize("reader", list(_readers()))
def test_a_file_that_is_not_utf8_is_one_error_naming_file_and_offset(tmp_path, reader):
    path = tmp_path / "file.json"
    path.write_bytes(LATIN1)
    with pytest.raises(Exception) as caught:
        _readers()[reader](path)
    assert type(caught.value).__module__.startswith("mcd_core."), type(caught.value)
    assert not isinstance(caught.value, UnicodeDecodeError)
    assert f"{path}: " in str(caught.value)
    assert f"byte 0xe9 at byte offset {OFFSET} (line 1)" in str(caught.value)


def test_mcd_score_names_a_non_utf8_predictions_file(tmp_path, capsys):
    annotations = write_json(tmp_path / "avqa-test.json", [record(1, "v1")])
    predictions = tmp_path / "pred.csv"
    data = b"question_id,prediction\n1,caf\xe9\n"
    predictions.write_bytes(data)
    offset = data.index(bytes([0xe9]))
    assert main(["score", "--annotations", str(annotations), "--predictions", str(predictions),
                 "--out", str(tmp_path / "s.csv")]) == 2
    err = one_line_error(capsys, "score")
    assert f"{predictions}: predictions file is not UTF-8 text: byte 0xe9 at byte offset {offset} (line 2)" in err


def test_a_non_utf8_annotation_file_stops_snakemake_at_parse(tmp_path):
    real_dataset(tmp_path, GOOD, run=True)
    (tmp_path / "data/avqa train.json").write_bytes(LATIN1)
    out = only_the_message(snakemake(tmp_path, "-n"))
    assert f"Error: data/avqa train.json: annotation file is not UTF-8 text: byte 0xe9 at byte offset {OFFSET}" in out


# -- 5. output folders that cannot be written ------------------------------------------------------
def test_unwritable_problem_names_the_folder_that_blocks(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert unwritable_problem(blocker / "a" / "b") == f"its parent {blocker} is not a folder"
    assert unwritable_problem(tmp_path / "new" / "deeper") is None
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    assert unwritable_problem(tmp_path / "new") == f"its parent {tmp_path} is not writable"
    assert unwritable_problem(tmp_path) == "it is not writable"


def test_a_results_folder_that_cannot_be_written_stops_snakemake_at_parse(tmp_path):
    real_dataset(tmp_path, GOOD, run=True)
    (tmp_path / "results").write_text("not a folder")
    out = only_the_message(snakemake(tmp_path, "-n"))
    assert "Error: the results folder results cannot be written: it is not a folder" in out


def test_a_weights_dir_that_cannot_be_written_stops_snakemake_when_files_are_missing(tmp_path):
    real_dataset(tmp_path, GOOD, run=True, extraction={"weights": "pretrained"})
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["weights_dir"] = "blocker/weights"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "blocker").write_text("")
    out = only_the_message(snakemake(tmp_path, "-n"))
    assert "Error: weights_dir blocker/weights cannot be written: its parent blocker is not a folder" in out


def _resnet18_state(tmp_path: Path, damage=None) -> Path:
    from torchvision.models import resnet18

    state = resnet18(weights=None).state_dict()
    if damage:
        damage(state)
    path = tmp_path / "resnet18-download.pth"
    torch.save(state, path)
    return path


def test_weights_import_refuses_a_weights_folder_it_cannot_write(tmp_path, capsys, monkeypatch):
    file = _resnet18_state(tmp_path)
    (tmp_path / "blocker").write_text("")
    assert main(["weights", "import", "resnet18", str(file), "--weights-dir", str(tmp_path / "blocker/w")]) == 2
    assert (f"weights folder {tmp_path / 'blocker/w'} cannot be written: its parent {tmp_path / 'blocker'} "
            f"is not a folder") in one_line_error(capsys, "weights")
    folder = tmp_path / "readonly"
    folder.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder)
    assert main(["weights", "import", "resnet18", str(file), "--weights-dir", str(folder)]) == 2
    assert f"weights folder {folder} cannot be written: it is not writable" in one_line_error(capsys, "weights")
    assert main(["weights", "fetch", "resnet18", "--weights-dir", str(folder)]) == 2
    assert f"weights folder {folder} cannot be written" in one_line_error(capsys, "weights")
    assert not list(folder.iterdir())


# -- 6. a weights file that does not fit its network -----------------------------------------------
def _damage(state):
    del state["fc.bias"]
    del state["layer1.0.bn1.running_mean"]
    state["conv1.weight"] = torch.zeros(32, 3, 7, 7)
    state["head.extra"] = torch.zeros(1)


def test_weights_import_refuses_keys_and_shapes_that_do_not_fit(tmp_path, capsys):
    file = _resnet18_state(tmp_path, _damage)
    weights = tmp_path / "weights"
    assert main(["weights", "import", "resnet18", str(file), "--weights-dir", str(weights)]) == 2
    err = one_line_error(capsys, "weights")
    assert f"{file}: does not fit the network of 'resnet18'" in err
    assert "2 missing key(s) (layer1.0.bn1.running_mean, fc.bias)" in err
    assert "1 unexpected key(s) (head.extra)" in err
    assert "shape of conv1.weight: file [32, 3, 7, 7], network [64, 3, 7, 7]" in err
    assert not weights.exists() or not list(weights.iterdir())


def test_weights_import_keeps_a_file_that_fits(tmp_path, capsys):
    file = _resnet18_state(tmp_path)
    assert main(["weights", "import", "resnet18", str(file), "--weights-dir", str(tmp_path / "weights")]) == 0
    assert (tmp_path / "weights/resnet18_imagenet1k_v1.pth").is_file()


def test_weights_import_checks_the_vggish_pca_parameters(tmp_path, capsys):
    file = tmp_path / "pca.pth"
    torch.save({"pca_eigen_vectors": torch.zeros(128, 64), "pca_means": torch.zeros(128, 1)}, file)
    assert main(["weights", "import", "vggish_pca", str(file), "--weights-dir", str(tmp_path / "w")]) == 2
    assert "does not hold the VGGish PCA parameters" in one_line_error(capsys, "weights")


# -- 7. counts on the command line and checkpoints that are no torch file ---------------------------
@pytest.mark.parametrize("args, message", [
    (["frames", "--seconds", "0"], "argument --seconds: must be >= 1, got 0"),
    (["audio", "--seconds", "2", "--workers", "-1"], "argument --workers: must be >= 1, got -1"),
    (["frames", "--seconds", "2", "--frame-short-side", "-5"], "argument --frame-short-side: must be >= 0, got -5"),
])
def test_counts_below_their_minimum_are_usage_errors(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as stopped:
        main([args[0], "--videos", str(tmp_path), "--ids-file", str(tmp_path / "ids.txt"), "--out",
              str(tmp_path / "shard"), *args[1:]])
    assert stopped.value.code == 2
    assert f"mcd {args[0]}: error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "shard").exists()


def test_a_checkpoint_of_random_bytes_is_named_as_no_torch_file(tmp_path):
    from mcd_core.scoring.checkpoint import CheckpointError, read_checkpoint

    path = tmp_path / "best.pt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(path)
    assert f"{path}: not a readable checkpoint (its bytes are not a torch file (Unsupported operand" in str(caught.value)
    assert "could run code" not in str(caught.value)
