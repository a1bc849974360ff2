"""The pipeline config: schema validation, defaults, per-dataset settings and shards."""

import json
from pathlib import Path

import pytest
import yaml

from mcd_core import workflow as pipeline

REPO = Path(__file__).resolve().parents[1]
SCHEMA = pipeline.load_schema(REPO / "workflow/schemas/config.schema.yaml")


def shipped_config():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_shipped_config_is_valid_and_gets_defaults():
    config = pipeline.validate_config(shipped_config(), SCHEMA)
    demo = pipeline.dataset_settings(config, "demo")
    assert demo.extraction["weights"] == "random-init"      # dataset override
    assert demo.extraction["on_error"] == "stop"            # schema default
    assert demo.training["variants"] == ["mcd", "mcd_time"]  # the paper's MCD and ours beside it
    real = pipeline.dataset_settings(config, "music_avqa")
    assert real.seconds == 60
    assert real.extraction["weights"] == "pretrained"
    assert real.annotations["test"].endswith("json_update/avqa-test.json")
    assert real.feature_tag == "swinv2_large-vggish"     # the paper's Table III MCD model (Table IV)


def test_misspelt_key_is_named():
    config = shipped_config()
    config["extraction"]["visaul_backbone"] = "resnet18"
    with pytest.raises(pipeline.ConfigError, match=r"extraction.*'visaul_backbone' was unexpected"):
        pipeline.validate_config(config, SCHEMA)


def test_misspelt_key_inside_a_dataset_is_named():
    config = shipped_config()
    config["datasets"]["demo"]["secnods"] = 10
    with pytest.raises(pipeline.ConfigError, match=r"datasets\.demo.*'secnods'"):
        pipeline.validate_config(config, SCHEMA)


def test_wrong_type_is_named():
    config = shipped_config()
    config["extraction"]["shard_size"] = "many"
    with pytest.raises(pipeline.ConfigError, match=r"extraction\.shard_size: 'many' is not of type 'integer'"):
        pipeline.validate_config(config, SCHEMA)


def test_command_line_strings_are_typed_as_the_schema_asks():
    # `snakemake --config 'training={"seeds": [0, 1], ...}'` hands every nested scalar over as a string
    from snakemake.cli import parse_config

    config = shipped_config()
    given = parse_config(['training={"seeds": [0, 1], "epochs": 3, "lr": 0.0005, "variants": ["mcd"]}',
                          'extraction={"shard_size": "7", "on_error": "skip"}'])
    assert given["training"]["seeds"] == ["0", "1"]        # what Snakemake gives
    config["training"].update(given["training"])
    config["extraction"].update(given["extraction"])
    config["datasets"]["demo"]["training"] = {"seeds": ["2"]}
    valid = pipeline.validate_config(config, SCHEMA)
    assert valid["training"]["seeds"] == [0, 1] and valid["training"]["epochs"] == 3
    assert valid["training"]["lr"] == 0.0005 and valid["extraction"]["shard_size"] == 7
    assert valid["training"]["variants"] == ["mcd"] and valid["extraction"]["on_error"] == "skip"
    assert pipeline.dataset_settings(valid, "demo").training["seeds"] == [2]
    # a string that spells no integer is still reported with its key
    config["training"]["seeds"] = ["0", "one"]
    with pytest.raises(pipeline.ConfigError, match=r"training\.seeds\.1: 'one' is not of type 'integer'"):
        pipeline.validate_config(config, SCHEMA)


def test_unknown_backbone_is_rejected():
    config = shipped_config()
    config["extraction"]["visual_backbone"] = "resnet1000"
    with pytest.raises(pipeline.ConfigError, match=r"extraction\.visual_backbone: 'resnet1000'"):
        pipeline.validate_config(config, SCHEMA)


def test_unknown_variant_is_rejected_before_any_job():
    config = shipped_config()
    config["training"]["variants"] = ["mcd", "mcd_n4"]
    with pytest.raises(pipeline.ConfigError, match=r"training\.variants: unknown variant 'mcd_n4'"):
        pipeline.validate_config(config, SCHEMA)


@pytest.mark.parametrize("extra, message", [
    ("d_modle=64", r"datasets\.demo\.training\.extra: .*unknown field 'd_modle'"),
    ("d_model=big", r"datasets\.demo\.training\.extra: .*d_model"),
    ("epochs=0", r"datasets\.demo\.training\.extra: .*epochs"),
])
def test_bad_training_extra_is_named(extra, message):
    config = shipped_config()
    config["datasets"]["demo"]["training"]["extra"] = [extra]
    with pytest.raises(pipeline.ConfigError, match=message):
        pipeline.validate_config(config, SCHEMA)


def test_run_must_name_a_defined_dataset():
    config = shipped_config()
    config["run"] = ["demo", "nope"]
    with pytest.raises(pipeline.ConfigError, match="'nope' is not defined"):
        pipeline.validate_config(config, SCHEMA)


def test_generated_dataset_paths_are_fixed():
    config = shipped_config()
    config["datasets"]["demo"]["videos"] = "elsewhere/videos"
    with pytest.raises(pipeline.ConfigError, match=r"datasets\.demo\.videos.*resources/demo/videos"):
        pipeline.validate_config(config, SCHEMA)


def test_missing_real_dataset_says_what_to_put_where(tmp_path):
    config = pipeline.validate_config(shipped_config(), SCHEMA)
    real = pipeline.dataset_settings(config, "music_avqa")
    with pytest.raises(pipeline.DatasetNotReadyError) as err:
        pipeline.dataset_video_ids(real)
    message = str(err.value)
    assert "resources/music_avqa/videos" in message
    assert "resources/music_avqa/json_update/avqa-train.json" in message


def record(qid, video_id):
    return {"video_id": video_id, "question_id": qid, "type": '["Audio", "Counting"]',
            "question_content": "How many instruments are sounding?", "templ_values": "[]",
            "question_deleted": 0, "anser": "two"}


def test_video_ids_come_from_all_splits(tmp_path):
    for split, ids in {"train": ["b", "a"], "val": ["c"], "test": ["a", "d"]}.items():
        (tmp_path / f"{split}.json").write_text(json.dumps([record(i, v) for i, v in enumerate(ids)]))
    ids = pipeline.annotation_video_ids([str(tmp_path / f"{s}.json") for s in ("train", "val", "test")])
    assert ids == ["a", "b", "c", "d"]


def test_malformed_annotation_file_is_named(tmp_path):
    bad = tmp_path / "avqa-train.json"
    bad.write_text(json.dumps([record(1, "1"), {"question_id": 3}]))
    with pytest.raises(pipeline.AnnotationError,
                       match=r"avqa-train.json: record 1 \(question_id 3\): missing field\(s\) 'video_id'"):
        pipeline.annotation_video_ids([str(bad)])


def test_shards_cover_every_video_once():
    ids = [f"{i:08d}" for i in range(1, 9289)]
    shards = pipeline.make_shards(ids, 200)
    assert len(shards) == 47 == len(pipeline.shard_names(len(ids), 200))
    assert [v for s in shards for v in s] == ids
    assert max(len(s) for s in shards) == 200


def test_demo_ids_match_the_generator():
    from mcd_core.demo import dataset as demo
    assert pipeline.demo_video_ids(3) == ["00000001", "00000002", "00000003"]
    assert [demo.video_id(i) for i in range(12)] == pipeline.demo_video_ids(12)


def _real(tmp_path, present, annotated, missing_videos=None):
    videos = tmp_path / "videos"
    videos.mkdir()
    for v in present:
        (videos / f"{v}.mkv").write_bytes(b"")
    (videos / "notes.txt").write_text("not a video")
    for split in ("train", "val", "test"):
        records = [{"video_id": v, "question_id": i, "type": '["Audio", "Counting"]',
                    "question_content": "How many instruments are sounding in the video?", "templ_values": "[]",
                    "question_deleted": 0, "anser": "two"} for i, v in enumerate(annotated)]
        (tmp_path / f"{split}.json").write_text(json.dumps(records))
    config = shipped_config()
    config["datasets"]["music_avqa"].update(
        videos=str(videos), annotations={s: str(tmp_path / f"{s}.json") for s in ("train", "val", "test")})
    if missing_videos:
        config["datasets"]["music_avqa"]["extraction"] = {"missing_videos": missing_videos}
    return pipeline.dataset_settings(pipeline.validate_config(config, SCHEMA), "music_avqa")


def test_missing_videos_stop_with_count_first_names_and_the_way_on(tmp_path):
    real = _real(tmp_path, ["a", "c"], ["a", "b", "c", "d", "e", "f", "g", "h"])
    with pytest.raises(pipeline.DatasetNotReadyError) as err:
        pipeline.dataset_video_ids(real)
    message = str(err.value)
    assert "6 of the 8 videos named by its annotations are not in" in message
    assert "first: b, d, e, f, g, ..." in message and "missing_videos: skip" in message


def test_missing_videos_skip_keeps_the_present_ones_and_writes_the_list(tmp_path):
    from mcd_core.media.shardrun import read_failures
    from mcd_core.workflow.datasets import write_missing_videos

    real = _real(tmp_path, ["a", "c"], ["a", "b", "c", "d"], missing_videos="skip")
    assert pipeline.dataset_video_ids(real) == ["a", "c"]
    assert pipeline.missing_video_ids(real) == ["b", "d"]
    out = tmp_path / "missing.failures.json"
    assert write_missing_videos(out, real.videos, list(real.annotations.values())) == 2
    assert [(f.video_id, f.stage) for f in read_failures(out)] == [("b", "videos"), ("d", "videos")]


def test_weights_dir_comes_from_config_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("MCD_WEIGHTS_DIR", raising=False)
    config = pipeline.validate_config(shipped_config(), SCHEMA)
    assert pipeline.weights_dir(config) == "resources/weights"
    monkeypatch.setenv("MCD_WEIGHTS_DIR", "/shared/weights")
    assert pipeline.weights_dir(config) == "/shared/weights"
    config = pipeline.validate_config({**shipped_config(), "weights_dir": "w"}, SCHEMA)
    assert pipeline.weights_dir(config) == "w"
