"""The peers in the workflow: naming avst, pstp_net and tspm in training.variants plans the feature
stores each needs, passes them as `--input KEY=PATH`, puts their rows in table3 (on their own
backbones) and beside MCD in table4; the plan stays torch-free. These are the registered architectures (mcd_core/models/{avst,pstp_net,tspm}),
read from this checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_workflow import REPO, planned_jobs, real_dataset, snakemake, write_config

def plan(tmp_path: Path, variants: list[str], *targets: str, no_torch: bool = False,
         training: dict | None = None, features: dict | None = None) -> subprocess.CompletedProcess:
    config = real_dataset(tmp_path, [f"v{i:03d}" for i in range(4)], [f"v{i:03d}" for i in range(4)])
    config["run"] = ["real"]
    config["datasets"]["real"]["training"] = {"variants": variants, "seeds": [0, 1], **(training or {})}
    if features:
        config["datasets"]["real"]["features"] = features
    write_config(tmp_path, config)
    paths = [str(REPO)]
    if no_torch:
        fake = tmp_path / "notorch" / "torch"
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text("raise ImportError('torch imported while planning')\n")
        paths.insert(0, str(fake.parent))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "-n", "-p", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def shell_lines(proc: subprocess.CompletedProcess, verb: str) -> list[str]:
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith(f"Shell command: mcd {verb} ")]


def test_peers_plan_their_feature_stores_inputs_and_table_rows(tmp_path):
    proc = plan(tmp_path, ["mcd", "avst", "pstp_net", "tspm"], "results/real/table3.csv", "results/real/table4.csv",
                no_torch=True)
    out = proc.stdout + proc.stderr
    assert "torch imported while planning" not in out
    jobs = planned_jobs(proc)
    # 4 videos in 2 shards: 14x14 maps and ToMe tokens per shard, the CLIP patch store for PSTP-Net,
    # and one per-question store per text stream and tower
    assert jobs["extract_tokens"] == 4 and jobs["extract_visual_patch"] == 2 and jobs["extract_text"] == 4
    texts = sorted(line.split("--out ")[1].split()[0] for line in shell_lines(proc, "extract-text"))
    assert texts == ["prompt_sentence=results/real/features/prompt_sentence/clip_text_l14_336.zarr",
                     "text_sentence=results/real/features/text_sentence/clip_text_b32.zarr",
                     "text_sentence=results/real/features/text_sentence/clip_text_l14_336.zarr",
                     "text_words=results/real/features/text_words/clip_text_b32.zarr"]
    train = {line.split("--variant ")[1].split()[0]: line for line in shell_lines(proc, "train")
             if "--seed 0" in line}
    assert "--input" not in train["mcd"]
    assert "--visual results/real/features/visual/resnet18.zarr" in train["avst"]
    assert "--input visual_map=results/real/features/visual_map/resnet18_14x14.zarr" in train["avst"]
    # AVST's two released stages: the grounding run, then QA started from its best.pt (same seed)
    grounding = "results/real/runs/resnet18-vggish/avst_grounding/seed0"
    assert f"--out-dir {grounding}" in train["avst_grounding"] and "--init-from" not in train["avst_grounding"]
    assert f"--init-from {grounding}/best.pt" in train["avst"]
    assert not any("avst_grounding" in line for line in shell_lines(proc, "predict"))
    assert "avst_grounding" not in shell_lines(proc, "table")[0]
    assert "--init-from" not in train["mcd"] and "--init-from" not in train["pstp_net"]
    assert "--visual results/real/features/visual_patch/clip_vit_b32.zarr" in train["pstp_net"]
    assert ("--input question_clip=results/real/features/text_sentence/clip_text_b32.zarr "
            "--input question_words=results/real/features/text_words/clip_text_b32.zarr") in train["pstp_net"]
    assert "--visual results/real/features/visual/clip_vit_l14_336.zarr" in train["tspm"]
    for flag in ("tome=results/real/features/tome/tome_vit_l16_384.zarr",
                 "question_clip=results/real/features/text_sentence/clip_text_l14_336.zarr",
                 "prompt_clip=results/real/features/prompt_sentence/clip_text_l14_336.zarr"):
        assert f"--input {flag}" in train["tspm"]
    predict = [line for line in shell_lines(proc, "predict") if "tspm_seed1" in line]
    assert len(predict) == 1 and "--input tome=results/real/features/tome/tome_vit_l16_384.zarr" in predict[0]
    # table3: each peer on its own backbone, named as a method; videos lost by its token store are excluded
    table3 = shell_lines(proc, "table")[0]
    for row in ("resnet18-vggish/mcd_seed0", "resnet18-vggish/avst_seed1", "clip_vit_b32-vggish/pstp_net_seed0",
                "clip_vit_l14_336-vggish/tspm_seed1"):
        assert f"results/real/scores/{row}.csv" in table3
    score = [line for line in shell_lines(proc, "score") if "tspm_seed0" in line][0]
    assert "--name 'TSPM seed=0'" in score and "features/tome/tome_vit_l16_384.failures.json" in score
    # table4: AVST and PSTP-Net beside MCD on the same backbone
    table4 = shell_lines(proc, "paper-table")[0]
    assert "--scores avst@resnet18=results/real/scores/resnet18-vggish/avst_seed1.csv" in table4
    assert "--scores pstp_net@clip_vit_b32=results/real/scores/clip_vit_b32-vggish/pstp_net_seed0.csv" in table4
    assert "tspm" not in table4


def test_without_peers_nothing_of_theirs_is_planned(tmp_path):
    proc = plan(tmp_path, ["mcd"], "results/real/table3.csv", "results/real/table4.csv")
    jobs = planned_jobs(proc)
    assert "extract_tokens" not in jobs and "extract_text" not in jobs and "extract_visual_patch" not in jobs
    assert "avst" not in shell_lines(proc, "paper-table")[0]


def test_pretrained_peers_need_their_weights_files_before_any_job(tmp_path):
    config = real_dataset(tmp_path, ["v000"], ["v000"], weights="pretrained")
    config["run"] = ["real"]
    config["weights_dir"] = str(tmp_path / "weights")
    config["datasets"]["real"]["training"] = {"variants": ["tspm"]}
    write_config(tmp_path, config)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "-n", "results/real/table3.csv"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in out
    for name in ("clip_vit_l14_336", "tome_vit_l16_384", "clip_text_l14_336", "vggish"):
        assert f"  {name}: " in out


def test_music_avqa_plans_every_feature_store_the_peers_read(tmp_path):
    """music_avqa as shipped (Swin-V2-L for MCD, pretrained weights) with the peers named in
    training.variants: the dry run plans, for the registered architectures, each peer's own visual
    store and every store it declares, and their runs read them."""
    from test_paper_workflow import music_avqa_config
    from test_workflow import snakemake
    from mcd_core.models import ARCHITECTURES

    config = music_avqa_config(tmp_path, seeds=(0,))
    config["datasets"]["music_avqa"]["training"] = {"variants": ["mcd", "avst", "pstp_net", "tspm"]}
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "-p", "results/music_avqa/table3.csv", "results/music_avqa/table4.csv")
    out = proc.stdout + proc.stderr
    features = "results/music_avqa/features"
    for shard_store in ("visual/swinv2_large", "visual/resnet18", "visual/clip_vit_l14_336",
                        "visual_patch/clip_vit_b32", "visual_map/resnet18_14x14", "tome/tome_vit_l16_384"):
        assert f"{features}/{shard_store}/shard_00000.zarr" in out, shard_store
    runs: dict[str, list[str]] = {}
    for line in shell_lines(proc, "train"):
        runs.setdefault(line.split("--variant ")[1].split()[0], []).append(line)
    assert {v: len(lines) for v, lines in runs.items()} == {"mcd": 3, "avst_grounding": 1, "avst": 1,
                                                                 "pstp_net": 1, "tspm": 1}
    train = {v: lines[0] for v, lines in runs.items() if v != "mcd"}   # Table IV: MCD on 3 backbones
    assert "--init-from results/music_avqa/runs/resnet18-vggish/avst_grounding/seed0/best.pt" in train["avst"]
    for peer in ("avst", "pstp_net", "tspm"):
        for item in ARCHITECTURES[peer].inputs:
            store = f"{features}/{item.stream}/{item.backbone}.zarr"
            assert f"--input {item.key}={store}" in train[peer]
            if item.per == "question":  # one per-question store over every split, made by extract-text
                assert f"--out {item.stream}={store}" in out
    assert f"--visual {features}/visual_patch/clip_vit_b32.zarr" in train["pstp_net"]
    assert f"--visual {features}/visual/clip_vit_l14_336.zarr" in train["tspm"]
    assert any("--out-dir results/music_avqa/runs/swinv2_large-vggish/mcd/seed0" in line for line in runs["mcd"])
    assert planned_jobs(proc)["extract_text"] == 4


def test_a_peer_stream_the_dataset_imports_serves_every_peer_run_that_reads_it(tmp_path):
    """AVST's 14x14 maps and PSTP-Net's patch tokens from the baselines' released .npy folders: no
    token or patch extraction, and the run tags name the imported stores."""
    for folder in ("maps", "clip"):
        (tmp_path / "released" / folder).mkdir(parents=True)
    features = {"visual_map": {"import": "released/maps", "layout": "resnet18_14x14"},
                "visual_patch": {"import": "released/clip", "layout": "clip_vit_b32_patches"}}
    proc = plan(tmp_path, ["avst", "pstp_net"], "results/real/table3.csv", features=features, no_torch=True)
    jobs = planned_jobs(proc)
    assert jobs["import_features"] == 2 and "extract_visual_patch" not in jobs
    assert jobs.get("extract_tokens", 0) == 0
    train = {line.split("--variant ")[1].split()[0]: line for line in shell_lines(proc, "train")
             if "--seed 0" in line}
    assert "--input visual_map=results/real/features/visual_map/imported_resnet18_14x14.zarr" in train["avst"]
    assert "--out-dir results/real/runs/resnet18-vggish+imported_resnet18_14x14/avst/seed0" in train["avst"]
    assert "--visual results/real/features/visual_patch/imported_clip_vit_b32_patches.zarr" in train["pstp_net"]
    assert "results/real/runs/imported_clip_vit_b32_patches-vggish" in train["pstp_net"]


def _video_free(tmp_path: Path, variants: list[str], imported: dict[str, str],
                target: str = "results/real/table3.csv") -> subprocess.CompletedProcess:
    """Plan `target` with the dataset `real` without its `videos` folder, every stream of `imported`
    (stream -> layout) imported from a released folder, and `with_videos`: `real` as it was."""
    config = real_dataset(tmp_path, [f"v{i:03d}" for i in range(4)], [f"v{i:03d}" for i in range(4)])
    config["datasets"]["with_videos"] = json.loads(json.dumps(config["datasets"]["real"]))
    config["training"] = {"variants": variants}
    entry = config["datasets"]["real"]
    del entry["videos"]
    entry["training"] = {"variants": variants, "seeds": [0]}
    entry["features"] = {}
    for stream, layout in imported.items():
        (tmp_path / "released" / stream).mkdir(parents=True)
        entry["features"][stream] = {"import": f"released/{stream}", "layout": layout}
    write_config(tmp_path, config)
    return snakemake(tmp_path, "-n", target, check=False)


BASE_STREAMS = {"visual": "resnet18", "audio": "vggish"}


def test_without_videos_tspm_stops_at_the_config_check_since_its_tome_tokens_were_never_released(tmp_path):
    proc = _video_free(tmp_path, ["mcd", "tspm"], {**BASE_STREAMS, "text_sentence": "tspm_question",
                                                   "prompt_sentence": "tspm_prompt"})
    assert proc.returncode != 0
    assert ("datasets.real: no `videos` folder, but TSPM (training.variants: tspm) reads tome features of "
            "tome_vit_l16_384, which are extracted from videos; no released file holds them") in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_peer_listed_for_every_dataset_stops_only_the_dataset_without_videos(tmp_path):
    proc = _video_free(tmp_path, ["mcd", "tspm"], BASE_STREAMS, target="results/with_videos/table3.csv")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert planned_jobs(proc)["train"] == 2


def test_without_videos_a_peer_stream_left_to_extraction_names_the_import_that_would_serve_it(tmp_path):
    proc = _video_free(tmp_path, ["avst"], BASE_STREAMS)
    assert proc.returncode != 0
    assert ("AVST (training.variants: avst) reads visual_map features of resnet18_14x14, which are extracted "
            "from videos; import them under datasets.real.features.visual_map") in proc.stderr


def test_without_videos_avst_and_mcd_run_from_imported_streams_alone(tmp_path):
    proc = _video_free(tmp_path, ["mcd", "avst"], {**BASE_STREAMS, "visual_map": "resnet18_14x14"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned_jobs(proc)
    assert jobs["import_features"] == 3 and jobs["train"] == 3      # MCD, AVST and its grounding stage
    assert not {"frames", "audio", "extract_visual", "extract_audio", "extract_tokens"} & set(jobs), jobs
