"""Reading the rows of a feature file: AVQA's HDF5 files, per-id `.npy` folders and finished stores.

Each source knows its rows' ids (`keys`: id -> where it is), reads them back in an order that suits
the file (`rows`), and names the file a row came from for problem lines. `sha256` is the digest of
what was read: the HDF5 file, the store's manifest, or (folders) of every file's name and digest.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from mcd_core.features.importers.layouts import Layout
from mcd_core.features.importers.problems import ImportFeaturesError, Problem

BLOCK = 64  # HDF5 rows read at once (appearance rows are 1 MB each)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


class Hdf5Source:
    """One AVQA feature file: an int dataset `ids` and the layout's feature dataset, row i of `ids[i]`."""

    def __init__(self, path: Path, layout: Layout, names: dict[str, str] | None):
        import h5py

        self.path = path
        try:
            self.file = h5py.File(path, "r")
        except OSError as exc:
            raise ImportFeaturesError(f"{path}: cannot be read as HDF5 ({exc})") from None
        for name in ("ids", layout.dataset):
            if name not in self.file:
                raise ImportFeaturesError(f"{path}: no dataset {name!r} (holds: {', '.join(self.file) or 'nothing'}); "
                                          f"layout {layout.name!r} reads {layout.dataset!r} and 'ids'")
        self.data = self.file[layout.dataset]
        if self.data.dtype.kind != "f":
            raise ImportFeaturesError(f"{path}: dataset {layout.dataset!r} has dtype {self.data.dtype}, "
                                      f"expected a float array")
        ids = self.file["ids"][...]
        if ids.shape != (self.data.shape[0],):
            raise ImportFeaturesError(f"{path}: 'ids' has shape {ids.shape}, {layout.dataset!r} has "
                                      f"{self.data.shape[0]} rows")
        self.shape = tuple(self.data.shape[1:])
        self.problems: list[Problem] = []
        self.keys: dict[str, int] = {}
        for row, raw in enumerate(ids):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            name = key if names is None else names.get(key)
            if name is None:
                self.problems.append(Problem(str(path), key, "unmapped",
                                             f"video_id {key} is in no QA record and not in the video map"))
            elif name in self.keys:
                self.problems.append(Problem(str(path), name, "duplicate",
                                             f"video_id {key} is listed twice in 'ids' (rows {self.keys[name]}, {row})"))
            else:
                self.keys[name] = row

    def file_of(self, key: str) -> str:
        return str(self.path)

    def rows(self, wanted: Sequence[str]) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
        """(id, row, None) in file order, a block of contiguous rows at a time."""
        by_row = {self.keys[k]: k for k in wanted}
        order = sorted(by_row)
        i = 0
        while i < len(order):
            start = order[i]
            stop = min(start + BLOCK, self.data.shape[0])
            block = self.data[start:stop]
            while i < len(order) and order[i] < stop:
                yield by_row[order[i]], block[order[i] - start], None
                i += 1

    def sha256(self) -> str:
        return file_sha256(self.path)

    def close(self) -> None:
        self.file.close()


class NpySource:
    """A folder of `<id>.npy` files (other files are ignored); read with allow_pickle=False."""

    def __init__(self, path: Path, layout: Layout):
        if not path.is_dir():
            raise ImportFeaturesError(f"{path}: not a folder; layout {layout.name!r} reads a folder of "
                                      f"<{layout.keyed_by}_id>.npy files")
        self.path = path
        self.problems: list[Problem] = []
        self.keys = {Path(e.name).stem: e.path for e in os.scandir(path)
                     if e.is_file() and e.name.endswith(".npy")}
        self.shape = None
        self._digests: dict[str, str] = {}

    def file_of(self, key: str) -> str:
        return str(self.keys.get(key, self.path / f"{key}.npy"))

    def first_shape(self) -> tuple[int, ...] | None:
        """The shape of the first readable file (for `--shape auto`), its header only."""
        for key in sorted(self.keys):
            try:
                return tuple(np.load(self.keys[key], mmap_mode="r", allow_pickle=False).shape)
            except (OSError, ValueError):
                continue
        return None

    def rows(self, wanted: Sequence[str]) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
        for key in wanted:
            try:
                data = Path(self.keys[key]).read_bytes()
                self._digests[key] = hashlib.sha256(data).hexdigest()
                values = np.load(io.BytesIO(data), allow_pickle=False)
            except (OSError, ValueError, EOFError) as exc:
                yield key, None, f"unreadable as .npy ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                continue
            yield key, values, None

    def sha256(self) -> str:
        """Digest of the sorted `<file name> <sha256>` lines of the files read."""
        lines = "".join(f"{key}.npy {d}\n" for key, d in sorted(self._digests.items()))
        return hashlib.sha256(lines.encode()).hexdigest()

    def close(self) -> None:
        pass


class StoreSource:
    """A finished store of our layout, copied under an `imported_store` name with its provenance."""

    def __init__(self, path: Path):
        from mcd_core.features.store import open_store

        self.path = path
        self.store = open_store(path)
        self.problems: list[Problem] = []
        self.keys = dict(self.store.index)
        self.shape = tuple(self.store.features.shape[1:])

    def file_of(self, key: str) -> str:
        return str(self.path)

    def rows(self, wanted: Sequence[str]) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
        for key in wanted:
            yield key, np.asarray(self.store.features[self.keys[key]]), None

    def sha256(self) -> str:
        return file_sha256(self.path / "manifest.json")

    def close(self) -> None:
        pass
