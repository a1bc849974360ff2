"""The token feature stage: frames shard -> store of one token backbone (`backbones/tokens.py`).

The same job shape and failure policy as `extract_visual` (whose frame loader and row writer it
reuses): frames are decoded in DataLoader workers in time order, each video's rows are written as
soon as its frames are done, `--on-error skip` leaves a bad video out and lists it, the failures
list is written last and marks the job as complete.

Frames: the shard's frame files are sorted by second (NNN.jpg); the backbone reads every second, or
a fixed number of frames evenly spaced over the sorted seconds (`TokenSpec.frames`; the registered
backbones, ToMe's included, read every second). The store then has that
many steps (attribute `seconds`), `frame_seconds` names the seconds they come from, and `lengths`
counts the steps that fall inside the video's real length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcd_core.common.atomic import remove_path
from mcd_core.common.device import autocast, choose_device
from mcd_core.features.backbones.tokens import create_token_backbone, frame_steps, get_token_entry
from mcd_core.features.backbones.weights import get_source
from mcd_core.features.extract_visual import ExtractError, _run_model
from mcd_core.features.merge import failures_path
from mcd_core.features.store import StoreError, StoreMeta, open_store, store_writer
from mcd_core.media.frames_shard import read_frames_shard
from mcd_core.media.shardrun import ON_ERROR_CHOICES, Failure, VideoError, write_failures

STAGE = "extract-tokens"


@dataclass
class TokenJob:
    frames: Path                # frames shard folder (manifest.json + <video_id>/NNN.jpg)
    backbone: str               # token registry name
    out: Path                   # the store (stream given by the backbone)
    weights: str = "random-init"  # "pretrained" or "random-init"
    seed: int = 0               # seed of random initialisation
    weights_dir: Path | None = None
    device: str = "auto"
    precision: str = "fp32"     # compute precision; the stored dtype is the backbone's
    batch_size: int = 32        # frames per forward pass
    workers: int = 2            # JPEG decoding processes
    on_error: str = "stop"      # "stop" or "skip"
    force: bool = False


def outputs_complete(job: TokenJob) -> bool:
    """True when a previous run finished this job's store with the same backbone, weights, precision."""
    if not failures_path(job.out).is_file():
        return False
    spec = get_token_entry(job.backbone).spec
    try:
        store = open_store(job.out, expect={"stream": spec.stream, "backbone": job.backbone,
                                            "precision": job.precision})
    except StoreError:
        return False
    recorded = store.attrs["weights"]
    if job.weights == "random-init":
        return recorded == {"random_init": True, "seed": job.seed}
    return isinstance(recorded, dict) and recorded.get("file") == get_source(job.backbone).filename


def extract_tokens(job: TokenJob) -> bool:
    """Run the job; returns False when complete outputs were already there (nothing done)."""
    if job.on_error not in ON_ERROR_CHOICES:
        raise ExtractError(f"on_error must be one of {ON_ERROR_CHOICES}, got {job.on_error!r}")
    if job.batch_size < 1 or job.workers < 0:
        raise ExtractError(f"batch size must be >= 1 and workers >= 0, got {job.batch_size}, {job.workers}")
    get_token_entry(job.backbone)  # an unknown name fails before any file is touched
    if not job.force and outputs_complete(job):
        return False
    remove_path(failures_path(job.out))
    shard = read_frames_shard(job.frames)
    device = choose_device(job.device)
    autocast(device, job.precision)
    model, preprocess, spec = create_token_backbone(job.backbone, job.weights, job.seed, job.weights_dir, device)
    steps = frame_steps(spec, shard.seconds)

    ids, paths, failures = [], [], []
    for video_id in shard.video_ids:
        try:
            frames = shard.frame_paths(video_id)   # sorted by second, exactly `seconds` of them
        except VideoError as exc:
            if job.on_error == "stop":
                raise
            failures.append(Failure(video_id, STAGE, str(exc)))
            continue
        ids.append(video_id)
        paths.extend(frames[s] for s in steps)
    lengths = [sum(s < shard.lengths[v] for s in steps) for v in ids]
    meta = StoreMeta(stream=spec.stream, backbone=spec.name, dim=spec.dim, fps=1.0, seconds=len(steps),
                     weights=model.weights_info,
                     preprocessing={**preprocess.describe(), "frames": shard.params},
                     extra=_extra(job, spec, steps, shard.seconds))
    shape = (len(ids), len(steps), spec.tokens, spec.dim)
    with store_writer(job.out, shape, ids, lengths, meta, dtype=spec.dtype) as writer:
        bad = _run_model(job, model, preprocess, {spec.stream: writer}, {spec.stream: (spec.tokens, spec.dim)},
                         paths, len(steps), device, STAGE)
    failures += [Failure(ids[i], STAGE, err) for i, err in sorted(bad.items())]
    write_failures(failures_path(job.out), [*shard.failures, *failures])
    return True


def _extra(job: TokenJob, spec, steps: list[int], seconds: int) -> dict[str, Any]:
    return {"precision": job.precision, "tokens": spec.tokens, "dtype": spec.dtype,
            "frame_seconds": steps, "dataset_seconds": seconds,
            "frame_order": "sorted by second, evenly spaced" if spec.frames else "every second"}
