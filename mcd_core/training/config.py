"""`TrainConfig`: the training recipe and run settings of one run. Torch-free.

Precedence, lowest first: these defaults (the paper's recipe), the variant's training defaults
(`Variant.training`), the flags and `--set` overrides given to `mcd train`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from mcd_core.common.device import DEVICE_CHOICES, PRECISION_CHOICES
from mcd_core.models import ConfigError, apply_overrides, config_fields, get_architecture, get_variant

RESIDENCY_CHOICES = ("auto", "device", "loader")
KEEP_CHOICES = ("best", "last")
COMPILE_CHOICES = ("off", "step")
ANSWER_LOSS_CHOICES = ("ce", "hinge")  # = models.common.losses.ANSWER_LOSSES (this module is torch-free)


@dataclass
class TrainConfig:
    epochs: int = 30              # paper: 30
    batch_size: int = 64          # paper: 64
    lr: float = 1e-3              # Adam initial learning rate (paper: 1e-3)
    lr_step: int = 8              # StepLR: decay every lr_step epochs (paper: 8)
    lr_gamma: float = 0.1         # StepLR factor (paper: 0.1)
    weight_decay: float = 0.0     # Adam weight decay (paper: none given)
    seed: int = 0                 # seeds torch, numpy, python and the shuffling generator
    stride: int = 1               # use every stride-th second (AVST: 6; TSPM/PSTP: 1)
    eval_batch_size: int = 256    # evaluation batch (any size gives the same predictions)
    device: str = "auto"          # auto (cuda if available), cpu or cuda
    workers: int = 0              # DataLoader worker processes
    random_frames: int = 0        # Eq. 6's "k frames obtained by randomly sampling": k > 0 draws k of
    #                               each video's real seconds (same seconds for audio and visual, in
    #                               time order) at every training step; 0 (default) = every second.
    #                               The paper gives no k, and evaluation must be deterministic, so
    #                               evaluation always reads every second (the top-k/2 selection of
    #                               Eq. 7-9 still picks the clues)
    in_memory: bool = False       # preload the needed store rows into RAM (faster epochs on small sets)
    residency: str = "auto"       # features on the device ("device"), through a DataLoader ("loader"),
    #                               or "auto": device when they fit (training/batches.py)
    precision: str = "auto"       # model autocast: fp32, bf16, fp16 (CUDA), auto = bf16 on CUDA, fp32 on CPU
    answer_loss: str = "ce"       # answer term of Eq. 14: cross-entropy over the logits (over the four
    #                               option scores on AVQA), or "hinge": the official HCRN+HAVF
    #                               multiple-choice hinge loss (sum over wrong options of
    #                               max(0, margin + s_wrong - s_right)); the paper does not say
    hinge_margin: float = 1.0     # margin of the hinge loss (HCRN+HAVF: 1)
    keep: str = "best"            # best.pt: the epoch of best validation accuracy ("best") or the last
    #                               epoch ("last": AVST's grounding stage, which answers nothing)
    flush_denormal: bool = True   # CPU: treat subnormal floats as 0. Without it CPU steps slowed
    #                               ~1.8x as training went on (bench/train_throughput.py)
    compile: str = "off"          # "step": torch.compile the forward pass and loss of each training
    #                               step (CUDA graphs, mode "reduce-overhead", on CUDA; needs a C++
    #                               compiler on the CPU); same losses up to rounding (training/loop.py)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "lr_step", "stride", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train field {name!r} must be >= 1, got {getattr(self, name)}")
        if self.random_frames < 0:
            raise ConfigError(f"train field 'random_frames' must be >= 0, got {self.random_frames}")
        if self.lr <= 0 or not 0 < self.lr_gamma <= 1 or self.weight_decay < 0 or self.workers < 0:
            raise ConfigError(f"train fields need lr > 0, 0 < lr_gamma <= 1, weight_decay >= 0, "
                              f"workers >= 0 (got {self.lr}, {self.lr_gamma}, {self.weight_decay}, "
                              f"{self.workers})")
        if self.answer_loss not in ANSWER_LOSS_CHOICES:
            raise ConfigError(f"train field 'answer_loss' is {self.answer_loss!r}; choose one of "
                              f"{list(ANSWER_LOSS_CHOICES)}")
        if self.hinge_margin <= 0:
            raise ConfigError(f"train field 'hinge_margin' must be > 0, got {self.hinge_margin}")
        if self.keep not in KEEP_CHOICES:
            raise ConfigError(f"train field 'keep' is {self.keep!r}; choose one of {list(KEEP_CHOICES)}")
        if self.residency not in RESIDENCY_CHOICES:
            raise ConfigError(f"train field 'residency' is {self.residency!r}; choose one of {list(RESIDENCY_CHOICES)}")
        if self.precision not in ("auto", *PRECISION_CHOICES):
            raise ConfigError(f"train field 'precision' is {self.precision!r}; choose one of "
                              f"{['auto', *PRECISION_CHOICES]}")
        if self.compile not in COMPILE_CHOICES:
            raise ConfigError(f"train field 'compile' is {self.compile!r}; choose one of {list(COMPILE_CHOICES)}")
        if self.device not in DEVICE_CHOICES:
            raise ConfigError(f"train field 'device' is {self.device!r}; choose one of {list(DEVICE_CHOICES)}")


# Fields added after runs were made, with their defaults: config.json leaves such a field out while
# it holds its default, so a run finished before the field existed is not trained again.
LATER_FIELDS = {"compile": "off"}


def train_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainConfig)}


def split_overrides(items: list[str], variant: str) -> tuple[dict[str, str], dict[str, str]]:
    """`field=value` strings -> (model config overrides, TrainConfig overrides) for `variant`;
    a field of neither its architecture's config nor TrainConfig fails."""
    model_fields = config_fields(variant)
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    model, training = {}, {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--set expects field=value, got {item!r}")
        if name in model_fields:
            model[name] = value
        elif name in train_fields:
            training[name] = value
        else:
            raise ConfigError(f"--set: {unknown_field_message(name, [variant])}")
    return model, training


def unknown_field_message(name: str, variants: Sequence[str]) -> str:
    """One line for a `field=value` override whose field belongs to none of `variants`: the close
    match difflib finds, then the valid fields (sorted) of each variant's architecture config and of
    TrainConfig. `mcd train --set` and the config check of `training.extra` both say this."""
    by_arch: dict[str, list[str]] = {}
    for variant in variants:
        by_arch.setdefault(get_variant(variant).architecture, []).append(variant)
    valid = set(train_fields())
    lists = []
    for arch, names in by_arch.items():
        fields = sorted(config_fields(names[0]))
        valid.update(fields)
        lists.append(f"the {arch!r} architecture's config (variant{'s' if len(names) > 1 else ''} "
                     f"{', '.join(names)}): {', '.join(fields)}")
    lists.append(f"TrainConfig: {', '.join(sorted(train_fields()))}")
    close = difflib.get_close_matches(name, sorted(valid), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown field {name!r}{hint}; valid fields of " + "; of ".join(lists)


def resolve_train_config(variant: str, flags: dict, overrides: dict[str, str]) -> TrainConfig:
    """TrainConfig defaults, then the variant's training defaults, then `flags` (None: unset), then
    `--set` overrides."""
    cfg = apply_overrides(TrainConfig(), dict(get_variant(variant).training))
    cfg = apply_overrides(cfg, {k: v for k, v in flags.items() if v is not None})
    cfg = apply_overrides(cfg, overrides)
    _check_random_frames(variant, cfg)
    return cfg


# batch keys whose seconds random_frames draws together (training/sampling.py): the run's streams and
# PSTP-Net's CLS frame input, a per-video store on the same time axis
SAMPLED_KEYS = ("audio", "visual", "visual_cls")


def _check_random_frames(variant: str, cfg: TrainConfig) -> None:
    """`random_frames` draws seconds of the run's audio and visual streams only: an architecture that
    also reads a per-video store on its own time axis (AVST's maps, TSPM's ToMe frames) would see
    those unsampled, out of step with the drawn seconds."""
    if not cfg.random_frames:
        return
    architecture = get_architecture(get_variant(variant).architecture)
    timed = [i.key for i in architecture.inputs if i.per == "video" and i.key not in SAMPLED_KEYS]
    if timed:
        raise ConfigError(f"train field 'random_frames' is not supported by variant {variant!r}: its "
                          f"architecture {architecture.name!r} also reads per-video store(s) "
                          f"{', '.join(timed)}, which random_frames would not sample with the audio and visual seconds")
