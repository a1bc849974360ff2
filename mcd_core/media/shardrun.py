"""Run one stage over the videos of a shard with the project's failure policy.

`on_error="stop"`: the first bad video raises `VideoError`, naming the file and the stage.
`on_error="skip"`: the video is left out and recorded as a `Failure`; the caller writes the list
beside its output (`write_failures`) so that `mcd merge` can gather it into the store's manifest.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

from mcd_core.common.atomic import write_json, write_text
from mcd_core.common.ids import video_id_problem
from mcd_core.common.progress import progress
from mcd_core.common.textfiles import read_text_file

T = TypeVar("T")
ON_ERROR_CHOICES = ("stop", "skip")
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".flv", ".mpg", ".mpeg")


class VideoError(RuntimeError):
    """A video could not be processed; the message names the file, the stage and the reason."""


@dataclass
class Failure:
    video_id: str
    stage: str
    error: str
    whole_shard: str | None = None  # set by `mcd merge` when every video of this shard failed


def failure_dict(failure: Failure) -> dict:
    """A failure as written to a list: the optional `whole_shard` only when set."""
    return {k: v for k, v in asdict(failure).items() if k != "whole_shard" or v is not None}


def warn_if_all_failed(log, where: str, n_videos: int, failures: Sequence[Failure]) -> bool:
    """Log a warning when every video of a shard failed (an empty output is not a quiet success)."""
    if n_videos == 0 and failures:
        log.warning("%s: every one of its %d videos failed (first: %s: %s); its output holds no video",
                    where, len(failures), failures[0].video_id, failures[0].error.splitlines()[0][:200])
        return True
    return False


def read_ids(path: str | os.PathLike) -> list[str]:
    """Video ids of a shard file, one per line (blank lines ignored), each checked as a file name."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"shard list {path} does not exist")
    ids = []
    for number, line in enumerate(read_text_file(path, "shard list", VideoError).split("\n"), start=1):
        video_id = line.rstrip("\r")
        if not video_id.strip():
            continue
        problem = video_id_problem(video_id)
        if problem:
            raise VideoError(f"{path}: line {number}: video id {video_id!r} {problem}; it cannot name a "
                             f"file in the videos folder")
        ids.append(video_id)
    return ids


def check_video_id(video_id: str) -> str:
    """`video_id` when it can name a file in the videos folder; VideoError otherwise."""
    problem = video_id_problem(video_id)
    if problem:
        raise VideoError(f"video id {video_id!r} {problem}; it cannot name a file in the videos folder")
    return video_id


def write_shard_list(path: str | os.PathLike, video_ids: Sequence[str], log: str | os.PathLike | None = None) -> None:
    """The shard list `path`: one checked video id a line (the format `read_ids` reads)."""
    if not video_ids:
        raise VideoError(f"shard list {path}: no video ids")
    write_text(path, "".join(f"{check_video_id(v)}\n" for v in video_ids))
    if log is not None:
        write_text(log, f"wrote {path}: {len(video_ids)} video ids\n")


def find_video(videos_dir: str | os.PathLike, video_id: str) -> Path:
    """The file of `video_id` in `videos_dir`, whatever its container extension."""
    videos_dir = Path(videos_dir)
    check_video_id(video_id)
    for ext in VIDEO_EXTENSIONS:
        candidate = videos_dir / f"{video_id}{ext}"
        if candidate.is_file():
            return candidate
    raise VideoError(f"no video file for id {video_id!r} in {videos_dir} "
                     f"(looked for {video_id}{{{','.join(VIDEO_EXTENSIONS)}}})")


def run_over_videos(video_ids: Sequence[str], work: Callable[[str], T], stage: str,
                    on_error: str = "stop", desc: str | None = None,
                    ) -> tuple[dict[str, T], list[Failure]]:
    """Apply `work` to each video id with a progress bar; returns results and failures."""
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
    results: dict[str, T] = {}
    failures: list[Failure] = []
    for video_id in progress(video_ids, desc=desc or stage, unit="video"):
        try:
            results[video_id] = work(video_id)
        except VideoError as exc:
            if on_error == "stop":
                raise
            failures.append(Failure(video_id, stage, str(exc)))
    return results, failures


def write_failures(path: str | os.PathLike, failures: Iterable[Failure]) -> None:
    write_json(path, [failure_dict(f) for f in failures])


def read_failures(path: str | os.PathLike) -> list[Failure]:
    path = Path(path)
    if not path.is_file():
        return []
    data = json.loads(read_text_file(path, "failures list", VideoError))
    return [Failure(**item) for item in data]
