"""Read a frames shard (`frames/shard_XXXXX/`, written by `mcd frames`) as docs/design.md defines it.

A shard holds `manifest.json` and one folder per video with exactly T JPEG files, one per second,
named by their zero-padded second (`NNN.jpg`, ordered by that number).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcd_core.media.shardrun import Failure, VideoError

MANIFEST = "manifest.json"


class FramesShardError(RuntimeError):
    """A frames shard or its manifest is missing or malformed; the message names file and field."""


@dataclass
class FramesShard:
    root: Path                          # the shard folder
    seconds: int                        # T: frames per video
    lengths: dict[str, int]             # video id -> seconds of real content (1..T), manifest order
    params: dict[str, Any]              # the frames stage's parameters (e.g. frame_short_side)
    failures: list[Failure] = field(default_factory=list)  # videos the frames stage lost

    @property
    def video_ids(self) -> list[str]:
        return list(self.lengths)

    def frame_paths(self, video_id: str) -> list[Path]:
        """The T frame files of a video in time order; VideoError when they are not all there."""
        folder = self.root / video_id
        if not folder.is_dir():
            raise VideoError(f"frames: folder {folder} of video {video_id!r} is missing")
        paths = sorted(folder.glob("*.jpg"), key=_second_of)
        if len(paths) != self.seconds:
            raise VideoError(f"frames: {folder} holds {len(paths)} .jpg files, expected {self.seconds}")
        return paths


def _second_of(path: Path) -> int:
    try:
        return int(path.stem)
    except ValueError:
        raise VideoError(f"frames: file name {path} is not a second number (NNN.jpg)") from None


def _field(data: dict, key: str, kind: type, where: Path) -> Any:
    if key not in data:
        raise FramesShardError(f"{where}: field {key!r} is missing")
    if not isinstance(data[key], kind) or isinstance(data[key], bool):
        raise FramesShardError(f"{where}: field {key!r} must be {kind.__name__}, got {data[key]!r}")
    return data[key]


def read_frames_shard(root: str | os.PathLike) -> FramesShard:
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        raise FramesShardError(f"{path} does not exist; run `mcd frames` for this shard first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FramesShardError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise FramesShardError(f"{path}: expected a JSON object")
    if data.get("stage") != "frames":
        raise FramesShardError(f"{path}: field 'stage' is {data.get('stage')!r}, expected 'frames'")
    seconds = _field(data, "seconds", int, path)
    if seconds < 1:
        raise FramesShardError(f"{path}: field 'seconds' must be >= 1, got {seconds}")
    lengths: dict[str, int] = {}
    for video_id, entry in _field(data, "videos", dict, path).items():
        length = _field(entry, "length", int, path) if isinstance(entry, dict) else None
        if length is None or not 1 <= length <= seconds:
            raise FramesShardError(f"{path}: videos[{video_id!r}].length must lie in [1, {seconds}], "
                                   f"got {entry!r}")
        lengths[str(video_id)] = length
    try:
        failures = [Failure(**f) for f in data.get("failures", [])]
    except TypeError as exc:
        raise FramesShardError(f"{path}: field 'failures' entries must be "
                               f"{{video_id, stage, error}} ({exc})") from exc
    return FramesShard(root, seconds, lengths, dict(data.get("params", {})), failures)
