"""PANNs CNN14, 16 kHz variant (Kong et al. 2020, `Cnn14_16k`): waveform -> 2048-d embedding.

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


def slaney_mel_matrix() -> np.ndarray:
    """(WINDOW // 2 + 1, MEL_BINS) mel weights as the release computed them (librosa defaults)."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=WINDOW, n_mels=MEL_BINS, fmin=FMIN, fmax=FMAX).T


class LogMel(nn.Module):
    """Waveform (B, S) float in [-1, 1] -> log-mel (B, 1, frames, 64) in dB."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(WINDOW, periodic=True), persistent=False)
        self.register_buffer("mel", torch.from_numpy(slaney_mel_matrix()).float(), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave.float(), n_fft=WINDOW, hop_length=HOP, win_length=WINDOW,
                          window=self.window, center=True, pad_mode="reflect", return_complex=True)
        power = spec.abs().pow(2).transpose(1, 2)               # (B, frames, 257)
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

    def __init__(self, classes: int = 527) -> None:
        super().__init__()
        self.logmel = LogMel()
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
