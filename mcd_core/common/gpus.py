"""Which GPU a job uses when several run on one machine.

Snakemake counts `resources: gpu=1` against `--resources gpu=N` but does not tell a local job
which GPU to take, so two jobs would both land on GPU 0. Our policy: a GPU job that finds
`CUDA_VISIBLE_DEVICES` already set (a cluster scheduler set it, or the user) keeps it. Otherwise it
claims the first GPU whose lock file (`<lock dir>/gpu<i>.lock`, an exclusive `flock`) is free,
waiting while all are taken, and sets `CUDA_VISIBLE_DEVICES` to it before CUDA starts. The lock is
released when the process ends, however it ends (the kernel drops flocks of dead processes).

Several runs on one GPU (`claim_gpu(share=N)`, `mcd train --gpu-share N`, the workflow's
`training.gpu_share`): such a job takes the GPU's lock shared (`LOCK_SH`, which any number of
sharing jobs hold at once and a whole-GPU job waits for) and one of its N slot locks
(`mcd-gpu<i>.slot<j>.lock`) exclusively, so at most N sharing jobs use a GPU, and a job that
wants the whole GPU (extraction, prediction) waits until none does. GPUs are filled in order: the
N first sharing jobs share GPU 0.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ENV_LOCK_DIR = "MCD_GPU_LOCK_DIR"   # where the lock files live (default: the system temp folder)
ENV_GPU_COUNT = "MCD_GPU_COUNT"     # GPUs on this machine, when nvidia-smi cannot tell
_held: list = []                    # open lock files: closing one releases its GPU


def gpu_count() -> int:
    """GPUs on this machine, without starting CUDA in this process (that would fix the device set)."""
    if os.environ.get(ENV_GPU_COUNT):
        return int(os.environ[ENV_GPU_COUNT])
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        out = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return len([line for line in out.splitlines() if line.strip()])


def _try_lock(path: Path, mode: int):
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _claim(folder: Path, index: int, share: int) -> list | None:
    """The lock handles that give this process GPU `index` (a whole GPU, or one of `share` slots)."""
    if share == 1:
        handle = _try_lock(folder / f"mcd-gpu{index}.lock", fcntl.LOCK_EX)
        return None if handle is None else [handle]
    card = _try_lock(folder / f"mcd-gpu{index}.lock", fcntl.LOCK_SH)
    if card is None:
        return None
    for slot in range(share):
        handle = _try_lock(folder / f"mcd-gpu{index}.slot{slot}.lock", fcntl.LOCK_EX)
        if handle is not None:
            return [card, handle]
    card.close()
    return None


def claim_gpu(wait_s: float = 24 * 3600, poll_s: float = 0.5, share: int = 1) -> str | None:
    """Set CUDA_VISIBLE_DEVICES for this process per the policy above; returns the id it holds (or
    the inherited setting), None on a machine without GPUs. `share` > 1: one of that many slots of
    a GPU, shared with the other jobs of the same share (module docstring)."""
    if share < 1:
        raise ValueError(f"share must be >= 1, got {share}")
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return os.environ["CUDA_VISIBLE_DEVICES"]
    count = gpu_count()
    if count == 0:
        return None
    folder = Path(os.environ.get(ENV_LOCK_DIR) or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        for index in range(count):
            handles = _claim(folder, index, share)
            if handles is None:
                continue
            _held.extend(handles)
            os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
            return str(index)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no free GPU among {count} after {wait_s:.0f} s (locks in {folder})")
        time.sleep(poll_s)


def release_gpus() -> None:
    while _held:
        _held.pop().close()
