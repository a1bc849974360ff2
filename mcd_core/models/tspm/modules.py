"""TSPM's temporal perception (prompt-guided top-k seconds) and spatial perception (ToMe tokens of
the selected seconds: token self-attention, then each selected second's audio as the query)."""

from __future__ import annotations

import torch
from torch import nn

from mcd_core.models.common.attention import HybridLayer, QueryAttention, gather_steps, top_k_in_time_order


class TemporalPerception(nn.Module):
    """The declarative prompt attends over the visual steps; the top-k steps by its attention weight,
    in time order, are kept. The attended output itself is not used (as released)."""

    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, dropout: float, top_k: int):
        super().__init__()
        self.top_k = top_k
        self.query = QueryAttention(d_model, n_heads, ffn_hidden, dropout)

    def forward(self, visual: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        """visual (B, T, D), prompt (B, D) -> selected step indices (B, k)."""
        _, weights = self.query(prompt.unsqueeze(1), visual)                        # (B, 1, T)
        return top_k_in_time_order(weights[:, 0], self.top_k)


def nearest_frames(steps: torch.Tensor, seconds: int, frames: int) -> torch.Tensor:
    """The ToMe frame (of `frames` evenly spaced over `seconds`) nearest to each selected second."""
    if frames == 1 or seconds <= 1:
        return torch.zeros_like(steps)
    return torch.round(steps.float() * (frames - 1) / (seconds - 1)).long().clamp(0, frames - 1)


RELEASED_TOME_FRAMES = 10  # frames per video of the released ToMe files


def released_frames(k: int, frames: int, device=None) -> torch.Tensor:
    """What the released spatial perception read: frames 0..k-1 of its 10-frame files, evenly spaced
    over the video. From a store of more frames (one a second), its 10 evenly spaced ones are taken first."""
    if frames > RELEASED_TOME_FRAMES:
        kept = torch.round(torch.linspace(0, frames - 1, RELEASED_TOME_FRAMES, device=device)).long()
    else:
        kept = torch.arange(frames, device=device)
    return kept[torch.arange(k, device=device).clamp(max=len(kept) - 1)]


class SpatialPerception(nn.Module):
    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, dropout: float, released: bool):
        super().__init__()
        self.released = released
        self.tokens = HybridLayer(d_model, 1, ffn_hidden, dropout, cross=False)
        self.query = QueryAttention(d_model, n_heads, ffn_hidden, dropout)

    def select(self, tome: torch.Tensor, steps: torch.Tensor, seconds: int) -> torch.Tensor:
        """tome (B, F, N, D), selected seconds (B, k) -> the ToMe frames to read (B, k, N, D)."""
        b, frames = tome.shape[:2]
        k = steps.shape[1]
        if self.released:  # released TopKSegs: its k ToMe frames in order, the selection ignored
            index = released_frames(k, frames, tome.device).expand(b, k)
        else:
            index = nearest_frames(steps, seconds, frames)
        return gather_steps(tome, index)

    def forward(self, audio: torch.Tensor, tome: torch.Tensor, steps: torch.Tensor, seconds: int) -> torch.Tensor:
        """audio of the selected seconds (B, k, D) -> sound-aware visual feature per second (B, k, D)."""
        chosen = self.select(tome, steps, seconds)                                  # (B, k, N, D)
        b, k, n, d = chosen.shape
        tokens = self.tokens(chosen.reshape(b * k, n, d))                           # (Bk, N, D)
        out, _ = self.query(audio.reshape(b * k, 1, d), tokens)                     # (Bk, 1, D)
        return out.reshape(b, k, d)
