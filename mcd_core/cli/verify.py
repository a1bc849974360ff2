"""Verb `mcd verify STORE...`: recompute each store's chunk checksums against its manifest."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_verify(args: argparse.Namespace) -> int:
    from mcd_core.features.errors import StoreError
    from mcd_core.features.verify import record_store, verify_store

    bad, chunks = 0, 0
    for path in args.stores:
        try:
            recorded = record_store(path) if args.record else None
            if recorded is not None:
                print(f"{path}: manifest recorded ({recorded} chunks, trusted as they are now)")
            verdict = verify_store(path)
        except StoreError as exc:
            print(exc)
            bad += 1
            continue
        if not verdict.recorded:
            print(f"{path}: no manifest (written before manifests were recorded), cannot be verified; "
                  f"re-extract it, or run `mcd verify --record {path}` if you trust it as it is")
        for line in verdict.damaged:
            print(line)
        bad += not verdict.ok
        chunks += verdict.checked
    if bad:
        print(f"damaged or unverifiable: {bad} of {len(args.stores)} stores; re-extract them (docs/reliability.md)")
        return 1
    print(f"ok: {len(args.stores)} stores, {chunks} chunks match their checksums")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="check feature stores' chunks against their recorded checksums",
                              description="Recompute the checksum of every chunk of each store and compare it "
                                          "with the store's manifest.json: one line per missing, truncated or "
                                          "garbled chunk, naming store, array, chunk and the videos it holds. "
                                          "Exit status 1 when any store is damaged or has no manifest.")
    p.add_argument("stores", nargs="+", type=Path, metavar="STORE", help="feature store (.zarr)")
    p.add_argument("--record", action="store_true",
                   help="first record a manifest for stores that have none (written by an older version), "
                        "trusting their chunks as they are now; stores with one are only verified")
    p.set_defaults(func=run_verify)
