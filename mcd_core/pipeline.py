"""Pipeline configuration: schema validation with defaults, per-dataset settings, video shards.

Used by the Snakefile at parse time, so it imports nothing heavy.
"""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SECTIONS = ("extraction", "training", "table")


class ConfigError(ValueError):
    """The pipeline configuration is invalid; the message names the key."""


class DatasetNotReadyError(RuntimeError):
    """A dataset's videos or annotations are not where the config says."""


def load_schema(path: str | os.PathLike) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _resolve_ref(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ConfigError(f"unsupported schema reference {ref}")
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    """Insert schema defaults into `instance` in place (objects only, recursively)."""
    schema = _resolve_ref(schema, root)
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        sub = _resolve_ref(sub, root)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def validate_config(config: dict, schema: dict) -> dict:
    """Return a validated copy of `config` with the schema's defaults filled in."""
    config = copy.deepcopy(config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for err in errors:
            where = _key_path(err)
            if err.validator == "additionalProperties":
                allowed = sorted(_resolve_ref(err.schema, schema).get("properties", {}))
                lines.append(f"{where}: {err.message} (allowed keys: {', '.join(allowed)})")
            else:
                lines.append(f"{where}: {err.message}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    _fill_defaults(config, schema, schema)
    for name, entry in config["datasets"].items():
        if "generator" in entry:
            _check_generated_paths(name, entry)
    _check_training("training", config["training"])
    for name, entry in config["datasets"].items():
        if "training" in entry:
            _check_training(f"datasets.{name}.training", entry["training"])
    for name in config.get("run", []):
        if name not in config["datasets"]:
            raise ConfigError(f"run: dataset {name!r} is not defined under datasets "
                              f"(defined: {', '.join(sorted(config['datasets']))})")
    return config


def _check_training(where: str, section: dict) -> None:
    """Variant names and `extra` overrides are checked against the model registry and the config
    dataclasses here, so that a typo stops the run before any extraction job, not at training."""
    from .models import list_variants
    from .models.config import MCDConfig, apply_overrides
    from .train import TrainConfig, split_overrides

    for variant in section.get("variants", []):
        if variant not in list_variants():
            raise ConfigError(f"{where}.variants: unknown variant {variant!r} "
                              f"(known: {', '.join(list_variants())})")
    try:
        model, training = split_overrides(section.get("extra", []))
        apply_overrides(MCDConfig(), model)
        apply_overrides(TrainConfig(), training)
    except ValueError as exc:  # the model's ConfigError is a ValueError
        raise ConfigError(f"{where}.extra: {exc}") from None


def _check_generated_paths(name: str, entry: dict) -> None:
    """A generated dataset lives where the demo_data rule writes it."""
    expected = {"videos": f"resources/{name}/videos"}
    expected.update({f"annotations.{s}": f"resources/{name}/annotations/avqa-{s}.json"
                     for s in ("train", "val", "test")})
    actual = {"videos": entry["videos"]}
    actual.update({f"annotations.{s}": entry["annotations"][s] for s in ("train", "val", "test")})
    for key, want in expected.items():
        if actual[key] != want:
            raise ConfigError(f"datasets.{name}.{key}: a generated dataset must use {want!r} "
                              f"(found {actual[key]!r})")


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
