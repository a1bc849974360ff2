"""Visual backbones: a registry of image networks, each with its own preprocessing and weights.

`create_visual_backbone(name)` returns `(model, preprocess, spec)`. The model maps a batch of
preprocessed images [B, 3, S, S] to a dict of feature streams: always `"visual"` [B, D], and for
backbones with patch tokens also `"visual_patch"` [B, P, D]. Each registered builder returns the
bare network whose state dict the weights file holds (the library's own layout, classifier
included), so weights fetched through the library hub load strictly; an adapter then exposes the
features the project uses (pooled, pre-classifier, or CLIP's projected tokens).

Adding a backbone: write a builder decorated with `@register_visual(spec, source, adapter)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from mcd_core.features.backbones.image_preprocess import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, ImagePreprocess
from mcd_core.features.backbones.weights import WeightSource, WeightsError, build_weighted, register_source

STREAM_POOLED = "visual"
STREAM_PATCH = "visual_patch"


@dataclass(frozen=True)
class VisualSpec:
    name: str                   # registry name, also the weight source's name
    dim: int                    # width D of every output feature
    patch_tokens: int           # P patch tokens per frame in "visual_patch"; 0: pooled stream only
    preprocess: ImagePreprocess  # resize, crop (= input size), interpolation, mean/std
    description: str = ""       # architecture and where its weights come from

    @property
    def input_size(self) -> int:
        return self.preprocess.crop

    @property
    def streams(self) -> tuple[str, ...]:
        return (STREAM_POOLED, STREAM_PATCH) if self.patch_tokens else (STREAM_POOLED,)


@dataclass(frozen=True)
class VisualEntry:
    spec: VisualSpec                        # what the backbone produces and how it reads images
    source: WeightSource                    # where its pretrained state dict comes from
    build: Callable[[], nn.Module]          # randomly initialised bare network
    adapter: Callable[[nn.Module], nn.Module]  # wraps the bare network to emit feature streams


VISUAL_BACKBONES: dict[str, VisualEntry] = {}


def register_visual(spec: VisualSpec, source: WeightSource,
                    adapter: Callable[[nn.Module], nn.Module]):
    """Decorator registering a builder of the bare network under `spec.name`."""
    if source.name != spec.name:
        raise ValueError(f"weight source {source.name!r} must carry the backbone's name {spec.name!r}")

    def decorate(build: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        register_source(source)
        VISUAL_BACKBONES[spec.name] = VisualEntry(spec, source, build, adapter)
        return build

    return decorate


def list_visual_backbones() -> list[str]:
    return sorted(VISUAL_BACKBONES)


def get_visual_entry(name: str) -> VisualEntry:
    try:
        return VISUAL_BACKBONES[name]
    except KeyError:
        raise WeightsError(f"no visual backbone named {name!r}; known: {list_visual_backbones()}") from None


def create_visual_backbone(name: str, weights: str = "random-init", seed: int = 0,
                           weights_dir: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                           ) -> tuple[nn.Module, ImagePreprocess, VisualSpec]:
    """Build backbone `name` once, in eval mode on `device`; returns (model, preprocess, spec).

    The model also carries `weights_info` (the provenance recorded in feature stores). Random
    initialisation draws from a generator seeded with `seed`, leaving the global RNG untouched.
    """
    entry = get_visual_entry(name)
    net, info = build_weighted(name, entry.build, weights, seed, weights_dir)
    model = entry.adapter(net).eval().to(device)
    model.requires_grad_(False)
    model.weights_info = info
    return model, entry.spec.preprocess, entry.spec


# --- adapters: bare network -> {"visual": [B, D], "visual_patch": [B, P, D]} ------------------

class TorchvisionPooled(nn.Module):
    """A torchvision classifier's globally pooled features (the input of its `fc` layer)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        net.fc = nn.Identity()
        self.net = net

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {STREAM_POOLED: self.net(images)}


class TimmPooled(nn.Module):
    """A timm classifier's pooled pre-logits features."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {STREAM_POOLED: self.net.forward_head(self.net.forward_features(images), pre_logits=True)}


class OpenClipTokens(nn.Module):
    """An open_clip ViT image tower: the projected CLS embedding and, optionally, the patch tokens
    passed through the same final LayerNorm and projection (so both live in CLIP's joint space)."""

    def __init__(self, visual: nn.Module, with_patches: bool):
        super().__init__()
        visual.output_tokens = True  # forward returns (projected pooled, layer-normed patch tokens)
        self.visual = visual
        self.with_patches = with_patches

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled, tokens = self.visual(images)
        out = {STREAM_POOLED: pooled}
        if self.with_patches:
            out[STREAM_PATCH] = tokens @ self.visual.proj
        return out


# --- the registry ---------------------------------------------------------------------------

_TV_PREPROCESS = ImagePreprocess(256, 224, "bilinear", IMAGENET_MEAN, IMAGENET_STD)


def _open_clip_tower(config_name: str) -> nn.Module:
    """Only the image tower of an open_clip model config (the text tower is never used)."""
    import open_clip
    from open_clip.model import _build_vision_tower

    cfg = open_clip.get_model_config(config_name)
    if cfg is None:
        raise WeightsError(f"open_clip has no model config {config_name!r}")
    return _build_vision_tower(cfg["embed_dim"], cfg["vision_cfg"], quick_gelu=cfg.get("quick_gelu", False))


@register_visual(
    VisualSpec("resnet18", 512, 0, _TV_PREPROCESS, "torchvision ResNet-18, ImageNet-1k"),
    WeightSource("resnet18", "resnet18_imagenet1k_v1.pth", "torchvision:ResNet18_Weights.IMAGENET1K_V1",
                 note="torchvision ImageNet-1k weights (download.pytorch.org/models/resnet18-f37072fd.pth)"),
    TorchvisionPooled)
def resnet18() -> nn.Module:
    from torchvision.models import resnet18 as build

    return build(weights=None)


@register_visual(
    VisualSpec("resnext101_32x8d", 2048, 0, _TV_PREPROCESS, "torchvision ResNeXt-101 32x8d, ImageNet-1k"),
    WeightSource("resnext101_32x8d", "resnext101_32x8d_imagenet1k_v1.pth",
                 "torchvision:ResNeXt101_32X8D_Weights.IMAGENET1K_V1",
                 note="torchvision ImageNet-1k weights (resnext101_32x8d-8ba56ff5.pth), as used by AVQA"),
    TorchvisionPooled)
def resnext101_32x8d() -> nn.Module:
    from torchvision.models import resnext101_32x8d as build

    return build(weights=None)


@register_visual(
    VisualSpec("clip_vit_b32", 512, 49, ImagePreprocess(224, 224, "bicubic", CLIP_MEAN, CLIP_STD),
               "OpenAI CLIP ViT-B/32 image tower (QuickGELU): projected CLS + 7x7 projected patch tokens"),
    WeightSource("clip_vit_b32", "clip_vit_b32_openai_visual.pth", "open_clip:ViT-B-32-quickgelu/openai",
                 note="OpenAI CLIP weights through open_clip; image tower only"),
    lambda net: OpenClipTokens(net, with_patches=True))
def clip_vit_b32() -> nn.Module:
    return _open_clip_tower("ViT-B-32-quickgelu")


@register_visual(
    VisualSpec("clip_vit_l14_336", 768, 0, ImagePreprocess(336, 336, "bicubic", CLIP_MEAN, CLIP_STD),
               "OpenAI CLIP ViT-L/14@336px image tower (QuickGELU): projected CLS, as used by TSPM"),
    WeightSource("clip_vit_l14_336", "clip_vit_l14_336_openai_visual.pth",
                 "open_clip:ViT-L-14-336-quickgelu/openai",
                 note="OpenAI CLIP weights through open_clip; image tower only"),
    lambda net: OpenClipTokens(net, with_patches=False))
def clip_vit_l14_336() -> nn.Module:
    return _open_clip_tower("ViT-L-14-336-quickgelu")


@register_visual(
    # timm's pretrained config for this model: input 256, crop_pct 0.9 -> resize int(256 / 0.9).
    VisualSpec("swinv2_large", 1536, 0, ImagePreprocess(284, 256, "bicubic", IMAGENET_MEAN, IMAGENET_STD),
               "Swin-V2-L window 12->16, 192->256, ImageNet-22k fine-tuned on 1k (timm)"),
    WeightSource("swinv2_large", "swinv2_large_window12to16_192to256_in22k_ft_in1k.pth",
                 "timm:swinv2_large_window12to16_192to256.ms_in22k_ft_in1k",
                 note="Microsoft Swin-V2 weights through timm (MIT licence)"),
    TimmPooled)
def swinv2_large() -> nn.Module:
    import timm

    return timm.create_model("swinv2_large_window12to16_192to256", pretrained=False)


# AVQA's motion network (a 3D clip network, not one of the per-frame backbones above, registered in
# `motion.py`): imported here so that `mcd weights list/fetch` know its file.
from mcd_core.features.backbones import motion  # noqa: E402,F401
