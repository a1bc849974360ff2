"""The VGGish front end: one 96 x 64 log-mel patch per second of 16 kHz mono audio.

For second i the input is samples [i s, (i+1) s). Framing as in VGGish: 25 ms periodic-Hann
windows (400 samples) every 10 ms (160), no centre padding, magnitude of a 512-point FFT. A 1 s
window gives 98 such frames; the patch is the first 96 (frame starts span the first 0.96 s, the
last frame ends at 15,600 samples = 0.975 s). 96 frames cannot come from 15,360 samples without
padding, so we keep VGGish's own framing of the one-second window.

Mel: 64 bands, 125-7500 Hz, HTK mel scale, applied to magnitudes, then log(mel + 0.01). The default
filterbank is VGGish's (triangles linear in mel, DC row zeroed), which the pretrained network was
trained on; `filterbank="librosa_htk"` gives librosa's `filters.mel(htk=True, norm=None)` (triangles
linear in Hz). The two differ by < 0.01 in log-mel; the tests check both against librosa.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mcd_core.media.audio import SAMPLE_RATE, read_wav
from mcd_core.media.shardrun import Failure, VideoError, write_failures

log = logging.getLogger(__name__)
FILTERBANKS = ("vggish", "librosa_htk")


@dataclass(frozen=True)
class LogmelSpec:
    sample_rate: int = SAMPLE_RATE   # Hz of the input samples
    window: int = 400                # samples per STFT frame (25 ms), periodic Hann
    hop: int = 160                   # samples between frame starts (10 ms)
    n_fft: int = 512                 # FFT size (frames zero-padded at the end)
    n_mels: int = 64                 # mel bands
    fmin: float = 125.0              # lowest band edge, Hz
    fmax: float = 7500.0             # highest band edge, Hz
    log_offset: float = 0.01         # log(mel + offset)
    frames: int = 96                 # frames per patch (one patch per second)
    filterbank: str = "vggish"       # "vggish" (mel-linear triangles) or "librosa_htk"

    def describe(self) -> dict[str, Any]:
        return {"name": "vggish_logmel", "scale": "int16 / 32768", "window": "periodic hann",
                "magnitude": "abs (not power)", "mel_scale": "htk", **asdict(self)}


def hz_to_mel(hz):
    """HTK mel scale."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * np.expm1(np.asarray(mel, dtype=np.float64) / 1127.0)


def periodic_hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def mel_matrix(spec: LogmelSpec = LogmelSpec()) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) weights mapping FFT magnitudes to mel bands."""
    bins_hz = np.linspace(0.0, spec.sample_rate / 2.0, spec.n_fft // 2 + 1)
    edges_mel = np.linspace(hz_to_mel(spec.fmin), hz_to_mel(spec.fmax), spec.n_mels + 2)
    if spec.filterbank == "vggish":
        x, edges = hz_to_mel(bins_hz), edges_mel      # triangles linear in mel
    elif spec.filterbank == "librosa_htk":
        x, edges = bins_hz, mel_to_hz(edges_mel)      # triangles linear in Hz
    else:
        raise ValueError(f"filterbank must be one of {FILTERBANKS}, got {spec.filterbank!r}")
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]  # (n_mels,) each
    rising = (x[:, None] - lower) / (centre - lower)
    falling = (upper - x[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if spec.filterbank == "vggish":
        weights[0, :] = 0.0  # VGGish zeroes the DC bin
    return weights


def stft_magnitude(windows: np.ndarray, spec: LogmelSpec = LogmelSpec()) -> np.ndarray:
    """|FFT| of frames of each window, no padding.  # (B, S) -> (B, F, n_fft//2+1)"""
    n_frames = 1 + (windows.shape[1] - spec.window) // spec.hop
    frames = np.lib.stride_tricks.sliding_window_view(windows, spec.window, axis=1)[:, ::spec.hop]
    frames = frames[:, :n_frames] * periodic_hann(spec.window)  # (B, F, window)
    return np.abs(np.fft.rfft(frames, n=spec.n_fft, axis=-1))


def logmel_patches(samples: np.ndarray, seconds: int, spec: LogmelSpec = LogmelSpec()) -> np.ndarray:
    """One log-mel patch per second of int16 (or float in [-1, 1]) mono samples.

    # (seconds * sample_rate,) -> (seconds, frames, n_mels) float32
    """
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        samples = samples.astype(np.float64) / 32768.0
    expected = seconds * spec.sample_rate
    if samples.shape != (expected,):
        raise ValueError(f"expected {expected} samples ({seconds} s), got shape {samples.shape}")
    windows = samples.astype(np.float64).reshape(seconds, spec.sample_rate)  # (T, sr)
    magnitude = stft_magnitude(windows, spec)[:, : spec.frames]             # (T, 96, 257)
    mel = magnitude @ mel_matrix(spec)                                       # (T, 96, 64)
    return np.log(mel + spec.log_offset).astype(np.float32)


def logmel_shard(audio_dir: str | os.PathLike, out: str | os.PathLike,
                 spec: LogmelSpec = LogmelSpec()) -> Path:
    """Turn an audio shard directory into a `logmel` store [n, T, 96, 64] + its failure list."""
    from mcd_core.media.shards import read_manifest
    from mcd_core.features.merge import failures_path
    from mcd_core.features.store import StoreError, StoreMeta, open_store, write_store
    from mcd_core.common.atomic import remove_path

    audio_dir, out = Path(audio_dir), Path(out)
    manifest = read_manifest(audio_dir)
    if manifest is None or manifest.get("stage") != "audio":
        raise VideoError(f"{audio_dir} is not a finished audio shard (no audio manifest.json); "
                         f"run `mcd audio` first")
    seconds = int(manifest["seconds"])
    rate = manifest.get("params", {}).get("sample_rate", SAMPLE_RATE)
    if rate != spec.sample_rate:
        raise VideoError(f"{audio_dir}/manifest.json: the audio is at {rate} Hz, the VGGish log-mel reads "
                         f"{spec.sample_rate} Hz; set extraction.audio_sample_rate to {spec.sample_rate}")
    preprocessing = spec.describe()
    if out.is_dir() and failures_path(out).is_file():
        try:
            open_store(out, expect={"seconds": seconds, "preprocessing": preprocessing})
            log.info("%s is complete; skipping", out)
            return out
        except StoreError as exc:
            log.info("redoing %s: %s", out, exc)
    remove_path(failures_path(out))  # an earlier, killed attempt's list must not outlive it
    video_ids = list(manifest["videos"])
    features = np.zeros((len(video_ids), seconds, spec.frames, spec.n_mels), np.float32)
    for row, video_id in enumerate(video_ids):
        features[row] = logmel_patches(read_wav(audio_dir / f"{video_id}.wav"), seconds, spec)
    entries = [manifest["videos"][v] for v in video_ids]
    failures = [Failure(**f) for f in manifest.get("failures", [])]
    write_failures(failures_path(out), failures)
    meta = StoreMeta("logmel", "vggish_frontend", spec.n_mels, 1.0, seconds,
                     {"none": "signal processing only"}, preprocessing,
                     {"source_shard": str(audio_dir)})
    return write_store(out, features, [e["length"] for e in entries], video_ids, meta,
                       flags={"no_audio": np.array([bool(e["no_audio"]) for e in entries])})
