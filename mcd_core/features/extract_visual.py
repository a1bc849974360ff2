"""The visual feature stage: frames shard -> feature store(s) of one visual backbone.

The backbone is built once per job. JPEG decoding and preprocessing run in DataLoader workers
over the flat list of (video, second) frames while the model works on the previous batch; batches
never reorder frames, so the output is the same whatever the batch size or worker count.

Outputs, in this order (the main store last, so that its presence means the job finished):
`<out stem>.failures.json` (the frames stage's failures plus this stage's), the patch store when
asked for, then the main store. A re-run skips a finished output and redoes anything else.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from mcd_core.features.backbones.visual import STREAM_PATCH, STREAM_POOLED, create_visual_backbone
from mcd_core.features.backbones.weights import get_source
from mcd_core.common.atomic import remove_path
from mcd_core.common.device import autocast, choose_device
from mcd_core.common.progress import progress
from mcd_core.common.workers import WorkerLoader
from mcd_core.media.frames_shard import FramesShard, read_frames_shard
from mcd_core.features.merge import failures_path
from mcd_core.media.shardrun import ON_ERROR_CHOICES, Failure, VideoError, write_failures
from mcd_core.features.store import RowWriter, StoreError, StoreMeta, open_store, store_writer

STAGE = "extract-visual"


class ExtractError(RuntimeError):
    """The extraction job was asked for something it cannot do (e.g. patch tokens it lacks)."""


@dataclass
class VisualJob:
    frames: Path                # frames shard folder (manifest.json + <video_id>/NNN.jpg)
    backbone: str               # visual registry name
    out: Path                   # store of stream "visual"
    weights: str = "random-init"  # "pretrained" or "random-init"
    seed: int = 0               # seed of random initialisation
    weights_dir: Path | None = None  # None: $MCD_WEIGHTS_DIR or resources/weights
    device: str = "auto"        # "auto", "cpu" or "cuda"
    precision: str = "fp32"     # "fp32", "bf16" or "fp16" (CUDA only)
    batch_size: int = 64        # frames per forward pass
    workers: int = 2            # DataLoader processes decoding JPEGs; 0: in the main process
    patch_out: Path | None = None  # store of stream "visual_patch" (backbones with patch tokens)
    on_error: str = "stop"      # "stop": first bad video ends the job; "skip": leave it out, list it
    force: bool = False         # redo even when the outputs are complete


class _FrameImages(Dataset):
    """Frame k of the flat (video, second) list -> (k, preprocessed tensor, error message)."""

    def __init__(self, paths: list[Path], preprocess):
        self.paths = paths
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, k: int):
        try:
            with Image.open(self.paths[k]) as image:
                return k, self.preprocess(image.convert("RGB")), ""
        except (OSError, ValueError) as exc:  # unreadable / truncated JPEG
            return k, None, f"cannot decode {self.paths[k]}: {exc}"


def _collate(items):
    good = [(k, t) for k, t, err in items if not err]
    errors = [(k, err) for k, _, err in items if err]
    index = torch.tensor([k for k, _ in good], dtype=torch.long)
    images = torch.stack([t for _, t in good]) if good else None
    return index, images, errors


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # the workers only resize images; the model wants the cores


def _same_weights(recorded: Any, job: VisualJob) -> bool:
    if job.weights == "random-init":
        return recorded == {"random_init": True, "seed": job.seed}
    return isinstance(recorded, dict) and recorded.get("file") == get_source(job.backbone).filename


def outputs_complete(job: VisualJob) -> bool:
    """True when a previous run finished every output of this job with the same backbone,
    weights and precision (other settings are the workflow's to track)."""
    if not failures_path(job.out).is_file() or (job.patch_out and not failures_path(job.patch_out).is_file()):
        return False
    stores = [(job.out, STREAM_POOLED)] + ([(job.patch_out, STREAM_PATCH)] if job.patch_out else [])
    try:
        for path, stream in stores:
            store = open_store(path, expect={"stream": stream, "backbone": job.backbone,
                                             "precision": job.precision})
            if not _same_weights(store.attrs["weights"], job):
                return False
    except StoreError:
        return False
    return True


def _frame_list(shard: FramesShard, on_error: str) -> tuple[list[str], list[Path], list[Failure]]:
    """Video ids whose frame files are all present, their frame paths (flat), and the others."""
    ids, paths, failures = [], [], []
    for video_id in shard.video_ids:
        try:
            paths.extend(shard.frame_paths(video_id))
            ids.append(video_id)
        except VideoError as exc:
            if on_error == "stop":
                raise
            failures.append(Failure(video_id, STAGE, str(exc)))
    return ids, paths, failures


def _run_model(job: VisualJob, model, preprocess, writers: dict[str, RowWriter], widths: dict[str, tuple],
               paths: list[Path], seconds: int, device: torch.device, stage: str = STAGE) -> dict[int, str]:
    """Write each video's rows to `writers` as soon as its `seconds` frames are done (only the
    videos a batch spans are held in memory); returns decode errors by video row (rows dropped)."""
    loader = WorkerLoader(_FrameImages(paths, preprocess), batch_size=job.batch_size, shuffle=False,
                        num_workers=job.workers, collate_fn=_collate,
                        worker_init_fn=_worker_init,
                        pin_memory=device.type == "cuda", persistent_workers=False)
    bad: dict[int, str] = {}
    pending: dict[int, dict[str, np.ndarray]] = {}   # row -> stream -> (T, ...) being filled
    done: Counter[int] = Counter()                    # row -> frames processed (good or bad)
    with torch.inference_mode(), progress(total=len(paths), desc=f"{stage} {job.backbone}",
                                          unit="frame") as bar:
        for index, images, errors in loader:
            for k, err in errors:
                if job.on_error == "stop":
                    raise VideoError(f"{stage}: {err}")
                bad.setdefault(k // seconds, err)
                done[k // seconds] += 1
            if images is not None:
                with autocast(device, job.precision):
                    out = model(images.to(device, non_blocking=True))
                out = {name: out[name].float().cpu().numpy() for name in writers}
                for j, k in enumerate(index.tolist()):
                    row, step = divmod(k, seconds)
                    buffers = pending.setdefault(row, {name: np.zeros((seconds, *widths[name]), np.float32)
                                                       for name in writers})
                    for name in writers:
                        buffers[name][step] = out[name][j]
                    done[row] += 1
            for row in [r for r, count in done.items() if count == seconds]:
                buffers = pending.pop(row, None)
                del done[row]
                for name, writer in writers.items():
                    if row in bad or buffers is None:
                        writer.drop(row)
                    else:
                        writer.write(row, buffers[name])
            bar.update(len(index) + len(errors))
    return bad


def extract_visual(job: VisualJob) -> bool:
    """Run the job; returns False when complete outputs were already there (nothing done)."""
    if job.on_error not in ON_ERROR_CHOICES:
        raise ExtractError(f"on_error must be one of {ON_ERROR_CHOICES}, got {job.on_error!r}")
    if job.batch_size < 1 or job.workers < 0:
        raise ExtractError(f"batch size must be >= 1 and workers >= 0, got {job.batch_size}, {job.workers}")
    if not job.force and outputs_complete(job):
        return False
    remove_path(failures_path(job.out))  # an earlier, killed attempt's list must not outlive it
    if job.patch_out is not None:
        remove_path(failures_path(job.patch_out))
    shard = read_frames_shard(job.frames)
    device = choose_device(job.device)
    autocast(device, job.precision)  # reject an impossible precision before the slow model build
    model, preprocess, spec = create_visual_backbone(job.backbone, job.weights, job.seed,
                                                     job.weights_dir, device)
    if job.patch_out is not None and not spec.patch_tokens:
        raise ExtractError(f"backbone {job.backbone!r} has no patch tokens; drop --patch-out")

    ids, paths, failures = _frame_list(shard, job.on_error)
    n, T = len(ids), shard.seconds
    lengths = [shard.lengths[v] for v in ids]
    common: dict[str, Any] = dict(
        backbone=spec.name, dim=spec.dim, fps=1.0, seconds=T, weights=model.weights_info,
        preprocessing={**preprocess.describe(), "frames": shard.params})
    extra = {"precision": job.precision}
    outputs = {STREAM_POOLED: (job.out, (spec.dim,), StoreMeta(stream=STREAM_POOLED, extra=extra, **common))}
    if job.patch_out is not None:
        outputs[STREAM_PATCH] = (job.patch_out, (spec.patch_tokens, spec.dim),
                                 StoreMeta(stream=STREAM_PATCH, extra={**extra, "patch_tokens": spec.patch_tokens},
                                           **common))
    with contextlib.ExitStack() as stack:
        writers = {name: stack.enter_context(store_writer(path, (n, T, *width), ids, lengths, meta))
                   for name, (path, width, meta) in outputs.items()}
        bad = _run_model(job, model, preprocess, writers, {k: v[1] for k, v in outputs.items()}, paths, T, device)
    failures += [Failure(ids[i], STAGE, err) for i, err in sorted(bad.items())]
    # Written last: a failures manifest beside the stores marks the job as complete. The patch store
    # gets its own copy, so that it can be merged on its own (the workflow's visual_patch shards).
    if job.patch_out is not None:
        write_failures(failures_path(job.patch_out), [*shard.failures, *failures])
    write_failures(failures_path(job.out), [*shard.failures, *failures])
    return True
