"""`mcd weights fetch|import|list|check`: obtain and verify the pretrained weights of every backbone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

def _names(args: argparse.Namespace) -> list[str]:
    from mcd_core.features.backbones.weights import list_sources

    return args.names or [s.name for s in list_sources()]


def run_fetch(args: argparse.Namespace) -> int:
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import fetch

    load_all_registries()
    for name in _names(args):
        path = fetch(name, args.weights_dir, force=args.force)
        print(f"{name}: {path}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from mcd_core.features.backbones.registry import check_fits, load_all_registries
    from mcd_core.features.backbones.weights import import_file

    load_all_registries()
    path = import_file(args.name, args.file, args.weights_dir, check=check_fits)
    print(f"{args.name}: {path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import list_sources, weights_file

    load_all_registries()
    for src in list_sources():
        present = "present" if weights_file(src.name, args.weights_dir).is_file() else "missing"
        print(f"{src.name:20s} {present:8s} {src.filename}  <- {src.url}  {src.note}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from mcd_core.features.backbones.registry import load_all_registries
    from mcd_core.features.backbones.weights import WeightsError, verify_file

    load_all_registries()
    bad = 0
    for name in _names(args):
        try:
            path, digest = verify_file(name, args.weights_dir)
            print(f"{name}: ok {path} sha256 {digest}")
        except WeightsError as exc:
            bad += 1
            print(f"{name}: {exc}", file=sys.stderr)
    return 1 if bad else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("weights", help="fetch, import, list and check pretrained weights",
                              description="Pretrained weights of the backbones, kept in "
                                          "resources/weights (or $MCD_WEIGHTS_DIR / --weights-dir).")
    sub = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True)
    actions = (
        ("fetch", run_fetch, "download weights from the libraries' hubs or release URLs (needs internet)"),
        ("import", run_import, "store a weights file you downloaded yourself, checking that its keys and shapes "
                               "fit the network (and its sha256 where one is registered)"),
        ("list", run_list, "registered weights, their file names and whether they are here"),
        ("check", run_check, "verify files against their sha256"),
    )
    for name, func, helptext in actions:
        s = sub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:] + ".")
        s.add_argument("--weights-dir", type=Path, default=None,
                       help="folder of weight files (default: $MCD_WEIGHTS_DIR, else resources/weights)")
        if name in ("fetch", "check"):
            s.add_argument("names", nargs="*", help="weight source names (default: all)")
        if name == "import":
            s.add_argument("name", help="weight source name (see `mcd weights list`)")
            s.add_argument("file", type=Path, help="the downloaded file (the release file, or the "
                                                   "library's checkpoint: .pth/.bin/.safetensors)")
        if name == "fetch":
            s.add_argument("--force", action="store_true", help="fetch again even if present")
        s.set_defaults(func=func)
