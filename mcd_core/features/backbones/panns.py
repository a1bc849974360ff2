"""PANNs CNN14 (Kong et al. 2020): waveform -> 2048-d embedding; the 16 kHz variant `Cnn14_16k`
(MUSIC-AVQA, per second) and the 32 kHz `Cnn14` AVQA's released features use (`Cnn14_32k` here:
window 1024, hop 320, 64 mel 50-14000 Hz, the whole 10 s clip in one pass: one vector a clip;
`per_second` windows as an option). Both share every layer; only the front end differs.

Front end (its own, computed here in torch): STFT window 512 (periodic Hann), hop 160, centre
padding by reflection, power spectrum; 64 mel bands 50-8000 Hz (librosa's Slaney mel with Slaney
normalisation, as the release used); 10 * log10(max(mel, 1e-10)). Then BatchNorm over mel bands,
six conv blocks (two 3x3 convs without bias + BatchNorm + ReLU each, 2x2 average pooling except
the last), mean over frequency, max + mean over time, `relu(fc1)`: the 2048-d embedding.

Per second: the network runs on each 1 s window [i s, (i+1) s) on its own (101 STFT frames), not
on the whole clip, so every second's embedding depends on that second only, like VGGish's.

Parameter names follow the release checkpoint (`Cnn14_16k_mAP=0.438.pth`, key `model`): `bn0`,
`conv_block{1..6}.{conv1,conv2,bn1,bn2}`, `fc1`, `fc_audioset`. The checkpoint's fixed front-end
tensors (`spectrogram_extractor.*`, `logmel_extractor.*`) are dropped: they are recomputed here.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dataclasses import dataclass

from mcd_core.features.backbones.weights import WeightSource

EMBEDDING_DIM = 2048
SAMPLE_RATE, WINDOW, HOP, MEL_BINS, FMIN, FMAX = 16000, 512, 160, 64, 50.0, 8000.0
AMIN = 1e-10
FRONT_END_PREFIXES = ("spectrogram_extractor.", "logmel_extractor.")


def _release_state(path) -> Mapping[str, Any]:
    """The release checkpoint's network weights: unwrap `model`, drop the fixed front end."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("model", checkpoint)
    return {k: v for k, v in state.items() if not k.startswith(FRONT_END_PREFIXES)}


PANNS_SOURCE = WeightSource(
    name="panns_cnn14",
    filename="panns_cnn14_16k.pth",
    url="https://zenodo.org/record/3987831/files/Cnn14_16k_mAP%3D0.438.pth?download=1",
    note="PANNs Cnn14_16k trained on AudioSet (Kong et al. 2020, MIT licence); key `model`, "
         "front-end tensors dropped",
    convert=_release_state,
)


@dataclass(frozen=True)
class FrontEnd:
    sample_rate: int
    window: int
    hop: int
    fmin: float
    fmax: float
    mel_bins: int = MEL_BINS


FRONT_END_16K = FrontEnd(SAMPLE_RATE, WINDOW, HOP, FMIN, FMAX)
FRONT_END_32K = FrontEnd(32000, 1024, 320, 50.0, 14000.0)   # the official Cnn14 (avqa-facts.md)

PANNS_32K_SOURCE = WeightSource(
    name="panns_cnn14_32k",
    filename="Cnn14_mAP=0.431.pth",
    url="https://zenodo.org/record/3987831/files/Cnn14_mAP%3D0.431.pth?download=1",
    note="PANNs Cnn14 (32 kHz) trained on AudioSet (Kong et al. 2020, MIT licence), as AVQA's "
         "released audio features; key `model`, front-end tensors dropped",
    convert=_release_state,
)


def slaney_mel_matrix(fe: FrontEnd = FRONT_END_16K) -> np.ndarray:
    """(window // 2 + 1, mel_bins) mel weights as the release computed them (librosa defaults)."""
    import librosa

    return librosa.filters.mel(sr=fe.sample_rate, n_fft=fe.window, n_mels=fe.mel_bins,
                               fmin=fe.fmin, fmax=fe.fmax).T


class LogMel(nn.Module):
    """Waveform (B, S) float in [-1, 1] -> log-mel (B, 1, frames, 64) in dB."""

    def __init__(self, fe: FrontEnd = FRONT_END_16K) -> None:
        super().__init__()
        self.fe = fe
        self.register_buffer("window", torch.hann_window(fe.window, periodic=True), persistent=False)
        self.register_buffer("mel", torch.from_numpy(slaney_mel_matrix(fe)).float(), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        fe = self.fe
        spec = torch.stft(wave.float(), n_fft=fe.window, hop_length=fe.hop, win_length=fe.window,
                          window=self.window, center=True, pad_mode="reflect", return_complex=True)
        power = spec.abs().pow(2).transpose(1, 2)               # (B, frames, window // 2 + 1)
        mel = power @ self.mel                                  # (B, frames, 64)
        return (10.0 * torch.log10(mel.clamp(min=AMIN))).unsqueeze(1)


class ConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class Cnn14_16k(nn.Module):  # noqa: N801 - the release's class name
    """16 kHz waveforms (B, S) -> 2048-d embeddings (B, 2048); `fc_audioset` kept for loading."""

    def __init__(self, classes: int = 527, front_end: FrontEnd = FRONT_END_16K) -> None:
        super().__init__()
        self.logmel = LogMel(front_end)
        self.bn0 = nn.BatchNorm2d(MEL_BINS)
        widths = (1, 64, 128, 256, 512, 1024, 2048)
        for i in range(6):
            self.add_module(f"conv_block{i + 1}", ConvBlock(widths[i], widths[i + 1]))
        self.fc1 = nn.Linear(2048, 2048)
        self.fc_audioset = nn.Linear(2048, classes)  # AudioSet classifier, unused for embeddings

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.logmel(wave)                                   # (B, 1, frames, 64)
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)         # normalise each mel band
        for i in range(6):
            x = getattr(self, f"conv_block{i + 1}")(x, pool=2 if i < 5 else 1)
        x = x.mean(dim=3)                                       # (B, 2048, frames')
        x = x.max(dim=2).values + x.mean(dim=2)                 # (B, 2048)
        return F.relu(self.fc1(x))                              # (B, 2048)


class Cnn14_32k(Cnn14_16k):  # noqa: N801
    """The release's 32 kHz `Cnn14`: the same layers and parameter names, its own front end."""

    def __init__(self, classes: int = 527) -> None:
        super().__init__(classes, FRONT_END_32K)


def embed_clip(model: Cnn14_16k, wave: torch.Tensor, per_second: bool = False) -> torch.Tensor:
    """(S,) samples of one clip at the model's rate -> (1, 2048): the whole clip in one pass (AVQA's
    released features), or with `per_second` (T, 2048): each whole second on its own."""
    if not per_second:
        return model(wave[None])                                # (1, 2048)
    rate = model.logmel.fe.sample_rate
    seconds = max(1, wave.shape[0] // rate)
    return model(wave[: seconds * rate].reshape(seconds, rate))  # (T, 2048)
