"""Attention layers the peer models (AVST, PSTP-Net, TSPM) share, batch-first throughout.

- `QueryAttention`: a few query vectors attend over a sequence (multi-head attention), then a
  feed-forward block with a residual and LayerNorm; returns the attended output and the attention
  weights (averaged over heads), which the peers' top-k selections sort.
- `HybridLayer`: each step of one sequence attends over another (cross) and over itself (self);
  the two are summed with a residual, LayerNorm, then a feed-forward block, residual, LayerNorm
  (the "AVHan" layer of AVST's successors). `cross=False` keeps only the self-attention.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FeedForward(nn.Module):
    """x + dropout(W2 dropout(relu(W1 x))), then LayerNorm."""

    def __init__(self, d_model: int, hidden: int, dropout: float):
        super().__init__()
        self.linear1 = nn.Linear(d_model, hidden)
        self.linear2 = nn.Linear(hidden, d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.dropout2(self.linear2(self.dropout1(F.relu(self.linear1(x))))))


class QueryAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.ffn = FeedForward(d_model, ffn_hidden, dropout)

    def forward(self, query: torch.Tensor, keys: torch.Tensor,
                values: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B, Lq, D), keys/values (B, L, D) -> output (B, Lq, D), weights (B, Lq, L)."""
        values = keys if values is None else values
        attended, weights = self.attn(query, keys, values, need_weights=True, average_attn_weights=True)
        return self.ffn(attended), weights


class HybridLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, dropout: float, cross: bool = True):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.cross_attn = (nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
                           if cross else None)
        self.dropout_self = nn.Dropout(dropout)
        self.dropout_cross = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)
        self.ffn = FeedForward(d_model, ffn_hidden, dropout)

    def forward(self, x: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, D) attends over itself and, with `cross`, over other (B, L2, D) -> (B, L, D)."""
        out = x + self.dropout_self(self.self_attn(x, x, x, need_weights=False)[0])
        if self.cross_attn is not None:
            out = out + self.dropout_cross(self.cross_attn(x, other, other, need_weights=False)[0])
        return self.ffn(self.norm(out))


def gather_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of x (B, T, ...) at per-sample step indices (B, K) -> (B, K, ...)."""
    shape = index.shape + (1,) * (x.dim() - 2)
    return x.gather(1, index.reshape(shape).expand(*index.shape, *x.shape[2:]))


def top_k_in_time_order(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k largest scores of each row (B, T), sorted by time -> (B, k)."""
    return scores.topk(min(k, scores.shape[-1]), dim=-1).indices.sort(dim=-1).values
