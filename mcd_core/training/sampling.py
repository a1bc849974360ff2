"""Random frame sampling at training time (Eq. 6: "k frames obtained by randomly sampling").

Per question, k of the video's real seconds are drawn without replacement and kept in time order;
audio and visual get the same seconds, so the two streams stay aligned. A video with at most k real
seconds keeps all of them. The model's time encoding then counts the kept steps 0..k-1. The sampled batch has T' = k steps; `*_len` become the kept counts.
A stream may carry more axes after time (PSTP-Net's patch tokens, (B, T, P, D)): whole seconds are drawn.
PSTP-Net's CLS frame input `visual_cls` (one row a second, like `visual`) gets the same seconds.
Per-question inputs (CLIP text rows) need no sampling; per-video stores on their own time axis are refused
by the train config (`training.config`).
"""

from __future__ import annotations

import torch

from mcd_core.training.config import SAMPLED_KEYS

STREAMS = SAMPLED_KEYS


def sample_frames(batch: dict, k: int, generator: torch.Generator | None = None) -> dict:
    """A copy of `batch` whose audio/visual hold k randomly drawn real seconds per question."""
    streams = [s for s in STREAMS if s in batch]
    if not streams or k < 1:
        return batch
    lengths = torch.stack([batch[f"{s}_len"] for s in streams]).min(0).values.cpu()     # (B,)
    steps = min(batch[s].shape[1] for s in streams)
    keep = torch.clamp(lengths, max=k)                                                  # (B,)
    index = torch.zeros(len(lengths), k, dtype=torch.long)                              # (B, k)
    for i, n in enumerate(lengths.tolist()):
        n = max(1, min(n, steps))
        chosen = torch.randperm(n, generator=generator)[:k].sort().values              # (<=k,)
        index[i, :len(chosen)] = chosen
    out = dict(batch)
    for s in streams:
        x = batch[s]                                                            # (B, T, ...): (B, T, D), patches (B, T, P, D)
        at = index.to(x.device).view(*index.shape, *[1] * (x.dim() - 2)).expand(-1, -1, *x.shape[2:])
        out[s] = x.gather(1, at)                                                # (B, k, ...)
        out[f"{s}_len"] = keep.to(batch[f"{s}_len"].device, batch[f"{s}_len"].dtype)
    return out
