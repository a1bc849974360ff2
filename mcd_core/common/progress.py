"""Progress of a long loop: a tqdm bar on a terminal, a plain line every ~10 % otherwise.

A Snakemake job's stderr is its log file; tqdm there writes one `\\r` line per update (tens of
kilobytes per shard). `progress(...)` takes tqdm's common arguments and returns a tqdm bar when the
stream is a terminal, else a `LineProgress` that writes `desc: 30/100 video (30%), 12 s` lines.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Iterable, Iterator, TypeVar

T = TypeVar("T")
STEP_PERCENT = 10  # one line each time another 10 % of the total is done


class LineProgress:
    """tqdm's iterate / update / context-manager surface, writing complete lines."""

    def __init__(self, iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "",
                 unit: str = "it", initial: int = 0, stream: IO[str] | None = None,
                 disable: bool = False) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n, self.disable = initial, disable
        self.stream = stream if stream is not None else sys.stderr
        self._start = time.monotonic()
        self._last_step = self._step()
        self._written = initial  # the count the last line showed
        self._closed = False

    def _step(self) -> int:
        if not self.total:
            return 0
        return min(100, self.n * 100 // self.total) // STEP_PERCENT

    def _write(self) -> None:
        self._written = self.n
        if self.disable:
            return
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        percent = f" ({self.n * 100 // self.total}%)" if self.total else ""
        elapsed = time.monotonic() - self._start
        self.stream.write(f"{self.desc}: {done} {self.unit}{percent}, {elapsed:.0f} s\n")
        self.stream.flush()

    def update(self, n: int = 1) -> None:
        self.n += n
        step = self._step()
        if step > self._last_step:
            self._last_step = step
            self._write()

    def close(self) -> None:
        """A last line when the loop ended between two steps (or had no known total)."""
        if not self._closed:
            self._closed = True
            if self.n != self._written:
                self._write()

    def __iter__(self) -> Iterator[T]:
        try:
            for item in self.iterable:  # type: ignore[union-attr]
                yield item
                self.update()
        finally:
            self.close()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", initial: int = 0, leave: bool = True, disable: bool = False,
             stream: IO[str] | None = None):
    """A tqdm bar when `stream` (default stderr) is a terminal, else a `LineProgress`."""
    stream = stream if stream is not None else sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave,
                    disable=disable, file=stream, dynamic_ncols=True)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, initial=initial, stream=stream,
                        disable=disable)
