"""Audio backbones: a registry of networks giving one embedding per second of audio.

- `vggish`      128-d, input: the VGGish log-mel patch of each second (stream `logmel`, [96, 64])
- `panns_cnn14` 2048-d, input: each second's 16 kHz waveform ([16000] samples in [-1, 1])
- `panns_cnn14_32k` 2048-d, input: 32 kHz waveforms; by default the whole clip in one pass, one
  vector a video (AVQA's released features, `clip_level`), or each second on its own (`per_second`)

`create_audio_backbone(name, weights, seed)` returns the model in eval mode, its spec and the
weights info that goes into the feature store (file + sha256, or random init + seed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from mcd_core.features.backbones import panns, vggish
from mcd_core.features.backbones.weights import WeightSource, WeightsError, load_weights, register_source


@dataclass(frozen=True)
class AudioSpec:
    name: str                       # registry name, also the weight source's name
    dim: int                        # embedding width D
    input_kind: str                 # "logmel" (VGGish patches) or "waveform" (samples at sample_rate)
    input_shape: tuple[int, ...]    # shape of one second's input
    description: str                # architecture, per-second rule, preprocessing
    sample_rate: int = 16000        # Hz of the audio shard a waveform backbone reads
    clip_level: bool = False        # default: one embedding of the whole clip (else one a second)


@dataclass(frozen=True)
class AudioEntry:
    spec: AudioSpec                 # what the backbone takes and gives
    source: WeightSource            # where its pretrained state dict comes from
    build: Callable[[], nn.Module]  # randomly initialised network
    ignored_keys: tuple[str, ...] = ()  # key prefixes of a weights file that are not parameters


AUDIO_BACKBONES: dict[str, AudioEntry] = {
    "vggish": AudioEntry(
        AudioSpec("vggish", vggish.EMBEDDING_DIM, "logmel", (96, 64),
                  "VGGish, raw 128-d embedding of each second's 96x64 log-mel patch (no PCA unless "
                  "asked)"),
        vggish.VGGISH_SOURCE, vggish.VGGish),
    "panns_cnn14": AudioEntry(
        AudioSpec("panns_cnn14", panns.EMBEDDING_DIM, "waveform", (panns.SAMPLE_RATE,),
                  "PANNs Cnn14_16k run on each 1 s window on its own; 2048-d relu(fc1) embedding; "
                  "own log-mel front end (win 512, hop 160, 64 mel 50-8000 Hz)"),
        panns.PANNS_SOURCE, panns.Cnn14_16k, panns.FRONT_END_PREFIXES),
    "panns_cnn14_32k": AudioEntry(
        AudioSpec("panns_cnn14_32k", panns.EMBEDDING_DIM, "waveform", (panns.FRONT_END_32K.sample_rate,),
                  "PANNs Cnn14 (32 kHz, AVQA's release): 2048-d relu(fc1) embedding of the whole clip in "
                  "one pass (or of each 1 s window with per_second); own log-mel front end (win 1024, "
                  "hop 320, 64 mel 50-14000 Hz)", sample_rate=panns.FRONT_END_32K.sample_rate,
                  clip_level=True),
        panns.PANNS_32K_SOURCE, panns.Cnn14_32k, panns.FRONT_END_PREFIXES),
}
for _entry in AUDIO_BACKBONES.values():
    register_source(_entry.source)
register_source(vggish.VGGISH_PCA_SOURCE)


def list_audio_backbones() -> list[str]:
    return sorted(AUDIO_BACKBONES)


def get_audio_entry(name: str) -> AudioEntry:
    try:
        return AUDIO_BACKBONES[name]
    except KeyError:
        raise WeightsError(f"no audio backbone named {name!r}; known: {list_audio_backbones()}") from None


def load_state_strict(model: nn.Module, state: dict[str, Any], name: str,
                      ignored_prefixes: tuple[str, ...] = ()) -> None:
    """Load a state dict whose keys must match the model's exactly (ignored prefixes aside)."""
    state = {k: v for k, v in state.items() if not k.startswith(ignored_prefixes)}
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        raise WeightsError(f"weights for {name!r} do not fit the network: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}, wrong shape {wrong[:5]}")
    model.load_state_dict(state, strict=True)


def he_init(model: nn.Module) -> None:
    """Random-init audio nets get He initialisation (normal, fan-in, ReLU gain; zero bias).

    PyTorch's default init shrinks the activations' variance severalfold per ReLU layer, and an
    eval-mode BatchNorm with fresh statistics does not restore it: a default random VGGish or
    PANNs gives embeddings whose spread across clips is ~1e-4 of their size, invisible to a
    downstream linear layer (the demo's audio questions stayed at the prior). He init keeps the
    scale through the conv stack, so random features stay informative."""
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def create_audio_backbone(name: str, weights: str = "pretrained", seed: int = 0,
                          weights_dir: str | os.PathLike | None = None, pca: bool = False,
                          ) -> tuple[nn.Module, AudioSpec, dict[str, Any]]:
    """(model in eval mode, spec, weights info). `pca` (VGGish only) adds the AudioSet PCA step."""
    entry = get_audio_entry(name)
    state, info = load_weights(name, weights, seed, weights_dir)
    torch.manual_seed(seed)  # random init: the same seed builds the same network
    model = entry.build()
    if state is not None:
        load_state_strict(model, state, name, entry.ignored_keys)
    else:
        he_init(model)
        info = {**info, "init": "he_normal"}
    if pca:
        if name != "vggish":
            raise WeightsError(f"PCA post-processing exists for vggish only, not {name!r}")
        pca_state, pca_info = load_weights("vggish_pca", "pretrained", seed, weights_dir)
        model = vggish.VGGishWithPCA(model, vggish.VGGishPCA(pca_state))
        info = {**info, "pca": pca_info}
    return model.eval(), entry.spec, info
