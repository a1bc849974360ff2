"""One-line progress reports that a person can follow on the console (docs/progress.md).

The pipeline's rules send each job's stderr (its full log) to a log file and leave stdout alone,
which Snakemake's local executor passes on to its console. The `mcd` verbs of long jobs (training,
per-shard extraction) therefore write a short line to stdout when an epoch or a shard is done, and
nothing else to stdout:

    [train demo resnet18-vggish/mcd seed0] epoch 3/10 loss 1.2340 val 45.6% 12 s, ETA 28 s
    [visual demo resnet18 shard_00001] 12 videos done, 1 failed, 41 s

The bracket names the job; what follows is `key value` pairs a script can split. Imports nothing
heavy: `mcd status` uses `duration` too.
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path
from typing import Callable

WHERE = ("stdout", "stderr", "off")  # the choices of the verbs' --progress option

Announce = Callable[[str], None]


def announcer(where: str = "stdout") -> Announce | None:
    """A function writing one line (flushed) to the stream `where` names, or None for "off".

    The stream is looked up at each call (a test's captured stdout is seen); a closed or broken
    stream is ignored: a progress line never stops a job."""
    if where == "off":
        return None
    if where not in WHERE:
        raise ValueError(f"progress goes to one of {WHERE}, got {where!r}")

    def announce(line: str) -> None:
        stream = getattr(sys, where, None)
        try:
            stream.write(line.rstrip("\n") + "\n")
            stream.flush()
        except (ValueError, AttributeError):  # closed, or no such stream
            pass
        except OSError:  # a reader that went away (a broken pipe): later lines, and Python's
            try:         # flush at exit, go to /dev/null instead of failing the job
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):
                pass
    return announce


def duration(seconds: float) -> str:
    """`12 s`, `4.5 min`, `2.3 h`: short, with its unit, readable at a glance."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 120 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


_RUN_DIR = re.compile(r"seed(\d+)")


def run_label(out_dir: str | Path) -> str:
    """`train DATASET TAG/VARIANT seedK` for a pipeline run folder
    (results/DATASET/runs/TAG/VARIANT/seedK), else `train OUT_DIR`."""
    parts = Path(out_dir).parts
    if len(parts) >= 5 and parts[-4] == "runs" and _RUN_DIR.fullmatch(parts[-1]):
        return f"train {parts[-5]} {parts[-3]}/{parts[-2]} {parts[-1]}"
    return f"train {out_dir}"


def epoch_line(label: str, epoch: int, epochs: int, loss: float, val_acc: float, elapsed: float,
               eta: float) -> str:
    """`[LABEL] epoch k/K loss L val A% ELAPSED, ETA T`."""
    val = "?" if val_acc is None or not math.isfinite(val_acc) else f"{val_acc:.1f}%"
    return (f"[{label}] epoch {epoch}/{epochs} loss {loss:.4f} val {val} {duration(elapsed)}, "
            f"ETA {duration(eta)}")


def shard_label(stage: str, out: str | Path, backbone: str | None = None) -> str:
    """`STAGE [DATASET] [BACKBONE] SHARD` for an output a stage wrote for one shard: the dataset
    comes from a pipeline path (results/DATASET/...), the shard from the output's name."""
    out = Path(out)
    shard = out.name[:-len(".zarr")] if out.name.endswith(".zarr") else out.name
    parts = out.parts
    dataset = None
    for i in range(len(parts) - 2, 0, -1):  # results/DATASET/<stage folder>/...
        if parts[i - 1] == "results" and i + 1 < len(parts):
            dataset = parts[i]
            break
    return " ".join(p for p in (stage, dataset, backbone, shard) if p)


def shard_line(label: str, done: int, failed: int, seconds: float | None, complete: bool = False) -> str:
    """`[LABEL] N videos done, F failed, T` (or `already complete: N videos, F failed`)."""
    if complete:
        return f"[{label}] already complete: {done} videos, {failed} failed"
    return f"[{label}] {done} videos done, {failed} failed, {duration(seconds)}"
