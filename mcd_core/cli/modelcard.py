"""Verb `mcd modelcard`: Table VIII parameters and compute for N = 1, 2, 3 association blocks (with
`--parts`, also per part of the model under each counting convention), or (`--peers`) of the peer
models AVST, PSTP-Net and TSPM."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def run_modelcard(args: argparse.Namespace) -> int:
    if args.peers:
        from mcd_core.scoring.modelcard import write_card
        from mcd_core.scoring.peercard import peer_card

        peers = peer_card()
        write_card(args.out, peers, decimals=6)
        for r in peers:
            log.info("%s: params %.3f M plain, %.3f M thop-style (released code %.3f M, paper %.3f M); "
                     "%.3f GMACs (paper %.3f G)", r.variant, r.params_plain_m, r.params_thop_m,
                     r.released_thop_m, r.paper_params_m, r.macs_g, r.paper_flops_g)
        return 0
    from mcd_core.scoring.modelcard import model_card, write_card

    rows = model_card(seconds=args.seconds, visual_dim=args.visual_dim, audio_dim=args.audio_dim,
                      n_answers=args.answers)
    write_card(args.out, rows)
    log.info("visual input %d-d: %s", rows[0].visual_dim, rows[0].setting)
    for r in rows:
        log.info("N=%d: params %.3f M plain, %.3f M thop-style (paper %.3f M); %.3f GMACs (paper %.3f G)",
                 r.n_blocks, r.params_plain_m, r.params_thop_m, r.paper_params_m, r.macs_g, r.paper_flops_g)
    if args.parts:
        _write_parts(args)
    return 0


def _write_parts(args: argparse.Namespace) -> None:
    """The per-part card (CSV) and, printed, its N = 1 parts and each convention beside the paper."""
    from mcd_core.scoring.cardparts import CONVENTIONS, conventions, paper_fixed_and_step, part_card
    from mcd_core.scoring.modelcard import PAPER_TABLE_VIII, write_card

    parts = part_card(seconds=args.seconds, visual_dim=args.visual_dim, audio_dim=args.audio_dim,
                      n_answers=args.answers)
    write_card(args.parts, parts, decimals=6)
    print(f"parameters (M) per part, N = 1, visual input {args.visual_dim}-d:")
    print(f"{'part':<14}" + "".join(f"{c:>24}" for c in CONVENTIONS))
    for r in parts:
        if r.n_blocks == parts[0].n_blocks:
            print(f"{r.part:<14}" + "".join(f"{getattr(r, f'params_{c}_m'):>24.3f}" for c in CONVENTIONS))
    fixed, step = paper_fixed_and_step()
    print(f"\n{'convention':<24}{'N=1':>8}{'N=2':>8}{'N=3':>8}{'fixed':>8}{'block':>8}")
    print(f"{'paper (Table VIII)':<24}" + "".join(f"{PAPER_TABLE_VIII[n][0]:>8.3f}" for n in (1, 2, 3))
          + f"{fixed:>8.3f}{step:>8.3f}")
    for c in conventions(parts):
        print(f"{c.convention:<24}" + "".join(f"{c.totals_m.get(n, float('nan')):>8.3f}" for n in (1, 2, 3))
              + f"{c.fixed_m:>8.3f}{c.step_m:>8.3f}")


def register(subparsers) -> None:
    p = subparsers.add_parser("modelcard", help="parameters and MACs of MCD for N = 1, 2, 3 (Table VIII)")
    p.add_argument("--out", type=Path, required=True, help="CSV to write")
    p.add_argument("--peers", action="store_true",
                   help="the peer models' card instead (AVST, PSTP-Net, TSPM on their released input "
                        "shapes, beside their papers' figures); the other options do not apply")
    p.add_argument("--seconds", type=int, default=60, help="time steps T (MUSIC-AVQA: 60)")
    p.add_argument("--visual-dim", type=int, default=1536,
                   help="visual feature width (default 1536: Swin-V2-L, the model of the paper's Table "
                        "VIII N = 2 row; 512 for ResNet-18 or CLIP ViT-B/32)")
    p.add_argument("--audio-dim", type=int, default=128, help="audio feature width D (vggish: 128)")
    p.add_argument("--answers", type=int, default=42, help="answer vocabulary size (MUSIC-AVQA: 42)")
    p.add_argument("--parts", type=Path,
                   help="also write the card per part (question encoder, projections, each block, "
                        "aggregator, fusion, head, Theta) under each counting convention to this CSV, "
                        "and print it beside the paper's Table VIII (docs/table8.md)")
    p.set_defaults(func=run_modelcard)
