"""Negatives of AVST's audio-visual match loss, drawn from the batch itself.

The released loader read, for each of a sample's 10 steps, one whole 24 MB file of another video to
take one random frame from it (ten files per sample: slow, and its workers ran out of host memory in
epoch 21). Here each (sample, step) takes a random step of another sample of the batch whose video
differs: no file is read, and the extra memory is one batch of maps.
"""

from __future__ import annotations

from typing import Sequence

import torch


def video_codes(video_ids: Sequence[str] | torch.Tensor | None, batch: int, device) -> torch.Tensor:
    """One integer per sample, equal for samples of the same video; (B,)."""
    if video_ids is None:
        return torch.arange(batch, device=device)
    if isinstance(video_ids, torch.Tensor):
        return video_ids.to(device)
    codes: dict[str, int] = {}
    return torch.tensor([codes.setdefault(v, len(codes)) for v in video_ids], device=device)


def draw_negatives(maps: torch.Tensor, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For maps (B, T, P, C): a random map of another video for each (sample, step) -> (B, T, P, C),
    and (B,) True where the sample has such a partner (a batch of one video has none)."""
    b, t = maps.shape[:2]
    other = codes[:, None] != codes[None, :]                                    # (B, B)
    scores = torch.rand(b, t, b, device=maps.device).masked_fill(~other[:, None, :], -1.0)
    partner = scores.argmax(-1)                                                 # (B, T)
    step = torch.randint(0, t, (b, t), device=maps.device)                      # (B, T)
    return maps[partner, step], other.any(1)                                    # (B, T, P, C), (B,)
