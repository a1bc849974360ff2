"""Verb `mcd status RESULTS/DATASET`: the pipeline's runs and shards, from the files it wrote."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def run_status(args: argparse.Namespace) -> int:
    from mcd_core.workflow.status import as_json, as_text, pipeline_status

    status = pipeline_status(args.results)
    try:
        print(as_json(status) if args.json else as_text(status), flush=True)
    except BrokenPipeError:  # `mcd status ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("status", help="where a dataset's pipeline stands: runs and shards",
                              description="List, from the files the pipeline writes under RESULTS "
                                          "(results/<dataset>), its training runs as finished (best val "
                                          "and test accuracy), running (epoch k/K, ETA from the epoch "
                                          "times in metrics.csv) or failed (the log's last line), and "
                                          "each per-shard stage's shards as done, failed, running or "
                                          "missing (docs/progress.md). Reads files only; needs no Snakemake.")
    p.add_argument("results", type=Path, metavar="RESULTS", help="a dataset's results folder, e.g. results/demo")
    p.add_argument("--json", action="store_true", help="print the status as JSON instead of tables")
    p.set_defaults(func=run_status)
