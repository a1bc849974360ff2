"""Token merging (ToMe, Bolya et al., ICLR 2023) on a timm ViT: TSPM's spatial tokens.

In every block, between attention and MLP, the r most similar token pairs are merged:

- bipartite soft matching: tokens alternate into sets A (even positions) and B (odd); each A token
  is linked to its most similar B token (cosine similarity of the attention keys, averaged over
  heads); the r A tokens with the strongest links are merged into their B partners, the rest stay.
  The class token (position 0, in A) never merges. r is capped at half the mergeable tokens.
- size-weighted averaging: each token carries its size s (how many patches it stands for); a merge
  is the s-weighted mean of the merged tokens, and sizes add up.
- proportional attention: attention logits get + log s of the key, so a merged token draws the
  attention its patches would have drawn together.

TSPM's setting: `vit_large_patch16_384` (577 tokens), r = 25 in each of the first 23 of 24 blocks;
the cap makes that 577 -> 552 -> ... -> 52 -> 27 -> 14 tokens (CLS included), read after the final
LayerNorm, not pooled.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

Merge = Callable[[torch.Tensor], torch.Tensor]


def bipartite_soft_matching(metric: torch.Tensor, r: int, class_token: bool = True) -> tuple[Merge, int]:
    """metric (B, N, C) -> (merge, r actually used). `merge(x)` maps (B, N, D) to (B, N - r, D),
    summing each merged A token into its B partner (callers weight by size first)."""
    protected = 1 if class_token else 0
    n = metric.shape[1]
    r = min(r, (n - protected) // 2)
    if r <= 0:
        return (lambda x: x), 0
    with torch.no_grad():
        metric = metric / metric.norm(dim=-1, keepdim=True)
        a, b = metric[:, ::2], metric[:, 1::2]                      # (B, Na, C), (B, Nb, C)
        scores = a @ b.transpose(-1, -2)                            # (B, Na, Nb)
        if class_token:
            scores[:, 0, :] = -math.inf                             # the class token stays
        best, partner = scores.max(dim=-1)                          # (B, Na)
        order = best.argsort(dim=-1, descending=True)               # strongest links first
        merged = order[:, :r, None]                                 # (B, r, 1) A tokens merged
        kept = order[:, r:, None].sort(dim=1).values                # (B, Na - r, 1), original order
        target = partner[..., None].gather(1, merged)               # (B, r, 1) their B partners

    def merge(x: torch.Tensor) -> torch.Tensor:
        src, dst = x[:, ::2], x[:, 1::2]                            # (B, Na, D), (B, Nb, D)
        d = x.shape[-1]
        stay = src.gather(1, kept.expand(-1, -1, d))                # (B, Na - r, D)
        moved = src.gather(1, merged.expand(-1, -1, d))             # (B, r, D)
        dst = dst.scatter_reduce(1, target.expand(-1, -1, d), moved, reduce="sum")
        return torch.cat([stay, dst], dim=1)                        # (B, N - r, D)

    return merge, r


def merge_weighted(merge: Merge, x: torch.Tensor, size: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Size-weighted average of merged tokens: x (B, N, D), size (B, N, 1) -> merged x and sizes."""
    total = merge(x * size)
    size = merge(size)
    return total / size, size


def proportional_attention(attn: nn.Module, x: torch.Tensor, size: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A timm `Attention` with log(size) added to the logits of each key; returns (output, the keys
    averaged over heads: the similarity metric of the merge)."""
    b, n, _ = x.shape
    qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)                                         # (B, H, N, hd) each
    q, k = attn.q_norm(q), attn.k_norm(k)
    bias = size.log().transpose(1, 2)[:, None]                      # (B, 1, 1, N) over keys
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
    out = attn.norm(out.transpose(1, 2).reshape(b, n, -1))
    return attn.proj_drop(attn.proj(out)), k.mean(dim=1)            # (B, N, D), (B, N, hd)


class ToMeViT(nn.Module):
    """A timm VisionTransformer run with token merging: images (B, 3, S, S) -> tokens (B, N', D)
    after the final norm. `schedule[i]` is block i's r; `trace` keeps each block's token count."""

    def __init__(self, vit: nn.Module, schedule: list[int]):
        super().__init__()
        if len(schedule) != len(vit.blocks):
            raise ValueError(f"schedule has {len(schedule)} entries for {len(vit.blocks)} blocks")
        self.vit = vit
        self.schedule = list(schedule)
        self.trace: list[int] = []
        self.last_size: torch.Tensor | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        vit = self.vit
        x = vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(images))))   # (B, N, D)
        size = torch.ones(x.shape[0], x.shape[1], 1, dtype=x.dtype, device=x.device)
        class_token = getattr(vit, "num_prefix_tokens", 1) > 0
        self.trace = [x.shape[1]]
        for block, r in zip(vit.blocks, self.schedule):
            out, metric = proportional_attention(block.attn, block.norm1(x), size)
            x = x + block.drop_path1(block.ls1(out))
            merge, _ = bipartite_soft_matching(metric, r, class_token)
            x, size = merge_weighted(merge, x, size)
            x = x + block.drop_path2(block.ls2(block.mlp(block.norm2(x))))
            self.trace.append(x.shape[1])
        self.last_size = size
        return vit.norm(x)


def tsp_schedule(depth: int = 24, r: int = 25, merging_blocks: int = 23) -> list[int]:
    """TSPM's schedule: r in each of the first `merging_blocks` blocks, none after."""
    return [r] * merging_blocks + [0] * (depth - merging_blocks)
