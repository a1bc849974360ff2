"""Verbs `mcd train` and `mcd predict`: thin wrappers over mcd_core.training.loop and mcd_core.scoring.predict."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mcd_core.cli.annotations import add_format_argument
from mcd_core.cli.progress_args import add_progress_argument, announce_of
from mcd_core.cli.values import at_least
from mcd_core.common.liveness import marked_running

log = logging.getLogger(__name__)


def run_train(args: argparse.Namespace) -> int:
    from mcd_core.data.inputs import parse_input_flags
    from mcd_core.training.config import resolve_train_config, split_overrides
    from mcd_core.training.files import RunFiles, train_from_files

    model_overrides, train_overrides = split_overrides(args.set, args.variant)
    flags = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "lr_step": args.lr_step,
             "lr_gamma": args.lr_gamma, "stride": args.stride, "device": args.device,
             "workers": args.workers, "seed": args.seed, "eval_batch_size": args.eval_batch_size,
             "compile": "step" if args.compile else None}
    train_cfg = resolve_train_config(args.variant, flags, train_overrides)
    files = RunFiles(train=args.train, val=args.val, vocab=args.vocab, audio=args.audio, visual=args.visual,
                     test=args.test, format=args.format, inputs=parse_input_flags(args.input),
                     init_from=args.init_from)
    with marked_running(args.out_dir):  # process.json: `mcd status` tells a killed run from a live one
        result = train_from_files(files, args.variant, args.out_dir, train_cfg, model_overrides,
                                  resume=args.resume, threads=args.threads, announce=announce_of(args))
    verb = "already finished" if result.skipped else "finished"
    log.info("%s %s: best epoch %d, val accuracy %.2f %%", verb, args.out_dir, result.best_epoch,
             result.best_val_acc)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from mcd_core.data.inputs import parse_input_flags
    from mcd_core.scoring.predict import predict_file

    acc = predict_file(args.checkpoint, args.annotations, args.vocab, args.audio, args.visual, args.out,
                       batch_size=args.batch_size, device=args.device, workers=args.workers,
                       fmt=args.format, inputs=parse_input_flags(args.input))
    log.info("wrote %s: accuracy %.2f %%", args.out, acc)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train an MCD variant, a Table II baseline or a peer model (AVST, PSTP-Net, TSPM) on feature stores")
    p.add_argument("--train", type=Path, required=True, help="training annotations (json)")
    p.add_argument("--val", type=Path, required=True, help="validation annotations: picks best.pt")
    p.add_argument("--test", type=Path, help="test annotations, scored every epoch for the curves")
    p.add_argument("--vocab", type=Path, required=True, help="vocab.json written by `mcd vocab`")
    p.add_argument("--audio", type=Path, help="audio feature store (.zarr); optional for q_only")
    p.add_argument("--visual", type=Path, help="visual feature store (.zarr); optional for q_only")
    p.add_argument("--input", action="append", default=[], metavar="KEY=PATH",
                   help="an extra feature store the variant's architecture reads (AVST, PSTP-Net, TSPM; "
                        "`mcd variants` lists their keys), repeatable")
    p.add_argument("--variant", default="mcd", help="registered variant (`mcd variants` lists them)")
    p.add_argument("--init-from", type=Path, metavar="BEST_PT",
                   help="start from the weights of this run's best.pt that the model shares by name "
                        "(required by a two-stage variant: avst starts from an avst_grounding run)")
    p.add_argument("--seed", type=int, help="training seed (default 0)")
    p.add_argument("--out-dir", type=Path, required=True, help="run directory (checkpoints, metrics, curves)")
    p.add_argument("--epochs", type=int, help="training epochs (default: the variant's recipe)")
    p.add_argument("--batch-size", type=int, help="batch size (default: the variant's recipe)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default: the variant's recipe)")
    p.add_argument("--lr-step", type=int, help="decay the lr every N epochs")
    p.add_argument("--lr-gamma", type=float, help="lr decay factor")
    p.add_argument("--stride", type=int, help="use every N-th second of the features")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"),
                   help="auto: CUDA when present (default: auto, or the resumed run's)")
    p.add_argument("--workers", type=int, help="DataLoader worker processes")
    p.add_argument("--eval-batch-size", type=at_least(1),
                   help="questions per forward pass of the val/test evaluation (default 256; any size "
                        "gives the same predictions)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile each training step's forward pass and loss (CUDA graphs on CUDA; "
                        "= --set compile=step)")
    p.add_argument("--gpu-share", type=at_least(1), default=1, metavar="N",
                   help="let N training jobs share one GPU: this job claims one of the GPU's N slots "
                        "(mcd_core/common/gpus.py; the workflow's training.gpu_share)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT_DIR/last.pt when it was written with the same config and "
                        "inputs (else train afresh); rewrites best.pt, metrics.csv and curves.png first")
    p.add_argument("--threads", type=int,
                   help="CPU threads (default: those the resumed run began with, else torch's default; "
                        "CPU results are bit-identical only at the same count)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a field of the variant's model config or of TrainConfig (repeatable)")
    add_format_argument(p)
    add_progress_argument(p, "one line per epoch: loss, val accuracy, time so far, ETA")
    p.set_defaults(func=run_train, uses_gpu=True)

    p = subparsers.add_parser("predict", help="write a checkpoint's predictions on an annotation file")
    p.add_argument("--checkpoint", type=Path, required=True, help="best.pt of a run")
    p.add_argument("--annotations", type=Path, required=True, help="annotation JSON to predict")
    p.add_argument("--vocab", type=Path, required=True, help="the vocab.json the run was trained with")
    p.add_argument("--audio", type=Path, help="audio feature store (.zarr) the run was trained on")
    p.add_argument("--visual", type=Path, help="visual feature store (.zarr) the run was trained on")
    p.add_argument("--input", action="append", default=[], metavar="KEY=PATH",
                   help="an extra feature store the run's architecture reads, as given to `mcd train`, repeatable")
    p.add_argument("--out", type=Path, required=True, help="predictions CSV")
    p.add_argument("--batch-size", type=at_least(1), default=256, help="questions per forward pass")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CUDA when present")
    p.add_argument("--workers", type=at_least(0), default=0, help="DataLoader worker processes")
    add_format_argument(p)
    p.set_defaults(func=run_predict, uses_gpu=True)
