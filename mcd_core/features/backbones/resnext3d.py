"""3D ResNeXt-101 (cardinality 32) pretrained on Kinetics-400: AVQA's motion features.

The architecture of Hara et al. (CVPR 2018, "3D-ResNets-PyTorch", `resnext.py`, shortcut type B):
a 7x7x7 stem (stride 1, 2, 2) without bias + BatchNorm + ReLU + 3x3x3 max pool (stride 2); four
stages of bottleneck blocks [3, 4, 23, 3] with widths 128, 256, 512, 1024 (expansion 2, so 256 ...
2048 channels out), each block 1x1x1 conv -> grouped 3x3x3 conv (32 groups, the stage's stride on
its first block) -> 1x1x1 conv, each followed by BatchNorm, and a 1x1x1 conv + BatchNorm shortcut on
the first block of a stage; the last feature map pooled over time and space -> 2048-d; `fc` (400
Kinetics classes) is kept for loading only. Parameter names are those of the released Kinetics
checkpoint (`resnext-101-kinetics.pth`, key `state_dict`, saved from nn.DataParallel: a `module.`
prefix, stripped on conversion), so it loads without renaming.

AVQA's recipe (shared/docs/avqa-facts.md): 8 clips of 16 frames at 112 x 112, centred at evenly
spaced points of the video, one 2048-d vector a clip -> (8, 2048). `clip_frame_indices` gives the
frames of each clip. The release pooled with AvgPool3d((1, 4, 4)), which at 16 x 112 x 112 is the
mean over the whole 1 x 4 x 4 map, as here.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from mcd_core.features.backbones.weights import WeightSource

EMBEDDING_DIM = 2048
CARDINALITY = 32
LAYERS = (3, 4, 23, 3)                # ResNeXt-101
WIDTHS = (128, 256, 512, 1024)
EXPANSION = 2
CLIPS, CLIP_FRAMES, CLIP_SIZE = 8, 16, 112
MEAN = (114.7748, 107.7354, 99.4750)  # the release's per-channel mean, on 0-255 pixels (no std)


def _release_state(path) -> Mapping[str, Any]:
    """The checkpoint's `state_dict` with DataParallel's `module.` prefix removed."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint)
    return {k.removeprefix("module."): v for k, v in state.items()}


RESNEXT3D_SOURCE = WeightSource(
    name="resnext101_3d_kinetics",
    filename="resnext-101-kinetics.pth",
    url="https://github.com/kenshohara/3D-ResNets-PyTorch (release: resnext-101-kinetics.pth, Google Drive)",
    note="3D ResNeXt-101 (32 groups) trained on Kinetics-400 (Hara et al. 2018, MIT licence); key "
         "`state_dict`, `module.` prefix stripped. No plain download URL: put the file in the "
         "weights folder by hand",
    convert=_release_state,
)


class Bottleneck(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int, downsample: bool):
        super().__init__()
        mid = CARDINALITY * (planes // 32)
        self.conv1 = nn.Conv3d(inplanes, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(mid)
        self.conv2 = nn.Conv3d(mid, mid, 3, stride=stride, padding=1, groups=CARDINALITY, bias=False)
        self.bn2 = nn.BatchNorm3d(mid)
        self.conv3 = nn.Conv3d(mid, planes * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * EXPANSION)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (nn.Sequential(nn.Conv3d(inplanes, planes * EXPANSION, 1, stride=stride, bias=False),
                                         nn.BatchNorm3d(planes * EXPANSION)) if downsample else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + shortcut)


class ResNeXt3D(nn.Module):
    """Clips (B, 3, 16, 112, 112), mean-subtracted 0-255 RGB -> (B, 2048)."""

    def __init__(self, layers: tuple[int, ...] = LAYERS, classes: int = 400):
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, 7, stride=(1, 2, 2), padding=3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(3, stride=2, padding=1)
        inplanes = 64
        for i, (blocks, planes) in enumerate(zip(layers, WIDTHS)):
            stride = 1 if i == 0 else 2
            stage = [Bottleneck(inplanes, planes, stride, True)]
            inplanes = planes * EXPANSION
            stage += [Bottleneck(inplanes, planes, 1, False) for _ in range(blocks - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
        self.fc = nn.Linear(EMBEDDING_DIM, classes)  # Kinetics classifier, unused for features

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(clips))))              # (B, 64, 8, 28, 28)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = getattr(self, name)(x)                                          # ... (B, 2048, 1, 4, 4)
        return x.mean(dim=(2, 3, 4))                                            # (B, 2048)


def clip_frame_indices(n_frames: int, clips: int = CLIPS, length: int = CLIP_FRAMES) -> np.ndarray:
    """(clips, length) frame indices: clips centred at evenly spaced points of the video (the
    centres of `clips` equal parts); frames outside the video repeat its first or last frame."""
    if n_frames < 1:
        raise ValueError("a video needs at least one frame")
    centres = (np.arange(clips) + 0.5) * n_frames / clips
    starts = np.floor(centres).astype(int) - length // 2
    return np.clip(starts[:, None] + np.arange(length)[None, :], 0, n_frames - 1)
