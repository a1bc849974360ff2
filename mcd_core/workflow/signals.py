"""Ctrl-C on Snakemake reaches the running jobs.

Snakemake's local executor runs each job's shell in Snakemake's own process group and, on
KeyboardInterrupt, waits for the running jobs to end (`ThreadPoolExecutor.shutdown`) without
signalling them. A terminal's Ctrl-C reaches them anyway, since the terminal signals the whole
foreground group; a SIGINT sent to the Snakemake process alone (`kill -INT`, a wrapper script, an
IDE's stop button) let a training job run to its last epoch first. `forward_interrupts()`, called
from the Snakefile, makes Snakemake's SIGINT first go to every process below it (the jobs' shells,
`mcd`, ffmpeg), then raise KeyboardInterrupt as before: Snakemake stops scheduling, waits for the
jobs, which now end within seconds (`mcd_core.common.interrupt`), and marks their outputs
incomplete. SIGTERM keeps Snakemake's own meaning: finish the running jobs, start no new one.
"""

from __future__ import annotations

import os
import signal
import threading

import psutil  # a dependency of Snakemake


def signal_descendants(signum: int, pid: int | None = None) -> list[int]:
    """Send `signum` to every descendant of `pid` (default: this process); returns their pids."""
    try:
        children = psutil.Process(pid or os.getpid()).children(recursive=True)
    except psutil.Error:
        return []
    sent = []
    for child in children:
        try:
            child.send_signal(signum)
            sent.append(child.pid)
        except psutil.Error:  # ended meanwhile
            pass
    return sent


def _forwarding(previous):
    def handler(signum, frame):
        signal_descendants(signum)
        if callable(previous):
            previous(signum, frame)  # Python's default: raise KeyboardInterrupt
        else:
            raise KeyboardInterrupt
    handler.forwards = True
    return handler


def forward_interrupts() -> bool:
    """Install the forwarding SIGINT handler; False where it cannot be (not the main thread) or
    should not be (SIGINT ignored, or already installed)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN or getattr(previous, "forwards", False):
        return False
    signal.signal(signal.SIGINT, _forwarding(previous))
    return True
