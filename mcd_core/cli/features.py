"""Verb `mcd features`: feature stores of any videos, no annotations (mcd_core/features/anyvideos.py)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mcd_core.cli.backbone_args import add_backbone_arguments
from mcd_core.cli.values import at_least

log = logging.getLogger(__name__)

# Kept literal so that `mcd --help` does not import torch.
_AUDIO_BACKBONES = ("vggish", "panns_cnn14", "panns_cnn14_32k")

DESCRIPTION = """\
Feature stores of any videos, without annotations, in one command: the pipeline's own stages
(1-fps centre frames, T s of mono audio, VGGish log-mel, the backbones) and its store format.

Inputs: video files, folders (every video file below them) and text files listing video paths (one
a line, '#' lines skipped, relative paths read from the list's folder). A video's id is its file
stem. Videos shorter than T are padded (the store's `lengths` says how many seconds are real),
longer ones cut at T. Bad files (unreadable, no picture) are skipped, listed at the end and in
<out stem>.failures.json; files without sound are kept with silence (the audio store's no_audio
flag). Outputs: the visual store at --out and, with --audio, the audio store <out stem>.audio.zarr
beside it, both holding the same videos. Nothing is under those names until the run is done.
See docs/extract-any-videos.md.
"""


def run_features(args: argparse.Namespace) -> int:
    from mcd_core.features.anyvideos import FeaturesJob, extract_any, summary_lines

    job = FeaturesJob(inputs=args.inputs, backbone=args.backbone, out=args.out, audio=args.audio,
                      weights=args.weights, seed=args.seed, seconds=args.seconds,
                      frame_short_side=args.frame_short_side or None, weights_dir=args.weights_dir,
                      device=args.device, precision=args.precision, batch_size=args.batch_size,
                      workers=args.workers)
    result = extract_any(job)
    print("\n".join(summary_lines(result, args.seconds)), flush=True)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("features", help="feature stores of any videos (no annotations)",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", type=Path, metavar="VIDEO_OR_DIR",
                   help="video files, folders of videos, or text files listing video paths")
    p.add_argument("--backbone", required=True,
                   help="visual backbone: resnet18, resnext101_32x8d, clip_vit_b32, clip_vit_l14_336, swinv2_large")
    p.add_argument("--audio", choices=_AUDIO_BACKBONES, default=None,
                   help="audio backbone; also writes <out stem>.audio.zarr (default: visual only)")
    add_backbone_arguments(p)
    for action in p._actions:  # --weights: optional here, pretrained unless asked otherwise
        if action.dest == "weights":
            action.required, action.default = False, "pretrained"
            action.help += " (default: pretrained)"
    p.add_argument("--seconds", type=at_least(1), default=60,
                   help="T, seconds read per video: shorter ones padded, longer ones cut (default 60, "
                        "MUSIC-AVQA's)")
    p.add_argument("--frame-short-side", type=at_least(0), default=360,
                   help="short side of the sampled frames in pixels (0: keep the video's size)")
    p.add_argument("--batch-size", type=at_least(1), default=64, help="frames per forward pass")
    p.add_argument("--workers", type=at_least(0), default=2,
                   help="videos decoded at a time, and JPEG decoding processes (0: none)")
    p.add_argument("--out", type=Path, required=True, help="visual feature store to write (.zarr)")
    p.set_defaults(func=run_features, uses_gpu=True)
