"""Verbs of the media and audio stages: `mcd frames`, `mcd audio`, `mcd logmel`, `mcd extract-audio`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mcd_core.cli.backbone_args import add_backbone_arguments
from mcd_core.cli.progress_args import add_progress_argument, shard_report
from mcd_core.cli.values import at_least

log = logging.getLogger(__name__)

# Kept literal (not read from the registries) so that `mcd --help` does not import torch.
_AUDIO_BACKBONES = ("vggish", "panns_cnn14", "panns_cnn14_32k")


def _summary(manifest: dict, out: Path) -> None:
    no_audio = [v for v, e in manifest["videos"].items() if e.get("no_audio")]
    log.info("%s: %d videos, %d failed%s", out, len(manifest["videos"]), len(manifest["failures"]),
             f", {len(no_audio)} without audio: {no_audio[:10]}" if no_audio else "")


def run_frames(args: argparse.Namespace) -> int:
    from mcd_core.media.shards import frames_shard
    from mcd_core.media.shardrun import read_ids

    with shard_report(args, "frames", args.out) as state:
        manifest = frames_shard(args.videos, read_ids(args.ids_file), args.seconds, args.out,
                                args.frame_short_side or None, args.on_error, args.workers)
        state["counts"] = (len(manifest["videos"]), len(manifest["failures"]))
    _summary(manifest, args.out)
    return 0


def run_audio(args: argparse.Namespace) -> int:
    from mcd_core.media.shards import audio_shard
    from mcd_core.media.shardrun import read_ids

    with shard_report(args, "wav", args.out) as state:
        manifest = audio_shard(args.videos, read_ids(args.ids_file), args.seconds, args.out,
                               args.on_error, args.workers, args.sample_rate)
        state["counts"] = (len(manifest["videos"]), len(manifest["failures"]))
    _summary(manifest, args.out)
    return 0


def run_logmel(args: argparse.Namespace) -> int:
    from mcd_core.features.logmel import logmel_shard

    with shard_report(args, "logmel", args.out):
        logmel_shard(args.audio, args.out)
    log.info("wrote %s", args.out)
    return 0


def run_extract_audio(args: argparse.Namespace) -> int:
    from mcd_core.features.extract_audio import AudioJob, extract_audio

    job = AudioJob(backbone=args.backbone, out=args.out, logmel=args.logmel, audio_dir=args.audio,
                   weights=args.weights, seed=args.seed, weights_dir=args.weights_dir,
                   device=args.device, batch_size=args.batch_size, precision=args.precision,
                   pca=args.pca, per_second=args.per_second)
    with shard_report(args, "audio", args.out, args.backbone + ("_per_second" if args.per_second else "")) as state:
        state["complete"] = not extract_audio(job)
    if not state["complete"]:
        log.info("wrote %s", args.out)
    return 0


def _shard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--videos", type=Path, required=True, help="folder of the video files")
    p.add_argument("--ids-file", type=Path, required=True, help="shard list: video ids, one a line")
    p.add_argument("--seconds", type=at_least(1), required=True, help="T, the dataset's seconds per video")
    p.add_argument("--out", type=Path, required=True, help="shard folder to write")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="stop at the first bad video, or leave it out and list it")
    p.add_argument("--workers", type=at_least(1), default=1, help="videos decoded at the same time")
    add_progress_argument(p, "one line when the shard is done")


def register(subparsers) -> None:
    p = subparsers.add_parser("frames", help="centre frame of each second of each video of a shard")
    _shard_args(p)
    p.add_argument("--frame-short-side", type=at_least(0), default=360,
                   help="short side of the saved frames in pixels (0: keep the video's size)")
    p.set_defaults(func=run_frames)

    p = subparsers.add_parser("audio", help="mono WAV (16 or 32 kHz) of exactly T s per video of a shard")
    _shard_args(p)
    p.add_argument("--sample-rate", type=int, choices=(16000, 32000), default=16000,
                   help="16000 for vggish and panns_cnn14, 32000 for panns_cnn14_32k (AVQA)")
    p.set_defaults(func=run_audio)

    p = subparsers.add_parser("logmel", help="VGGish log-mel patches of an audio shard")
    p.add_argument("--audio", type=Path, required=True, help="audio shard folder (manifest.json)")
    p.add_argument("--out", type=Path, required=True, help="store of stream 'logmel' (.zarr)")
    add_progress_argument(p, "one line when the shard is done")
    p.set_defaults(func=run_logmel)

    p = subparsers.add_parser("extract-audio", help="audio embeddings of a shard",
                              description="vggish reads --logmel, panns_cnn14 and panns_cnn14_32k read "
                                          "--audio (16 and 32 kHz audio shards).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--logmel", type=Path, help="logmel store (vggish)")
    src.add_argument("--audio", type=Path, help="audio shard folder (panns_cnn14, panns_cnn14_32k)")
    p.add_argument("--backbone", choices=_AUDIO_BACKBONES, required=True, help="audio backbone")
    add_backbone_arguments(p)
    p.add_argument("--batch-size", type=at_least(1), default=256, help="seconds per forward pass")
    p.add_argument("--pca", action="store_true",
                   help="vggish: apply the AudioSet PCA + 8-bit quantisation (needs vggish_pca)")
    p.add_argument("--per-second", action="store_true",
                   help="panns_cnn14_32k: one embedding a second (T, 2048) instead of the clip-level "
                        "(1, 2048) AVQA released")
    p.add_argument("--out", type=Path, required=True, help="store of stream 'audio' (.zarr)")
    add_progress_argument(p, "one line when the shard is done")
    p.set_defaults(func=run_extract_audio, uses_gpu=True)
