"""Is the process that writes a folder still alive? A marker file, `process.json`, says who writes it.

A long job (`mcd train`) writes the marker when it starts and removes it however it ends in Python
(finished, failed, Ctrl-C). A job killed outright (SIGKILL, the out-of-memory killer, a node that
went down) leaves it behind, and `mcd status` can then tell "running" from "stopped" instead of
guessing from how long ago a file changed: on the marker's host, a process with its pid must exist
and have started when the marker says (so a recycled pid does not pass for the job).
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mcd_core.common.atomic import write_text

MARKER = "process.json"


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (Linux `/proc/PID/stat` field 22), or
    None where /proc cannot tell (another system, or no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: split after its last ')'
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


@contextmanager
def marked_running(folder: str | os.PathLike) -> Iterator[Path]:
    """Write `folder/process.json` (host, pid, start time) for the body's duration. A folder made
    here for the marker and still empty afterwards (the job failed before writing) is removed."""
    folder = Path(folder)
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MARKER
    pid = os.getpid()
    write_text(path, json.dumps({"host": socket.gethostname(), "pid": pid, "start_ticks": _start_ticks(pid)}))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        if made:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                pass


def writer_state(folder: str | os.PathLike) -> tuple[str, str]:
    """(state, detail) of the process a folder's marker names:
    - ("none", "")             no marker (nothing runs there, or a job older than the marker);
    - ("alive", "pid P")        on this host, and alive;
    - ("gone", "pid P on H")    on this host, and no longer there (killed: the job left the marker);
    - ("elsewhere", "host H")  on another host: this one cannot tell."""
    try:
        marker = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
        host, pid = str(marker["host"]), int(marker["pid"])
    except FileNotFoundError:
        return "none", ""
    except (OSError, ValueError, TypeError, KeyError):
        return "none", ""  # a marker being written, or damaged: say nothing rather than guess
    if host != socket.gethostname():
        return "elsewhere", f"host {host}"
    if not _exists(pid):
        return "gone", f"pid {pid} on {host}"
    recorded, now = marker.get("start_ticks"), _start_ticks(pid)
    if recorded is not None and now is not None and recorded != now:
        return "gone", f"pid {pid} on {host}"  # the pid now belongs to another process
    return "alive", f"pid {pid}"
