"""Experiment tables: our rows as mean ± sd over seeds, beside the paper's row and the difference.

Input: per experiment row, one score table (`mcd score`) per seed. Output CSV columns:
`method, variant, paper_row, n_seeds, seeds`, then for every taxonomy column its mean and `<col>_sd`
(sample standard deviation, n - 1; empty with one seed), the 95 % bootstrap interval `<col>_lo`,
`<col>_hi` of each group average and the overall and `p_mcnemar_vs_mcd` (`uncertainty.py`: over
questions, pooled per seed; empty where the rows' predictions were not given), any model-card
columns, then for every
column the paper's table reports `paper_<col>` and `diff_<col>` (ours minus the paper's), then the
provenance columns (annotations, backbones, weights) and `notes`; a last row `N` holds the question
counts. The markdown and HTML show the paper's columns as `mean ± sd [lo, hi] | paper | Δ` and the
full per-type breakdown, and mark with † the rows whose difference from MCD is not significant.
"""

from __future__ import annotations

import csv
import html
import io
import math
import statistics
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from mcd_core.data.formats.base import Taxonomy
from mcd_core.scoring.experiments import Experiment, paper_columns, read_paper_results
from mcd_core.scoring.mdhtml import STYLE
from mcd_core.scoring.metrics import MUSIC_AVQA_TAXONOMY
from mcd_core.scoring.tables import N_ROW, ScoreTable, TableError, interval_text, md_row, sd_column
from mcd_core.scoring.uncertainty import (LEGEND, NOT_SIGNIFICANT, P_COLUMN, ALPHA, Run, format_p, interval_keys,
                                          lo_hi, row_intervals)

PROVENANCE = ("annotations", "visual_backbone", "audio_backbone", "weights")
CARD_COLUMNS = ("params_plain_m", "params_thop_m", "macs_g")


def mean_sd(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (n - 1); sd is None for a single value."""
    if not values:
        raise ValueError("mean_sd of no values")
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def _num(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


@dataclass
class SeedRow:
    label: str
    variant: str
    paper_row: str | None
    seeds: list[str]
    mean: dict[str, float | None]
    sd: dict[str, float | None]
    provenance: dict[str, str]
    notes: list[str] = field(default_factory=list)
    card: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float] | None] = field(default_factory=dict)  # 95 %, percent
    runs: list[tuple[str, Run]] = field(default_factory=list)   # (seed, per-question answers)
    p: float | None = None                                     # exact McNemar against MCD's row

    @property
    def not_significant(self) -> bool:
        return self.p is not None and self.p >= ALPHA

    @property
    def shown_label(self) -> str:
        return f"{self.label} {NOT_SIGNIFICANT}" if self.not_significant else self.label


def aggregate(label: str, variant: str, paper_row: str | None, tables: Sequence[tuple[str, ScoreTable]],
              taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> SeedRow:
    """One experiment row from its per-seed score tables (each with its file name for messages)."""
    if not tables:
        raise TableError(f"row {label!r}: no score tables")
    rows = []
    for name, table in tables:
        if len(table.rows) != 1:
            raise TableError(f"{name}: expected one method row per seed, found {len(table.rows)}")
        rows.append(table.rows[0])
    mean, sd = {}, {}
    for col in taxonomy.keys:
        values = [_num(r.get(col, "")) for r in rows]
        present = [v for v in values if v is not None]
        if present and len(present) != len(values):
            raise TableError(f"row {label!r}: column {col} is empty in some seeds' tables only")
        mean[col], sd[col] = mean_sd(present) if present else (None, None)
    seeds = [r.get("seed", "") for r in rows]
    notes = []
    if len(rows) == 1:
        notes.append("deterministic, no seed" if not seeds[0] else "1 seed: no spread")
    provenance = {k: rows[0].get(k, "") for k in PROVENANCE}
    for key in PROVENANCE:
        if len({r.get(key, "") for r in rows}) > 1:
            raise TableError(f"row {label!r}: the seeds' tables differ in {key}")
    notes += sorted({r["notes"] for r in rows if r.get("notes")})
    intervals = {}
    if len(rows) == 1:  # one run: the interval its score table gives (`mcd score`)
        for col in interval_keys(taxonomy):
            lo, hi = (_num(rows[0].get(c, "")) for c in lo_hi(col))
            intervals[col] = None if lo is None or hi is None else (lo, hi)
    return SeedRow(label, variant, paper_row, seeds, mean, sd, provenance, notes, intervals=intervals)


def add_runs(row: SeedRow, runs: Sequence[Run], taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> None:
    """Give a row its runs' per-question answers (one per seed, in the order of its score tables):
    the interval over questions, pooled per seed, replaces the score tables'."""
    if len(runs) != len(row.seeds):
        raise TableError(f"row {row.label!r}: {len(runs)} predictions files for {len(row.seeds)} score tables")
    row.runs = list(zip(row.seeds, runs))
    row.intervals = row_intervals(list(runs), taxonomy)


def published_row(label: str, variant: str, paper_row: str | None, note: str = "",
                  taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> SeedRow:
    """A row with the paper's numbers only (a method not trained here): no seeds, no values of ours."""
    empty = {c: None for c in taxonomy.keys}
    return SeedRow(label, variant, paper_row, [], dict(empty), dict(empty), {k: "" for k in PROVENANCE},
                   [note] if note else [])


def add_tests(rows: Sequence[SeedRow], reference_variant: str = "mcd") -> None:
    """Each row with runs gets its p-value against the `reference_variant` row on the same visual
    backbone (Table IV pairs each peer with MCD on its backbone), else the first such row."""
    from mcd_core.scoring.uncertainty import p_versus

    refs = [r for r in rows if r.variant == reference_variant and r.runs]
    for row in rows:
        if not row.runs or row.variant == reference_variant or not refs:
            continue
        same = [r for r in refs if r.provenance.get("visual_backbone") == row.provenance.get("visual_backbone")]
        row.p = p_versus(row.runs, (same or refs)[0].runs)


def _fmt(value: float | None) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def _fmt_diff(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


@dataclass
class ExperimentTable:
    experiment: Experiment
    rows: list[SeedRow]
    counts: dict[str, str]
    paper: dict[tuple[str, str], dict[str, str]]
    paper_cols: list[str]
    notes: list[str]
    taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY

    def paper_value(self, row: SeedRow, col: str) -> float | None:
        if row.paper_row is None:
            return None
        return _num(self.paper.get((self.experiment.paper_table, row.paper_row), {}).get(col, ""))

    def diff(self, row: SeedRow, col: str) -> float | None:
        ours, paper = row.mean.get(col), self.paper_value(row, col)
        return None if ours is None or paper is None else ours - paper

    @property
    def compared(self) -> list[str]:
        """Paper columns we also measure (accuracy columns of the taxonomy)."""
        return [c for c in self.paper_cols if c in self.taxonomy.keys]

    @property
    def card_columns(self) -> list[str]:
        return [c for c in CARD_COLUMNS if any(c in r.card for r in self.rows)]


def build_table(experiment: Experiment, rows: list[SeedRow], counts: Mapping[str, str],
                notes: Sequence[str] = (), taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> ExperimentTable:
    paper = read_paper_results()
    known = {row for table, row in paper if table == experiment.paper_table}
    for row in rows:
        if row.paper_row is not None and row.paper_row not in known:
            raise TableError(f"{experiment.name}: paper row {row.paper_row!r} is not in table "
                             f"{experiment.paper_table} of the paper's numbers")
    all_notes = [*([experiment.note] if experiment.note else []), *notes]
    return ExperimentTable(experiment, rows, dict(counts), paper,
                           paper_columns(experiment.paper_table, paper), all_notes, taxonomy)


def table_csv(t: ExperimentTable) -> str:
    keys = t.taxonomy.keys
    columns = ["method", "variant", "paper_row", "n_seeds", "seeds"]
    for c in keys:
        columns += [c, sd_column(c)]
    columns += [name for c in interval_keys(t.taxonomy) for name in lo_hi(c)] + [P_COLUMN]
    columns += t.card_columns
    for c in t.paper_cols:
        columns += [f"paper_{c}"] + ([f"diff_{c}"] if c in keys else [])
    columns += [*PROVENANCE, "notes"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for r in t.rows:
        cells = {"method": r.label, "variant": r.variant, "paper_row": r.paper_row or "",
                 "n_seeds": str(len(r.seeds)), "seeds": " ".join(s for s in r.seeds if s),
                 **r.provenance, "notes": "; ".join(r.notes)}
        for c in keys:
            cells[c], cells[sd_column(c)] = _fmt(r.mean[c]), _fmt(r.sd[c])
        for c, bounds in r.intervals.items():
            cells.update(zip(lo_hi(c), (_fmt(b) for b in bounds or (None, None))))
        cells[P_COLUMN] = format_p(r.p)
        cells.update({c: f"{r.card[c]:.3f}" for c in t.card_columns if c in r.card})
        for c in t.paper_cols:
            paper = t.paper.get((t.experiment.paper_table, r.paper_row), {}).get(c, "") if r.paper_row else ""
            cells[f"paper_{c}"] = paper
            if c in keys:
                cells[f"diff_{c}"] = _fmt_diff(t.diff(r, c))
        writer.writerow(cells)
    writer.writerow({"method": N_ROW, **{c: t.counts.get(c, "") for c in keys}})
    return out.getvalue()


def _cell(r: SeedRow, col: str) -> str:
    mean, sd = r.mean.get(col), r.sd.get(col)
    if mean is None:
        return ""
    cell = f"{mean:.2f} ± {sd:.2f}" if sd is not None else f"{mean:.2f}"
    return cell + interval_text(*(r.intervals.get(col) or (None, None)))


def _header(t: ExperimentTable, col: str) -> str:
    headers = dict(zip(t.taxonomy.keys, t.taxonomy.headers))
    return headers.get(col, col)


def _grids(t: ExperimentTable) -> list[tuple[str, list[str], list[list[str]]]]:
    """(caption, header, rows) of each grid shown: comparison, model card, per-type breakdown."""
    grids = []
    head = ["Method", "seeds"]
    for c in t.compared:
        head += [f"{_header(t, c)} ours", "paper", "Δ"]
    body = []
    for r in t.rows:
        line = [r.shown_label, str(len(r.seeds))]
        for c in t.compared:
            line += [_cell(r, c), _fmt(t.paper_value(r, c)), _fmt_diff(t.diff(r, c))]
        body.append(line)
    grids.append((f"Ours (mean ± sd over seeds [95 % interval]) beside the paper's Table "
                  f"{t.experiment.paper_table}", head, body))
    if t.card_columns:
        extra = [c for c in t.paper_cols if c not in t.taxonomy.keys]
        head = ["Method", *t.card_columns, *(f"paper {c}" for c in extra)]
        body = [[r.label, *(f"{r.card[c]:.3f}" if c in r.card else "" for c in t.card_columns),
                 *(t.paper.get((t.experiment.paper_table, r.paper_row), {}).get(c, "") if r.paper_row else ""
                   for c in extra)] for r in t.rows]
        grids.append(("Parameters (M) and MACs (G) per question", head, body))
    head = ["Method", *t.taxonomy.headers]
    body = [[r.shown_label, *(_cell(r, c) for c in t.taxonomy.keys)] for r in t.rows]
    body.append([N_ROW, *(t.counts.get(c, "") for c in t.taxonomy.keys)])
    grids.append(("Per question type (mean ± sd over seeds; N = questions)", head, body))
    return grids


def _all_notes(t: ExperimentTable) -> list[str]:
    notes = list(t.notes)
    if any(r.intervals for r in t.rows):
        notes.append(f"{LEGEND}; a row of several seeds is bootstrapped over questions pooled per seed, "
                     f"and its p is the largest of its seeds' tests against MCD's run of the same seed")
    tested = [f"{r.label} {format_p(r.p)}" for r in t.rows if r.p is not None]
    if tested:
        notes.append(f"p ({P_COLUMN}): {', '.join(tested)}")
    provenance = {r.label: ", ".join(f"{k} {r.provenance[k]}" for k in PROVENANCE if r.provenance.get(k))
                  for r in t.rows if any(r.provenance.values())}
    if len(set(provenance.values())) == 1:
        notes.append(next(iter(provenance.values())))
    else:
        notes += [f"{label}: {text}" for label, text in provenance.items()]
    single = "1 seed: no spread"
    if all(single in r.notes for r in t.rows if r.variant != "prior" and r.seeds):
        notes.append("every trained row has 1 seed: no spread (list several in training.seeds for mean ± sd)")
        notes += [f"{r.label}: {'; '.join(n for n in r.notes if n != single)}" for r in t.rows
                  if any(n != single for n in r.notes)]
    else:
        notes += [f"{r.label}: {'; '.join(r.notes)}" for r in t.rows if r.notes]
    return notes


def table_markdown(t: ExperimentTable, title: str) -> str:
    lines = [f"# {title}", ""]
    for caption, head, body in _grids(t):
        lines += [f"{caption}:", "", md_row(head), md_row(["---", *["---:"] * (len(head) - 1)])]
        lines += [md_row(line) for line in body] + [""]
    lines += ["Accuracy in percent; averages and Overall are weighted by question count (N); "
              "sd is the sample standard deviation over seeds; Δ = ours - paper.", "", "Notes:", ""]
    lines += [f"- {n}" for n in _all_notes(t)] + [""]
    return "\n".join(lines)


def table_html(t: ExperimentTable, title: str) -> str:
    """A self-contained HTML page of the same grids and notes (the report shows it inline)."""
    esc = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>", esc(title), "</title><style>",
             STYLE, "</style></head><body>", f"<h2>{esc(title)}</h2>"]
    for caption, head, body in _grids(t):
        parts.append(f"<table><caption>{esc(caption)}</caption><tr>")
        parts += [f"<th>{esc(h)}</th>" for h in head]
        parts.append("</tr>")
        for line in body:
            parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in line) + "</tr>")
        parts.append("</table>")
    parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in _all_notes(t)) + "</ul></body></html>")
    return "".join(parts)
