"""The `--progress` option of the long verbs (train, the per-shard stages) and their shard line.

The line goes to stdout by default: the pipeline's rules send stderr (the full log) to the job's
log file, and Snakemake shows the job's stdout on its console (docs/progress.md).
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from mcd_core.common.progress_lines import WHERE, Announce, announcer, duration, shard_label, shard_line


def add_progress_argument(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--progress", choices=WHERE, default="stdout",
                   help=f"where the one-line progress report goes ({what}); stdout carries nothing else")


def announce_of(args: argparse.Namespace) -> Announce | None:
    return announcer(getattr(args, "progress", "off"))


def _counts(store: Path, failures: Path | None) -> tuple[int, int]:
    """Videos in a finished store and in its failures list (-1 when one cannot be read)."""
    import json

    from mcd_core.features.store import row_names

    try:
        done = len(row_names(store)[0])
    except Exception:  # a progress line never stops a job
        done = -1
    try:
        failed = len(json.loads(failures.read_text(encoding="utf-8"))) if failures and failures.is_file() else 0
    except (OSError, ValueError, TypeError):
        failed = -1
    return done, failed


def announce_done(args: argparse.Namespace, stage: str, out: Path, what: Callable[[], str], began: float) -> None:
    """`[STAGE DATASET NAME] WHAT, T` for a verb that wrote one output `out`, when --progress allows
    (`what` is only called then: it may read the output)."""
    announce = announce_of(args)
    if announce is not None:
        announce(f"[{shard_label(stage, out)}] {what()}, {duration(time.perf_counter() - began)}")


@contextmanager
def shard_report(args: argparse.Namespace, stage: str, store: Path, backbone: str | None = None,
                 failures: Path | None = None) -> Iterator[dict]:
    """Times the body; when it ends without an error, announces `[stage dataset backbone shard] N
    videos done, F failed, T`. The body sets `state["complete"] = True` when it found the outputs
    complete and did nothing, or `state["counts"] = (done, failed)` when it knows them."""
    state: dict = {}
    began = time.perf_counter()
    yield state
    announce = announce_of(args)
    if announce is None:
        return
    if "counts" in state:
        done, failed = state["counts"]
    else:
        from mcd_core.features.merge import failures_path

        done, failed = _counts(store, failures or failures_path(store))
    announce(shard_line(shard_label(stage, store, backbone), done, failed, time.perf_counter() - began,
                        complete=bool(state.get("complete"))))
