"""The `extract-audio` stage: audio embeddings of one shard into a feature store.

- vggish:          input = a `logmel` store (from `mcd logmel`), [n, T, 96, 64] -> [n, T, 128]
- panns_cnn14:     input = a 16 kHz audio shard directory (from `mcd audio`), each second -> 2048
- panns_cnn14_32k: input = a 32 kHz audio shard directory; the whole T s clip in one pass ->
  [n, 1, 2048] (fps 1 / T: AVQA's released clip-level features), or with `per_second` each
  second on its own -> [n, T, 2048]

A waveform backbone reads the rate its audio shard's manifest records (`params.sample_rate`) and
stops, naming the shard, when that is not the rate it was trained at.

The output store (stream `audio`) records the weights (file + sha256, or random init + seed), the
preprocessing, lengths and the `no_audio` flag; its failure list copies the input's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from mcd_core.media.audio import SAMPLE_RATE, WavError, decode_audio, read_wav
from mcd_core.features.logmel import LogmelSpec, logmel_patches
from mcd_core.features.backbones.audio import create_audio_backbone, get_audio_entry
from mcd_core.common.atomic import remove_path
from mcd_core.common.device import autocast, choose_device
from mcd_core.common.progress import progress
from mcd_core.media.frames import decode_frames
from mcd_core.media.shards import read_manifest
from mcd_core.features.merge import failures_path
from mcd_core.media.shardrun import Failure, VideoError, read_failures, write_failures
from mcd_core.features.store import StoreError, StoreMeta, open_store, write_store

log = logging.getLogger(__name__)


@dataclass
class AudioJob:
    backbone: str                       # "vggish" or "panns_cnn14"
    out: Path                           # output store, `.../shard_XXXXX.zarr`
    logmel: Path | None = None          # input logmel store (vggish)
    audio_dir: Path | None = None       # input audio shard directory (panns_cnn14)
    weights: str = "pretrained"         # "pretrained" or "random-init"
    seed: int = 0                       # torch seed set before building the network
    weights_dir: Path | None = None     # overrides resources/weights and $MCD_WEIGHTS_DIR
    device: str = "auto"                # "auto" (CUDA when present), "cpu" or "cuda"
    batch_size: int = 256               # seconds per forward pass
    precision: str = "fp32"             # "fp32", "bf16" or "fp16" (CUDA only)
    pca: bool = False                   # vggish only: AudioSet PCA + 8-bit quantisation
    per_second: bool = False            # clip-level backbones: one embedding a second instead


@dataclass
class AudioInput:
    video_ids: list[str]                # rows, in input order
    lengths: np.ndarray                 # (n,) int real seconds
    no_audio: np.ndarray                # (n,) bool
    seconds: int                        # T
    steps: int                          # rows a video gets: T, or 1 for a clip-level embedding
    failures: list[Failure]             # videos lost before this stage
    preprocessing: dict[str, Any]       # how the network's input was made
    rows: Any                           # rows(i) -> one video's network input (T, ...) float32


def _logmel_input(path: Path) -> AudioInput:
    store = open_store(path, expect={"stream": "logmel"})
    flags = store.flags.get("no_audio", np.zeros(len(store), bool))
    seconds = int(store.attrs["seconds"])
    return AudioInput(store.video_ids, store.lengths, flags, seconds, seconds,
                      read_failures(failures_path(path)), dict(store.attrs["preprocessing"]),
                      lambda i: np.asarray(store.features[i], dtype=np.float32))


def _waveform_input(audio_dir: Path, sample_rate: int, clip: bool) -> AudioInput:
    """Each video's samples as (T, rate) per-second windows, or (1, T * rate) with `clip`."""
    manifest = read_manifest(audio_dir)
    if manifest is None or manifest.get("stage") != "audio":
        raise VideoError(f"{audio_dir} is not a finished audio shard (no audio manifest.json); "
                         f"run `mcd audio` first")
    rate = manifest.get("params", {}).get("sample_rate", SAMPLE_RATE)
    if rate != sample_rate:
        raise WavError(f"{audio_dir}/manifest.json: the audio is at {rate} Hz, this backbone reads "
                       f"{sample_rate} Hz; redo the audio stage with --sample-rate {sample_rate} "
                       f"(extraction.audio_sample_rate)")
    ids, seconds = list(manifest["videos"]), int(manifest["seconds"])
    entries = [manifest["videos"][v] for v in ids]
    shape = (1, seconds * rate) if clip else (seconds, rate)

    def rows(i: int) -> np.ndarray:
        samples = read_wav(audio_dir / f"{ids[i]}.wav", rate)
        if len(samples) != seconds * rate:
            raise VideoError(f"{audio_dir / (ids[i] + '.wav')}: {len(samples)} samples, "
                             f"expected {seconds * rate}")
        return (samples.astype(np.float32) / 32768.0).reshape(shape)  # (T, rate) or (1, T * rate)

    # A clip-level row holds the whole clip: it is real whenever the video has any audio.
    lengths = np.ones(len(ids), np.int16) if clip else np.array([e["length"] for e in entries], np.int16)
    window = (f"the whole {seconds} s clip in one pass (one vector a video)" if clip
              else "each second [i s, (i+1) s) on its own")
    return AudioInput(ids, lengths, np.array([bool(e["no_audio"]) for e in entries]), seconds,
                      1 if clip else seconds, [Failure(**f) for f in manifest.get("failures", [])],
                      {"name": "waveform", "sample_rate": rate, "scale": "int16 / 32768",
                       "window": window}, rows)


def _batches(n: int, per_batch: int) -> Iterator[range]:
    for start in range(0, n, per_batch):
        yield range(start, min(n, start + per_batch))


@torch.no_grad()
def embed_seconds(model: torch.nn.Module, inputs: np.ndarray, device: torch.device,
                  precision: str = "fp32", batch_size: int = 256) -> np.ndarray:
    """Run the network over per-second inputs.  # (N, ...) -> (N, D) float32"""
    outputs = []
    for rows in _batches(len(inputs), max(1, batch_size)):
        batch = torch.from_numpy(np.ascontiguousarray(inputs[rows.start:rows.stop])).to(device)
        with autocast(device, precision):
            outputs.append(model(batch).float().cpu().numpy())
    return np.concatenate(outputs, axis=0)


def outputs_complete(job: AudioJob, preprocessing: dict[str, Any], info: dict[str, Any]) -> bool:
    if not (job.out.is_dir() and failures_path(job.out).is_file()):
        return False
    try:
        open_store(job.out, expect={"stream": "audio", "backbone": job.backbone, "weights": info,
                                    "preprocessing": preprocessing})
    except StoreError as exc:
        log.info("redoing %s: %s", job.out, exc)
        return False
    return True


def extract_audio(job: AudioJob) -> bool:
    """Write the job's store and failure list; False when a complete one was already there."""
    spec = get_audio_entry(job.backbone).spec
    if spec.input_kind == "logmel":
        if job.logmel is None:
            raise VideoError(f"{job.backbone} reads log-mel patches: give --logmel SHARD.zarr")
        data = _logmel_input(Path(job.logmel))
    else:
        if job.audio_dir is None:
            raise VideoError(f"{job.backbone} reads waveforms: give --audio AUDIODIR")
        if job.per_second and not spec.clip_level:
            log.info("%s embeds each second already; --per-second changes nothing", job.backbone)
        data = _waveform_input(Path(job.audio_dir), spec.sample_rate, spec.clip_level and not job.per_second)
    device = choose_device(job.device)
    model, spec, info = create_audio_backbone(job.backbone, job.weights, job.seed, job.weights_dir,
                                              pca=job.pca)
    preprocessing = {**data.preprocessing, "per_second": spec.description,
                     "pca": bool(job.pca), "precision": job.precision}
    if outputs_complete(job, preprocessing, info):
        log.info("%s is complete; skipping", job.out)
        return False
    remove_path(failures_path(job.out))  # an earlier, killed attempt's list must not outlive it
    model = model.to(device)
    n, seconds, steps = len(data.video_ids), data.seconds, data.steps
    features = np.zeros((n, steps, spec.dim), np.float32)
    per_batch = max(1, job.batch_size // seconds)  # whole videos per forward pass
    for videos in progress(list(_batches(n, per_batch)), desc=f"extract-audio {job.backbone}", unit="batch"):
        inputs = np.concatenate([data.rows(i) for i in videos], axis=0)  # (V * S, ...)
        out = embed_seconds(model, inputs, device, job.precision, job.batch_size)
        features[videos.start:videos.stop] = out.reshape(len(videos), steps, spec.dim)
    write_failures(failures_path(job.out), data.failures)
    meta = StoreMeta("audio", job.backbone, spec.dim, steps / seconds, seconds, info, preprocessing,
                     {"input": str(job.logmel or job.audio_dir)})
    write_store(job.out, features, data.lengths, data.video_ids, meta,
                flags={"no_audio": data.no_audio})
    return True


@dataclass
class VideoFeatures:
    frames: np.ndarray          # (T, H, W, 3) uint8 centre frames
    logmel: np.ndarray          # (T, 96, 64) float32
    audio: np.ndarray           # (T, D) float32 embeddings
    length: int                 # real seconds of the video (frames rule)
    no_audio: bool              # the file had no audio stream


def process_videos(paths: Sequence[str | os.PathLike], seconds: int, frame_short_side: int | None = 360,
                   weights: str = "random-init", seed: int = 0, device: str = "auto",
                   batch_size: int = 256, weights_dir: str | os.PathLike | None = None,
                   ) -> list[VideoFeatures]:
    """frames + audio + VGGish log-mel + VGGish on a list of video files, in memory (for benches).

    The network is built once; each video is decoded with ffmpeg and embedded in turn.
    """
    dev = choose_device(device)
    model, _, _ = create_audio_backbone("vggish", weights, seed, weights_dir)
    model = model.to(dev)
    results = []
    for path in paths:
        frames = decode_frames(path, seconds, frame_short_side)
        sound = decode_audio(path, seconds)
        patches = logmel_patches(sound.samples, seconds, LogmelSpec())
        embedded = embed_seconds(model, patches, dev, batch_size=batch_size)
        results.append(VideoFeatures(frames.frames, patches, embedded, frames.length, sound.no_audio))
    return results
