"""Verbs of the visual feature stage: `mcd extract-visual` and `mcd merge` (shard stores -> one)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from mcd_core.cli.backbone_args import add_backbone_arguments
from mcd_core.cli.progress_args import add_progress_argument, announce_done, shard_report
from mcd_core.cli.values import at_least

log = logging.getLogger(__name__)

# Clip (3D) backbones read the videos at their native frame rate, not the 1-fps frames.
_CLIP_BACKBONES = ("resnext101_3d_kinetics",)


def run_extract_clips(args: argparse.Namespace) -> int:
    from mcd_core.features.extract_clips import ClipJob, extract_clips

    missing = [flag for flag, value in (("--videos", args.videos), ("--ids-file", args.ids_file),
                                        ("--seconds", args.seconds)) if value is None]
    if missing or args.frames is not None or args.patch_out is not None:
        raise SystemExit(f"mcd extract-visual: error: clip backbone {args.backbone!r} reads the videos: give "
                         f"--videos, --ids-file and --seconds (not --frames or --patch-out)")
    job = ClipJob(videos=args.videos, ids_file=args.ids_file, seconds=args.seconds, backbone=args.backbone,
                  out=args.out, weights=args.weights, seed=args.seed, weights_dir=args.weights_dir,
                  device=args.device, precision=args.precision, batch_size=args.batch_size,
                  workers=args.workers, on_error=args.on_error, force=args.force)
    with shard_report(args, "visual", args.out, args.backbone) as state:
        state["complete"] = not extract_clips(job)
    if not state["complete"]:
        log.info("wrote %s", args.out)
    else:
        log.info("%s is complete; nothing to do (--force redoes it)", args.out)
    return 0


def run_extract_visual(args: argparse.Namespace) -> int:
    from mcd_core.features.backbones.motion import is_clip_backbone
    from mcd_core.features.extract_visual import VisualJob, extract_visual

    if is_clip_backbone(args.backbone):
        return run_extract_clips(args)
    if args.frames is None:
        raise SystemExit(f"mcd extract-visual: error: backbone {args.backbone!r} reads 1-fps frames: give --frames")
    job = VisualJob(frames=args.frames, backbone=args.backbone, out=args.out, weights=args.weights,
                    seed=args.seed, weights_dir=args.weights_dir, device=args.device,
                    precision=args.precision, batch_size=args.batch_size, workers=args.workers,
                    patch_out=args.patch_out, on_error=args.on_error, force=args.force)
    with shard_report(args, "visual_patch" if args.patch_out else "visual", args.patch_out or args.out,
                      args.backbone) as state:
        state["complete"] = not extract_visual(job)
    if not state["complete"]:
        log.info("wrote %s%s", args.out, f" and {args.patch_out}" if args.patch_out else "")
    else:
        log.info("%s is complete; nothing to do (--force redoes it)", args.out)
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from mcd_core.features.merge import failures_path, merge_shards

    began = time.perf_counter()
    out, failures = merge_shards(args.parts, args.out)
    log.info("wrote %s from %d shards; %d failed videos listed in %s", out, len(args.parts),
             len(failures), failures_path(out))
    from mcd_core.features.store import row_names

    announce_done(args, "merge", out, lambda: f"{len(row_names(out)[0])} videos from {len(args.parts)} shards, "
                                              f"{len(failures)} failed", began)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("extract-visual", help="visual features of a frames shard",
                              description="Run a visual backbone over the frames of one shard (--frames) "
                                          "and write its feature store(s). A clip (3D) backbone "
                                          f"({', '.join(_CLIP_BACKBONES)}) decodes the shard's videos at "
                                          "their native frame rate instead (--videos, --ids-file, --seconds).")
    p.add_argument("--frames", type=Path, default=None, help="frames shard folder (manifest.json)")
    p.add_argument("--videos", type=Path, default=None, help="clip backbones: folder of the video files")
    p.add_argument("--ids-file", type=Path, default=None, help="clip backbones: the shard list")
    p.add_argument("--seconds", type=at_least(1), default=None, help="clip backbones: T, seconds read per video")
    p.add_argument("--backbone", required=True,
                   help="resnet18, resnext101_32x8d, clip_vit_b32, clip_vit_l14_336, swinv2_large, "
                        "resnext101_3d_kinetics")
    add_backbone_arguments(p)
    p.add_argument("--batch-size", type=at_least(1), default=64, help="frames (clip backbones: clips) per forward pass")
    p.add_argument("--workers", type=at_least(0), default=2,
                   help="JPEG decoding processes (0: none); clip backbones: videos decoded at a time")
    p.add_argument("--out", type=Path, required=True, help="store of stream 'visual' (.zarr)")
    p.add_argument("--patch-out", type=Path, default=None,
                   help="store of stream 'visual_patch' (backbones with patch tokens)")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="stop at the first bad video, or leave it out and list it")
    p.add_argument("--force", action="store_true", help="redo even when the outputs are complete")
    add_progress_argument(p, "one line when the shard is done")
    p.set_defaults(func=run_extract_visual, uses_gpu=True)

    m = subparsers.add_parser("merge", help="merge shard stores into one store",
                              description="Concatenate shard feature stores and gather their "
                                          "failure lists into <out>.failures.json.")
    m.add_argument("--parts", type=Path, nargs="+", required=True, help="shard stores, in order")
    m.add_argument("--out", type=Path, required=True, help="merged store (.zarr)")
    add_progress_argument(m, "one line when the store is merged")
    m.set_defaults(func=run_merge)
