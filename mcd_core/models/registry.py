"""The registry of architectures and of named variants (torch-free until a model is built).

An architecture is a config dataclass (a `ModelConfig`) and the model class built from it, named
in every checkpoint so that loading dispatches on it. A variant is a named set of config overrides
of one architecture (no code copies), with its own training defaults where its recipe differs
(learning rate, frame stride, epochs). Each architecture subpackage registers itself and its
variants when imported; `mcd_core.models` imports the built-in ones.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from mcd_core.models.config import ConfigError, ModelConfig

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class FeatureInput:
    key: str            # batch key the model reads; also the KEY of `mcd train/predict --input KEY=PATH`
    stream: str         # store stream, e.g. "visual_map", "tome", "text_sentence", "text_words", "prompt_sentence"
    backbone: str       # store name: results/<dataset>/features/<stream>/<backbone>.zarr
    per: str = "video"  # "video": store rows keyed by video id; "question": keyed by question id


@dataclass(frozen=True)
class Architecture:
    name: str                                   # stored in checkpoints and run configs
    config_cls: type[ModelConfig]
    model: str | Callable[[Any], "nn.Module"]   # "module:Class" (imported on build) or a callable
    description: str = ""
    inputs: tuple[FeatureInput, ...] = ()       # stores read beyond the run's --audio/--visual


@dataclass(frozen=True)
class Variant:
    name: str                                   # what `training.variants` and `--variant` name
    architecture: str
    fields: Mapping[str, Any] = field(default_factory=dict)     # config overrides
    training: Mapping[str, Any] = field(default_factory=dict)   # TrainConfig defaults of this variant
    description: str = ""                       # one line: the paper table/row it reproduces
    label: str = ""                             # its method name in the tables ("" = the default)
    init_from: str | None = None                # a variant whose best.pt (same features, seed) starts
    #                                             this one: a released two-stage recipe (AVST)


ARCHITECTURES: dict[str, Architecture] = {}
VARIANTS: dict[str, Variant] = {}


def register_architecture(arch: Architecture) -> Architecture:
    if arch.name in ARCHITECTURES and ARCHITECTURES[arch.name] != arch:
        raise ConfigError(f"architecture {arch.name!r} is registered twice")
    if arch.config_cls.architecture != arch.name:
        raise ConfigError(f"{arch.config_cls.__name__}.architecture is "
                          f"{arch.config_cls.architecture!r}, not {arch.name!r}")
    for item in arch.inputs:
        if item.per not in ("video", "question"):
            raise ConfigError(f"architecture {arch.name!r}: input {item.key!r} has per={item.per!r}; "
                              f"choose 'video' or 'question'")
    if len({item.key for item in arch.inputs}) != len(arch.inputs):
        raise ConfigError(f"architecture {arch.name!r}: two inputs share one key")
    ARCHITECTURES[arch.name] = arch
    return arch


def register_variant(variant: Variant) -> Variant:
    if variant.name in VARIANTS and VARIANTS[variant.name] != variant:
        raise ConfigError(f"variant {variant.name!r} is registered twice")
    arch = get_architecture(variant.architecture)
    known = {f.name for f in dataclasses.fields(arch.config_cls)}
    unknown = sorted(set(variant.fields) - known)
    if unknown:
        raise ConfigError(f"variant {variant.name!r}: unknown {arch.config_cls.__name__} field(s) {unknown}")
    if variant.init_from is not None and variant.init_from not in VARIANTS:
        raise ConfigError(f"variant {variant.name!r} starts from {variant.init_from!r}, which is not registered")
    VARIANTS[variant.name] = variant
    return variant


def register_variants(architecture: str, table: Mapping[str, tuple[str, Mapping[str, Any]]],
                      training: Mapping[str, Any] | None = None) -> None:
    """Register {name: (description, overrides)} of one architecture, sharing training defaults."""
    for name, (description, overrides) in table.items():
        register_variant(Variant(name, architecture, dict(overrides), dict(training or {}), description))


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def get_variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ConfigError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def architecture_inputs(name: str) -> tuple[FeatureInput, ...]:
    """The extra stores (beyond --audio/--visual) that architecture `name` reads."""
    return get_architecture(name).inputs


def list_variants() -> list[str]:
    return list(VARIANTS)


def variant_config(name: str, **fields: Any) -> ModelConfig:
    """The config of variant `name`: `fields` (sizes, D, ...) apply first, the variant's switches last.
    A field the variant's architecture does not have is an error."""
    variant = get_variant(name)
    cls = get_architecture(variant.architecture).config_cls
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ConfigError(f"variant {name!r} ({variant.architecture}): unknown field(s) {unknown}")
    return dataclasses.replace(cls(**fields), **variant.fields)


def config_fields(name: str) -> set[str]:
    """The config field names of variant `name`'s architecture."""
    cls = get_architecture(get_variant(name).architecture).config_cls
    return {f.name for f in dataclasses.fields(cls)}


def config_from_dict(architecture: str, data: Mapping[str, Any]) -> ModelConfig:
    """Rebuild a config from a checkpoint: dispatch on its stored architecture name."""
    return get_architecture(architecture).config_cls.from_dict(data)


def _model_class(arch: Architecture) -> Callable[[Any], "nn.Module"]:
    if callable(arch.model):
        return arch.model
    module, _, attr = arch.model.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_model(cfg: ModelConfig) -> "nn.Module":
    return _model_class(get_architecture(cfg.architecture))(cfg)
