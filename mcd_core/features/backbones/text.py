"""Text backbones: the CLIP text towers the peers read questions and prompts with.

`create_text_backbone(name)` returns `(encoder, spec)`; `encoder(texts)` gives, per text, the
sentence feature (the final-LayerNormed EOT token projected into CLIP's joint space, what CLIP's
`encode_text` returns) [n, D], the word tokens passed through the same LayerNorm and projection
[n, 77, D] (PSTP-Net's word features; their EOT row equals the sentence feature) and the real token
count incl. SOT and EOT. Tokenisation is open_clip's bundled BPE (offline); texts longer than 77
tokens are cut, keeping EOT last.

Weights: the text tower of the OpenAI CLIP checkpoint, stored alone (the `open_clip_text:` hub
reference keeps every key outside `visual.`), through the weights registry; random-init allowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mcd_core.features.backbones.weights import WeightSource, WeightsError, load_weights, register_source


@dataclass(frozen=True)
class TextSpec:
    name: str                   # registry name, weight source name and store name
    model_config: str           # open_clip model config whose text tower this is
    dim: int                    # joint-space width D
    context: int = 77           # tokens per text
    description: str = ""


TEXT_BACKBONES: dict[str, TextSpec] = {}


def _register(spec: TextSpec, source: WeightSource) -> None:
    register_source(source)
    TEXT_BACKBONES[spec.name] = spec


def list_text_backbones() -> list[str]:
    return sorted(TEXT_BACKBONES)


def get_text_spec(name: str) -> TextSpec:
    if name not in TEXT_BACKBONES:
        raise WeightsError(f"no text backbone named {name!r}; known: {list_text_backbones()}")
    return TEXT_BACKBONES[name]


_register(TextSpec("clip_text_b32", "ViT-B-32-quickgelu", 512, description="OpenAI CLIP ViT-B/32 text tower (PSTP-Net)"),
          WeightSource("clip_text_b32", "clip_text_b32_openai.pth", "open_clip_text:ViT-B-32-quickgelu/openai",
                       note="OpenAI CLIP weights through open_clip; text tower only"))
_register(TextSpec("clip_text_l14_336", "ViT-L-14-336-quickgelu", 768,
                   description="OpenAI CLIP ViT-L/14@336px text tower (TSPM)"),
          WeightSource("clip_text_l14_336", "clip_text_l14_336_openai.pth",
                       "open_clip_text:ViT-L-14-336-quickgelu/openai",
                       note="OpenAI CLIP weights through open_clip; text tower only"))


def _text_tower(config_name: str) -> nn.Module:
    import open_clip
    from open_clip.model import _build_text_tower

    cfg = open_clip.get_model_config(config_name)
    if cfg is None:
        raise WeightsError(f"open_clip has no model config {config_name!r}")
    return _build_text_tower(cfg["embed_dim"], cfg["text_cfg"], quick_gelu=cfg.get("quick_gelu", False))


@dataclass
class TextOutput:
    sentence: np.ndarray        # (n, D) float32
    words: np.ndarray           # (n, context, D) float32
    lengths: np.ndarray         # (n,) tokens incl. SOT and EOT


class TextEncoder:
    """A CLIP text tower in eval mode with its tokenizer; call it on a list of strings."""

    def __init__(self, tower: nn.Module, spec: TextSpec, device: torch.device, weights_info: dict):
        import open_clip

        tower.output_tokens = True   # forward returns (pooled projected, LayerNormed tokens)
        self.tower = tower.eval().to(device)
        self.tower.requires_grad_(False)
        self.tokenizer = open_clip.get_tokenizer(spec.model_config)
        self.spec = spec
        self.device = device
        self.weights_info = weights_info

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        return self.tokenizer(texts)                                # (n, 77) int

    @torch.inference_mode()
    def __call__(self, texts: list[str]) -> TextOutput:
        tokens = self.tokenize(texts)
        lengths = (tokens != 0).sum(dim=1)                           # pad id is 0
        pooled, words = self.tower(tokens.to(self.device))          # (n, D), (n, 77, W)
        proj = self.tower.text_projection
        words = proj(words) if isinstance(proj, nn.Linear) else words @ proj   # (n, 77, D)
        return TextOutput(pooled.float().cpu().numpy(), words.float().cpu().numpy(), lengths.numpy())


def create_text_backbone(name: str, weights: str = "random-init", seed: int = 0,
                         weights_dir: str | os.PathLike | None = None,
                         device: str | torch.device = "cpu") -> tuple[TextEncoder, TextSpec]:
    spec = get_text_spec(name)
    state, info = load_weights(name, weights, seed, weights_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tower = _text_tower(spec.model_config)
    if state is not None:
        try:
            tower.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise WeightsError(f"weights file {info['file']} does not fit text backbone {name!r}: {exc}") from exc
    return TextEncoder(tower, spec, torch.device(device), info), spec
