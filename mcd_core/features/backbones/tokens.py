"""Token backbones: image networks whose per-frame output is a set of tokens [P, D] kept whole (the
peers' spatial inputs), each with its own preprocessing, frame choice and weights.

- `resnet18_14x14` (stream `visual_map`): AVST's ResNet-18 with a stride-1 `layer4`, so a 224x224
  frame gives a 14x14x512 map, stored row-major as P = 196 tokens; every second; float16.
- `tome_vit_l16_384` (stream `tome`): TSPM's token-merged ViT-L/16 at 384 px, 14 tokens of 1024
  per frame (`tome.py`); every second (TSPM's model picks its top-k of all T seconds, so its tokens
  must cover each of them; the released extractor kept 10 frames).
- `tome_vit_s16_224` (stream `tome`): the same merging on timm's ViT-S/16 at 224 px (r = 17 in 11 of
  12 blocks: 197 -> 14 tokens of 384), about 30 times cheaper per frame: a small ToMe backbone for
  demos and quick runs (`training.peer_backbones`), not TSPM's.

`create_token_backbone(name)` returns `(model, preprocess, spec)`; the model maps images
[B, 3, S, S] to {spec.stream: [B, P, D]} and carries `weights_info` like the visual backbones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from mcd_core.features.backbones.image_preprocess import (KINETICS_MEAN, KINETICS_STD, ImagePreprocess,
                                                          SquashResize)
from mcd_core.features.backbones.tome import ToMeViT, tsp_schedule
from mcd_core.features.backbones.weights import WeightSource, WeightsError, build_weighted, register_source


@dataclass(frozen=True)
class TokenSpec:
    name: str                   # registry name, also the weight source's name and the store name
    stream: str                 # store stream: results/<dataset>/features/<stream>/<name>.zarr
    tokens: int                 # P tokens per frame
    dim: int                    # width D of every token
    preprocess: Any             # ImagePreprocess or SquashResize (both have __call__ and describe)
    frames: int | None = None   # frames per video, evenly spaced over the seconds; None: every second
    dtype: str = "float32"      # stored precision of the store's features
    description: str = ""


@dataclass(frozen=True)
class TokenEntry:
    spec: TokenSpec
    source: WeightSource
    build: Callable[[], nn.Module]             # randomly initialised bare network (weights layout)
    adapter: Callable[[nn.Module], nn.Module]  # bare network -> {stream: [B, P, D]}


TOKEN_BACKBONES: dict[str, TokenEntry] = {}


def register_tokens(spec: TokenSpec, source: WeightSource, adapter: Callable[[nn.Module], nn.Module]):
    if source.name != spec.name:
        raise ValueError(f"weight source {source.name!r} must carry the backbone's name {spec.name!r}")

    def decorate(build: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        register_source(source)
        TOKEN_BACKBONES[spec.name] = TokenEntry(spec, source, build, adapter)
        return build

    return decorate


def list_token_backbones() -> list[str]:
    return sorted(TOKEN_BACKBONES)


def get_token_entry(name: str) -> TokenEntry:
    if name not in TOKEN_BACKBONES:
        raise WeightsError(f"no token backbone named {name!r}; known: {list_token_backbones()}")
    return TOKEN_BACKBONES[name]


def frame_steps(spec: TokenSpec, seconds: int) -> list[int]:
    """The seconds (0-based, in time order) whose frames the backbone reads: every one, or
    `spec.frames` evenly spaced from the first to the last second (rounded to the nearest)."""
    if spec.frames is None:
        return list(range(seconds))
    return [int(s) for s in np.rint(np.linspace(0, seconds - 1, spec.frames))]


def create_token_backbone(name: str, weights: str = "random-init", seed: int = 0,
                          weights_dir: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
    """Build token backbone `name` in eval mode on `device`: (model, preprocess, spec)."""
    entry = get_token_entry(name)
    net, info = build_weighted(name, entry.build, weights, seed, weights_dir)
    model = entry.adapter(net).eval().to(device)
    model.requires_grad_(False)
    model.weights_info = info
    return model, entry.spec.preprocess, entry.spec


class ResNetMap(nn.Module):
    """A torchvision ResNet up to `layer4`, whose first block is set to stride 1: (B, 3, 224, 224)
    -> {"visual_map": (B, 196, 512)}, the 14x14 positions in row-major order."""

    def __init__(self, net: nn.Module, stream: str = "visual_map"):
        super().__init__()
        first = net.layer4[0]
        first.conv1.stride = (1, 1)            # the stride lives in conv1 (BasicBlock) ...
        if first.downsample is not None:
            first.downsample[0].stride = (1, 1)  # ... and in the shortcut's 1x1 conv
        self.net = net
        self.stream = stream

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(images))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))          # (B, 512, 14, 14)
        return {self.stream: x.flatten(2).transpose(1, 2)}     # (B, 196, 512)


class ToMeTokens(nn.Module):
    """A timm ViT with a merge schedule (default TSPM's, for ViT-L/16-384): {"tome": (B, 14, D)}."""

    def __init__(self, vit: nn.Module, schedule: list[int] | None = None, stream: str = "tome"):
        super().__init__()
        self.tome = ToMeViT(vit, tsp_schedule(len(vit.blocks)) if schedule is None else schedule)
        self.stream = stream

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.stream: self.tome(images)}


# --- the registry ---------------------------------------------------------------------------

@register_tokens(
    TokenSpec("resnet18_14x14", "visual_map", 196, 512, SquashResize(224, KINETICS_MEAN, KINETICS_STD),
              None, "float16", "torchvision ResNet-18 (ImageNet-1k), layer4 stride 1: 14x14 maps, as AVST"),
    # The same file as `resnet18` (the stride does not change any parameter's shape).
    WeightSource("resnet18_14x14", "resnet18_imagenet1k_v1.pth", "torchvision:ResNet18_Weights.IMAGENET1K_V1",
                 note="torchvision ImageNet-1k weights (the resnet18 file), run with a stride-1 layer4"),
    ResNetMap)
def resnet18_14x14() -> nn.Module:
    from torchvision.models import resnet18 as build

    return build(weights=None)


@register_tokens(
    # timm's pretrained config of this model: 384 px, crop_pct 1.0, bicubic, mean = std = 0.5.
    TokenSpec("tome_vit_l16_384", "tome", 14, 1024,
              ImagePreprocess(384, 384, "bicubic", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), None, "float32",
              "timm vit_large_patch16_384 with token merging (r=25 in 23 of 24 blocks): 14 tokens, as TSPM"),
    WeightSource("tome_vit_l16_384", "vit_large_patch16_384_augreg_in21k_ft_in1k.pth",
                 "timm:vit_large_patch16_384.augreg_in21k_ft_in1k",
                 note="timm AugReg ViT-L/16 (ImageNet-21k, fine-tuned on 1k at 384 px; Apache-2.0)"),
    ToMeTokens)
def tome_vit_l16_384() -> nn.Module:
    import timm

    return timm.create_model("vit_large_patch16_384", pretrained=False)


# 197 tokens; r = 17 in blocks 1-10 leaves 27, block 11's cap ((27 - 1) // 2 = 13) leaves 14.
SMALL_TOME_SCHEDULE = tsp_schedule(12, r=17, merging_blocks=11)


@register_tokens(
    # timm's pretrained config of this model: 224 px, crop_pct 0.9 (resize 248), bicubic, mean = std = 0.5.
    TokenSpec("tome_vit_s16_224", "tome", 14, 384,
              ImagePreprocess(248, 224, "bicubic", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), None, "float32",
              "timm vit_small_patch16_224 with token merging (r=17 in 11 of 12 blocks): 14 tokens of 384, "
              "a small ToMe backbone for demos (not TSPM's)"),
    WeightSource("tome_vit_s16_224", "vit_small_patch16_224_augreg_in21k_ft_in1k.pth",
                 "timm:vit_small_patch16_224.augreg_in21k_ft_in1k",
                 note="timm AugReg ViT-S/16 (ImageNet-21k, fine-tuned on 1k at 224 px; Apache-2.0)"),
    lambda net: ToMeTokens(net, SMALL_TOME_SCHEDULE))
def tome_vit_s16_224() -> nn.Module:
    import timm

    return timm.create_model("vit_small_patch16_224", pretrained=False)
