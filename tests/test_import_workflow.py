"""A dataset whose streams are imported: the workflow plans import jobs instead of extraction and
never asks for a video; a tiny AVQA Table V from the three official HDF5 files alone (d_model 64,
one epoch); a mix of imported audio and extracted visual; config errors."""

from __future__ import annotations

import csv
import json

import pytest

from import_files import AVQA_FILES, avqa_names, avqa_qa, write_avqa_h5, write_json
from test_workflow import REPO, planned_jobs, snakemake, write_config
from videos import make_video

TINY = ["in_memory=true", "d_model=64", "word_dim=64", "ffn_hidden=128", "proj_dim=64"]


def avqa_import_workdir(tmp_path, visual="avqa_motion", n_train=24, n_test=8, videos=False, seconds=10):
    root = tmp_path / "resources" / "avqa"
    train, test = avqa_names(n_train), avqa_names(n_test, start=n_train)
    write_json(root / "train_qa.json", avqa_qa(train))
    write_json(root / "val_qa.json", avqa_qa(test, first_id=n_train))
    ids = [1000 + i for i in range(n_train + n_test)]
    features = {"audio": {"import": f"resources/avqa/{AVQA_FILES['avqa_audio'][0]}", "layout": "avqa_audio"}}
    write_avqa_h5(root / AVQA_FILES["avqa_audio"][0], "avqa_audio", ids[::-1], seed=1)
    if visual:
        write_avqa_h5(root / AVQA_FILES[visual][0], visual, ids, seed=2)
        features["visual"] = {"import": f"resources/avqa/{AVQA_FILES[visual][0]}", "layout": visual}
    entry = {"format": "avqa", "seconds": seconds, "features": features,
             "annotations": {"train": "results/avqa/annotations/train.carve.json",
                             "val": "results/avqa/annotations/val.carve.json",
                             "test": "resources/avqa/val_qa.json"},
             "carve": {"source": "resources/avqa/train_qa.json", "val_questions": 6, "seed": 0},
             "extraction": {"weights": "random-init", "visual_backbone": "resnet18"},
             "training": {"epochs": 1, "batch_size": 8, "lr_step": 1, "workers": 0, "device": "cpu",
                          "extra": TINY}}
    if videos:
        (root / "videos").mkdir()
        for name in train + test:
            if videos == "real":
                make_video(root / "videos" / f"{name}.mp4", seconds=seconds, size=(64, 48), fps=4)
            else:
                (root / "videos" / f"{name}.mp4").write_bytes(b"")
        entry["videos"] = "resources/avqa/videos"
        entry["extraction"].update(batch_size=8, workers=0, shard_size=64)
    write_config(tmp_path, {"run": [], "datasets": {"avqa": entry}})
    return train, test


def test_imported_streams_plan_imports_and_no_video(tmp_path):
    avqa_import_workdir(tmp_path)
    proc = snakemake(tmp_path, "-n", "--cores", "2", "results/avqa/table5.csv")
    jobs = planned_jobs(proc)
    assert jobs == {"carve": 1, "import_features": 2, "vocab": 1, "train": 1, "predict": 1,
                    "score_model": 1, "table5": 1}, jobs
    out = proc.stdout + proc.stderr
    assert "results/avqa/features/visual/imported_avqa_motion.zarr" in out
    assert "results/avqa/scores/imported_avqa_motion-imported_avqa_audio/mcd_seed0.csv" in out


def test_mixed_imported_audio_and_extracted_visual(tmp_path):
    avqa_import_workdir(tmp_path, visual=None, videos=True)
    proc = snakemake(tmp_path, "-n", "--cores", "2", "results/avqa/table5.csv")
    jobs = planned_jobs(proc)
    assert jobs["import_features"] == 1 and jobs["extract_visual"] == 1 and jobs["frames"] == 1
    assert jobs["merge_features"] == 1 and "extract_audio" not in jobs and "audio" not in jobs, jobs
    assert "results/avqa/scores/resnet18-imported_avqa_audio/" in proc.stdout + proc.stderr


def test_without_videos_every_stream_must_be_imported(tmp_path):
    avqa_import_workdir(tmp_path, visual=None)
    proc = snakemake(tmp_path, "-n", "--cores", "2", "results/avqa/table5.csv", check=False)
    assert proc.returncode != 0
    assert "datasets.avqa: no `videos` folder, but its visual features are extracted" in proc.stderr


def test_layout_must_write_its_stream(tmp_path):
    avqa_import_workdir(tmp_path)
    import yaml
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["datasets"]["avqa"]["features"]["visual"]["layout"] = "avqa_audio"
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "--cores", "2", "results/avqa/table5.csv", check=False)
    assert "datasets.avqa.features.visual: layout 'avqa_audio' writes stream 'audio', not 'visual'" in proc.stderr


def test_tiny_table5_from_the_official_files_alone(tmp_path):
    """The shipped `avqa` entry, as configured (only training made tiny), on the official files: QA
    JSONs and two HDF5 files, one of whose rows is zeros (a video the release could not read)."""
    import numpy as np
    import yaml

    train, test = avqa_import_workdir(tmp_path)
    shipped = yaml.safe_load((REPO / "config/config.yaml").read_text())["datasets"]["avqa"]
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    mine = config["datasets"]["avqa"]
    assert {k: shipped[k] for k in ("features", "annotations", "seconds")} == \
        {k: mine[k] for k in ("features", "annotations", "seconds")}
    config["datasets"]["avqa"] = {**shipped, "training": mine["training"],
                                  "carve": {**shipped["carve"], "val_questions": 6}}
    write_config(tmp_path, config)
    ids = [1000 + i for i in range(len(train + test))][::-1]
    rows = np.random.default_rng(1).standard_normal((len(ids), 2048)).astype(np.float32)
    rows[ids.index(1000 + len(train))] = 0.0                     # the first test video's audio: zeros
    write_avqa_h5(tmp_path / "resources/avqa" / AVQA_FILES["avqa_audio"][0], "avqa_audio", ids, rows=rows)
    snakemake(tmp_path, "--cores", "2", "results/avqa/table5.csv")
    rows = list(csv.DictReader((tmp_path / "results/avqa/table5.csv").open()))
    ours = next(r for r in rows if r["method"] == "MCD")
    assert ours["visual_backbone"] == "imported_avqa_motion" and ours["audio_backbone"] == "imported_avqa_audio"
    assert "visual=imported:avqa_motion:AVQA_motion_resnext101_feat.h5@" in ours["features"]
    assert "audio=imported:avqa_audio:AVQA_audio_PANNs_feat.h5@" in ours["features"]
    assert 0.0 <= float(ours["avqa_avg"]) <= 100.0 and ours["weights"] == "imported"
    md = (tmp_path / "results/avqa/table5.md").read_text()
    assert "visual features: imported from AVQA_motion_resnext101_feat.h5 (sha256 " in md
    assert "randomly initialised" not in md        # no backbone of ours ran
    assert "no run beside MCD's: no paired tests" in md and "no MCD row among the rows" not in md
    assert not (tmp_path / "results/avqa/frames").exists() and not (tmp_path / "results/avqa/shards").exists()
    assert ("1 videos / 1 questions left out (videos not imported (absent from the feature file, or a bad "
            "row: zeros, NaN, shape))") in ours["notes"]
    lost = json.loads((tmp_path / "results/avqa/features/audio/imported_avqa_audio.failures.json").read_text())
    assert [(f["video_id"], f["stage"]) for f in lost] == [(test[0], "import")]
    assert "every value is 0" in lost[0]["error"]
    print((tmp_path / "results/avqa/table5.md").read_text())


def test_tiny_table5_from_imported_audio_and_extracted_visual(tmp_path):
    """The mix end to end: the official audio file imported, ResNet-18 (random-init) run on the videos."""
    train, test = avqa_import_workdir(tmp_path, visual=None, videos="real", seconds=2)
    snakemake(tmp_path, "--cores", "2", "results/avqa/table5.csv")
    rows = list(csv.DictReader((tmp_path / "results/avqa/table5.csv").open()))
    ours = next(r for r in rows if r["method"] == "MCD")
    assert ours["visual_backbone"] == "resnet18" and ours["audio_backbone"] == "imported_avqa_audio"
    assert "audio=imported:avqa_audio:AVQA_audio_PANNs_feat.h5@" in ours["features"]
    assert "visual=extracted:resnet18" in ours["features"], ours["features"]
    assert 0.0 <= float(ours["avqa_avg"]) <= 100.0
    md = (tmp_path / "results/avqa/table5.md").read_text()
    assert "audio features: imported from AVQA_audio_PANNs_feat.h5 (sha256 " in md
    assert "randomly initialised" in md          # our ResNet-18 ran without weights, and says so
    # the visual store holds every video's 2 seconds; the audio store one clip-level step a video
    import zarr
    visual = zarr.open_group(str(tmp_path / "results/avqa/features/visual/resnet18.zarr"), mode="r")
    audio = zarr.open_group(str(tmp_path / "results/avqa/features/audio/imported_avqa_audio.zarr"), mode="r")
    assert visual["features"].shape[:2] == (len(train + test), 2)
    assert audio["features"].shape[:2] == (len(train + test), 1)
    assert not (tmp_path / "results/avqa/features/audio/panns_cnn14_32k.zarr").exists()


def test_tiny_table3_from_the_baselines_npy_folders_alone(tmp_path):
    """MUSIC-AVQA without videos: the baselines' per-video VGGish, ResNet-18 and AVST 14x14 .npy
    folders (rows smaller than released, `shape: auto`), MCD and AVST trained on them, Table III."""
    import numpy as np
    import yaml

    from import_files import write_npy_folder
    from test_input_checks import record

    videos = [f"{i:08d}" for i in range(1, 13)]
    rng = np.random.default_rng(0)
    released = tmp_path / "released"
    write_npy_folder(released / "vggish", {v: rng.standard_normal((4, 8)).astype(np.float32) for v in videos})
    write_npy_folder(released / "res18", {v: rng.standard_normal((4, 16)).astype(np.float32) for v in videos})
    write_npy_folder(released / "maps", {v: rng.standard_normal((4, 16, 14, 14)).astype(np.float32)
                                         for v in videos})
    splits = {"train": videos[:8], "val": videos[8:10], "test": videos[10:]}
    annotations = {}
    for split, names in splits.items():
        path = tmp_path / "json_update" / f"avqa-{split}.json"
        path.parent.mkdir(exist_ok=True)
        first = {"train": 0, "val": 100, "test": 200}[split]
        path.write_text(json.dumps([record(first + i, v, answer=("two" if i % 2 else "one"))
                                    for i, v in enumerate(names)]))
        annotations[split] = f"json_update/avqa-{split}.json"
    features = {stream: {"import": f"released/{folder}", "layout": layout, "shape": "auto"}
                for stream, folder, layout in (("audio", "vggish", "vggish"), ("visual", "res18", "resnet18"),
                                               ("visual_map", "maps", "resnet18_14x14"))}
    config = {"run": [], "datasets": {"released": {
        "format": "music_avqa", "annotations": annotations, "seconds": 4, "features": features,
        "training": {"variants": ["mcd", "avst"], "epochs": 1, "batch_size": 4, "lr_step": 1, "workers": 0,
                     "device": "cpu", "extra": TINY},
        "table": {"prior": True}}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "--cores", "2", "results/released/table3.csv")
    rows = {r["method"]: r for r in csv.DictReader((tmp_path / "results/released/table3.csv").open())}
    assert {"MCD", "AVST", "prior", "N"} <= set(rows), sorted(rows)
    assert rows["N"]["overall"] == "2"
    assert rows["MCD"]["visual_backbone"] == "imported_resnet18" and rows["MCD"]["audio_backbone"] == "imported_vggish"
    assert "audio=imported:vggish:vggish@" in rows["MCD"]["features"]
    assert "imported_resnet18_14x14" in rows["AVST"]["inputs"]        # AVST read the released maps
    md = (tmp_path / "results/released/table3.md").read_text()
    assert "visual_map features: imported from maps (sha256 " in md     # the peer's stream has its note too
    assert "visual_map=imported:resnet18_14x14:maps@" in rows["AVST"]["features"]
    assert not (tmp_path / "results/released/frames").exists()
    for store in ("audio/imported_vggish", "visual/imported_resnet18", "visual_map/imported_resnet18_14x14"):
        assert (tmp_path / f"results/released/features/{store}.zarr").is_dir(), store
