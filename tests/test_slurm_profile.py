"""profiles/slurm: every site knob (`MCD_SLURM_*`) reaches the sbatch line it is meant for, unset
knobs ask for nothing, a retried job asks for more memory, and docs/cluster.md lists exactly the
profile's knobs. `make test-cluster` runs the profile on a real SLURM; these checks are the fast part.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles/slurm/config.yaml"
GPU_RULES = {"extract_visual", "extract_audio", "extract_visual_patch", "extract_tokens",
             "extract_text", "train", "predict"}
KNOBS = ["MCD_SLURM_PARTITION", "MCD_SLURM_GPU_PARTITION", "MCD_SLURM_ACCOUNT", "MCD_SLURM_GPUS",
         "MCD_SLURM_GPU_MODEL", "MCD_SLURM_QOS", "MCD_SLURM_CONSTRAINT", "MCD_SLURM_TRAIN_SHARDS"]


def profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def evaluate(value, attempt: int):
    """A resource value as Snakemake's profile parser evaluates it (`Resource.cli_evaluator`)."""
    if not isinstance(value, str):
        return value
    try:
        return eval(os.path.expandvars(value), {"attempt": attempt})
    except (NameError, SyntaxError):
        return value


def resources(rule: str, attempt: int = 1) -> dict:
    conf = profile()
    raw = {**conf["default-resources"], **conf.get("set-resources", {}).get(rule, {})}
    values = {name: evaluate(value, attempt) for name, value in raw.items()}
    return {name: value for name, value in values.items() if value is not None}


@pytest.fixture
def site(monkeypatch):
    for name in KNOBS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_profile_reads_exactly_the_documented_knobs():
    used = set(re.findall(r"MCD_SLURM_[A-Z_]+", PROFILE.read_text()))
    assert used == set(KNOBS)
    doc = (REPO / "docs/cluster.md").read_text()
    rows = set(re.findall(r"^\| `(MCD_SLURM_[A-Z_]+)` \|", doc, re.M))
    assert rows == set(KNOBS), "docs/cluster.md's table of MCD_SLURM_* variables is out of step"


def test_unset_knobs_ask_for_nothing(site):
    cpu, gpu = resources("frames"), resources("train")
    assert cpu["slurm_partition"] == "" and cpu["slurm_account"] == ""
    for res in (cpu, gpu):
        assert "qos" not in res and "constraint" not in res and "gpu_model" not in res
    assert gpu["gpu"] == 1 and "gpu" not in cpu


def test_every_knob_reaches_its_rules(site):
    site.setenv("MCD_SLURM_PARTITION", "cpu")
    site.setenv("MCD_SLURM_GPU_PARTITION", "gpu")
    site.setenv("MCD_SLURM_ACCOUNT", "proj")
    site.setenv("MCD_SLURM_QOS", "normal")
    site.setenv("MCD_SLURM_CONSTRAINT", "skylake|icelake")
    site.setenv("MCD_SLURM_GPU_MODEL", "a100")
    cpu = resources("frames")
    assert (cpu["slurm_partition"], cpu["slurm_account"], cpu["qos"], cpu["constraint"]) == \
        ("cpu", "proj", "normal", "skylake|icelake")
    assert "gpu_model" not in cpu
    for rule in GPU_RULES:
        gpu = resources(rule)
        assert (gpu["slurm_partition"], gpu["gpu"], gpu["gpu_model"], gpu["qos"]) == \
            ("gpu", 1, "a100", "normal"), rule
    site.setenv("MCD_SLURM_GPUS", "0")  # a cluster without GPUs: no GPU, hence no GPU type either
    assert resources("train")["gpu"] == 0 and "gpu_model" not in resources("train")


def test_train_shards_replace_the_whole_gpu_of_train_jobs_only(site):
    """MCD_SLURM_TRAIN_SHARDS: a train job asks for GPU shards (SLURM's shard gres), no GPU and no
    GPU type; the other GPU rules keep their whole GPU."""
    assert "gres" not in resources("train")
    site.setenv("MCD_SLURM_GPU_MODEL", "a100")
    site.setenv("MCD_SLURM_TRAIN_SHARDS", "1")
    train = resources("train")
    assert train["gres"] == "shard:1" and train["gpu"] == 0 and "gpu_model" not in train
    for rule in GPU_RULES - {"train"}:
        assert "gres" not in resources(rule) and resources(rule)["gpu"] == 1, rule
    site.setenv("MCD_SLURM_TRAIN_SHARDS", "2")
    assert resources("train")["gres"] == "shard:2"


def test_a_retried_job_asks_for_more_memory():
    conf = profile()
    assert conf["retries"] >= 1
    for rule in [*GPU_RULES, "frames"]:
        first, second = resources(rule, 1)["mem_mb"], resources(rule, 2)["mem_mb"]
        assert second == 2 * first > 0, rule


def test_the_sbatch_line(site):
    """The executor plugin's own submit string, where the plugin is installed (`.[slurm]`)."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Res(dict):
        __getattr__ = dict.__getitem__

    def sbatch(rule, attempt=1):
        job = SimpleNamespace(resources=Res(resources(rule, attempt)), threads=2)
        params = {"run_uuid": "u", "slurm_logfile": "l", "comment_str": f"rule_{rule}",
                  "account": "", "partition": "", "workdir": ""}
        return get_submit_command(job, params) + set_gres_string(job)

    assert "--qos" not in sbatch("train") and " -C " not in sbatch("train")
    assert "--gpus=1" in sbatch("train") and "--gpus" not in sbatch("frames")
    site.setenv("MCD_SLURM_QOS", "normal")
    site.setenv("MCD_SLURM_CONSTRAINT", "skylake|icelake")
    site.setenv("MCD_SLURM_GPU_MODEL", "a100")
    line = sbatch("train", attempt=2)
    assert "--qos=normal" in line and "-C 'skylake|icelake'" in line
    assert "--gpus=a100:1" in line and "--mem 32000" in line
    site.setenv("MCD_SLURM_TRAIN_SHARDS", "1")
    line = sbatch("train")
    assert "--gres=shard:1" in line and "--gpus" not in line
    assert "--gpus=a100:1" in sbatch("predict")


def test_snakemake_reads_the_profile(site, tmp_path):
    """A dry run through the profile: Snakemake parses every expression (attempt 1). It plans in
    an empty folder, so that results already in the checkout cannot hide the extraction job."""
    pytest.importorskip("snakemake_executor_plugin_slurm")  # the profile names its executor
    site.setenv("MCD_SLURM_QOS", "normal")
    site.setenv("MCD_SLURM_GPU_MODEL", "a100")
    snakemake = Path(sys.executable).parent / "snakemake"
    out = subprocess.run([str(snakemake), "-n", "--profile", str(PROFILE.parent), "--snakefile",
                          str(REPO / "Snakefile"), "--configfile", str(REPO / "config/config.yaml"),
                          "--directory", str(tmp_path), "results/demo/table3.csv"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout + out.stderr
    visual = text[text.index("rule extract_visual"):]
    visual = visual[:visual.index("\n\n")]
    assert "qos=normal" in visual and "gpu_model=a100" in visual and "mem_mb=16000" in visual
