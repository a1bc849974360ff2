"""Small building blocks shared by the MCD modules: masks, masked pooling, time encoding."""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def length_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """True on real time steps: (B,) lengths -> (B, T) bool."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]  # (B, T)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real steps (the paper's "dimension compression"): (B, T, D), (B, T) -> (B, D)."""
    weights = mask.to(x.dtype).unsqueeze(-1)                       # (B, T, 1)
    return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)    # (B, D)


def sinusoidal_positions(steps: int, dim: int, device: torch.device) -> torch.Tensor:
    """The Transformer's fixed time encoding, (T, D); it adds no parameters."""
    position = torch.arange(steps, device=device, dtype=torch.float32)[:, None]       # (T, 1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32)
                     * (-math.log(10000.0) / dim))                                      # (D/2,)
    table = torch.zeros(steps, dim, device=device)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table                                                                        # (T, D)


class FeatureProjection(nn.Module):
    """Linear projection of store features to D, plus the optional time encoding."""

    def __init__(self, in_dim: int, d_model: int, positional: bool):
        super().__init__()
        self.linear = nn.Linear(in_dim, d_model)
        self.positional = positional

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.linear(x)                                                     # (B, T, D)
        if self.positional:
            f = f + sinusoidal_positions(f.shape[1], f.shape[2], f.device)     # (B, T, D)
        return f
