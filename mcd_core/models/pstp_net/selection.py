"""PSTP-Net's two selections: temporal segments by the question, then patches by the question.

Both score with the attention weights of a question query and keep the top entries with a hard
top-k, so (as in the released code) their scorers get no gradient through the selection itself;
the attended outputs reach the fusion only in the fixed variant.
"""

from __future__ import annotations

import torch
from torch import nn

from mcd_core.models.common.attention import QueryAttention, gather_steps, top_k_in_time_order


def pad_to_segments(x: torch.Tensor, segments: int) -> tuple[torch.Tensor, int]:
    """x (B, T, ...) with T padded to a multiple of `segments` by repeating its last step (as the
    stores pad short videos) -> (B, segments * L, ...), L = steps per segment."""
    steps = x.shape[1]
    length = -(-steps // segments)
    if segments * length != steps:
        extra = x[:, -1:].expand(-1, segments * length - steps, *x.shape[2:])
        x = torch.cat([x, extra], dim=1)
    return x, length


class TemporalSegmentSelection(nn.Module):
    """Average audio and visual over each segment, fuse (tanh, linear), let the question attend over
    the segments, keep the top-k segments' steps in time order."""

    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, dropout: float, segments: int, top_k: int):
        super().__init__()
        self.segments, self.top_k = segments, top_k
        self.clip_fc = nn.Linear(2 * d_model, d_model)
        self.query = QueryAttention(d_model, n_heads, ffn_hidden, dropout)

    def forward(self, audio, visual, patches, q):
        """audio/visual (B, T, D), patches (B, T, N, D), q (B, D) -> the selected steps of each
        (B, k L, ...), the question-attended segment feature (B, D) and the step indices (B, k L)."""
        segs = self.segments
        audio, length = pad_to_segments(audio, segs)
        visual, _ = pad_to_segments(visual, segs)
        patches, _ = pad_to_segments(patches, segs)
        b, t, d = audio.shape
        clip_a = audio.reshape(b, segs, length, d).mean(2)
        clip_v = visual.reshape(b, segs, length, d).mean(2)
        clips = self.clip_fc(torch.tanh(torch.cat([clip_a, clip_v], dim=-1)))      # (B, S, D)
        attended, weights = self.query(q.unsqueeze(1), clips)                       # (B, 1, D), (B, 1, S)
        chosen = top_k_in_time_order(weights[:, 0], self.top_k)                    # (B, k)
        steps = (chosen[:, :, None] * length + torch.arange(length, device=chosen.device)).flatten(1)
        return (gather_steps(audio, steps), gather_steps(visual, steps), gather_steps(patches, steps),
                attended[:, 0], steps)


class SpatialRegionSelection(nn.Module):
    """Per selected frame, the question attends over its patches; keep the top-M patches."""

    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, dropout: float, top_m: int,
                 released_gather: bool):
        super().__init__()
        self.top_m, self.released_gather = top_m, released_gather
        self.query = QueryAttention(d_model, n_heads, ffn_hidden, dropout)

    def forward(self, patches: torch.Tensor, q: torch.Tensor):
        """patches (B, T', N, D), q (B, D) -> top-M patches (B, T', M, D), attended (B, T', D)."""
        b, t, n, d = patches.shape
        flat = patches.reshape(b * t, n, d)
        query = q[:, None, :].expand(b, t, d).reshape(b * t, 1, d)
        attended, weights = self.query(query, flat)                                 # (BT, 1, D), (BT, 1, N)
        m = min(self.top_m, n)
        index = top_k_in_time_order(weights[:, 0], m).reshape(b, t, m)              # ascending patch ids
        if self.released_gather:
            # Released: every sample and frame takes sample 0 / frame 0's index list, and each of
            # the M slots is overwritten by each listed patch in turn: all M end up as its last one.
            index = index[0, 0, -1].expand(b, t, m)
        chosen = patches.gather(2, index[..., None].expand(b, t, m, d))             # (B, T', M, D)
        return chosen, attended.reshape(b, t, d)


class AudioGuidedVisualAttention(nn.Module):
    """Per selected frame, its audio attends over the frame's kept patches -> (B, T', D)."""

    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, dropout: float):
        super().__init__()
        self.query = QueryAttention(d_model, n_heads, ffn_hidden, dropout)

    def forward(self, audio: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        b, t, m, d = patches.shape
        out, _ = self.query(audio.reshape(b * t, 1, d), patches.reshape(b * t, m, d))
        return out.reshape(b, t, d)
