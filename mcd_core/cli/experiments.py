"""Verbs of the paper's experiment suite: `mcd paper-table` (Tables II, IV, VI-X with mean ± sd over
seeds beside the paper's numbers), `mcd fig5b` and `mcd paper-plan` (runs needed, cost estimate)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mcd_core.cli.annotations import add_format_argument
from mcd_core.cli.errors import UserError

log = logging.getLogger(__name__)


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UserError(f"{flag} expects ROW_KEY=PATH, got {item!r}")
        pairs.append((key, value))
    return pairs


def _experiment(name: str):
    from mcd_core.scoring.experiments import get_experiment

    try:
        return get_experiment(name)
    except KeyError as exc:
        raise UserError(exc.args[0]) from None


def _card(checkpoint: str, seconds: int) -> dict[str, float]:
    """Parameters (plain, thop convention) and MACs per question of a run's model."""
    from mcd_core.scoring.modelcard import example_batch, plain_params, profile
    from mcd_core.scoring.predict import load_checkpoint

    # weights_only=True (read_checkpoint): a best.pt from elsewhere cannot run code; a bad one is
    # one CheckpointError line naming it.
    model, _, _ = load_checkpoint(checkpoint, "cpu")
    thop, macs = profile(model, example_batch(model.cfg, seconds))
    return {"params_plain_m": plain_params(model) / 1e6, "params_thop_m": thop / 1e6, "macs_g": macs / 1e9}


def _peer_card(variant: str) -> dict[str, float]:
    """Parameters and MACs of our peer model `variant` at its released config, untrained."""
    from mcd_core.scoring.peercard import peer_card

    (row,) = peer_card((variant,))
    return {"params_plain_m": row.params_plain_m, "params_thop_m": row.params_thop_m, "macs_g": row.macs_g}


def run_paper_table(args: argparse.Namespace) -> int:
    from mcd_core.common.atomic import write_text
    from mcd_core.data.formats import get_format
    from mcd_core.scoring.experiments import PRIOR, backbone_note
    from mcd_core.scoring.figures import bar_chart
    from mcd_core.scoring.seedtables import (add_runs, add_tests, aggregate, build_table, published_row,
                                             table_csv, table_html, table_markdown)
    from mcd_core.scoring.uncertainty import read_run
    from mcd_core.scoring.tables import read_score_table

    experiment = _experiment(args.experiment)
    taxonomy = get_format(args.format).taxonomy
    scores: dict[str, list[str]] = {}
    for key, path in _pairs(args.scores, "--scores"):
        scores.setdefault(key, []).append(path)
    checkpoints = dict(_pairs(args.checkpoint, "--checkpoint"))
    predictions: dict[str, list[str]] = {}
    for key, path in _pairs(args.predictions, "--predictions"):
        predictions.setdefault(key, []).append(path)
    known = {row.key for row in experiment.rows}
    unknown = sorted((set(scores) | set(checkpoints) | set(predictions)) - known)
    if unknown:
        raise UserError(f"{experiment.name} has no row(s) {unknown}; its rows: {sorted(known)}")
    rows, counts, notes = [], None, list(args.note)
    for row in experiment.rows:
        if not row.trained and row.variant != PRIOR:   # published numbers only
            rows.append(published_row(row.label, row.variant, row.paper_row, row.note, taxonomy))
            if row.card_only and experiment.model_card:
                rows[-1].card = _peer_card(row.variant)
            continue
        if row.key not in scores:
            if row.optional:
                continue   # a peer's row the dataset does not train
            raise UserError(f"{experiment.name}: no --scores for row {row.key!r}")
        tables = [(p, read_score_table(p, taxonomy)) for p in scores[row.key]]
        seed_row = aggregate(row.label, row.variant, row.paper_row, tables, taxonomy)
        if row.note:
            seed_row.notes.insert(0, row.note)
        if predictions:
            if len(predictions.get(row.key, [])) != len(scores[row.key]):
                raise UserError(f"{experiment.name}: row {row.key!r} has {len(scores[row.key])} --scores and "
                                f"{len(predictions.get(row.key, []))} --predictions; give one per seed, in the same order")
            add_runs(seed_row, [read_run(p) for p in predictions[row.key]], taxonomy)
        if experiment.model_card:
            if row.key not in checkpoints:
                raise UserError(f"{experiment.name}: no --checkpoint for row {row.key!r}")
            seed_row.card = _card(checkpoints[row.key], args.seconds)
        rows.append(seed_row)
        row_counts = tables[0][1].counts
        if counts is None:
            counts = row_counts
        elif any(row_counts.get(c) != counts.get(c) for c in taxonomy.keys):
            notes.append(f"{row.label}: question counts (N) differ from the first row's")
    settings = sorted({(r.provenance["visual_backbone"], r.provenance["weights"]) for r in rows
                       if r.provenance.get("visual_backbone")})
    for visual, weights in settings:
        if experiment.name != "table4" or weights != "pretrained":
            note = backbone_note(visual, weights)
            if note not in notes:
                notes.append(note)
    add_tests(rows)
    table = build_table(experiment, rows, counts or {}, notes, taxonomy)
    title = f"{experiment.title}: {args.dataset}" if args.dataset else experiment.title
    write_text(args.out, table_csv(table))
    write_text(args.md, table_markdown(table, title))
    if args.html:
        write_text(args.html, table_html(table, title))
    if args.bars:
        bar_chart(table, args.bars, title)
    print(table_csv(table), end="")
    return 0


def run_fig5b(args: argparse.Namespace) -> int:
    from mcd_core.scoring.figures import fig5b, read_metrics

    experiment = _experiment("fig5b")
    metrics: dict[str, list[str]] = {}
    for key, path in _pairs(args.metrics, "--metrics"):
        metrics.setdefault(key, []).append(path)
    labels = {row.key: row.label for row in experiment.rows}
    missing = sorted(set(labels) - set(metrics))
    if missing or set(metrics) - set(labels):
        raise UserError(f"fig5b needs --metrics for exactly the rows {sorted(labels)} (missing {missing})")
    curves = {labels[key]: [read_metrics(p) for p in paths] for key, paths in metrics.items()}
    fig5b(curves, args.out, args.title, baseline=labels["mcd"])
    log.info("wrote %s", args.out)
    return 0


def run_paper_plan(args: argparse.Namespace) -> int:
    from mcd_core.common.atomic import write_text
    from mcd_core.scoring.cost import plan_text

    text = plan_text(args.experiments, args.visual, [int(s) for s in args.seeds], args.questions,
                     args.epochs, args.finished, args.variants, videos=args.videos, seconds=args.seconds,
                     audio=args.audio)
    write_text(args.out, text + "\n")
    print(text)
    return 0


def run_md_html(args: argparse.Namespace) -> int:
    from mcd_core.common.atomic import write_text
    from mcd_core.scoring.mdhtml import markdown_to_html

    write_text(args.out, markdown_to_html(Path(args.md).read_text(encoding="utf-8")))
    return 0


def run_table_bars(args: argparse.Namespace) -> int:
    from mcd_core.data.formats import get_format
    from mcd_core.scoring.figures import score_table_bars
    from mcd_core.scoring.tables import read_score_table

    taxonomy = get_format(args.format).taxonomy
    table = read_score_table(args.csv, taxonomy)
    plotted = score_table_bars(table, args.out, args.title, taxonomy)
    log.info("wrote %s (%d bars)", args.out, sum(map(len, plotted.values())))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("paper-table", help="one of the paper's tables (II, IV, VI-X): mean ± sd over "
                                                  "seeds beside the paper's numbers")
    p.add_argument("--experiment", required=True, help="table2, table4, table6 ... table10")
    p.add_argument("--scores", nargs="+", action="extend", default=[], metavar="ROW_KEY=SCORES.csv",
                   help="a row's score table of one seed (`mcd score`); repeat per seed")
    p.add_argument("--predictions", nargs="+", action="extend", default=[], metavar="ROW_KEY=PREDICTIONS.csv",
                   help="a row's predictions CSV of one seed, in the order of its --scores: 95 %% intervals "
                        "pooled over seeds and exact McNemar p-values against MCD")
    p.add_argument("--checkpoint", nargs="+", action="extend", default=[], metavar="ROW_KEY=best.pt",
                   help="a row's checkpoint, for parameters and MACs (table8)")
    p.add_argument("--seconds", type=int, default=60, help="time steps T for the MACs (table8)")
    p.add_argument("--dataset", default="", help="dataset name for the title")
    p.add_argument("--note", nargs="+", action="extend", default=[], help="notes for the table")
    p.add_argument("--out", type=Path, required=True, help="table CSV")
    p.add_argument("--md", type=Path, required=True, help="markdown table")
    p.add_argument("--html", type=Path, help="HTML table (shown by the Snakemake report)")
    p.add_argument("--bars", type=Path, help="PNG: per-column bars of ours against the paper's")
    add_format_argument(p)
    p.set_defaults(func=run_paper_table)

    p = subparsers.add_parser("fig5b", help="Fig. 5(b): val/test accuracy per epoch, late fusion vs MCD")
    p.add_argument("--metrics", nargs="+", action="extend", default=[], metavar="ROW_KEY=metrics.csv",
                   help="a run's metrics.csv (`mcd train`); repeat per seed")
    p.add_argument("--title", default="Fig. 5(b): late fusion against MCD", help="figure title")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    p.set_defaults(func=run_fig5b)

    p = subparsers.add_parser("md-html", help="a markdown table (table3.md) as an HTML page for the report")
    p.add_argument("--md", type=Path, required=True, help="markdown table to convert")
    p.add_argument("--out", type=Path, required=True, help="file to write")
    p.set_defaults(func=run_md_html)

    p = subparsers.add_parser("table-bars", help="a score table (table3.csv, table5.csv) as per-group bars "
                                                 "with 95 %% intervals, for the report")
    p.add_argument("--csv", type=Path, required=True, help="score table written by `mcd table`")
    p.add_argument("--title", default="", help="figure title")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")
    add_format_argument(p)
    p.set_defaults(func=run_table_bars)

    p = subparsers.add_parser("paper-plan", help="training runs the paper's suite needs, and their cost")
    p.add_argument("--experiments", nargs="+", required=True, help="tables and figures to plan (table2 ... fig5b)")
    p.add_argument("--visual", required=True, help="the dataset's configured visual backbone")
    p.add_argument("--seeds", nargs="+", required=True, help="training seeds of every run")
    p.add_argument("--questions", type=int, nargs=3, metavar=("TRAIN", "VAL", "TEST"),
                   help="questions of the train, val and test files (omit while unknown)")
    p.add_argument("--epochs", type=int, required=True, help="epochs per run (for the cost estimate)")
    p.add_argument("--finished", type=int, default=0, help="runs already finished")
    p.add_argument("--variants", nargs="*", default=[],
                   help="the dataset's training.variants: peer rows (avst, pstp_net) are planned when named")
    p.add_argument("--videos", type=int, help="videos whose features are extracted (for the cost estimate)")
    p.add_argument("--seconds", type=int, help="seconds (T) of each video (for the cost estimate)")
    p.add_argument("--audio", default="vggish", help="the dataset's audio backbone (for the cost estimate)")
    p.add_argument("--out", type=Path, required=True, help="file to write")
    p.set_defaults(func=run_paper_plan)
