"""`CheckedArray`: a store's Zarr array whose reads turn a chunk that does not decode (a Zstd error,
a wrong decoded size) into one `StoreDamagedError` naming the store, array, chunk key and videos."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mcd_core.features.errors import StoreDamagedError, StoreError
from mcd_core.features.manifest import holders

# What numcodecs/zarr raise for bytes that do not decode (Zstd: RuntimeError; sizes: ValueError).
DECODE_ERRORS = (RuntimeError, ValueError)


class CheckedArray:
    """Reads as the Zarr array `array` (`[...]`, `get_orthogonal_selection`; other attributes are
    the array's), with decode errors reported as damage of the store at `path`."""

    def __init__(self, array, path: Path, name: str, ids: Sequence[str] | None = None, label: str = "video"):
        self.array = array
        self.path = path
        self.name = name
        self.ids = ids
        self.label = label

    def __getattr__(self, attr: str) -> Any:
        if attr == "array":  # not yet set (while unpickling): no recursion
            raise AttributeError(attr)
        return getattr(self.array, attr)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, selection):
        return self._read(self.array.__getitem__, selection)

    def get_orthogonal_selection(self, selection):
        return self._read(self.array.get_orthogonal_selection, selection)

    def _read(self, read, selection):
        try:
            return read(selection)
        except StoreError:
            raise
        except DECODE_ERRORS as exc:
            raise self._damage(selection, exc) from None

    def _damage(self, selection, exc: Exception) -> StoreDamagedError:
        """Read the selection's chunks one by one to name the first that fails."""
        per_chunk = self.array.chunks[0]
        grid = self.array.cdata_shape
        for row_chunk in sorted({r // per_chunk for r in _rows(selection, self.array.shape[0])}):
            for rest in itertools.product(*(range(n) for n in grid[1:])):
                coords = (row_chunk, *rest)
                try:
                    self.array.get_block_selection(coords)
                except DECODE_ERRORS as err:
                    key = self.array.metadata.encode_chunk_key(coords)
                    rows = range(row_chunk * per_chunk, min((row_chunk + 1) * per_chunk, self.array.shape[0]))
                    return StoreDamagedError(
                        f"{self.path}: array {self.name!r} chunk {key} ({holders(rows, self.ids, self.label)}) "
                        f"does not decode ({err}); re-extract the store (docs/reliability.md)")
        return StoreDamagedError(f"{self.path}: array {self.name!r} cannot be read ({exc}); "
                                 f"`mcd verify {self.path}` checks its chunks")


def _rows(selection, n: int) -> Sequence[int]:
    """The rows (first axis) a Zarr selection reads."""
    first = selection[0] if isinstance(selection, tuple) and selection else selection
    if isinstance(first, (int, np.integer)):
        return [int(first) % n] if n else []
    if isinstance(first, slice):
        return range(*first.indices(n))
    if isinstance(first, (list, np.ndarray)):
        first = np.asarray(first)
        if first.dtype == bool:
            return np.flatnonzero(first).tolist()
        return [int(r) % n for r in first.ravel()] if n else []
    return range(n)
