"""What every architecture's config shares: the input sizes, validation and `field=value` overrides.

Torch-free, so that the Snakefile can check variant names and overrides without importing torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping


class ConfigError(ValueError):
    """A model or training configuration field is unknown or has a bad value."""


@dataclass
class ModelConfig:
    """Base of each architecture's config dataclass. Subclasses set `architecture` (the registry
    name stored in checkpoints) and add their own fields with a comment each."""

    architecture: ClassVar[str] = ""
    supports_choice: ClassVar[bool] = False  # True where the model scores given answer options
    # -- input sizes (filled from the vocabulary and the feature stores) -------------------------
    vocab_size: int = 95            # question-word table size (vocab.words, incl. <pad>, <unk>)
    n_object_words: int = 64        # text-object table size (vocab.object_words)
    n_answers: int = 42             # answer classes (vocab.answers)
    audio_dim: int = 128            # audio feature width in the store (VGGish 128)
    visual_dim: int = 512           # visual feature width in the store (ResNet-18 512)
    n_options: int = 0              # multiple choice: options scored per question (vocab.choice_options,
                                    # AVQA 4; n_answers then equals it); 0 = classify over n_answers

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_object_words", "n_answers", "audio_dim", "visual_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model field {name!r} must be >= 1, got {getattr(self, name)}")
        if self.n_options < 0:
            raise ConfigError(f"model field 'n_options' must be >= 0, got {self.n_options}")
        if self.n_options and not self.supports_choice:
            raise ConfigError(f"architecture {self.architecture!r} has no multiple-choice head: it "
                              f"cannot answer a format with {self.n_options} answer options")
        if self.n_options and self.n_answers != self.n_options:
            raise ConfigError(f"model field 'n_answers' ({self.n_answers}) must equal 'n_options' "
                              f"({self.n_options}) for multiple choice")
        self.validate()

    def validate(self) -> None:
        """Architecture-specific checks; raise ConfigError naming the field."""

    # -- which inputs the model reads: the dataset skips the stores a model never looks at -------
    @property
    def needs_audio(self) -> bool:
        return True

    @property
    def needs_visual(self) -> bool:
        return True

    @property
    def needs_patches(self) -> bool:
        """True: the --visual store must be a patch stream, handed over un-averaged [T, P, D]."""
        return False

    # Config fields filled from the width (`dim` attribute) of the store of each extra input key.
    input_dims: ClassVar[dict[str, str]] = {}

    def input_shapes(self, steps: int) -> dict[str, tuple[int, ...]]:
        """Per-question shape of each feature key the model reads (example inputs for tests and the
        model card); the question tokens are not listed."""
        return {"audio": (steps, self.audio_dim), "visual": (steps, self.visual_dim)}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}")
        return cls(**data)


def check_choice(obj: Any, name: str, allowed: tuple[str, ...]) -> None:
    if getattr(obj, name) not in allowed:
        raise ConfigError(f"model field {name!r} is {getattr(obj, name)!r}; choose one of {list(allowed)}")


def check_positive(obj: Any, *names: str) -> None:
    for name in names:
        if getattr(obj, name) < 1:
            raise ConfigError(f"model field {name!r} must be >= 1, got {getattr(obj, name)}")


def parse_value(cls_name: str, field: dataclasses.Field, text: str) -> Any:
    """Convert a `--set field=value` string to the field's declared type, or fail naming it."""
    kind = field.type if isinstance(field.type, str) else field.type.__name__
    try:
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "str":
            return text
    except ValueError:
        raise ConfigError(f"{cls_name} field {field.name!r} expects {kind}, got {text!r}") from None
    raise ConfigError(f"{cls_name} field {field.name!r} of type {kind} cannot be set from text")


def apply_overrides(obj: Any, overrides: Mapping[str, Any]) -> Any:
    """A copy of dataclass `obj` with overrides (strings are parsed to each field's type) validated."""
    fields = {f.name: f for f in dataclasses.fields(obj)}
    values = {}
    for name, value in overrides.items():
        if name not in fields:
            raise ConfigError(f"unknown {type(obj).__name__} field {name!r}")
        values[name] = parse_value(type(obj).__name__, fields[name], value) if isinstance(value, str) else value
    return dataclasses.replace(obj, **values)
