"""The GPU policy for local jobs: each claims a different GPU, waits when all are taken, and keeps a
CUDA_VISIBLE_DEVICES set by a scheduler."""

import os
import subprocess
import sys
import time

CLAIM = ("import os, sys, time; from mcd_core.common.gpus import claim_gpu; "
         "print(claim_gpu(wait_s=float(sys.argv[1]), poll_s=0.05), flush=True); time.sleep(float(sys.argv[2]))")


def start(env, wait=30.0, hold=3.0):
    return subprocess.Popen([sys.executable, "-c", CLAIM, str(wait), str(hold)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def env_with(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update({"MCD_GPU_LOCK_DIR": str(tmp_path), "MCD_GPU_COUNT": "2", **extra})
    return env


def test_concurrent_jobs_get_different_gpus_and_a_third_waits(tmp_path):
    env = env_with(tmp_path)
    first, second = start(env), start(env)
    ids = {first.stdout.readline().strip(), second.stdout.readline().strip()}
    assert ids == {"0", "1"}
    began = time.monotonic()
    third = start(env, hold=0)
    assert third.stdout.readline().strip() in {"0", "1"}   # only once one of the two ended
    assert time.monotonic() - began > 1.0
    for p in (first, second, third):
        p.wait(timeout=30)


def test_a_scheduler_setting_is_kept_and_no_gpu_means_none(tmp_path):
    kept = start(env_with(tmp_path, CUDA_VISIBLE_DEVICES="3"), hold=0)
    assert kept.stdout.readline().strip() == "3"
    none = start(env_with(tmp_path, MCD_GPU_COUNT="0"), hold=0)
    assert none.stdout.readline().strip() == "None"
    kept.wait(timeout=30), none.wait(timeout=30)


def test_a_full_machine_times_out_with_a_clear_message(tmp_path):
    env = env_with(tmp_path, MCD_GPU_COUNT="1")
    holder = start(env, hold=5)
    assert holder.stdout.readline().strip() == "0"
    waiter = start(env, wait=0.3, hold=0)
    waiter.wait(timeout=30)
    assert waiter.returncode != 0 and "no free GPU among 1" in waiter.stderr.read()
    holder.wait(timeout=30)


def test_gpu_check_without_cuda_says_so_in_one_line_and_passes():
    import torch

    if torch.cuda.is_available():
        import pytest
        pytest.skip("a CUDA device is visible: `make gpu-check` runs the real checks")
    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(repo / "bench/gpu_check.py")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and "no CUDA device" in lines[0]
