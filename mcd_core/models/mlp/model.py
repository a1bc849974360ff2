"""Table II's multimodal MLP: encoder outputs of the chosen modalities, concatenated, then an MLP."""

from __future__ import annotations

import torch
from torch import nn

from mcd_core.models.common.layers import FeatureProjection, length_mask, masked_mean
from mcd_core.models.common.losses import ModelOutput
from mcd_core.models.common.text import QuestionEncoder
from mcd_core.models.mlp.config import MLPConfig


class ModalityMLP(nn.Module):
    def __init__(self, cfg: MLPConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.question = QuestionEncoder(cfg.vocab_size, cfg.word_dim, d, cfg.bilstm) if cfg.use_question else None
        self.audio_proj = FeatureProjection(cfg.audio_dim, d, False) if cfg.use_audio else None
        self.visual_proj = FeatureProjection(cfg.visual_dim, d, False) if cfg.use_visual else None
        n_inputs = cfg.use_question + cfg.use_audio + cfg.use_visual
        self.mlp = nn.Sequential(nn.Linear(n_inputs * d, cfg.mlp_hidden), nn.ReLU(),
                                 nn.Dropout(cfg.mlp_dropout), nn.Linear(cfg.mlp_hidden, cfg.n_answers))

    def forward(self, batch: dict[str, torch.Tensor]) -> ModelOutput:
        parts = []
        if self.question is not None:
            parts.append(self.question(batch["question"], batch.get("question_len_host"))[0])                   # (B, D)
        for proj, key in ((self.audio_proj, "audio"), (self.visual_proj, "visual")):
            if proj is not None:
                f = proj(batch[key])                                             # (B, T, D)
                parts.append(masked_mean(f, length_mask(batch[f"{key}_len"], f.shape[1])))  # (B, D)
        return ModelOutput(self.mlp(torch.cat(parts, dim=-1)), [])               # (B, n_answers)
