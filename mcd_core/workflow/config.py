"""The pipeline configuration: schema validation, the schema's defaults, and checks against the
registries (variants, training overrides, dataset formats) before any job starts.

Defaults are filled by a jsonschema validator extended to set them (the documented jsonschema
recipe). The global `extraction`, `training` and `table` sections get the schema's defaults; a
dataset's own sections do not, so that they override only the keys they set, and `--config`
changes of a global key reach every dataset that does not set that key itself.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import jsonschema
import yaml

from mcd_core.workflow.config_strings import coerce_strings, resolve_ref

SECTIONS = ("extraction", "training", "table")
# Torch-free copies of registry facts the Snakefile needs (tests hold them to the registries):
# the rate each audio backbone reads, and the visual backbones that read videos (3D clips) rather
# than the 1-fps frames.
AUDIO_RATES = {"vggish": 16000, "panns_cnn14": 16000, "panns_cnn14_32k": 32000}
# Audio backbones that embed a whole clip unless `audio_per_second` (the registry's `clip_level`;
# a constant here so that reading the config imports no network code; a test checks they agree).
CLIP_LEVEL_AUDIO = ("panns_cnn14_32k",)
PER_SECOND = "_per_second"
CLIP_BACKBONES = ("resnext101_3d_kinetics",)


class ConfigError(ValueError):
    """The pipeline configuration is invalid; the message names the key."""


def load_schema(path: str | os.PathLike) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _with_defaults(validator_class):
    """A validator class that inserts each property's `default` before validating the object."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if key not in instance and "default" in sub:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


DefaultFillingValidator = _with_defaults(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _allowed_keys(error: jsonschema.ValidationError, schema: dict) -> list[str]:
    return sorted(resolve_ref(error.schema, schema).get("properties", {}))


def _raise_errors(config: dict, schema: dict) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    lines = []
    for err in errors:
        where = _key_path(err)
        if err.validator == "additionalProperties":
            lines.append(f"{where}: {err.message} (allowed keys: {', '.join(_allowed_keys(err, schema))})")
        else:
            lines.append(f"{where}: {err.message}")
    raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def validate_config(config: dict, schema: dict) -> dict:
    """A validated copy of `config` with the schema's defaults filled in (global sections only)."""
    config = coerce_strings(copy.deepcopy(config), schema, schema)  # `--config` gives nested strings
    _raise_errors(config, schema)
    # Dataset sections are overrides: take them out while defaults are filled, then put them back.
    own = {name: {s: entry.pop(s) for s in SECTIONS if s in entry}
           for name, entry in config["datasets"].items()}
    DefaultFillingValidator(schema).validate(config)
    for name, sections in own.items():
        config["datasets"][name].update(sections)
    check_config(config)
    return config


def check_config(config: dict) -> None:
    """Checks the schema cannot express: dataset formats, variants and overrides, paths, names."""
    from mcd_core.data.formats import list_formats

    for name, entry in config["datasets"].items():
        if entry["format"] not in list_formats():
            raise ConfigError(f"datasets.{name}.format: unknown format {entry['format']!r} "
                              f"(known: {', '.join(list_formats())})")
        if "generator" in entry:
            _check_generated_paths(name, entry)
        _check_audio_rate(name, {**config["extraction"], **entry.get("extraction", {})})
        if "carve" in entry:
            _check_carve(name, entry)
        _check_features(name, entry)
    _check_training("training", config["training"])
    for name, entry in config["datasets"].items():
        if "training" in entry:
            merged = {**config["training"], **entry["training"]}
            _check_training(f"datasets.{name}.training", merged)
    for name in config.get("run", []):
        if name not in config["datasets"]:
            raise ConfigError(f"run: dataset {name!r} is not defined under datasets "
                              f"(defined: {', '.join(sorted(config['datasets']))})")


def audio_sample_rate(extraction: dict) -> int:
    """The audio stage's rate for a dataset: its setting, else what its audio backbone reads."""
    return extraction.get("audio_sample_rate") or AUDIO_RATES.get(extraction["audio_backbone"], 16000)


def audio_store_name(extraction: dict) -> str:
    """The name of a dataset's audio store, and the audio half of its run tags: the backbone's, with
    `_per_second` when a clip-level backbone embeds each second (`audio_per_second`), so that the
    two readings of AVQA's audio never share a store, a run or a table row."""
    backbone = extraction["audio_backbone"]
    if extraction.get("audio_per_second") and backbone in CLIP_LEVEL_AUDIO:
        return backbone + PER_SECOND
    return backbone


def audio_store_backbone(name: str) -> tuple[str, bool]:
    """(registry backbone, per_second) of an audio store name (`audio_store_name`'s inverse)."""
    base = name[:-len(PER_SECOND)] if name.endswith(PER_SECOND) else None
    if base in CLIP_LEVEL_AUDIO:
        return base, True
    return name, False


def _check_audio_rate(name: str, extraction: dict) -> None:
    backbone, rate = extraction["audio_backbone"], audio_sample_rate(extraction)
    if backbone in AUDIO_RATES and rate != AUDIO_RATES[backbone]:
        raise ConfigError(f"datasets.{name}: extraction.audio_sample_rate is {rate}, but audio_backbone "
                          f"{backbone!r} reads {AUDIO_RATES[backbone]} Hz audio (leave the key unset)")


def _check_features(name: str, entry: dict) -> None:
    """Imported streams name a layout that writes them; without `videos`, both streams are imported."""
    from mcd_core.features.importers import LayoutError, check_stream

    imported = entry.get("features", {})
    for stream, spec in imported.items():
        if "layout" in spec:
            try:
                check_stream(spec["layout"], stream)
            except LayoutError as exc:
                raise ConfigError(f"datasets.{name}.features.{stream}: {exc}") from None
    if "videos" not in entry:
        extracted = [s for s in ("visual", "audio") if s not in imported]
        if extracted:
            raise ConfigError(f"datasets.{name}: no `videos` folder, but its {' and '.join(extracted)} "
                              f"features are extracted from videos: give `videos` or import them under "
                              f"datasets.{name}.features (docs/features.md)")


def imported_backbone(spec: dict) -> str:
    """The backbone name of an imported stream's store: imported_<layout>, or imported_store."""
    from mcd_core.features.importers import PREFIX

    return PREFIX + spec.get("layout", "store")


def carve_paths(name: str) -> dict[str, str]:
    """Where rule `carve` writes a dataset's carved train and val files."""
    return {part: f"results/{name}/annotations/{part}.carve.json" for part in ("train", "val")}


def _check_carve(name: str, entry: dict) -> None:
    from mcd_core.data.formats import get_format

    if get_format(entry["format"]).carve is None:
        raise ConfigError(f"datasets.{name}.carve: format {entry['format']!r} has its own validation file; "
                          f"drop the carve")
    for part, path in carve_paths(name).items():
        if entry["annotations"][part] != path:
            raise ConfigError(f"datasets.{name}.annotations.{part} must be {path} (the carve's output), "
                              f"got {entry['annotations'][part]!r}")


def _check_training(where: str, section: dict) -> None:
    """Variant names and `extra` overrides are checked against the model registry and the config
    dataclasses here, so that a typo stops the run before any extraction job, not at training.
    An `extra` model field must belong to the config of at least one listed variant; each train
    job gets the fields of its own variant's architecture (`extra_for_variant`)."""
    from mcd_core.models import ConfigError as ModelConfigError
    from mcd_core.models import apply_overrides, config_fields, list_variants, variant_config
    from mcd_core.training.config import resolve_train_config, split_overrides, train_fields, unknown_field_message

    variants = section.get("variants", [])
    for variant in variants:
        if variant not in list_variants():
            raise ConfigError(f"{where}.variants: unknown variant {variant!r} "
                              f"(known: {', '.join(list_variants())}; `mcd variants` describes them)")
    for item in section.get("extra", []):
        name = item.partition("=")[0]
        owners = [v for v in variants if name in config_fields(v)]
        if name not in train_fields() and not owners:
            raise ConfigError(f"{where}.extra: {unknown_field_message(name, variants)}")
    _check_peer_backbones(f"{where}.peer_backbones", section.get("peer_backbones", {}))
    try:
        for variant in variants:
            model, training = split_overrides(extra_for_variant(section.get("extra", []), variant), variant)
            apply_overrides(variant_config(variant), model)
            resolve_train_config(variant, {k: section.get(k) for k in RECIPE_KEYS}, training)
    except ModelConfigError as exc:
        raise ConfigError(f"{where}.extra: {exc}") from None


def _check_peer_backbones(where: str, swaps: dict) -> None:
    """`training.peer_backbones`: each architecture reads extra stores, each key is `visual` or one
    of its declared inputs, and each backbone writes the stream that key reads."""
    from mcd_core.features.backbones.streams import backbones_for
    from mcd_core.models import ConfigError as ModelConfigError
    from mcd_core.models import get_architecture
    from mcd_core.scoring.peers import key_streams

    for name, keys in swaps.items():
        try:
            arch = get_architecture(name)
        except ModelConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not arch.inputs:
            raise ConfigError(f"{where}.{name}: architecture {name!r} reads no extra stores; its visual "
                              f"backbone is extraction.visual_backbone")
        streams = key_streams(name)
        for key, backbone in keys.items():
            if key not in streams:
                raise ConfigError(f"{where}.{name}: unknown key {key!r} (choose from {', '.join(streams)})")
            allowed = backbones_for(streams[key])
            if backbone not in allowed:
                raise ConfigError(f"{where}.{name}.{key}: {backbone!r} writes no {streams[key]!r} store "
                                  f"(choose from {', '.join(allowed)})")


def weights_dir(config: dict) -> str:
    """The folder every job reads pretrained weights from: the config's `weights_dir`, else
    $MCD_WEIGHTS_DIR, else resources/weights (relative to the working directory), by the rule
    `mcd weights` and extraction use. The rules pass it explicitly, so that a job never falls back
    to a folder beside the installed package."""
    from mcd_core.features.backbones.weights import weights_dir_path  # torch-free

    return str(weights_dir_path(config.get("weights_dir") or None))


# Training keys passed as `mcd train` flags when the config sets them; unset, the variant's own
# recipe applies (TrainConfig's defaults are the paper's).
RECIPE_KEYS = ("epochs", "batch_size", "lr", "lr_step", "lr_gamma", "stride")


def extra_for_variant(extra: list[str], variant: str) -> list[str]:
    """The `training.extra` items that apply to `variant`: TrainConfig fields and the fields of its
    architecture's config (e.g. `temperature` reaches MCD variants, not the MLP baselines)."""
    from mcd_core.models import config_fields
    from mcd_core.training.config import train_fields

    fields = config_fields(variant) | train_fields()
    return [item for item in extra if item.partition("=")[0] in fields]


def _check_generated_paths(name: str, entry: dict) -> None:
    """A generated dataset lives where the demo_data rule writes it."""
    expected = {"videos": f"resources/{name}/videos"}
    actual = {"videos": entry.get("videos")}
    if entry["format"] == "avqa":  # the generator writes train_qa.json and val_qa.json; val is carved
        expected.update({"annotations.test": f"resources/{name}/annotations/val_qa.json",
                         "carve.source": f"resources/{name}/annotations/train_qa.json"})
        actual.update({"annotations.test": entry["annotations"]["test"],
                       "carve.source": entry.get("carve", {}).get("source")})
    else:
        expected.update({f"annotations.{s}": f"resources/{name}/annotations/avqa-{s}.json"
                         for s in ("train", "val", "test")})
        actual.update({f"annotations.{s}": entry["annotations"][s] for s in ("train", "val", "test")})
    for key, want in expected.items():
        if actual[key] != want:
            raise ConfigError(f"datasets.{name}.{key}: a generated dataset must use {want!r} "
                              f"(found {actual[key]!r})")
