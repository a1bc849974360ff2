"""The whole workflow under a kill and under hostile names (slow: real pipeline runs).

- The demo's train job SIGKILLed after a checkpoint; a plain `snakemake` rerun gives the same
  best.pt and predictions as an uninterrupted run (same thread count: Snakemake's 1 per job).
- A dataset whose video ids and paths hold quotes, `$()`, backticks, `;`, blanks and non-ASCII
  letters goes through every rule with no shell acting on them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from test_input_checks import WEIRD_DIR, WEIRD_ID
from test_recovery import same_checkpoint
from test_workflow import TINY_DEMO, read_table, snakemake, write_config

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
RUN = "results/demo/runs/resnet18-vggish/mcd/seed0"
PREDICTIONS = "results/demo/predictions/resnet18-vggish/mcd_seed0.csv"
EPOCHS = 4


def _metrics(path: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(path.open())]


def _train_processes(session: int) -> list[int]:
    """`mcd train` processes of a process session (the Snakemake run started below)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            sid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3])
        except (OSError, IndexError, ValueError):
            continue
        if sid == session and b"train" in argv and any(a.endswith(b"mcd") for a in argv[:2]):
            found.append(int(proc.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_train_job_reruns_to_the_same_best_pt_and_predictions(tmp_path):
    config = json.loads(json.dumps(TINY_DEMO))
    config["datasets"]["demo"]["training"].update(epochs=EPOCHS, lr_step=2, workers=0)
    config["datasets"]["demo"]["table"] = {"prior": False}
    write_config(tmp_path, config)
    snakemake(tmp_path, "--cores", "2", PREDICTIONS)  # uninterrupted
    keep = tmp_path / "uninterrupted"
    keep.mkdir()
    for name in ("best.pt", "metrics.csv", "last.pt"):
        shutil.copy(tmp_path / RUN / name, keep / name)
    shutil.copy(tmp_path / PREDICTIONS, keep / "predictions.csv")
    rows = _metrics(keep / "metrics.csv")
    best_epoch = max(range(EPOCHS), key=lambda i: (float(rows[i]["val_acc"]), -i)) + 1
    # After the best epoch no later epoch rewrites best.pt: the case that used to stay broken.
    kill_after = best_epoch if best_epoch < EPOCHS else 1

    shutil.rmtree(tmp_path / RUN)
    (tmp_path / PREDICTIONS).unlink()
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(tmp_path), "--configfile", str(tmp_path / "config.yaml"), "--cores", "2", PREDICTIONS]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    metrics, killed = tmp_path / RUN / "metrics.csv", []
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if metrics.is_file() and len(metrics.read_text().splitlines()) - 1 >= kill_after:
                killed = _train_processes(proc.pid)
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.01)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert killed, "the train job was not seen running"
    assert proc.returncode != 0
    import torch
    epoch = torch.load(tmp_path / RUN / "last.pt", weights_only=True)["epoch"]
    assert kill_after <= epoch < EPOCHS  # killed mid-run
    assert not (tmp_path / RUN / "best.pt").exists()  # Snakemake removed the failed job's outputs
    from mcd_core.workflow.status import as_text, pipeline_status

    status = pipeline_status(tmp_path / "results/demo")  # the killed run is stopped, not "running"
    run = next(r for r in status["runs"] if r.run == "resnet18-vggish/mcd/seed0")
    assert (run.state, run.epoch) == ("stopped", epoch), run
    assert f"is gone (killed?); a rerun resumes after epoch {epoch}" in as_text(status)

    snakemake(tmp_path, "--cores", "2", PREDICTIONS)  # plain rerun
    assert not (tmp_path / RUN / "process.json").exists()  # the rerun's process removed its marker
    assert same_checkpoint(tmp_path / RUN / "best.pt", keep / "best.pt")
    assert (tmp_path / PREDICTIONS).read_bytes() == (keep / "predictions.csv").read_bytes()
    assert _metrics(tmp_path / RUN / "metrics.csv") == _metrics(keep / "metrics.csv")
    assert torch.load(tmp_path / RUN / "last.pt", weights_only=True)["threads"] == 1
    log = (tmp_path / "results/demo/logs/train/resnet18-vggish/mcd_seed0.log").read_text()
    assert f"resuming {RUN} after epoch {epoch} with 1 threads" in log


def test_hostile_video_ids_and_paths_go_through_every_rule(tmp_path):
    gen = tmp_path / "generated"
    subprocess.run([str(Path(sys.executable).parent / "mcd"), "demo-data", "--out-dir", str(gen), "--seed", "3",
                    "--videos", "10", "--seconds", "3"], check=True, capture_output=True)
    old_ids = sorted(p.stem for p in (gen / "videos").glob("*.mp4"))
    new_ids = {old: (f"{WEIRD_ID} {i}" if i % 2 else f"name with spaces é {i}") for i, old in enumerate(old_ids)}
    data = tmp_path / WEIRD_DIR
    (data / "videos").mkdir(parents=True)
    for old, new in new_ids.items():
        shutil.copy(gen / "videos" / f"{old}.mp4", data / "videos" / f"{new}.mp4")
    n_test = 0
    for split in ("train", "val", "test"):
        records = json.loads((gen / "annotations" / f"avqa-{split}.json").read_text())
        for r in records:
            r["video_id"] = new_ids[r["video_id"]]
        n_test = len(records) if split == "test" else n_test
        (data / f"avqa {split}.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    demo = TINY_DEMO["datasets"]["demo"]
    config = {"run": [], "datasets": {"real": {
        "format": "music_avqa", "videos": f"{WEIRD_DIR}/videos", "seconds": 3,
        "annotations": {s: f"{WEIRD_DIR}/avqa {s}.json" for s in ("train", "val", "test")},
        "extraction": {**demo["extraction"], "shard_size": 5},
        "training": {**demo["training"], "epochs": 1}, "table": {"prior": True}}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    snakemake(tmp_path, "--cores", "2", "results/real/table3.csv")
    table = read_table(tmp_path / "results/real/table3.csv")
    assert set(table) == {"MCD", "prior", "N"} and int(table["N"]["overall"]) == n_test
    md = (tmp_path / "results/real/table3.md").read_text(encoding="utf-8")
    assert f"annotations: {WEIRD_DIR}/avqa test.json" in md and "left out" not in md
    listed = [line for p in sorted((tmp_path / "results/real/shards").glob("*.txt"))
              for line in p.read_text(encoding="utf-8").splitlines()]
    assert listed == sorted(new_ids.values())
    assert not list(tmp_path.rglob("PWNED")) and not list(REPO.glob("PWNED"))
