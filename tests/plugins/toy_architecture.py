"""A toy architecture, registered from this one module: a bag-of-words question classifier.

It shows what a new architecture (AVST, PSTP-Net, TSPM) needs: a config dataclass, a model class
returning `ModelOutput`, and `register_architecture` / `register_variant` calls, with its own
training defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from mcd_core.models import Architecture, ConfigError, ModelConfig, Variant, register_architecture, register_variant
from mcd_core.models.common.losses import ModelOutput


@dataclass
class BagOfWordsConfig(ModelConfig):
    architecture: ClassVar[str] = "toy_bow"
    width: int = 32          # embedding width

    def validate(self) -> None:
        if self.width < 1:
            raise ConfigError(f"model field 'width' must be >= 1, got {self.width}")

    @property
    def needs_audio(self) -> bool:
        return False

    @property
    def needs_visual(self) -> bool:
        return False


class BagOfWords(nn.Module):
    def __init__(self, cfg: BagOfWordsConfig):
        super().__init__()
        self.embed = nn.EmbeddingBag(cfg.vocab_size, cfg.width, mode="mean", padding_idx=0)
        self.out = nn.Linear(cfg.width, cfg.n_answers)

    def forward(self, batch: dict[str, torch.Tensor]) -> ModelOutput:
        return ModelOutput(self.out(self.embed(batch["question"])), [])   # (B, n_answers)


register_architecture(Architecture("toy_bow", BagOfWordsConfig, BagOfWords, "test-only bag of words"))
register_variant(Variant("toy_bow", "toy_bow", {}, {"lr": 0.01, "epochs": 3}, "test-only"))
register_variant(Variant("toy_bow_wide", "toy_bow", {"width": 64}, {"lr": 0.01}, "test-only, wider"))
