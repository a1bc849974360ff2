"""The aggregator (Eq. 6-9), shared by audio and visual: writes top frame clues into f_q.

    q_bar = f_q + zeta_{j-q}(F_j, text, text)          av-queried text attention (Eq. 6, line 1)
    alpha = softmax_i(<W_q q_bar, W_k f_i> / sqrt(D))   text-queried attention over the frames
    h_i   = ReLU(alpha_i * n * W_v f_i)                 per-frame description (Eq. 6, line 2)
    keep the ceil(topk_fraction * n) frames with the largest avg-pooled h_i  (n = real frames)
    clue  = sum_kept f_q + h_i * f_q                    (Eq. 7-9)
A query over a single frame's single vector would be a softmax over one key; we let the query score
all frames and keep each frame's weighted value, so h_i depends on the question. The factor n makes
uniform attention give weight 1 whatever the video length.

`return_selection=True` also returns which frames were kept and their attention (`Selection`, the
"key clues" that `mcd ask` shows); the clue itself is computed the same way either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from mcd_core.models.common.layers import masked_mean


@dataclass
class Selection:
    """The aggregator's choice for a batch: attention over the frames and the frames it kept."""

    alpha: torch.Tensor         # (B, T) text-queried attention over the real frames (0 on padding)
    score: torch.Tensor         # (B, T) avg-pooled h_i, the ranking score (-inf on padding)
    kept: torch.Tensor          # (B, K) frame indices, best score first
    n_kept: torch.Tensor        # (B,) how many of the K leading indices were kept for each row


class Aggregator(nn.Module):
    def __init__(self, d_model: int, n_heads: int, topk_fraction: float):
        super().__init__()
        self.text_attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.topk_fraction = topk_fraction

    def forward(self, f: torch.Tensor, mask: torch.Tensor, f_q: torch.Tensor,
                text: torch.Tensor, text_mask: torch.Tensor, return_selection: bool = False):
        F = masked_mean(f, mask).unsqueeze(1)                                  # (B, 1, D)
        q_bar = f_q + self.text_attn(F, text, text, key_padding_mask=~text_mask,
                                     need_weights=False)[0].squeeze(1)         # (B, D)
        scores = torch.einsum("btd,bd->bt", self.key(f), self.query(q_bar)) / math.sqrt(f.shape[-1])
        alpha = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)        # (B, T)
        n_real = mask.sum(1, keepdim=True).to(f.dtype)                         # (B, 1)
        h = torch.relu((alpha * n_real).unsqueeze(-1) * self.value(f))         # (B, T, D)
        frame_score = h.mean(-1).masked_fill(~mask, float("-inf"))             # (B, T) avg-pooled
        k_max = max(1, math.ceil(self.topk_fraction * f.shape[1]))
        top = frame_score.topk(k_max, dim=1).indices                           # (B, K)
        h_top = h.gather(1, top.unsqueeze(-1).expand(-1, -1, h.shape[-1]))     # (B, K, D)
        n_keep = torch.ceil(self.topk_fraction * n_real).clamp(min=1)          # (B, 1)
        keep = (torch.arange(k_max, device=f.device)[None, :] < n_keep).to(f.dtype)  # (B, K)
        clues = f_q.unsqueeze(1) + h_top * f_q.unsqueeze(1)                    # (B, K, D) g(h, f_q)
        clue = (clues * keep.unsqueeze(-1)).sum(1)                             # (B, D)
        if not return_selection:
            return clue
        return clue, Selection(alpha, frame_score, top, n_keep.squeeze(1).long())
