"""Shard outputs of the feature stages: the failure list beside each store, and merging shards.

Every feature stage writes, beside each store `X.zarr`, `X.failures.json`: the list of videos lost
at any stage so far (`{video_id, stage, error}`). `merge_shards` concatenates finished shard stores
(`store.merge_stores`) and gathers their lists into the merged store's list.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Sequence

from mcd_core.common.atomic import remove_path, write_json
from mcd_core.media.shardrun import Failure, failure_dict, read_failures, warn_if_all_failed
from mcd_core.features.store import merge_stores, open_store

log = logging.getLogger(__name__)


class MergeError(RuntimeError):
    """A part to merge is missing, lacks its failure list or is listed twice."""


def failures_path(store_path: str | os.PathLike) -> Path:
    """`features/.../shard_00001.zarr` -> `features/.../shard_00001.failures.json` (design.md)."""
    store_path = Path(store_path)
    name = store_path.name
    stem = name[: -len(".zarr")] if name.endswith(".zarr") else name
    return store_path.with_name(stem + ".failures.json")


def merge_shards(parts: Sequence[str | os.PathLike], out: str | os.PathLike) -> tuple[Path, list[Failure]]:
    """Merge shard stores into `out` and write every part's failures, in part order, beside it.

    The list is written before the store and removed again if the merge fails, so a finished
    store always has its list and a failed merge leaves nothing behind. The failures of a shard in
    which every video failed carry `whole_shard` (its name), for the table's notes, and are warned of.
    """
    parts = [Path(p) for p in parts]
    seen: set[Path] = set()
    for part in parts:
        if part.resolve() in seen:
            raise MergeError(f"{part} is listed twice among the parts to merge")
        seen.add(part.resolve())
        if not part.exists():
            raise MergeError(f"{part}: no such shard store; re-run the stage that writes it")
        if not failures_path(part).is_file():
            raise MergeError(f"{part}: its failure list {failures_path(part)} is missing; "
                             f"re-run the stage that wrote this shard")
    failures = []
    for part in parts:
        lost = read_failures(failures_path(part))
        shard = part.name[: -len(".zarr")] if part.name.endswith(".zarr") else part.name
        if warn_if_all_failed(log, f"merge: {part}", len(open_store(part)), lost):
            lost = [dataclasses.replace(f, whole_shard=shard) for f in lost]
        failures += lost
    target = failures_path(out)
    write_json(target, [failure_dict(f) for f in failures])
    try:
        merged = merge_stores(parts, out)
    except BaseException:
        remove_path(target)
        raise
    return merged, failures
