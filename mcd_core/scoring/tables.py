"""Files around scoring: predictions CSVs, failures manifests, score tables and Table III.

A score table (`mcd score`) is a CSV with a header, one row per method and a last row whose method
is `N` holding the question count per column. Columns: `method`, the 13 accuracy columns of
the format's taxonomy (`metrics.COLUMNS` for MUSIC-AVQA; percent, 2 decimals, empty where N = 0),
the 95 % bootstrap interval `<col>_lo`, `<col>_hi` of each group average and the overall
(`uncertainty.py`), the standard metadata columns `META_COLUMNS`, then any further metadata keys in
sorted order. `mcd table` stacks such files (and adds `p_mcnemar_vs_mcd` after the intervals when
it is given the rows' predictions).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from mcd_core.common.atomic import write_text
from mcd_core.common.ids import question_id_problem
from mcd_core.common.textfiles import read_text_file
from mcd_core.data.formats.base import Taxonomy
from mcd_core.data.questions import AnnotationSet, Question, cross_split_duplicates, filter_by_videos
from mcd_core.features.importers.layouts import STAGE as IMPORT_STAGE  # torch-, zarr- and h5py-free
from mcd_core.scoring.metrics import MUSIC_AVQA_TAXONOMY, ScoreResult, score
from mcd_core.scoring.errors import TableError  # noqa: F401  (raised here, imported from here by callers)
from mcd_core.scoring.uncertainty import (LEGEND, NOT_SIGNIFICANT, P_COLUMN, interval_cells, interval_columns,
                                          lo_hi, row_intervals, run_of, significant)

if TYPE_CHECKING:
    from mcd_core.data.vocab import Vocab

# Metadata columns every score table carries, in this order, after the accuracy columns.
META_COLUMNS = ("seed", "annotations", "visual_backbone", "audio_backbone", "weights", "notes")
N_ROW = "N"                      # method name of the question-count row
PREDICTION_COLUMNS = ("question_id", "video_id", "type", "answer", "prediction", "correct")



# -- predictions -----------------------------------------------------------------------------
def read_predictions(path: str | os.PathLike) -> dict[int, str]:
    """question_id -> prediction from a CSV with at least those two columns (others ignored)."""
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: predictions file not found")
    with io.StringIO(read_text_file(path, "predictions file", TableError), newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for column in ("question_id", "prediction"):
            if column not in header:
                raise TableError(f"{path}: missing column {column!r} (columns: {', '.join(header) or 'none'})")
        predictions: dict[int, str] = {}
        for line, row in enumerate(reader, start=2):
            raw = (row["question_id"] or "").strip()
            try:
                qid = int(raw)
            except ValueError:
                raise TableError(f"{path}: line {line}: column 'question_id' is not an integer: {raw!r}") from None
            problem = question_id_problem(qid)
            if problem:
                raise TableError(f"{path}: line {line}: column 'question_id' {problem}")
            prediction = row["prediction"] if row["prediction"] is not None else ""
            if qid in predictions and predictions[qid] != prediction:
                raise TableError(f"{path}: line {line}: question_id {qid} has two different predictions "
                                 f"({predictions[qid]!r}, {prediction!r})")
            predictions[qid] = prediction
    return predictions


def predictions_csv(questions: Sequence[Question], predictions: Mapping[int, str]) -> str:
    """The predictions CSV text: question_id, video_id, type, answer, prediction, correct (0/1)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PREDICTION_COLUMNS)
    for q in questions:
        prediction = predictions.get(q.question_id, "")
        writer.writerow([q.question_id, q.video_id, q.type_key, q.answer, prediction,
                         int(prediction == q.answer)])
    return out.getvalue()


def write_predictions(path: str | os.PathLike, questions: Sequence[Question],
                      predictions: Mapping[int, str]) -> None:
    write_text(path, predictions_csv(questions, predictions))


# -- failures manifests ----------------------------------------------------------------------
def read_failed_videos(path: str | os.PathLike) -> set[str]:
    """Video ids of a failures manifest: a JSON list of objects with "video_id", or {"failures": [...]}."""
    return set(read_failure_stages(path))


# The stage a missing-videos manifest gives its entries (`missing_videos: skip`): no file at all.
MISSING_VIDEO_STAGE = "videos"
_LOST_BECAUSE = {MISSING_VIDEO_STAGE: "videos without a file (missing_videos: skip)",
                 IMPORT_STAGE: "videos not imported (absent from the feature file, or a bad row: zeros, NaN, shape)"}
EXTRACTION_FAILURES = "extraction failures"


def _why_lost(videos: set[str], failed: dict[str, str]) -> str:
    """Why the videos were lost: one reason alone, else each with its count
    (`1 videos without a file (missing_videos: skip), 2 extraction failures`)."""
    counts: dict[str, int] = {}
    for video in videos:
        reason = _LOST_BECAUSE.get(failed[video], EXTRACTION_FAILURES)
        counts[reason] = counts.get(reason, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))


def read_failure_stages(path: str | os.PathLike) -> dict[str, str]:
    """Video id -> the stage it failed at (its first entry; "" where an entry names none)."""
    path = Path(path)
    try:
        data = json.loads(read_text_file(path, "failures manifest", TableError))
    except FileNotFoundError:
        raise TableError(f"{path}: failures manifest not found") from None
    except json.JSONDecodeError as exc:
        raise TableError(f"{path}: not a JSON file ({exc})") from None
    if isinstance(data, dict) and "failures" in data:
        data = data["failures"]
    if not isinstance(data, list):
        raise TableError(f"{path}: expected a list of failures or an object with key 'failures'")
    stages: dict[str, str] = {}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("video_id"), str):
            raise TableError(f"{path}: failure {i} has no string field 'video_id': {entry!r}")
        stages.setdefault(entry["video_id"], str(entry.get("stage") or ""))
    return stages


def read_failed_shards(path: str | os.PathLike) -> dict[str, int]:
    """Shards in which every video failed (`whole_shard` of a merged failures list) -> their count."""
    data = json.loads(read_text_file(path, "failures manifest", TableError))
    data = data["failures"] if isinstance(data, dict) else data
    shards: dict[str, int] = {}
    for entry in data:
        if isinstance(entry, dict) and entry.get("whole_shard"):
            shards[entry["whole_shard"]] = shards.get(entry["whole_shard"], 0) + 1
    return shards


# -- score tables ----------------------------------------------------------------------------
def format_accuracy(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


@dataclass
class ScoreTable:
    rows: list[dict[str, str]]            # one per method: column -> cell text
    counts: dict[str, str]                # the N row: column -> question count text
    columns: list[str]                    # header, in order
    source_notes: list[str] = field(default_factory=list)  # table-level notes (markdown only)


def uncertainty_columns(taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> list[str]:
    """Interval and paired-test columns, in table order (right after the accuracy columns)."""
    return [*interval_columns(taxonomy), P_COLUMN]


def table_columns(meta_keys: Iterable[str], taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> list[str]:
    meta_keys = set(meta_keys)
    stats = [c for c in uncertainty_columns(taxonomy) if c in meta_keys]
    extra = sorted(meta_keys - set(META_COLUMNS) - {"method", *taxonomy.keys, *stats})
    return ["method", *taxonomy.keys, *stats, *META_COLUMNS, *extra]


def add_columns(table: ScoreTable, names: Iterable[str], taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> None:
    """Give the table columns it lacks: interval / p-value columns after the accuracy ones, others last."""
    for name in names:
        if name in table.columns:
            continue
        if name in uncertainty_columns(taxonomy):
            order = ["method", *taxonomy.keys, *uncertainty_columns(taxonomy)]
            before = order[:order.index(name)]
            table.columns.insert(max(table.columns.index(c) for c in before if c in table.columns) + 1, name)
        else:
            table.columns.append(name)


def score_table(name: str, result: ScoreResult, meta: Mapping[str, str],
                notes: Sequence[str], taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY,
                intervals: Mapping[str, str] | None = None) -> ScoreTable:
    """One method row plus the N row. `meta` fills metadata columns; `notes` are joined with '; ';
    `intervals`: the `<col>_lo` / `<col>_hi` cells."""
    if name == N_ROW:
        raise TableError(f"method name {N_ROW!r} is reserved for the question-count row")
    row = {"method": name, **{c: format_accuracy(result.accuracy[c]) for c in taxonomy.keys}}
    row.update(intervals or {})
    row.update({k: str(v) for k, v in meta.items() if k != "notes"})
    row["notes"] = "; ".join([*([meta["notes"]] if meta.get("notes") else []), *notes])
    counts = {"method": N_ROW, **{c: str(result.counts[c]) for c in taxonomy.keys}}
    return ScoreTable(rows=[row], counts=counts, columns=table_columns([*meta, *(intervals or {})], taxonomy))


def table_csv(table: ScoreTable) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=table.columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(table.rows)
    writer.writerow(table.counts)
    return out.getvalue()


def read_score_table(path: str | os.PathLike, taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> ScoreTable:
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: score table not found")
    with io.StringIO(read_text_file(path, "score table", TableError), newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        missing = [c for c in ("method", *taxonomy.keys) if c not in header]
        if missing:
            raise TableError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
    count_rows = [r for r in rows if r["method"] == N_ROW]
    if len(count_rows) != 1:
        raise TableError(f"{path}: expected exactly one row with method {N_ROW!r}, found {len(count_rows)}")
    methods = [r for r in rows if r["method"] != N_ROW]
    if not methods:
        raise TableError(f"{path}: no method rows")
    return ScoreTable(rows=methods, counts=count_rows[0], columns=header)


def stack_tables(tables: Sequence[tuple[str, ScoreTable]], notes: Sequence[str] = (),
                 taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> ScoreTable:
    """Stack method rows of several score tables (each given with its file name for messages).

    Differing N rows keep the first and add a note; a method name seen twice is an error.
    """
    if not tables:
        raise TableError("no score tables to stack")
    first_name, first = tables[0]
    rows: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    table_notes = list(notes)
    for name, table in tables:
        for row in table.rows:
            if row["method"] in seen:
                raise TableError(f"{name}: method {row['method']!r} already given by {seen[row['method']]}")
            seen[row["method"]] = name
            rows.append(row)
        differing = [c for c in taxonomy.keys if table.counts.get(c) != first.counts.get(c)]
        if differing:
            table_notes.append(f"question counts (N) of {name} differ from {first_name} in "
                               f"{', '.join(differing)}; the N row shown is {first_name}'s")
    columns = table_columns((k for _, t in tables for k in t.columns), taxonomy)
    return ScoreTable(rows=rows, counts=dict(first.counts), columns=columns, source_notes=table_notes)


def md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def sd_column(column: str) -> str:
    """The column holding the sample sd over seeds of accuracy column `column` (seedmeans, seedtables)."""
    return f"{column}_sd"


def interval_text(lo: str | float | None, hi: str | float | None) -> str:
    """` [59.0, 66.3]`, or "" where the row has no interval."""
    return "" if lo in ("", None) or hi in ("", None) else f" [{float(lo):.1f}, {float(hi):.1f}]"


def _accuracy_cell(row: Mapping[str, str], column: str) -> str:
    """The cell, with ` ± sd` where a mean-over-seeds row (`seedmeans.py`) gives one and the 95 %
    interval where the row has one."""
    sd = row.get(sd_column(column), "")
    cell = f"{row.get(column, '')} ± {sd}" if sd else row.get(column, "")
    lo, hi = lo_hi(column)
    return cell + interval_text(row.get(lo), row.get(hi))


def method_cell(row: Mapping[str, str]) -> str:
    """The method, marked where its difference from MCD is not significant."""
    return f"{row['method']} {NOT_SIGNIFICANT}" if significant(row.get(P_COLUMN, "")) is False else row["method"]


def table_markdown(table: ScoreTable, title: str, taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> str:
    """Readable table: accuracies with the N row, a metadata table, then notes as bullets."""
    keys = taxonomy.keys
    lines = [f"# {title}", "", md_row(["Method", *taxonomy.headers]),
             md_row(["---", *["---:"] * len(keys)])]
    for row in table.rows:
        lines.append(md_row([method_cell(row), *(_accuracy_cell(row, c) for c in keys)]))
    lines.append(md_row([table.counts["method"], *(table.counts.get(c, "") for c in keys)]))
    diffs = [f"diff_{c}" for c in keys]
    if any(r.get("paper_row") for r in table.rows):  # ours minus the published row (paperrows.py)
        lines += ["", "Ours - the paper's row, per column:", "", md_row(["Method", "paper row", *taxonomy.headers]),
                  md_row(["---", "---", *["---:"] * len(keys)])]
        lines += [md_row([r["method"], r["paper_row"], *(r.get(d, "") for d in diffs)])
                  for r in table.rows if r.get("paper_row")]
    hidden = ("method", "notes", "paper_row", *keys, *diffs, *map(sd_column, keys), *interval_columns(taxonomy))
    meta_columns = [c for c in table.columns if c not in hidden and any(r.get(c) for r in table.rows)]
    if meta_columns:
        lines += ["", md_row(["Method", *meta_columns]), md_row(["---"] * (len(meta_columns) + 1))]
        lines += [md_row([r["method"], *(r.get(c, "") for c in meta_columns)]) for r in table.rows]
    notes = [*table.source_notes, *(f"{r['method']}: {r['notes']}" for r in table.rows if r.get("notes"))]
    lines += ["", "Accuracy in percent; averages and Overall are weighted by question count (N).", ""]
    if any(r.get(c) for r in table.rows for c in (*interval_columns(taxonomy), P_COLUMN)):
        lines += [LEGEND + ".", ""]
    if notes:
        lines += ["Notes:", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(lines)


# -- notes on the splits of a dataset -----------------------------------------------------------
def split_notes(splits: Mapping[str, AnnotationSet]) -> list[str]:
    """Table notes on a dataset's splits (`train`, `val`, `test`): question ids shared by splits,
    and test questions whose answer no training question has (no classifier can predict them)."""
    notes = []
    shared = cross_split_duplicates(dict(splits))
    if shared:
        shown = ", ".join(f"{qid} ({'/'.join(names)})" for qid, names in list(shared.items())[:3])
        notes.append(f"{len(shared)} question ids occur in more than one split, e.g. {shown}")
    if "train" in splits and "test" in splits:
        seen = {q.answer for q in splits["train"].questions}
        unseen = [q for q in splits["test"].questions if q.answer not in seen]
        if unseen:
            examples = ", ".join(repr(a) for a in sorted({q.answer for q in unseen})[:3])
            notes.append(f"{len(unseen)} of {len(splits['test'])} test questions have an answer never "
                         f"seen in training (e.g. {examples}): they are scored wrong")
    return notes


# -- scoring one predictions file --------------------------------------------------------------
def score_predictions(annotations: AnnotationSet, predictions_path: str | os.PathLike, name: str,
                      meta: Mapping[str, str], failure_manifests: Sequence[str | os.PathLike] = (),
                      vocab: "Vocab | None" = None, taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> ScoreTable:
    """Score a predictions CSV against an annotation set; notes say what was left out or missing.

    Questions of videos listed in `failure_manifests` are left out. Prediction ids absent from the
    annotations are an error (a sign of scoring against the wrong file).
    """
    predictions = read_predictions(predictions_path)
    known = {q.question_id for q in annotations.questions}
    unknown = sorted(set(predictions) - known)
    if unknown:
        raise TableError(f"{predictions_path}: {len(unknown)} question_id(s) not in {annotations.path}, "
                         f"e.g. {unknown[:5]}")
    failed: dict[str, str] = {}
    whole: dict[str, tuple[int, list[str]]] = {}
    for manifest in failure_manifests:
        for video, stage in read_failure_stages(manifest).items():
            failed.setdefault(video, stage)
        for shard, count in read_failed_shards(manifest).items():
            n, where = whole.get(shard, (0, []))
            whole[shard] = (max(n, count), [*where, f"{Path(manifest).parent.name}/{Path(manifest).name}"])
    questions, dropped = filter_by_videos(annotations.questions, annotations.video_ids - set(failed))
    result = score(questions, predictions, vocab, taxonomy)
    intervals = interval_cells(row_intervals([run_of(questions, result.per_question)], taxonomy))

    notes = [f"every video of {shard} failed extraction ({n} videos; {', '.join(where)})"
             for shard, (n, where) in sorted(whole.items())]
    if dropped:
        lost = {q.video_id for q in dropped}
        notes.append(f"{len(lost)} videos / {len(dropped)} questions left out ({_why_lost(lost, failed)})")
    n_missing = sum(q.question_id not in predictions for q in questions)
    if n_missing:
        notes.append(f"{n_missing} questions had no prediction (scored wrong)")
    if result.unseen_answers:
        notes.append(f"{result.unseen_answers} questions have an answer unseen in training")
    if annotations.duplicates:
        notes.append(f"{len(annotations.duplicates)} duplicated question ids in the annotations "
                     f"(every copy scored)")
    meta = {"annotations": f"{annotations.path.parent.name}/{annotations.path.name}", **meta}
    return score_table(name, result, meta, notes, taxonomy, intervals)
