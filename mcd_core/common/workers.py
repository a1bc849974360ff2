"""Helper processes that die with their parent.

A DataLoader worker notices a killed parent only when its watchdog next looks (every 5 s), so it
outlives a SIGKILLed job for 5-10 s, holding memory and open stores. `ExitWithParent` is a
`worker_init_fn` that asks Linux to SIGKILL the worker as soon as the process that started it dies
(prctl PR_SET_PDEATHSIG), and exits at once if that process is already gone. Elsewhere it only
does the second check.

Workers ignore SIGINT and SIGTERM: a Ctrl-C reaches the whole process group, and a worker that
died of it would turn the parent's clean stop (`mcd_core.common.interrupt`) into torch's "worker
killed" error. The parent stops its workers as it unwinds, or takes them with it when it dies.

A worker sends its batches' shared memory to the parent through multiprocessing's resource-sharer
thread; when the parent stops early, that thread meets a closed connection and printed a traceback
into the job's log. Workers drop those errors (and only those: a closed connection in that thread).

`WorkerLoader` is the DataLoader to use: it starts its workers with interrupts held
(`mcd_core.common.interrupt.interrupts_held`), so a Ctrl-C that lands during the forks is raised
once they are all started, never inside another module's at-fork callback, where it was lost.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Callable

from torch.utils.data import DataLoader

from mcd_core.common.interrupt import interrupts_held

PR_SET_PDEATHSIG = 1


def exit_with_parent(parent_pid: int) -> None:
    """Make the calling process die when `parent_pid` (its parent) dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the check below still covers a dead parent
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _in_resource_sharer(tb) -> bool:
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith("resource_sharer.py"):
            return True
        tb = tb.tb_next
    return False


def drop_closed_connections_of_the_resource_sharer() -> None:
    """Silence multiprocessing's resource-sharer thread when the parent closed its end (that
    thread reports its errors through `sys.excepthook` itself)."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, (ConnectionError, EOFError)) and _in_resource_sharer(tb):
            return
        previous(exc_type, exc, tb)
    sys.excepthook = hook


class ExitWithParent:
    """A picklable `worker_init_fn`: `exit_with_parent`, SIGINT and SIGTERM ignored, the
    resource sharer's closed connections dropped, then an optional further initialiser."""

    def __init__(self, then: Callable[[int], None] | None = None):
        self.parent_pid = os.getpid()
        self.then = then

    def __call__(self, worker_id: int) -> None:
        exit_with_parent(self.parent_pid)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        drop_closed_connections_of_the_resource_sharer()
        if self.then is not None:
            self.then(worker_id)


class WorkerLoader(DataLoader):
    """A DataLoader whose worker processes start with interrupts held, each running
    `ExitWithParent` before `worker_init_fn` (when workers are used)."""

    def __init__(self, *args, worker_init_fn: Callable[[int], None] | None = None, **kw):
        super().__init__(*args, worker_init_fn=ExitWithParent(worker_init_fn), **kw)

    def __iter__(self):
        with interrupts_held():
            return super().__iter__()
