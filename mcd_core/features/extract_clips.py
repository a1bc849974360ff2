"""The visual feature stage for clip (3D) backbones: videos of a shard -> a `visual` store.

A clip backbone reads frames at the video's native rate, which the 1-fps frames shard does not
hold, so this job decodes the shard's videos itself (`mcd_core.media.clips`, `workers` videos at a
time in threads, a few ahead of the network) and keeps no frames on disk. Each video gives
`clips` rows (AVQA: 8 clips of 16 frames at 112 px -> (8, 2048), fps = clips / T); clips spread
over the frames the video really has, so every row is real (`lengths` = clips).

Same store layout and failure policy as `extract_visual`: `--on-error stop` ends the job at the
first bad video naming it, `skip` leaves it out and lists it in `<out stem>.failures.json`
(written last: its presence beside the store means the job finished).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mcd_core.common.atomic import remove_path
from mcd_core.common.device import autocast, choose_device
from mcd_core.common.progress import progress
from mcd_core.features.backbones.motion import ClipSpec, create_clip_backbone
from mcd_core.features.backbones.resnext3d import clip_frame_indices
from mcd_core.features.merge import failures_path
from mcd_core.features.store import StoreError, StoreMeta, open_store, store_writer
from mcd_core.media.clips import decode_native_frames
from mcd_core.media.shardrun import ON_ERROR_CHOICES, Failure, VideoError, find_video, read_ids, write_failures

STAGE = "extract-visual"
log = logging.getLogger(__name__)


class ClipJobError(ValueError):
    """A clip extraction job was asked for something it cannot do."""


@dataclass
class ClipJob:
    videos: Path                # folder of the video files
    ids_file: Path              # the shard list (video ids, one a line)
    seconds: int                # T: the first T seconds of each video are read
    backbone: str               # clip registry name
    out: Path                   # store of stream "visual"
    weights: str = "random-init"  # "pretrained" or "random-init"
    seed: int = 0
    weights_dir: Path | None = None
    device: str = "auto"
    precision: str = "fp32"
    batch_size: int = 8         # clips per forward pass
    workers: int = 2            # videos decoded at a time (threads running ffmpeg)
    on_error: str = "stop"
    force: bool = False


def clip_tensor(frames: np.ndarray, spec: ClipSpec) -> np.ndarray:
    """(N, S, S, 3) uint8 frames -> (clips, 3, L, S, S) float32 network input."""
    index = clip_frame_indices(len(frames), spec.clips, spec.clip_frames)        # (clips, L)
    x = frames[index].astype(np.float32)                                          # (clips, L, S, S, 3)
    x = (x - np.asarray(spec.mean, np.float32)) * spec.scale
    return np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3))                       # (clips, 3, L, S, S)


def _weights_match(recorded: Any, info: dict) -> bool:
    return recorded == info or (isinstance(recorded, dict) and "file" in info and recorded.get("file") == info["file"])


def outputs_complete(job: ClipJob, spec: ClipSpec, info: dict, preprocessing: dict) -> bool:
    if job.force or not failures_path(job.out).is_file():
        return False
    try:
        store = open_store(job.out, expect={"stream": "visual", "backbone": job.backbone,
                                            "precision": job.precision, "preprocessing": preprocessing,
                                            "seconds": job.seconds})
    except StoreError as exc:
        log.info("redoing %s: %s", job.out, exc)
        return False
    return _weights_match(store.attrs["weights"], info)


def _decoded(job: ClipJob, spec: ClipSpec, ids: list[str]):
    """(video id, clip tensor or None, error) in shard order, decoding `workers` videos ahead."""
    def one(video_id: str) -> np.ndarray:
        path = find_video(job.videos, video_id)
        return clip_tensor(decode_native_frames(path, job.seconds, spec.size, threads=1).frames, spec)

    ahead = max(1, job.workers)
    with ThreadPoolExecutor(max_workers=ahead) as pool:
        for first in range(0, len(ids), 2 * ahead):
            chunk = ids[first:first + 2 * ahead]
            futures = [pool.submit(one, v) for v in chunk]
            for video_id, future in zip(chunk, futures):
                try:
                    yield video_id, future.result(), ""
                except (VideoError, OSError) as exc:
                    if job.on_error == "stop":
                        for f in futures:
                            f.cancel()
                        raise VideoError(f"{STAGE} {job.backbone}: {video_id}: {exc}") from exc
                    yield video_id, None, str(exc)


def extract_clips(job: ClipJob) -> bool:
    """Run the job; returns False when complete outputs were already there (nothing done)."""
    if job.on_error not in ON_ERROR_CHOICES:
        raise ClipJobError(f"on_error must be one of {ON_ERROR_CHOICES}, got {job.on_error!r}")
    if job.batch_size < 1 or job.workers < 0 or job.seconds < 1:
        raise ClipJobError(f"batch size and seconds must be >= 1 and workers >= 0, got "
                           f"{job.batch_size}, {job.seconds}, {job.workers}")
    ids = read_ids(job.ids_file)
    device = choose_device(job.device)
    autocast(device, job.precision)  # reject an impossible precision before the slow model build
    model, spec, info = create_clip_backbone(job.backbone, job.weights, job.seed, job.weights_dir, device)
    preprocessing = spec.describe()
    if outputs_complete(job, spec, info, preprocessing):
        return False
    remove_path(failures_path(job.out))  # an earlier, killed attempt's list must not outlive it
    meta = StoreMeta("visual", spec.name, spec.dim, spec.clips / job.seconds, job.seconds, info,
                     preprocessing, {"precision": job.precision, "source": str(job.videos)})
    failures: list[Failure] = []
    with store_writer(job.out, (len(ids), spec.clips, spec.dim), ids, [spec.clips] * len(ids), meta) as writer, \
            torch.inference_mode():
        for row, (video_id, clips, error) in enumerate(progress(_decoded(job, spec, ids), total=len(ids),
                                                                desc=f"{STAGE} {job.backbone}", unit="video")):
            if clips is None:
                failures.append(Failure(video_id, STAGE, error))
                writer.drop(row)
                continue
            out = []
            for start in range(0, len(clips), job.batch_size):
                batch = torch.from_numpy(clips[start:start + job.batch_size]).to(device)
                with autocast(device, job.precision):
                    out.append(model(batch).float().cpu().numpy())
            writer.write(row, np.concatenate(out))                               # (clips, dim)
    for failure in failures:
        log.warning("%s: left out %s: %s", STAGE, failure.video_id, failure.error)
    write_failures(failures_path(job.out), failures)  # last: marks the job as complete
    return True
