"""TSPM: audio-visual attention, prompt-guided temporal perception, spatial perception over ToMe
tokens of the selected seconds, question-temporal grounding and fusion (peer-facts §4).

Inputs: `audio` (B, T, 128), `visual` (B, T, 768) CLIP ViT-L/14@336 frames, `tome` (B, F, N, 1024)
ToMe tokens of F frames evenly spaced over the video, `question_clip` and `prompt_clip` (B, 1, 768)
CLIP text features of the question and of its declarative prompt.
"""

from __future__ import annotations

import torch
from torch import nn

from mcd_core.models.common.attention import HybridLayer, QueryAttention, gather_steps
from mcd_core.models.common.losses import ModelOutput
from mcd_core.models.tspm.config import TSPMConfig
from mcd_core.models.tspm.modules import SpatialPerception, TemporalPerception


class TSPM(nn.Module):
    def __init__(self, cfg: TSPMConfig):
        super().__init__()
        self.cfg = cfg
        d, heads, ffn, drop = cfg.d_model, cfg.n_heads, cfg.ffn_hidden, cfg.dropout
        self.audio_proj = nn.Linear(cfg.audio_dim, d)
        self.visual_proj = nn.Linear(cfg.visual_dim, d)
        self.tome_proj = nn.Linear(cfg.tome_dim, d)
        self.question_proj = nn.Linear(cfg.text_dim, d)
        self.prompt_proj = nn.Linear(cfg.text_dim, d)
        self.av_attention = HybridLayer(d, 1, ffn, drop, cross=True)  # one layer, shared by a and v
        self.temporal = TemporalPerception(d, heads, ffn, drop, cfg.top_k)
        self.spatial = SpatialPerception(d, heads, ffn, drop, cfg.spatial_released)
        self.grounding = QueryAttention(d, heads, ffn, drop)          # shared by audio and visual
        self.fusion = nn.Linear(6 * d, d)
        self.answer = nn.Linear(d, cfg.n_answers)

    def no_gradient_by_design(self) -> tuple[str, ...]:
        """The temporal scorer feeds only a hard top-k (and the prompt only that scorer), as released."""
        return ("temporal.", "prompt_proj.")

    def forward(self, batch: dict) -> ModelOutput:
        steps = min(batch["audio"].shape[1], batch["visual"].shape[1])
        audio = self.audio_proj(batch["audio"][:, :steps])                          # (B, T, D)
        visual = self.visual_proj(batch["visual"][:, :steps])                       # (B, T, D)
        tome = self.tome_proj(batch["tome"])                                        # (B, F, N, D)
        q = self.question_proj(batch["question_clip"][:, 0])                        # (B, D)
        prompt = self.prompt_proj(batch["prompt_clip"][:, 0])                       # (B, D)
        audio_av = self.av_attention(audio, visual)                                 # (B, T, D)
        visual_av = self.av_attention(visual, audio)                                # (B, T, D)
        chosen = self.temporal(visual, prompt)                                      # (B, k)
        audio_k = gather_steps(audio, chosen)                                       # (B, k, D)
        visual_sp = self.spatial(audio_k, tome, chosen, steps)                      # (B, k, D)
        audio_q = self.grounding(q.unsqueeze(1), audio_k)[0][:, 0]                  # (B, D)
        visual_q = self.grounding(q.unsqueeze(1), visual_sp)[0][:, 0]               # (B, D)
        feat = torch.cat([audio_q, audio_av.mean(1), audio_k.mean(1),
                          visual_q, visual_av.mean(1), visual_sp.mean(1)], dim=-1)  # (B, 6D)
        feat = self.fusion(torch.tanh(feat))                                        # (B, D)
        return ModelOutput(self.answer(torch.tanh(feat * q)), [])
