"""The `avqa` entry of config/config.yaml plans `results/avqa/table5.csv` (dry run, placeholder
videos and weights files), with its carve rule, clip extraction and 32 kHz audio; config checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mcd_core import workflow as pipeline
from mcd_core.features.backbones import audio as audio_backbones
from mcd_core.features.backbones import motion

from test_workflow import REPO, planned_jobs, snakemake, write_config


def avqa_records(names: list[str], first_id: int = 0) -> list[dict]:
    types = ["Which", "Come From", "Happening", "Where", "Why", "Before Next", "When", "Used For"]
    return [{"id": first_id + i, "video_name": v, "video_id": first_id + i,
             "question_text": "What happened in the video?", "multi_choice": ["a", "b", "c", "d"],
             "answer": i % 4, "question_relation": "View", "question_type": types[i % 8]}
            for i, v in enumerate(names)]


def avqa_workdir(tmp_path: Path, present: list[str], train: list[str], test: list[str]) -> dict:
    """The repository's config, its `avqa_videos` entry (the clips re-fetched) named `avqa`, laid out
    as docs/avqa.md says (placeholder files)."""
    root = tmp_path / "resources" / "avqa"
    (root / "videos").mkdir(parents=True)
    for name in present:
        (root / "videos" / f"{name}.mp4").write_bytes(b"")
    (root / "train_qa.json").write_text(json.dumps(avqa_records(train)))
    (root / "val_qa.json").write_text(json.dumps(avqa_records(test, 1000)))
    weights = tmp_path / "resources" / "weights"
    weights.mkdir(parents=True)
    for name in ("resnext-101-kinetics.pth", "Cnn14_mAP=0.431.pth"):
        (weights / name).write_bytes(b"placeholder")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    entry = json.loads(json.dumps(config["datasets"]["avqa_videos"]).replace("results/avqa_videos/", "results/avqa/"))
    config["datasets"]["avqa"] = entry
    return config


def test_avqa_config_plans_table5(tmp_path):
    train = [f"-train{i:06d}_{i:06d}" for i in range(30)]
    test = [f"test{i:07d}_000010" for i in range(6)]
    config = avqa_workdir(tmp_path, present=train[2:] + test, train=train, test=test)
    config["datasets"]["avqa"]["carve"]["val_questions"] = 5
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "-p", "--cores", "8", "results/avqa/table5.csv")
    out = proc.stdout + proc.stderr
    jobs = planned_jobs(proc)
    # 34 videos with a file in shards of 200: one of each shard job; no 1-fps frames, no log-mel;
    # the shipped variants: MCD and MCD + time encoding
    assert jobs == {"carve": 1, "shard_ids": 1, "audio": 1, "extract_clips": 1, "extract_audio": 1,
                    "merge_features": 2, "missing_videos": 1, "vocab": 1, "train": 2, "predict": 2,
                    "score_model": 2, "table5": 1}, jobs
    assert "--sample-rate 32000" in out and "--backbone resnext101_3d_kinetics" in out
    assert "--per-second" not in out and "--paper-rows avqa" in out
    assert "results/avqa/features/visual/resnext101_3d_kinetics.zarr" in out
    assert "2 annotated videos have no file in" in out  # missing_videos: skip, noted
    assert "one clip-level 2048-d vector a video as in the AVQA release (L_a = 1)" in out
    config["datasets"]["avqa"]["extraction"]["audio_per_second"] = True
    write_config(tmp_path, config)
    out = (lambda p: p.stdout + p.stderr)(snakemake(tmp_path, "-n", "-p", "results/avqa/table5.csv"))
    assert "--per-second" in out and "embeddings of each second, L_a = 10 x 2048" in out
    # the other reading is another store, another run and another row, never the same paths
    assert "--backbone panns_cnn14_32k " in out and "results/avqa/features/audio/panns_cnn14_32k_per_second.zarr" in out
    assert "results/avqa/runs/resnext101_3d_kinetics-panns_cnn14_32k_per_second/mcd/seed0" in out
    assert "features/audio/panns_cnn14_32k.zarr" not in out


def test_the_audio_store_name_says_which_reading_it_holds():
    from mcd_core.features.backbones.audio import get_audio_entry
    from mcd_core.workflow import audio_store_backbone, audio_store_name
    from mcd_core.workflow.config import AUDIO_RATES, CLIP_LEVEL_AUDIO

    assert [b for b in AUDIO_RATES if get_audio_entry(b).spec.clip_level] == list(CLIP_LEVEL_AUDIO)
    for backbone in AUDIO_RATES:
        for per_second in (False, True):
            name = audio_store_name({"audio_backbone": backbone, "audio_per_second": per_second})
            clip = backbone in CLIP_LEVEL_AUDIO
            assert name == (backbone + "_per_second" if clip and per_second else backbone)
            assert audio_store_backbone(name) == (backbone, clip and per_second)
    assert audio_store_backbone("vggish_per_second") == ("vggish_per_second", False)


def test_avqa_dataset_writes_table5_not_table3(tmp_path):
    train = [f"train{i:06d}_000000" for i in range(12)]
    config = avqa_workdir(tmp_path, present=train + ["t0"], train=train, test=["t0"])
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "results/avqa/table3.csv", check=False)
    assert proc.returncode != 0
    assert "writes results/avqa/table5.csv, not table3.csv" in proc.stdout + proc.stderr


def test_avqa_missing_source_says_what_to_put_where(tmp_path):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "results/avqa/table5.csv", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "dataset 'avqa' is not in place" in out
    assert "annotations (train, val): resources/avqa/train_qa.json" in out
    assert "resources/avqa/val_qa.json" in out


def _validate(config: dict) -> dict:
    schema = pipeline.load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    return pipeline.validate_config(config, schema)


def test_config_checks_carve_paths_and_audio_rate():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validated = _validate(config)
    assert validated["datasets"]["avqa"]["carve"] == {"source": "resources/avqa/train_qa.json",
                                                      "val_questions": 2000, "seed": 0}
    settings = pipeline.dataset_settings(validated, "avqa_videos")
    assert pipeline.audio_sample_rate(settings.extraction) == 32000
    assert pipeline.dataset_settings(validated, "avqa").extraction["audio_backbone"] == "imported_avqa_audio"
    assert pipeline.audio_sample_rate(pipeline.dataset_settings(validated, "music_avqa").extraction) == 16000
    bad = json.loads(json.dumps(config))
    bad["datasets"]["avqa"]["annotations"]["val"] = "elsewhere/val.json"
    with pytest.raises(pipeline.ConfigError, match="annotations.val must be results/avqa/annotations/val.carve.json"):
        _validate(bad)
    bad = json.loads(json.dumps(config))
    bad["datasets"]["avqa_videos"]["extraction"]["audio_sample_rate"] = 16000
    with pytest.raises(pipeline.ConfigError, match="reads 32000 Hz"):
        _validate(bad)
    bad = json.loads(json.dumps(config))
    bad["datasets"]["music_avqa"]["carve"] = {"source": "x.json"}
    with pytest.raises(pipeline.ConfigError, match="has its own validation file"):
        _validate(bad)


def test_torch_free_registry_copies_match_the_registries():
    assert set(pipeline.CLIP_BACKBONES) == {n for n in motion.CLIP_BACKBONES if n != "tiny_clips_test"}
    assert pipeline.AUDIO_RATES == {n: e.spec.sample_rate for n, e in audio_backbones.AUDIO_BACKBONES.items()}


def test_paper_done_plans_table5_for_an_avqa_dataset(tmp_path):
    """paper.done asks for the tables the dataset's format writes: on AVQA Table V (the paper's only
    AVQA result), not Table III nor the MUSIC-AVQA suite (Tables II, IV, VI-X, Fig. 5(b))."""
    train = [f"-train{i:06d}_{i:06d}" for i in range(30)]
    test = [f"test{i:07d}_000010" for i in range(6)]
    config = avqa_workdir(tmp_path, present=train + test, train=train, test=test)
    config["datasets"]["avqa"]["carve"]["val_questions"] = 5
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "results/avqa/paper.done")
    jobs = planned_jobs(proc)
    assert jobs["table5"] == 1 and jobs["paper"] == 1, jobs
    assert not {"table3", "paper_table", "fig5b", "table3_html", "table3_bars"} & set(jobs), jobs
    out = proc.stdout + proc.stderr
    assert "paper suite (table5): 2 training runs" in out   # the shipped variants: mcd, mcd_time
    # the carve has not run: its source's 30 questions split as it will split them, and said so
    assert ("questions per epoch: train 25, val 5, test 6 (train and val: resources/avqa/train_qa.json as "
            "rule carve will split it, not run yet)") in out
    assert "GPU-hours" in out
    assert "mcd paper-plan --experiments table5 " in out
