"""AVQA's HDF5 rows are keyed by `video_id` ints; our stores by `video_name` (the clip's file name).
The map comes from the official `video_map.json` or from the QA records, which hold both."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from mcd_core.features.importers.problems import ImportFeaturesError


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFeaturesError(f"{path}: cannot be read as JSON ({exc})") from None


def _pair(path: Path, where: str, video_id, name) -> tuple[str, str]:
    if isinstance(video_id, bool) or not isinstance(video_id, (int, str)) or not isinstance(name, str) or not name:
        raise ImportFeaturesError(f"{path}: {where}: expected an int video_id and a video_name string, "
                                  f"got {video_id!r} and {name!r}")
    return str(video_id), name


def read_video_map(path: str | os.PathLike) -> dict[str, str]:
    """`video_map.json` as {str(video_id): video_name}. The official file is {video_name: id}: AVQA's
    extraction scripts look a video's name up in it and write that int into the HDF5 `ids`
    (AlyssaYoung/AVQA, preprocess/*). Also accepted: {"id": name}, or a list of records with
    `video_id` and `video_name`."""
    path = Path(path)
    data = _read_json(path)
    pairs = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, int) and not isinstance(value, bool):
                pairs.append(_pair(path, f"entry {key!r}", value, key))
            else:
                pairs.append(_pair(path, f"entry {key!r}", key, value))
    elif isinstance(data, list):
        for i, rec in enumerate(data):
            if not isinstance(rec, dict):
                raise ImportFeaturesError(f"{path}: entry {i} is not an object")
            pairs.append(_pair(path, f"entry {i}", rec.get("video_id"), rec.get("video_name")))
    else:
        raise ImportFeaturesError(f"{path}: expected an object or a list, got {type(data).__name__}")
    return _unique(path, pairs)


def _unique(path: Path, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, name in pairs:
        if out.setdefault(key, name) != name:
            raise ImportFeaturesError(f"{path}: video_id {key} names two videos, {out[key]!r} and {name!r}")
    return out


def map_from_records(paths: Iterable[str | os.PathLike]) -> dict[str, str]:
    """{str(video_id): video_name} of AVQA QA files (lists of records; carve files are skipped)."""
    out: dict[str, str] = {}
    for path in paths:
        data = _read_json(Path(path))
        if not isinstance(data, list):
            continue  # a carve file: its source is among the paths as well
        pairs = [_pair(Path(path), f"record {i}", r.get("video_id"), r.get("video_name"))
                 for i, r in enumerate(data) if isinstance(r, dict) and "video_id" in r]
        for key, name in _unique(Path(path), pairs).items():
            if out.setdefault(key, name) != name:
                raise ImportFeaturesError(f"{path}: video_id {key} is {name!r} here, {out[key]!r} in another file")
    return out
