"""PSTP-Net: temporal segment selection, spatial region selection, audio-guided visual attention,
global-local perception and a self-attention fusion with the CLIP question words (peer-facts §5).

Inputs: `visual` (B, T, N, D) CLIP ViT-B/32 projected patch tokens (the run's --visual patch store,
un-averaged), `audio` (B, T, 128), `question_clip` (B, 1, 512) the sentence (EOT) feature,
`question_words` (B, 77, 512) the word tokens, `visual_cls` (B, T, 512) the projected CLS a second
(the `visual` store of clip_vit_b32). The frame feature is the mean of the patch tokens
(`frame_source="patch_mean"`) or, as the released code reads it, the CLS (`"cls"`; docs/peers.md).
"""

from __future__ import annotations

import torch
from torch import nn

from mcd_core.models.common.attention import HybridLayer
from mcd_core.models.common.losses import ModelOutput
from mcd_core.models.pstp_net.config import PSTPConfig
from mcd_core.models.pstp_net.selection import (AudioGuidedVisualAttention, SpatialRegionSelection,
                                                TemporalSegmentSelection)


class PSTPNet(nn.Module):
    def __init__(self, cfg: PSTPConfig):
        super().__init__()
        self.cfg = cfg
        d, heads, ffn, drop = cfg.d_model, cfg.n_heads, cfg.ffn_hidden, cfg.dropout
        self.audio_proj = nn.Linear(cfg.audio_dim, d)
        self.visual_proj = nn.Linear(cfg.frame_dim if cfg.frame_source == "cls" else cfg.visual_dim, d)
        self.patch_proj = nn.Linear(cfg.visual_dim, d)
        self.word_proj = nn.Linear(cfg.text_dim, d)
        self.question_proj = nn.Linear(cfg.text_dim, d)
        self.temporal = TemporalSegmentSelection(d, heads, ffn, drop, cfg.segments, cfg.top_k)
        self.spatial = SpatialRegionSelection(d, heads, ffn, drop, cfg.top_m, cfg.top_m_released)
        self.audio_guided = AudioGuidedVisualAttention(d, heads, ffn, drop)
        self.global_local = HybridLayer(d, 1, ffn, drop, cross=True)
        self.global_self = HybridLayer(d, 1, ffn, drop, cross=False)
        self.answer = nn.Linear(d, cfg.n_answers)

    def no_gradient_by_design(self) -> tuple[str, ...]:
        """Parameter-name prefixes that get no gradient in this configuration, as in the released
        code: the selection scorers feed only a hard top-k, and the released fusion discards more."""
        frozen = ["temporal.", "spatial."]
        if self.cfg.fusion_released:
            frozen += ["patch_proj.", "audio_guided.", "global_local."]
        elif self.cfg.global_local_released:
            frozen += ["global_local."]
        return tuple(frozen)

    def forward(self, batch: dict) -> ModelOutput:
        cfg = self.cfg
        raw = batch["visual"]                                                       # (B, T, N, Dv)
        steps = min(raw.shape[1], batch["audio"].shape[1])
        if cfg.frame_source == "cls":
            steps = min(steps, batch["visual_cls"].shape[1])
        audio = self.audio_proj(batch["audio"][:, :steps])                          # (B, T, D)
        if cfg.frame_source == "cls":  # released: token 0 (CLS) of the frame's tokens
            frames = batch["visual_cls"][:, :steps]                                 # (B, T, Df)
        else:
            frames = raw[:, :steps].mean(2)                                         # (B, T, Dv)
        visual = self.visual_proj(frames)                                           # (B, T, D)
        patches = self.patch_proj(raw[:, :steps])                                   # (B, T, N, D)
        words = self.word_proj(batch["question_words"])                             # (B, L, D)
        q = self.question_proj(batch["question_clip"][:, 0])                        # (B, D)
        audio_tm, visual_tm, patches_tm, _, _ = self.temporal(audio, visual, patches, q)  # (B, T', ...)
        patches_top, _ = self.spatial(patches_tm, q)                                # (B, T', M, D)
        guided = self.audio_guided(audio_tm, patches_top)                           # (B, T', D)
        audio_gl = self.global_local(audio, visual)                                 # (B, T, D)
        visual_gl = self.global_local(visual, audio_gl)                             # (B, T, D)
        if cfg.global_local_released:  # released: the module hands back its inputs
            audio_gl, visual_gl = audio, visual
        if cfg.fusion_released:
            tokens = [audio, visual, words]
        else:  # the released code's own commented-out line: every selection output joins
            tokens = [audio_tm, audio_gl, audio, visual_tm, patches_top.flatten(1, 2), guided, visual_gl,
                      visual, words]
        fused = self.global_self(torch.cat(tokens, dim=1)).mean(1)                  # (B, D)
        return ModelOutput(self.answer(torch.tanh(fused * q)), [])
