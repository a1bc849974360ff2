"""`StreamRows`: one feature store's rows for the dataset, keyed by video id (or, for per-question
stores, by question id): lazy Zarr reads re-opened per process, or a preloaded array."""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from mcd_core.common.progress import progress
from mcd_core.features.store import FeatureStore, open_features, row_label

PRELOAD_BYTES = 256 << 20  # raw store bytes per Zarr read while preloading (patch rows are ~6 MB)


class StreamRows:
    """Rows of `store` for `keys`. `stride`: every stride-th step; `average_patches`: rows
    [T, P, D] are averaged over P (the paper avg-pools L, W); else handed over as stored."""

    def __init__(self, store: FeatureStore, keys: Sequence[str], stride: int, in_memory: bool,
                 average_patches: bool = True):
        self.path = store.path
        self.names = (store.video_ids, row_label(store.attrs))  # to name a damaged chunk's rows
        self.stride = stride
        self.average_patches = average_patches
        self.row_of = {v: store.row(v) for v in keys}
        steps = store.features.shape[1]
        self.lengths = {v: max(1, math.ceil(int(store.lengths[r]) / stride)) for v, r in self.row_of.items()}
        self.steps = len(range(0, steps, stride))
        inner = tuple(int(s) for s in store.features.shape[2:])
        if average_patches and len(inner) == 2:
            inner = inner[1:]
        self.row_shape = (self.steps, *inner)       # shape of one row as handed over
        self.dim = int(store.features.shape[-1])    # row width
        self._array = None
        self._pid = None
        self.memory: dict[str, np.ndarray] | None = None
        if in_memory:
            self.memory = {}
            ids = list(self.row_of)
            per_read = max(1, PRELOAD_BYTES // (4 * math.prod(store.features.shape[1:])))
            with progress(total=len(ids), desc=f"loading {store.path.name}", unit="row", leave=False) as bar:
                for first in range(0, len(ids), per_read):
                    batch = ids[first:first + per_read]
                    self.memory.update(zip(batch, self._read(store.features, batch)))
                    bar.update(len(batch))

    def __getstate__(self):  # Zarr handles are re-opened in each DataLoader worker
        state = dict(self.__dict__)
        state["_array"], state["_pid"] = None, None
        return state

    @property
    def row_bytes(self) -> int:
        """float32 bytes of one row as handed over."""
        return 4 * math.prod(self.row_shape)

    def _features(self):
        if self._pid != os.getpid():
            self._array = open_features(self.path, *self.names)
            self._pid = os.getpid()
        return self._array

    def _read(self, features, keys: Sequence[str]) -> list[np.ndarray]:
        """The rows of `keys` in one orthogonal selection: Zarr fetches and decodes those chunks
        concurrently, where row-by-row reads pay its per-call overhead each."""
        rows = sorted({self.row_of[v] for v in keys})
        block = np.asarray(features.get_orthogonal_selection((rows,)), dtype=np.float32)
        block = block[:, :: self.stride]                                     # (n, T', D) or (n, T', P, D)
        if block.ndim == 4 and self.average_patches:
            block = block.mean(axis=2)                                       # (n, T', D)
        else:  # the copy drops the steps the stride skipped
            block = np.ascontiguousarray(block)
        at = {r: i for i, r in enumerate(rows)}
        return [block[at[self.row_of[v]]] for v in keys]

    def get_many(self, keys: Sequence[str]) -> list[np.ndarray]:
        """The rows of a whole batch, from memory when preloaded."""
        if self.memory is not None:
            return [self.memory[v] for v in keys]
        return self._read(self._features(), keys)

    def get(self, key: str) -> np.ndarray:
        return self.get_many([key])[0]
