"""Local element fusion (Eq. 10), the combinatorial question embedding, and Fig. 4 late fusion."""

from __future__ import annotations

import torch
from torch import nn


class LocalElementFusion(nn.Module):
    """f_g = f_t * (f_t + F_v + F_a) (Eq. 10), then dropout and a D x D refinement.

    Terms switched off are left out of the sum. Without text objects (Table VI/IX "w/o f_t") the
    product has no text factor and f_g is the sum of the global audio-visual terms.
    """

    def __init__(self, d_model: int, use_visual: bool, use_audio: bool, product: bool, dropout: float):
        super().__init__()
        self.use_visual, self.use_audio, self.product = use_visual, use_audio, product
        self.dropout = nn.Dropout(dropout)
        self.refine = nn.Linear(d_model, d_model)

    def forward(self, f_t: torch.Tensor | None, F_v: torch.Tensor, F_a: torch.Tensor) -> torch.Tensor:
        terms = [t for t, on in ((f_t, f_t is not None), (F_v, self.use_visual), (F_a, self.use_audio)) if on]
        total = sum(terms)                                                     # (B, D)
        f_g = f_t * total if (self.product and f_t is not None) else total     # (B, D)
        return self.refine(self.dropout(f_g))                                  # (B, D)


class CombinatorialEmbedding(nn.Module):
    """[f_g M_g, f_vq M_vq, f_aq M_aq] (3D) -> linear -> f_q_hat (D)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.m_g = nn.Linear(d_model, d_model, bias=False)
        self.m_vq = nn.Linear(d_model, d_model, bias=False)
        self.m_aq = nn.Linear(d_model, d_model, bias=False)
        self.refine = nn.Linear(3 * d_model, d_model)

    def forward(self, f_g: torch.Tensor, f_vq: torch.Tensor, f_aq: torch.Tensor) -> torch.Tensor:
        joint = torch.cat([self.m_g(f_g), self.m_vq(f_vq), self.m_aq(f_aq)], dim=-1)  # (B, 3D)
        return self.refine(joint)                                                      # (B, D)


class LateFusion(nn.Module):
    """Fig. 4(b): fuse f_q_hat with the global deep audio and/or visual embeddings, by concat or add
    (Fig. 5(b) tries audio only, visual only and both: `streams` "a", "v" or "av")."""

    def __init__(self, d_model: int, mode: str, dropout: float, streams: str = "av"):
        super().__init__()
        self.mode = mode
        self.use_visual, self.use_audio = "v" in streams, "a" in streams
        width = (1 + self.use_visual + self.use_audio) * d_model if mode == "concat" else d_model
        self.refine = nn.Linear(width, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, f_q: torch.Tensor, g_v: torch.Tensor, g_a: torch.Tensor) -> torch.Tensor:
        parts = [f_q, *([g_v] if self.use_visual else []), *([g_a] if self.use_audio else [])]
        fused = torch.cat(parts, -1) if self.mode == "concat" else sum(parts)                 # (B, kD|D)
        return self.dropout(self.refine(fused))                                               # (B, D)
