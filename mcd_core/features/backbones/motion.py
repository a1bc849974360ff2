"""Clip backbones: 3D networks that read short runs of consecutive frames (AVQA's motion features).

Unlike the per-frame visual backbones (`visual.py`, fed the 1-fps frames), a clip backbone reads
`clips` clips of `clip_frames` consecutive frames at the video's native frame rate, each
`size` x `size` (see `mcd_core.media.clips`), and gives one vector a clip: a video becomes
(clips, dim) rows of stream `visual`, fps = clips / T. `create_clip_backbone` returns the model
(clips (B, 3, L, S, S) -> (B, dim)), its spec and the weights info recorded in the store.

Registered: `resnext101_3d_kinetics` (3D ResNeXt-101, 32 groups, Kinetics-400; 8 clips x 16
frames at 112 px, mean-subtracted 0-255 RGB, no std, as AVQA's release). Tests register tiny ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from mcd_core.features.backbones import resnext3d
from mcd_core.features.backbones.weights import WeightSource, WeightsError, build_weighted, register_source


@dataclass(frozen=True)
class ClipSpec:
    name: str                       # registry name, also the weight source's name
    dim: int                        # one vector a clip
    clips: int                      # clips a video, centred at evenly spaced points
    clip_frames: int                # consecutive frames a clip
    size: int                       # frames scaled to size x size (aspect not kept)
    mean: tuple[float, float, float]  # subtracted from 0-255 RGB
    scale: float = 1.0              # then multiplied by this (1: 0-255 pixels)
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {"name": "clips", "clips": self.clips, "clip_frames": self.clip_frames,
                "size": self.size, "resize": "whole frame to size x size, bicubic, aspect not kept",
                "frames": "native frame rate, clips centred at the centres of `clips` equal parts",
                "mean": list(self.mean), "scale": self.scale}


@dataclass(frozen=True)
class ClipEntry:
    spec: ClipSpec
    source: WeightSource
    build: Callable[[], nn.Module]  # randomly initialised network whose state dict the file holds


CLIP_BACKBONES: dict[str, ClipEntry] = {}


def register_clip_backbone(entry: ClipEntry) -> ClipEntry:
    if entry.source.name != entry.spec.name:
        raise ValueError(f"weight source {entry.source.name!r} must carry the backbone's name {entry.spec.name!r}")
    register_source(entry.source)
    CLIP_BACKBONES[entry.spec.name] = entry
    return entry


def is_clip_backbone(name: str) -> bool:
    return name in CLIP_BACKBONES


def get_clip_entry(name: str) -> ClipEntry:
    try:
        return CLIP_BACKBONES[name]
    except KeyError:
        raise WeightsError(f"no clip backbone named {name!r}; known: {sorted(CLIP_BACKBONES)}") from None


def create_clip_backbone(name: str, weights: str = "random-init", seed: int = 0,
                         weights_dir: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                         ) -> tuple[nn.Module, ClipSpec, dict[str, Any]]:
    """(model in eval mode on `device`, spec, weights info); random init from `seed` leaves the
    global RNG untouched."""
    entry = get_clip_entry(name)
    net, info = build_weighted(name, entry.build, weights, seed, weights_dir)
    net = net.eval().to(device)
    net.requires_grad_(False)
    return net, entry.spec, info


register_clip_backbone(ClipEntry(
    ClipSpec("resnext101_3d_kinetics", resnext3d.EMBEDDING_DIM, resnext3d.CLIPS, resnext3d.CLIP_FRAMES,
             resnext3d.CLIP_SIZE, resnext3d.MEAN,
             description="3D ResNeXt-101 (32 groups) on Kinetics-400, 8 x 16-frame clips at 112 px (AVQA)"),
    resnext3d.RESNEXT3D_SOURCE, resnext3d.ResNeXt3D))
