"""Per-dataset settings (global sections merged with the dataset's own), video ids and shards.

Used by the Snakefile at parse time, so it imports nothing heavy.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from mcd_core.media.shardrun import VIDEO_EXTENSIONS, Failure, write_failures
from mcd_core.workflow.config import SECTIONS, ConfigError

# Missing videos named in the stop message; the rest are counted.
SHOWN_MISSING = 5


class DatasetNotReadyError(RuntimeError):
    """A dataset's videos or annotations are not where the config says."""


@dataclass(frozen=True)
class DatasetSettings:
    name: str
    format: str
    videos: str
    annotations: dict[str, str]
    seconds: int
    generator: dict | None
    extraction: dict
    training: dict
    table: dict

    @property
    def feature_tag(self) -> str:
        """Names the backbone pair of a run: it is part of every path that depends on features."""
        return f"{self.extraction['visual_backbone']}-{self.extraction['audio_backbone']}"


def dataset_settings(config: dict, name: str) -> DatasetSettings:
    if name not in config["datasets"]:
        raise ConfigError(f"dataset {name!r} is not defined under datasets "
                          f"(defined: {', '.join(sorted(config['datasets']))})")
    entry = config["datasets"][name]
    sections = {}
    for section in SECTIONS:
        merged = copy.deepcopy(config[section])
        merged.update(entry.get(section, {}))
        sections[section] = merged
    return DatasetSettings(name=name, format=entry["format"], videos=entry["videos"],
                           annotations=dict(entry["annotations"]), seconds=entry["seconds"],
                           generator=entry.get("generator"), **sections)


def demo_video_ids(count: int) -> list[str]:
    """Video ids of the built-in demo dataset (8 digits, like MUSIC-AVQA's real videos)."""
    return [f"{i:08d}" for i in range(1, count + 1)]


def annotation_video_ids(paths: list[str]) -> list[str]:
    """Sorted union of the video ids referenced by annotation files (only `video_id` is read)."""
    ids: set[str] = set()
    for path in paths:
        try:
            records = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetNotReadyError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(records, list):
            raise DatasetNotReadyError(f"{path}: expected a JSON list of question records")
        for i, record in enumerate(records):
            if not isinstance(record, dict) or "video_id" not in record:
                raise DatasetNotReadyError(f"{path}: record {i} has no 'video_id'")
            ids.add(str(record["video_id"]))
    return sorted(ids)


def check_dataset_ready(ds: DatasetSettings) -> None:
    """Stop early, saying what to put where, when a (non-generated) dataset is missing files."""
    if ds.generator is not None:
        return
    missing = [f"  annotations ({split}): {path}" for split, path in ds.annotations.items()
               if not Path(path).is_file()]
    if not Path(ds.videos).is_dir():
        missing.append(f"  videos folder: {ds.videos}  (one <video_id>.mp4 per video)")
    if missing:
        raise DatasetNotReadyError(
            f"dataset {ds.name!r} is not in place. Put these files where the config says "
            f"(config/config.yaml, datasets.{ds.name}), or point the config elsewhere:\n"
            + "\n".join(missing))


def present_video_ids(videos_dir: str | os.PathLike) -> set[str]:
    """Ids of the video files in a folder (file name without a known container extension)."""
    try:
        entries = list(os.scandir(videos_dir))
    except OSError as exc:
        raise DatasetNotReadyError(f"{videos_dir}: cannot list the videos folder ({exc})") from None
    return {Path(e.name).stem for e in entries
            if e.is_file() and Path(e.name).suffix.lower() in VIDEO_EXTENSIONS}


@functools.lru_cache(maxsize=16)
def _ids_and_missing(videos: str, annotations: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every annotated video id, those without a file); cached: the Snakefile asks for every job."""
    ids = annotation_video_ids(list(annotations))
    present = present_video_ids(videos)
    return tuple(ids), tuple(v for v in ids if v not in present)


def _annotated(ds: DatasetSettings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    check_dataset_ready(ds)
    return _ids_and_missing(ds.videos, tuple(ds.annotations[s] for s in ("train", "val", "test")))


def missing_video_ids(ds: DatasetSettings) -> list[str]:
    """Annotated videos without a file in the dataset's folder (none for a generated dataset)."""
    return [] if ds.generator is not None else list(_annotated(ds)[1])


def missing_videos_message(ds: DatasetSettings, missing: list[str], total: int) -> str:
    shown = ", ".join(missing[:SHOWN_MISSING]) + (", ..." if len(missing) > SHOWN_MISSING else "")
    return (f"dataset {ds.name!r}: {len(missing):,} of the {total:,} videos named by its annotations "
            f"are not in {ds.videos} (first: {shown}; looked for <video_id> with one of "
            f"{', '.join(VIDEO_EXTENSIONS)}). Put them there, point datasets.{ds.name}.videos at "
            f"their folder, or leave them out with `missing_videos: skip` (in datasets.{ds.name}."
            f"extraction, or --config 'extraction={{\"missing_videos\": \"skip\"}}'): their "
            f"questions are then left out and the table's notes say how many")


def dataset_video_ids(ds: DatasetSettings) -> list[str]:
    """The videos to extract: a generated dataset's ids, or the annotated ids that have a file.
    Annotated videos without a file stop the run here, before any job, unless the dataset's
    `extraction.missing_videos` is `skip`."""
    if ds.generator is not None:
        return demo_video_ids(ds.generator["videos"])
    ids, missing = _annotated(ds)
    if missing and ds.extraction.get("missing_videos", "stop") != "skip":
        raise DatasetNotReadyError(missing_videos_message(ds, list(missing), len(ids)))
    absent = set(missing)
    return [v for v in ids if v not in absent]


def write_missing_videos(path: str | os.PathLike, videos: str, annotations: list[str]) -> int:
    """The failures manifest (`mcd_core.media.shardrun` format) of the annotated videos that have
    no file in `videos`; returns their count. Scoring leaves their questions out and notes them."""
    _, missing = _ids_and_missing(str(videos), tuple(annotations))
    write_failures(path, [Failure(v, "videos", f"no video file in {videos}") for v in missing])
    return len(missing)


def make_shards(video_ids: list[str], shard_size: int) -> list[list[str]]:
    if shard_size < 1:
        raise ConfigError(f"extraction.shard_size must be >= 1, got {shard_size}")
    return [video_ids[i:i + shard_size] for i in range(0, len(video_ids), shard_size)]


def shard_names(n_videos: int, shard_size: int) -> list[str]:
    return [f"shard_{i:05d}" for i in range(math.ceil(n_videos / shard_size))]
