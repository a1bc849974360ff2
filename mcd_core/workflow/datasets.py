"""Per-dataset settings (global sections merged with the dataset's own), video ids and shards.

Used by the Snakefile at parse time, so it imports nothing heavy.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

from mcd_core.workflow.config import SECTIONS, ConfigError


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


def dataset_video_ids(ds: DatasetSettings) -> list[str]:
    if ds.generator is not None:
        return demo_video_ids(ds.generator["videos"])
    check_dataset_ready(ds)
    return annotation_video_ids([ds.annotations[s] for s in ("train", "val", "test")])


def make_shards(video_ids: list[str], shard_size: int) -> list[list[str]]:
    if shard_size < 1:
        raise ConfigError(f"extraction.shard_size must be >= 1, got {shard_size}")
    return [video_ids[i:i + shard_size] for i in range(0, len(video_ids), shard_size)]


def shard_names(n_videos: int, shard_size: int) -> list[str]:
    return [f"shard_{i:05d}" for i in range(math.ceil(n_videos / shard_size))]
