"""Verbs of the peers' features: `mcd extract-tokens` (14x14 maps, ToMe tokens of a frames shard)
and `mcd extract-text` (per-question CLIP text features of questions and TSPM prompts)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from mcd_core.cli.annotations import add_format_argument
from mcd_core.cli.backbone_args import add_backbone_arguments
from mcd_core.cli.errors import UserError
from mcd_core.cli.progress_args import add_progress_argument, announce_done, shard_report
from mcd_core.cli.values import at_least
from mcd_core.features.backbones.streams import STREAM_BACKBONES, TEXT_STREAM_NAMES, token_streams

log = logging.getLogger(__name__)

# From the torch-free table, so that `mcd --help` does not import torch (tests keep it equal to the registries).
TOKEN_BACKBONES = tuple(sorted(token_streams()))
TEXT_BACKBONES = STREAM_BACKBONES["text_sentence"]
TEXT_STREAMS = TEXT_STREAM_NAMES


def run_extract_tokens(args: argparse.Namespace) -> int:
    from mcd_core.features.extract_tokens import TokenJob, extract_tokens

    job = TokenJob(frames=args.frames, backbone=args.backbone, out=args.out, weights=args.weights,
                   seed=args.seed, weights_dir=args.weights_dir, device=args.device,
                   precision=args.precision, batch_size=args.batch_size, workers=args.workers,
                   on_error=args.on_error, force=args.force)
    with shard_report(args, token_streams().get(args.backbone, "tokens"), args.out, args.backbone) as state:
        state["complete"] = not extract_tokens(job)
    if not state["complete"]:
        log.info("wrote %s", args.out)
    else:
        log.info("%s is complete; nothing to do (--force redoes it)", args.out)
    return 0


def _outputs(items: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in items:
        stream, sep, path = item.partition("=")
        if not sep or stream not in TEXT_STREAMS or not path:
            raise UserError(f"--out expects STREAM=PATH with STREAM one of {TEXT_STREAMS}, got {item!r}")
        if stream in out:
            raise UserError(f"--out names stream {stream!r} twice")
        out[stream] = Path(path)
    return out


def run_extract_text(args: argparse.Namespace) -> int:
    from mcd_core.data.text_stores import TextJob, extract_text

    job = TextJob(annotations=args.annotations, backbone=args.backbone, outputs=_outputs(args.out),
                  format=args.format, weights=args.weights, seed=args.seed, weights_dir=args.weights_dir,
                  device="cuda" if args.device == "cuda" else "cpu", batch_size=args.batch_size)
    if args.device == "auto":
        import torch

        job.device = "cuda" if torch.cuda.is_available() else "cpu"
    began = time.perf_counter()
    written = extract_text(job)
    for stream, path in written.items():
        log.info("wrote %s (%s)", path, stream)
    from mcd_core.features.store import row_names

    announce_done(args, "text", next(iter(written.values())), lambda: ", ".join(
        f"{stream} {len(row_names(path)[0])} questions" for stream, path in written.items()), began)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("extract-tokens", help="14x14 maps or ToMe tokens of a frames shard",
                              description="Run a token backbone (AVST's ResNet-18 14x14 maps, TSPM's "
                                          "ToMe ViT-L/16) over one frames shard and write its store.")
    p.add_argument("--frames", type=Path, required=True, help="frames shard folder (manifest.json)")
    p.add_argument("--backbone", required=True, choices=TOKEN_BACKBONES,
                   help="resnet18_14x14 (stream visual_map, AVST) or tome_vit_l16_384 (stream tome, TSPM)")
    add_backbone_arguments(p)
    p.add_argument("--batch-size", type=at_least(1), default=32, help="frames per forward pass")
    p.add_argument("--workers", type=at_least(0), default=2, help="JPEG decoding processes (0: none)")
    p.add_argument("--out", type=Path, required=True, help="the store (.zarr)")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="stop at the first bad video, or leave it out and list it")
    p.add_argument("--force", action="store_true", help="redo even when the outputs are complete")
    add_progress_argument(p, "one line when the shard is done")
    p.set_defaults(func=run_extract_tokens, uses_gpu=True)

    t = subparsers.add_parser("extract-text", help="per-question CLIP text features (questions, TSPM prompts)",
                              description="Encode the questions of the given annotation files (and/or "
                                          "their declarative prompts) with a CLIP text tower; one store "
                                          "per stream, rows keyed by question id.")
    t.add_argument("--annotations", type=Path, nargs="+", required=True, help="annotation files (all splits)")
    add_format_argument(t)
    t.add_argument("--backbone", required=True, choices=TEXT_BACKBONES,
                   help="clip_text_b32 (PSTP-Net) or clip_text_l14_336 (TSPM)")
    add_backbone_arguments(t, precision=False)
    t.add_argument("--batch-size", type=at_least(1), default=256, help="texts per forward pass")
    t.add_argument("--out", nargs="+", required=True, metavar="STREAM=PATH",
                   help=f"stores to write; STREAM one of {', '.join(TEXT_STREAMS)}")
    add_progress_argument(t, "one line when the stores are written")
    t.set_defaults(func=run_extract_text, uses_gpu=True)
