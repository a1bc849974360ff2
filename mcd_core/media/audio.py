"""Decode a video's sound track to exactly T seconds of mono PCM16, and read/write WAV files.

The rate is a dataset setting (`extraction.audio_sample_rate`, recorded in the audio shard's
manifest): 16 kHz (`SAMPLE_RATE`) for VGGish and the 16 kHz PANNs, 32 kHz for AVQA's PANNs Cnn14.
Any input rate and channel count goes through ffmpeg's resampler and down-mix. Shorter audio is
padded by cycling its last real second (the whole clip when it is shorter than a second); longer
audio is cut. A file without an audio stream gets silence and `no_audio=True`: not a failure.

Real length, in seconds, counts the seconds whose centre lies inside the audio (round half up of its
duration), the same rule `frames` uses, so audio and visual lengths agree.
"""

from __future__ import annotations

import logging
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcd_core.media.probe import probe_media, run_ffmpeg

STAGE = "audio"
SAMPLE_RATE = 16000
SAMPLE_RATES = (16000, 32000)   # the rates the audio backbones read
log = logging.getLogger(__name__)


class WavError(RuntimeError):
    """A WAV file of the audio stage is missing or not 16-bit mono at the expected rate, or an audio
    shard is not at the rate a backbone reads."""


@dataclass
class VideoAudio:
    samples: np.ndarray         # (T * sample_rate,) int16 mono
    length: int                 # seconds of real audio (0..T); for no_audio, the video's seconds
    no_audio: bool              # the file has no (non-empty) audio stream: samples are silence
    source_rate: int | None     # sample rate of the source audio stream
    source_channels: int | None  # channel count of the source audio stream


def seconds_of(n_samples: int, sample_rate: int) -> int:
    """Seconds whose centre lies inside `n_samples` samples."""
    return int(np.floor(n_samples / sample_rate + 0.5))


def pad_cycling_last_second(samples: np.ndarray, total: int, sample_rate: int) -> np.ndarray:
    """Cut to `total` samples, or append copies of the last second until `total` are there."""
    if len(samples) >= total:
        return samples[:total]
    tail = samples[-sample_rate:]
    return np.concatenate([samples, np.resize(tail, total - len(samples))])


def decode_audio(path: str | Path, seconds: int, sample_rate: int = SAMPLE_RATE,
                 threads: int | None = None) -> VideoAudio:
    path = Path(path)
    info = probe_media(path, STAGE)
    total = seconds * sample_rate
    video_seconds = (min(seconds, max(1, round(info.duration))) if info.duration else seconds)
    if not info.has_audio:
        return VideoAudio(np.zeros(total, np.int16), video_seconds, True, None, None)
    args = ["-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(sample_rate),
            "-t", str(seconds + 1), "-f", "s16le", "-acodec", "pcm_s16le"]
    if threads:
        args = ["-threads", str(threads)] + args
    raw = run_ffmpeg(args + ["pipe:1"], path, STAGE)
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if len(samples) == 0:
        log.warning("%s: the audio stream holds no samples; using silence (no_audio)", path)
        return VideoAudio(np.zeros(total, np.int16), video_seconds, True, info.sample_rate,
                          info.channels)
    length = min(seconds, max(1, seconds_of(len(samples), sample_rate)))
    return VideoAudio(pad_cycling_last_second(samples, total, sample_rate), length, False,
                      info.sample_rate, info.channels)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write int16 mono samples as a PCM16 WAV (not atomic by itself: write into a temp dir)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def read_wav(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """int16 mono samples of a WAV the audio stage wrote; WavError naming the file otherwise."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2 or wav.getframerate() != sample_rate:
                raise WavError(f"{path}: expected 16-bit mono at {sample_rate} Hz, got "
                               f"{wav.getnchannels()} ch, {8 * wav.getsampwidth()} bit, "
                               f"{wav.getframerate()} Hz")
            data = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise WavError(f"cannot read WAV file {path}: {exc}") from exc
    return np.frombuffer(data, dtype="<i2").astype(np.int16)
