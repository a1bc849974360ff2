"""`mcd verify`: a store's chunks against its manifest's checksums, each damaged chunk named with
the videos it holds; `--record` gives a store written before manifests existed its manifest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mcd_core.features.errors import StoreError
from mcd_core.features.manifest import MANIFEST, damaged_chunks, describe, read_manifest, record_manifest
from mcd_core.features.store import open_store, row_names


@dataclass
class Verdict:
    path: Path
    recorded: bool                  # the store has a manifest
    checked: int = 0                # chunks whose checksum was recomputed
    damaged: list[str] = field(default_factory=list)  # one line per damaged chunk

    @property
    def ok(self) -> bool:
        return self.recorded and not self.damaged


def verify_store(path: str | os.PathLike) -> Verdict:
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"feature store {path} does not exist")
    manifest = read_manifest(path)
    if manifest is None:
        return Verdict(path, recorded=False)
    damage, checked = damaged_chunks(path, manifest)
    ids, label = None, "video"
    if damage and not any(d.array == "video_id" for d in damage):
        try:  # with the video_id chunks damaged the lines give row numbers instead
            ids, label = row_names(path)
        except StoreError:
            pass
    return Verdict(path, True, checked, [describe(path, d, ids, label) for d in damage])


def record_store(path: str | os.PathLike) -> int | None:
    """Record the manifest of a store that has none, trusting its chunks as they are now; returns
    the chunks listed, or None for a store that has one (recording again would hide damage)."""
    path = Path(path)
    open_store(path, check_chunks=False)  # a feature store, its small arrays readable
    if (path / MANIFEST).exists():
        return None
    return record_manifest(path)
