"""The options every backbone-running verb shares (extract-visual, extract-audio, extract-tokens,
extract-text): which weights, the random-init seed, where weight files are, which device, which
precision. Kept literal (not read from the registries) so that `mcd --help` does not import torch."""

from __future__ import annotations

import argparse
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "fp16")


def add_backbone_arguments(p: argparse.ArgumentParser, precision: bool = True) -> None:
    p.add_argument("--weights", choices=("pretrained", "random-init"), required=True,
                   help="load the backbone's weights file, or build it randomly from --seed")
    p.add_argument("--seed", type=int, default=0, help="torch seed set before building the network")
    p.add_argument("--weights-dir", type=Path, default=None,
                   help="folder of weight files (default $MCD_WEIGHTS_DIR or resources/weights)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA when present")
    if precision:
        p.add_argument("--precision", choices=PRECISIONS, default="fp32", help="fp16 needs CUDA")
