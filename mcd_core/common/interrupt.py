"""Ctrl-C and SIGTERM end an `mcd` verb within seconds, leaving nothing partial.

Inside `stop_on_signals()`, SIGINT and SIGTERM raise `Interrupted` (a KeyboardInterrupt) in the
main thread wherever it is. The cleanup that follows is the usual one of an error: atomic writes
delete their temporary files (nothing partial gets a final name), `run_ffmpeg` kills its ffmpeg
processes, DataLoader iterators stop their workers, and a training run keeps the last.pt of its
last finished epoch. Without the handler SIGTERM would end the process with no cleanup at all.

A repeat of the signal within `REPEAT_GRACE` seconds is ignored, so that the cleanup is not cut
short: a terminal's Ctrl-C and the copy Snakemake forwards (`mcd_core.workflow.signals`) arrive
together. A later repeat ends the process at once (what is left are `.tmp-` names, which the next
attempt removes).

Inside `interrupts_held()` a signal is only noted, and `Interrupted` is raised when the block ends.
Forking needs that: Python runs the at-fork callbacks of other modules (logging's lock release)
around every fork, ignores an exception raised in one, and so a Ctrl-C landing there was lost and
left the logging lock taken, which hung the next thread that logged (Zarr's writer).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
REPEAT_GRACE = 2.0  # seconds


class _Holding:
    depth = 0                  # interrupts_held() blocks now open
    noted: int | None = None   # the signal that came while one was open


class Interrupted(KeyboardInterrupt):
    """The process got SIGINT or SIGTERM; `signum` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(exc: KeyboardInterrupt) -> int:
    """128 + the signal number, as a shell reports a process ended by that signal (130 for Ctrl-C)."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise `Interrupted` on SIGINT or SIGTERM while the block runs (main thread only; a signal
    the parent set to be ignored stays ignored, as Python does for SIGINT)."""
    first: list[float] = []
    owner = os.getpid()

    def handler(signum, frame):
        if os.getpid() != owner:
            # A child forked before it set its own handlers (a DataLoader worker starting up)
            # ignores the signal, as a started worker does: the parent stops it as it unwinds, and
            # a worker that died here would turn that clean stop into torch's "worker exited" error.
            return
        if not first:
            first.append(time.monotonic())
            if _Holding.depth:
                _Holding.noted = signum
                return
            raise Interrupted(signum)
        if time.monotonic() - first[0] > REPEAT_GRACE:
            os._exit(128 + signum)

    previous = {}
    try:
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            if old is not None:  # None: a handler set outside Python, which cannot be restored
                signal.signal(sig, old)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Within `stop_on_signals()`: a signal during the block raises `Interrupted` when the block
    ends, not inside it (for code that must not be cut short, such as starting worker processes)."""
    _Holding.depth += 1
    try:
        yield
    finally:
        _Holding.depth -= 1
        if not _Holding.depth and _Holding.noted is not None:
            signum, _Holding.noted = _Holding.noted, None
            raise Interrupted(signum)
