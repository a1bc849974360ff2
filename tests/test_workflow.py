"""The Snakemake workflow: lint, the DAG, a tiny real run of the demo, and what a swap re-runs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

TINY_DEMO = {
    "run": ["demo"],
    "datasets": {"demo": {
        "format": "music_avqa",
        "videos": "resources/demo/videos",
        "annotations": {s: f"resources/demo/annotations/avqa-{s}.json" for s in ("train", "val", "test")},
        "seconds": 3,
        "generator": {"seed": 3, "videos": 12},
        "extraction": {"weights": "random-init", "shard_size": 6, "frame_short_side": 224,
                       "batch_size": 16, "workers": 1},
        "training": {"epochs": 2, "batch_size": 16, "lr_step": 1, "extra": ["d_model=64"]},
        "table": {"prior": True},
    }},
}


def snakemake(workdir: Path, *args: str, check: bool = True,
              configfile: Path | None = None) -> subprocess.CompletedProcess:
    """`snakemake ARGS` in `workdir` with its config.yaml (or `configfile`)."""
    configfile = configfile or workdir / "config.yaml"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(configfile), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts per rule from a dry run's job-stats table."""
    text = proc.stdout + proc.stderr
    table = text.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


def write_config(workdir: Path, config: dict) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


# The one lint we accept: the pipeline runs in one environment (README, "Installing by hand"),
# because environment.yml installs this checkout, which Snakemake's per-rule conda builds cannot.
ONE_ENVIRONMENT_LINT = "Specify a conda environment or container for each rule."


def test_lint_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO,
                          capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert "Lints for snakefile" not in out, out
    titles = set(re.findall(r"^    \* (.+?):?$", out, re.M))
    assert titles <= {ONE_ENVIRONMENT_LINT}, out
    assert "Traceback" not in out


def test_demo_dag_has_every_stage(tmp_path):
    write_config(tmp_path, TINY_DEMO)
    jobs = planned_jobs(snakemake(tmp_path, "-n", "results/demo/table3.csv"))
    assert jobs == {"demo_data": 1, "shard_ids": 2, "frames": 2, "audio": 2, "logmel": 2,
                    "extract_visual": 2, "extract_audio": 2, "merge_features": 2, "vocab": 1,
                    "train": 1, "predict": 1, "score_model": 1, "prior_predictions": 1,
                    "score_prior": 1, "table3": 1}


def test_global_config_overrides_reach_a_dataset_with_its_own_sections(tmp_path):
    """`--config` on a global section changes every dataset that does not set the key itself
    (the demo sets its own `extraction` and `training` sections, but not these keys)."""
    write_config(tmp_path, TINY_DEMO)
    proc = snakemake(tmp_path, "-n", "results/demo/table3.csv", "--config",
                     'extraction={"visual_backbone": "clip_vit_b32"}',
                     'training={"variants": ["mcd", "q_only"]}')
    out = proc.stdout + proc.stderr
    assert "features/visual/clip_vit_b32/shard_00000.zarr" in out
    assert "features/visual/resnet18" not in out
    jobs = planned_jobs(proc)
    assert jobs["train"] == 2 and jobs["predict"] == 2 and jobs["score_model"] == 2


def _train_job(proc: subprocess.CompletedProcess) -> str:
    """The dry run's (`-p`) block of the one train job: its resources line and shell command."""
    return (proc.stdout + proc.stderr).split("rule train:", 1)[1].split("\n\n", 1)[0]


def test_gpu_share_makes_train_jobs_take_a_gpu_slot(tmp_path):
    """`training.gpu_share: N` > 1: a train job asks for one `gpu_slot` instead of a whole `gpu` and
    claims one of a GPU's N slots (`--gpu-share N`); 1 (the default) keeps a whole GPU per job."""
    write_config(tmp_path, TINY_DEMO)
    whole = _train_job(snakemake(tmp_path, "-n", "-p", "results/demo/table3.csv"))
    assert re.search(r"resources: .*\bgpu=1, gpu_slot=0\b", whole) and "--gpu-share" not in whole
    shared = _train_job(snakemake(tmp_path, "-n", "-p", "results/demo/table3.csv", "--config",
                                  'training={"gpu_share": 4}'))
    assert re.search(r"resources: .*\bgpu=0, gpu_slot=1\b", shared) and "--gpu-share 4 " in shared
    bad = snakemake(tmp_path, "-n", "results/demo/table3.csv", "--config", 'training={"gpu_share": 0}',
                    check=False)
    assert bad.returncode != 0 and "gpu_share" in bad.stdout + bad.stderr


def test_default_profile_is_picked_up_from_another_working_directory(tmp_path):
    """profiles/default beside the Snakefile is read even when snakemake runs elsewhere: its
    `printshellcmds` shows the `mcd` command of each planned job."""
    write_config(tmp_path, TINY_DEMO)
    out = (lambda p: p.stdout + p.stderr)(snakemake(tmp_path, "-n", "results/demo/table3.csv"))
    assert f"workflow specific profile {REPO / 'profiles/default'}" in out
    assert "mcd demo-data --out-dir resources/demo" in out
    bare = snakemake(tmp_path, "-n", "results/demo/table3.csv", "--workflow-profile", "none")
    assert "mcd demo-data --out-dir" not in bare.stdout + bare.stderr


def test_bad_config_stops_before_any_job_naming_the_key(tmp_path):
    config = json.loads(json.dumps(TINY_DEMO))
    config["extraction"] = {"visual_backbon": "resnet18"}
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "'visual_backbon' was unexpected" in proc.stdout + proc.stderr


def test_missing_real_dataset_says_what_to_put_where(tmp_path):
    config = json.loads(json.dumps(TINY_DEMO))
    config["datasets"]["real"] = {
        "format": "music_avqa", "videos": "nowhere/videos", "seconds": 60,
        "annotations": {s: f"nowhere/avqa-{s}.json" for s in ("train", "val", "test")}}
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "results/real/table3.csv", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "dataset 'real' is not in place" in out
    assert "nowhere/videos" in out and "nowhere/avqa-train.json" in out


def real_dataset(tmp_path: Path, present: list[str], annotated: list[str], **extraction) -> dict:
    """A config with a non-generated dataset `real` whose annotations name `annotated` videos, of
    which `present` have a (placeholder) file: enough for planning, not for running."""
    videos = tmp_path / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    for video_id in present:
        (videos / f"{video_id}.mp4").write_bytes(b"")
    records = [{"video_id": v, "question_id": i, "type": '["Audio", "Counting"]',
                "question_content": "How many instruments are sounding in the video?", "templ_values": "[]",
                "question_deleted": 0, "anser": "two"} for i, v in enumerate(annotated)]
    for split in ("train", "val", "test"):
        (tmp_path / f"avqa-{split}.json").write_text(json.dumps(records))
    config = json.loads(json.dumps(TINY_DEMO))
    config["datasets"]["real"] = {
        "format": "music_avqa", "videos": str(videos), "seconds": 3,
        "annotations": {s: str(tmp_path / f"avqa-{s}.json") for s in ("train", "val", "test")},
        "extraction": {"weights": "random-init", "shard_size": 2, **extraction}}
    return config


def test_missing_videos_stop_the_run_before_any_job_naming_them(tmp_path):
    annotated = [f"v{i:03d}" for i in range(12)]
    write_config(tmp_path, real_dataset(tmp_path, ["v000", "v005"], annotated))
    proc = snakemake(tmp_path, "-n", "results/real/table3.csv", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "10 of the 12 videos named by its annotations are not in" in out
    assert "first: v001, v002, v003, v004, v006, ..." in out
    assert "missing_videos: skip" in out
    assert "Job stats" not in out


def test_missing_videos_skip_leaves_them_out_and_notes_them(tmp_path):
    annotated = [f"v{i:03d}" for i in range(12)]
    write_config(tmp_path, real_dataset(tmp_path, ["v000", "v005", "v007"], annotated,
                                        missing_videos="skip"))
    proc = snakemake(tmp_path, "-n", "results/real/table3.csv")
    out = proc.stdout + proc.stderr
    jobs = planned_jobs(proc)
    assert jobs["frames"] == 2 and jobs["shard_ids"] == 2 and jobs["missing_videos"] == 1  # 3 videos
    assert "results/real/missing_videos.failures.json" in out.split("rule score_model", 1)[1]
    assert "9 annotated videos have no file in" in out


def test_missing_pretrained_weights_stop_the_run_listing_every_file(tmp_path):
    config = json.loads(json.dumps(TINY_DEMO))
    config["datasets"]["demo"]["extraction"]["weights"] = "pretrained"
    config["weights_dir"] = "my_weights"
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", "results/demo/table3.csv", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "2 pretrained weights file(s) missing from my_weights" in out
    assert "resnet18: my_weights/resnet18_imagenet1k_v1.pth" in out
    assert "mcd weights fetch resnet18 vggish --weights-dir my_weights" in out
    assert "Job stats" not in out


def test_rules_pass_the_configured_weights_dir(tmp_path, monkeypatch):
    """Jobs read weights from the config's folder, or $MCD_WEIGHTS_DIR when the config sets none:
    never from a folder beside the installed package."""
    import torch
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import weights_file

    load_all_registries()
    for folder in ("shared/weights", "env_weights"):
        for name in ("resnet18", "vggish"):
            path = tmp_path / weights_file(name, folder)
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save({}, path)
    config = json.loads(json.dumps(TINY_DEMO))
    config["datasets"]["demo"]["extraction"]["weights"] = "pretrained"
    config["weights_dir"] = "shared/weights"
    write_config(tmp_path, config)
    out = (lambda p: p.stdout + p.stderr)(snakemake(tmp_path, "-n", "results/demo/table3.csv"))
    assert "--weights pretrained --seed 0 --weights-dir shared/weights" in out

    del config["weights_dir"]
    write_config(tmp_path, config)
    monkeypatch.setenv("MCD_WEIGHTS_DIR", "env_weights")
    out = (lambda p: p.stdout + p.stderr)(snakemake(tmp_path, "-n", "results/demo/table3.csv"))
    assert "--weights-dir env_weights" in out


def read_table(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as f:
        return {row["method"]: row for row in csv.DictReader(f)}


def plan_with(workdir: Path, config: dict, target: str) -> dict[str, int]:
    """Jobs a dry run of `target` plans in `workdir` under another config (a file of its own: the
    folder's config.yaml, which other tests read, is left as it is)."""
    path = workdir / "changed-config.yaml"
    path.write_text(yaml.safe_dump(config))
    return planned_jobs(snakemake(workdir, "-n", target, configfile=path))


@pytest.mark.slow
def test_demo_end_to_end_and_what_a_swap_reruns(shared_run):
    from shared_pipeline import DEMO_SECONDS, DEMO_VIDEOS, shared_config, with_changes

    table = read_table(shared_run / "results/demo/table3.csv")
    assert set(table) == {"MCD", "prior", "N"}
    assert int(table["N"]["overall"]) > 0
    for method in ("MCD", "prior"):
        assert 0.0 <= float(table[method]["overall"]) <= 100.0
    assert table["MCD"]["visual_backbone"] == "resnet18"
    assert "random-init" in table["MCD"]["weights"]
    assert "randomly initialised" in (shared_run / "results/demo/table3.md").read_text()
    assert (shared_run / "results/demo/runs/resnet18-vggish/mcd/seed0/curves.png").stat().st_size > 0

    from mcd_core.features.store import open_store
    visual = open_store(shared_run / "results/demo/features/visual/resnet18.zarr")
    assert visual.features.shape == (DEMO_VIDEOS, DEMO_SECONDS, 512)
    assert visual.attrs["weights"] == {"random_init": True, "seed": 0}

    # Nothing left to do once finished.
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(
        snakemake(shared_run, "-n", "results/demo/table3.csv"))

    # A visual backbone swap re-runs visual extraction and everything after it, nothing else.
    config = shared_config()
    swapped = with_changes(config, "demo", extraction={"visual_backbone": "clip_vit_b32"})
    assert plan_with(shared_run, swapped, "results/demo/table3.csv") == {
        "extract_visual": 2, "merge_features": 1, "train": 1, "predict": 1, "score_model": 1, "table3": 1}

    # New backbone weights (here: another random-init seed) re-run both extractions and what
    # follows; the prior row does not depend on features and is kept.
    reseeded = with_changes(config, "demo", extraction={"seed": 1})
    assert plan_with(shared_run, reseeded, "results/demo/table3.csv") == {
        "extract_visual": 2, "extract_audio": 2, "merge_features": 2, "train": 1, "predict": 1,
        "score_model": 1, "table3": 1}


def _save_state(build, path: Path, seed: int) -> str:
    import torch
    from mcd_core.features.backbones.weights import sha256_file

    torch.manual_seed(seed)
    torch.save(build().state_dict(), path)
    digest = sha256_file(path)
    path.with_name(path.name + ".sha256").write_text(digest + "\n")  # as `mcd weights fetch` does
    return digest


@pytest.mark.slow
def test_pretrained_weights_files_run_through_and_a_new_file_reruns(tmp_path, monkeypatch):
    """Local weights files (written here: no download) go through the whole pipeline, are recorded
    in the stores and the table, and replacing one re-runs exactly the jobs that read it."""
    from mcd_core.features.backbones.audio import get_audio_entry
    from mcd_core.features.backbones.visual import get_visual_entry
    from mcd_core.features.backbones.weights import weights_file
    from mcd_core.features.store import open_store

    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    monkeypatch.setenv("MCD_WEIGHTS_DIR", str(weights_dir))
    config = json.loads(json.dumps(TINY_DEMO))
    config["datasets"]["demo"]["extraction"]["weights"] = "pretrained"
    work = tmp_path / "work"
    write_config(work, config)

    missing = snakemake(work, "--cores", "2", "results/demo/table3.csv", check=False)
    assert missing.returncode != 0
    assert "mcd weights fetch resnet18 vggish" in missing.stdout + missing.stderr
    assert not (work / "results").exists()  # stopped before any job

    visual_file = weights_file("resnet18", weights_dir)
    _save_state(get_visual_entry("resnet18").build, visual_file, seed=11)
    audio_digest = _save_state(get_audio_entry("vggish").build, weights_file("vggish", weights_dir), seed=12)
    snakemake(work, "--cores", "2", "results/demo/table3.csv")
    audio = open_store(work / "results/demo/features/audio/vggish.zarr")
    assert audio.attrs["weights"]["sha256"] == audio_digest
    assert read_table(work / "results/demo/table3.csv")["MCD"]["weights"] == "pretrained"

    _save_state(get_visual_entry("resnet18").build, visual_file, seed=13)
    jobs = planned_jobs(snakemake(work, "-n", "results/demo/table3.csv"))
    assert jobs == {"extract_visual": 2, "merge_features": 1, "train": 1, "predict": 1,
                    "score_model": 1, "table3": 1}


# The user-facing interface the package layout must not change: verbs, rule names, output paths.
CLI_VERBS = {"shard-ids", "demo-data", "frames", "audio", "logmel", "extract-audio", "extract-visual",
             "merge", "weights", "vocab", "prior", "score", "table", "train", "predict", "modelcard"}
RULES = {"all", "audio", "demo_data", "extract_audio", "extract_visual", "fetch_one_weights",
         "fetch_weights", "frames", "logmel", "merge_features", "modelcard", "predict",
         "prior_predictions", "score_model", "score_prior", "shard_ids", "table3", "train", "vocab"}


def test_cli_verbs_and_rule_names_are_kept():
    from mcd_core.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert CLI_VERBS <= set(sub.choices)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--list-rules"], cwd=REPO,
                          capture_output=True, text=True)
    assert RULES <= set(proc.stdout.split())


def test_output_paths_are_kept(tmp_path):
    write_config(tmp_path, TINY_DEMO)
    proc = snakemake(tmp_path, "--summary", "results/demo/table3.csv")
    outputs = {line.split("\t")[0] for line in proc.stdout.splitlines()[1:] if "\t" in line}
    run = "results/demo/runs/resnet18-vggish/mcd/seed0"
    expected = {
        "results/demo/table3.csv", "results/demo/table3.md", "results/demo/vocab.json",
        "results/demo/scores/resnet18-vggish/mcd_seed0.csv", "results/demo/scores/prior.csv",
        "results/demo/predictions/resnet18-vggish/mcd_seed0.csv", "results/demo/predictions/prior.csv",
        f"{run}/best.pt", f"{run}/metrics.csv", f"{run}/curves.png",
        "results/demo/features/audio/vggish.zarr", "results/demo/features/audio/vggish.failures.json",
        "results/demo/features/visual/resnet18.zarr", "results/demo/features/visual/resnet18.failures.json",
        "resources/demo/videos", "resources/demo/scenes.json",
        *(f"resources/demo/annotations/avqa-{s}.json" for s in ("train", "val", "test")),
        *(p for shard in ("shard_00000", "shard_00001") for p in (
            f"results/demo/shards/{shard}.txt", f"results/demo/frames/{shard}", f"results/demo/audio/{shard}",
            f"results/demo/logmel/{shard}.zarr", f"results/demo/features/audio/vggish/{shard}.zarr",
            f"results/demo/features/visual/resnet18/{shard}.zarr",
            # added with issue 9: shard failure lists are declared outputs, so that a redone shard
            # never keeps a stale one
            f"results/demo/logmel/{shard}.failures.json",
            f"results/demo/features/audio/vggish/{shard}.failures.json",
            f"results/demo/features/visual/resnet18/{shard}.failures.json")),
    }
    assert outputs == expected


def test_planning_imports_no_torch(tmp_path):
    """`snakemake -n` reads the config, the registries, every annotation record and the weights files
    without torch: a torch that refuses to import must not matter (issue 14: a quicker start)."""
    fake = tmp_path / "notorch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('torch imported while planning')\n")
    from mcd_core.features.backbones.weights import WEIGHT_FILES

    weights = tmp_path / "weights"
    weights.mkdir()
    for filename in WEIGHT_FILES.values():
        (weights / filename).touch()
    config = real_dataset(tmp_path, [f"v{i:03d}" for i in range(4)], [f"v{i:03d}" for i in range(4)])
    config["extraction"] = {"weights": "pretrained"}
    config["datasets"]["real"]["extraction"]["weights"] = "pretrained"
    config["weights_dir"] = str(weights)
    write_config(tmp_path, config)
    # the fake torch first, then this checkout (not whichever mcd_core the environment installed)
    env = {**__import__("os").environ,
           "PYTHONPATH": __import__("os").pathsep.join([str(tmp_path / "notorch"), str(REPO)])}
    where = subprocess.run([sys.executable, "-c", "import mcd_core; print(mcd_core.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).resolve().is_relative_to(REPO), where.stdout + where.stderr
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "-n", "results/real/table3.csv", "results/demo/table3.csv"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "torch imported while planning" not in proc.stdout + proc.stderr
