"""Verbs on annotations and results: `mcd vocab`, `mcd prior`, `mcd score`, `mcd table`, `mcd carve`."""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from mcd_core.cli.errors import UserError

log = logging.getLogger(__name__)

META_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_meta(items: list[str], columns: tuple[str, ...] = ()) -> dict[str, str]:
    """`key=value` strings -> dict; keys are lower-case identifiers and not a table column."""
    if not columns:
        from mcd_core.scoring.metrics import COLUMNS as columns

    meta: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not META_KEY.match(key) or key in ("method", *columns):
            raise UserError(f"--meta expects key=value with a lower-case key that is not a table "
                            f"column, got {item!r}")
        if key in meta:
            raise UserError(f"--meta key {key!r} given twice")
        meta[key] = value
    return meta


def run_vocab(args: argparse.Namespace) -> int:
    from mcd_core.data.formats import get_format
    from mcd_core.data.vocab import Vocab

    vocab = Vocab.from_questions(get_format(args.format).load(args.train).questions, get_format(args.format).type_words)
    vocab.save(args.out)
    log.info("wrote %s: %d words, %d text-object words, %d answers", args.out, len(vocab.words),
             len(vocab.object_words), len(vocab.answers))
    return 0


def run_prior(args: argparse.Namespace) -> int:
    from mcd_core.data.formats import get_format
    from mcd_core.scoring.metrics import score
    from mcd_core.scoring.prior import choice_prior_note, fit_choice_prior, fit_prior
    from mcd_core.scoring.tables import write_predictions

    fmt = get_format(args.format)
    train = fmt.load(args.train).questions
    test = fmt.load(args.test).questions
    if fmt.answer_kind == "choice":  # the option most often right per question template
        prior = fit_choice_prior(train)
        log.info("%s", choice_prior_note(prior, test))
    else:
        prior = fit_prior(train, key=args.key)
    predictions = {q.question_id: prior.predict(q) for q in test}
    write_predictions(args.out, test, predictions)
    total = fmt.taxonomy.columns[-1].key
    log.info("wrote %s: %d predictions, accuracy %.2f %%", args.out, len(test),
             score(test, predictions, taxonomy=fmt.taxonomy).accuracy[total] or 0.0)
    return 0


def run_score(args: argparse.Namespace) -> int:
    from mcd_core.common.atomic import write_text
    from mcd_core.data.formats import get_format
    from mcd_core.data.vocab import Vocab
    from mcd_core.scoring.tables import score_predictions, table_csv

    fmt = get_format(args.format)
    vocab = Vocab.load(args.vocab) if args.vocab else None
    table = score_predictions(fmt.load(args.annotations), args.predictions,
                              name=args.name or Path(args.predictions).stem,
                              meta=parse_meta(args.meta, fmt.taxonomy.keys),
                              failure_manifests=args.exclude_videos, vocab=vocab, taxonomy=fmt.taxonomy)
    text = table_csv(table)
    write_text(args.out, text)
    print(text, end="")
    return 0


def run_table(args: argparse.Namespace) -> int:
    from mcd_core.common.atomic import write_text
    from mcd_core.data.formats import get_format
    from mcd_core.scoring.seedmeans import add_seed_means
    from mcd_core.scoring.tables import (add_columns, read_score_table, split_notes, stack_tables, table_csv,
                                         table_markdown, uncertainty_columns)

    fmt = get_format(args.format)
    taxonomy = fmt.taxonomy
    splits = {name: fmt.load(path) for name in ("train", "val", "test")
              if (path := getattr(args, name)) is not None}
    notes = [*args.note, *split_notes(splits)]
    if fmt.answer_kind == "choice" and "train" in splits and "test" in splits:
        from mcd_core.scoring.prior import choice_prior_note, fit_choice_prior

        notes.append(choice_prior_note(fit_choice_prior(splits["train"].questions), splits["test"].questions))
    if args.paper_rows and args.paper_rows != args.format:
        raise UserError(f"--paper-rows {args.paper_rows} are rows of format {args.paper_rows!r}, not {args.format!r}")
    tables = [(path, read_score_table(path, taxonomy)) for path in args.rows]
    table = stack_tables(tables, notes=notes, taxonomy=taxonomy)
    add_seed_means(table, taxonomy)  # `<method> mean` rows where several seeds were trained
    if args.store:  # per stream: imported (file, sha256) or extracted (backbone, weights)
        from mcd_core.scoring.provenance import feature_sources

        stores = dict(item.partition("=")[::2] for item in args.store)
        source_notes, cell = feature_sources(stores)
        table.source_notes += source_notes
        for row in table.rows:
            row["features"] = cell
        at = table.columns.index("notes") if "notes" in table.columns else len(table.columns)
        table.columns.insert(at, "features")
    if args.predictions:  # per-question answers: intervals of mean rows, paired tests against MCD
        from mcd_core.scoring.uncertainty import annotate_rows, read_run

        if len(args.predictions) != len(args.rows):
            raise UserError(f"--predictions gives {len(args.predictions)} files for {len(args.rows)} --rows; "
                            f"give one predictions CSV per score table, in the same order")
        runs = {}
        questions = splits["test"].questions if "test" in splits else None
        for (path, part), predictions in zip(tables, args.predictions):
            if len(part.rows) != 1:
                raise UserError(f"{path}: --predictions needs score tables of one row each")
            runs[part.rows[0]["method"]] = [(part.rows[0].get("seed", ""), read_run(predictions, questions))]
        add_columns(table, uncertainty_columns(taxonomy), taxonomy)
        annotate_rows(table.rows, runs, taxonomy)
        if not any(r.get("p_mcnemar_vs_mcd") for r in table.rows):
            table.source_notes.append("no MCD row among the rows: no paired tests" if "MCD" not in runs else
                                      "no run beside MCD's: no paired tests")
    if args.paper_rows:  # published rows beside ours (not counted in our N row)
        from mcd_core.scoring.paperrows import add_paper_rows, table3_notes

        add_columns(table, add_paper_rows(table.rows, args.paper_rows, taxonomy), taxonomy)
        table.source_notes += table3_notes() if args.paper_rows == "music_avqa" else [
            "rows marked (AVQA paper) / (MCD paper) are published numbers on the official val split, not "
            "runs of this pipeline; ensemble_havf is Table V's 'Ensemble HAVF' mark; diff_ columns: ours - "
            "the published row named in paper_row"]
    write_text(args.out, table_csv(table))
    write_text(args.md, table_markdown(table, args.title, taxonomy))
    print(table_csv(table), end="")
    return 0


def add_format_argument(p) -> None:
    from mcd_core.data.formats.base import FORMATS

    p.add_argument("--format", default="music_avqa",
                   help=f"dataset format of the annotations (default: %(default)s; "
                        f"registered: {', '.join(FORMATS) or 'music_avqa'})")


def run_carve(args: argparse.Namespace) -> int:
    from mcd_core.data.formats import get_format

    fmt = get_format(args.format)
    if fmt.carve is None:
        raise UserError(f"format {args.format!r} has its own validation file; nothing to carve")
    fmt.carve(args.source, args.train_out, args.val_out, args.val_questions, args.seed)
    log.info("wrote %s and %s (validation carved from %s)", args.train_out, args.val_out, args.source)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("carve", help="carve a validation split from a training file (avqa)",
                              description="Write two carve files (train part, val part) of a training "
                                          "annotation file; the format documents the rule (avqa: whole "
                                          "videos in sha256 order of '<seed>:<video_name>').")
    p.add_argument("--source", required=True, help="the training annotation file (train_qa.json)")
    p.add_argument("--train-out", required=True, help="carve file of the training part")
    p.add_argument("--val-out", required=True, help="carve file of the validation part")
    p.add_argument("--val-questions", type=int, default=2000, help="questions (at least) in validation")
    p.add_argument("--seed", type=int, default=0, help="seed of the carve's video order")
    add_format_argument(p)
    p.set_defaults(func=run_carve)

    p = subparsers.add_parser("vocab", help="build question, text-object and answer vocabularies "
                                            "from the training annotations")
    p.add_argument("--train", required=True, help="training annotation JSON")
    p.add_argument("--out", required=True, help="vocab.json to write")
    add_format_argument(p)
    p.set_defaults(func=run_vocab)

    p = subparsers.add_parser("prior", help="answer-prior baseline: most frequent training answer "
                                            "per question template")
    p.add_argument("--train", required=True, help="annotation JSON the prior is fitted on")
    p.add_argument("--test", required=True, help="annotation JSON to predict")
    p.add_argument("--out", required=True, help="predictions CSV to write")
    p.add_argument("--key", choices=("template", "question"), default="template",
                   help="group by question template (default) or by the filled question")
    add_format_argument(p)
    p.set_defaults(func=run_prior)

    p = subparsers.add_parser("score", help="per-question-type accuracy of a predictions CSV")
    p.add_argument("--annotations", required=True, help="annotation JSON the predictions are for")
    p.add_argument("--predictions", required=True, help="CSV with columns question_id, prediction")
    p.add_argument("--out", required=True, help="score table CSV to write")
    p.add_argument("--name", help="method name of the row (default: predictions file stem)")
    p.add_argument("--meta", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="metadata columns, e.g. seed=1 visual_backbone=clip_vit_b32")
    p.add_argument("--exclude-videos", nargs="+", action="extend", default=[], metavar="FAILURES.json",
                   help="failures manifests: their videos' questions are left out, and noted")
    p.add_argument("--vocab", help="vocab.json: count questions whose answer was unseen in training")
    add_format_argument(p)
    p.set_defaults(func=run_score)

    p = subparsers.add_parser("table", help="stack score tables into Table III (CSV and markdown); rows "
                              "'<method> seed=S' of several seeds get a '<method> mean' row (mean, <column>_sd)")
    p.add_argument("--rows", nargs="+", required=True, help="score table CSVs from `mcd score`")
    p.add_argument("--out", required=True, help="table CSV to write")
    p.add_argument("--md", required=True, help="markdown table to write")
    p.add_argument("--title", default="Per-question-type accuracy (Table III)", help="markdown title")
    p.add_argument("--note", nargs="+", action="extend", default=[], help="notes for the markdown")
    p.add_argument("--store", nargs="+", action="extend", default=[], metavar="STREAM=PATH",
                   help="the runs' feature stores: notes and a `features` column say per stream whether "
                        "they were imported (file, sha256) or extracted (backbone, weights)")
    p.add_argument("--paper-rows", choices=("music_avqa", "avqa"), help="append published rows and "
                   "ours-minus-paper diff_ columns: music_avqa = the MCD paper's Table III and TSPM's "
                   "published result; avqa = the MCD paper's Table V and HCRN(+HAVF)'s per-type results")
    p.add_argument("--predictions", nargs="+", action="extend", default=[], metavar="PREDICTIONS.csv",
                   help="the predictions CSV of each --rows score table, in the same order: 95 %% "
                        "intervals of '<method> mean' rows and exact McNemar p-values against MCD")
    for split in ("train", "val", "test"):
        p.add_argument(f"--{split}", help=f"{split} annotations: notes on question ids shared by "
                                          f"splits{' and test answers unseen in training' if split != 'val' else ''}")
    add_format_argument(p)
    p.set_defaults(func=run_table)
