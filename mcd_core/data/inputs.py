"""The extra feature stores an architecture reads beyond --audio and --visual (`mcd train/predict
--input KEY=PATH`): checked against the architecture's declaration and opened.

`declared` items are the registry's `FeatureInput`s (key, stream, backbone, per), read by attribute
only (this package does not import the models). Per-video stores are keyed by video id; per-question
stores hold question ids in their `video_id` array and carry the attribute `keyed_by: "question"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

from mcd_core.features.store import FeatureStore, StoreError, open_store

# Per-video streams on the run's time axis: the run's stride applies to them. Others (ToMe's 10
# sampled frames, text) are handed over whole.
STRIDED_STREAMS = ("visual_map", "visual")


class InputError(ValueError):
    """An --input is missing, not declared by the architecture, or malformed."""


class Declared(Protocol):
    key: str
    stream: str
    backbone: str
    per: str


@dataclass
class InputStore:
    key: str                    # the batch key the model reads
    store: FeatureStore
    per: str                    # "video" or "question"
    strided: bool               # the run's stride applies (per-video streams on the run's time axis)


def parse_input_flags(items: Iterable[str]) -> dict[str, Path]:
    """`KEY=PATH` strings -> {KEY: PATH}; a malformed or repeated KEY is an error naming it."""
    out: dict[str, Path] = {}
    for item in items:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise InputError(f"--input expects KEY=PATH, got {item!r}")
        if key in out:
            raise InputError(f"--input {key} is given twice")
        out[key] = Path(path)
    return out


def check_input_keys(declared: Iterable[Declared], paths: Mapping[str, Any], who: str) -> None:
    """A declared key without a path, or a path for a key not declared, is an error naming it."""
    declared = list(declared)
    keys = {d.key for d in declared}
    for d in declared:
        if d.key not in paths:
            raise InputError(f"{who} reads --input {d.key}=PATH (a {d.stream!r} store, e.g. "
                             f"features/{d.stream}/{d.backbone}.zarr); it is missing")
    for key in paths:
        if key not in keys:
            known = ", ".join(sorted(keys)) or "none"
            raise InputError(f"--input {key}: {who} reads no input of that key (its inputs: {known})")


def open_inputs(declared: Iterable[Declared], paths: Mapping[str, str | Path], who: str) -> dict[str, InputStore]:
    """The declared extra stores, opened and checked (stream and keying)."""
    declared = list(declared)
    check_input_keys(declared, paths, who)
    out = {}
    for d in declared:
        store = open_store(paths[d.key])
        if store.attrs["stream"] != d.stream:
            raise StoreError(f"{store.path}: stream is {store.attrs['stream']!r}, --input {d.key} needs "
                             f"a {d.stream!r} store")
        keyed = store.attrs.get("keyed_by", "video")
        if keyed != d.per:
            raise StoreError(f"{store.path}: rows are keyed by {keyed}, --input {d.key} needs rows keyed "
                             f"by {d.per} (attribute keyed_by)")
        out[d.key] = InputStore(d.key, store, d.per, d.per == "video" and d.stream in STRIDED_STREAMS)
    return out


def input_attrs(inputs: Mapping[str, InputStore]) -> dict[str, dict[str, Any]]:
    """What a run's config.json records of each extra store."""
    return {key: {k: s.store.attrs.get(k) for k in ("stream", "backbone", "dim", "seconds", "weights", "keyed_by")}
            for key, s in inputs.items()}
