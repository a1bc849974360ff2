"""Ctrl-C at random moments of DataLoader worker start-up: is the interrupt ever lost?

Each try iterates a `WorkerLoader` (2 workers, 4 small batches) inside `stop_on_signals()` while a
timer thread sends SIGINT to this process after a random 0-40 ms, the window in which the workers
are forked; the try waits for the signal to be sent and 50 ms more. A try ends `interrupted`
(Interrupted raised, wherever the signal came) or `lost` (no interrupt at all: the failure this
guards against); after each, logging's module lock must be free (a signal inside logging's at-fork
callback used to leave it taken, and the next thread that logged hung: `held lock`); a try that
takes over 10 s is `hung`. The run stops at the first held lock or hang.

    python bench/interrupt_stress.py --tries 200
    python bench/interrupt_stress.py --plain   # torch's DataLoader, for comparison
prints `N tries: interrupted A, lost B, held lock C, hung D; tracebacks printed E` (D: tracebacks the
workers or their threads wrote to stderr, which end up in a job's log).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from torch.utils.data import DataLoader  # noqa: E402

from mcd_core.common.interrupt import Interrupted, stop_on_signals  # noqa: E402
from mcd_core.common.workers import ExitWithParent, WorkerLoader  # noqa: E402


def one_try(plain: bool, rng: random.Random) -> str:
    data = list(range(8))
    loader = (DataLoader(data, batch_size=2, num_workers=2, worker_init_fn=ExitWithParent()) if plain
              else WorkerLoader(data, batch_size=2, num_workers=2))
    timer = threading.Timer(rng.uniform(0.0, 0.04), os.kill, (os.getpid(), signal.SIGINT))
    outcome = "lost"
    try:
        with stop_on_signals():
            timer.start()
            for _ in loader:
                pass
            timer.join()
            time.sleep(0.05)  # a signal already delivered is raised by now
    except Interrupted:
        outcome = "interrupted"
    finally:
        timer.cancel()
    if not logging._lock.acquire(timeout=2):  # type: ignore[attr-defined]
        return "held lock"
    logging._lock.release()  # type: ignore[attr-defined]
    return outcome


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tries", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plain", action="store_true", help="torch's DataLoader instead of WorkerLoader")
    args = p.parse_args()
    rng = random.Random(args.seed)
    # stderr (the workers' too) goes to a file, to count the tracebacks written there
    saved, log = os.dup(2), tempfile.TemporaryFile()
    os.dup2(log.fileno(), 2)
    counts = {"interrupted": 0, "lost": 0, "held lock": 0, "hung": 0}

    def report():
        time.sleep(0.5)  # workers still shutting down write now
        os.dup2(saved, 2)
        log.seek(0)
        tracebacks = log.read().decode(errors="replace").count("Traceback (most recent call last)")
        print(f"{sum(counts.values())} tries: interrupted {counts['interrupted']}, lost {counts['lost']}, "
              f"held lock {counts['held lock']}, hung {counts['hung']}; tracebacks printed {tracebacks}", flush=True)

    def hung():  # the main thread is stuck where no exception can reach it: report and leave
        counts["hung"] += 1
        report()
        os._exit(1)

    for _ in range(args.tries):
        watchdog = threading.Timer(10, hung)
        watchdog.start()
        outcome = one_try(args.plain, rng)
        watchdog.cancel()
        counts[outcome] += 1
        if outcome == "held lock":
            break  # the lock stays taken: every later try would hang
    report()


if __name__ == "__main__":
    main()
