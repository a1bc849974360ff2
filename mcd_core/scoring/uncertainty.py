"""Uncertainty of a table row: 95 % bootstrap intervals over questions and the exact McNemar test.

- Interval: percentile bootstrap over the questions of a column (overall and each group average),
  `RESAMPLES` resamples with a fixed seed, so a table is the same on every run. A row of several
  seeds (a `mean` row) is bootstrapped "pooled per seed": each question's correctness is its mean
  over the seeds, and the questions are resampled; the interval is then about which questions were
  asked, while the seed sd beside it is about training.
- Paired test: exact two-sided McNemar (a binomial test on the discordant questions) of a run
  against MCD's run on the questions both answered. A row of several seeds is tested seed by seed
  against MCD's run of the same seed (a single run, e.g. the prior, against each); its p-value is
  the largest, so "significant" means significant for every seed.

Per-question correctness comes from predictions CSVs (`mcd predict`, `mcd prior`: their `correct`
column), keyed by (question id, occurrence) so that the duplicated ids of the original json/ files
pair up in file order.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from typing import Mapping, Sequence

import numpy as np

from mcd_core.common.textfiles import read_text_file
from mcd_core.data.formats.base import Taxonomy
from mcd_core.data.questions import Question
from mcd_core.scoring.errors import TableError

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95
ALPHA = 0.05                       # differences with p >= ALPHA are marked not significant
P_COLUMN = "p_mcnemar_vs_mcd"
NOT_SIGNIFICANT = "†"
LEGEND = (f"{NOT_SIGNIFICANT}: the difference from MCD's row is not significant at {ALPHA} (exact "
          f"McNemar test on the questions both answered; p in column {P_COLUMN}); [lo, hi] is the 95 % "
          f"bootstrap interval over questions ({RESAMPLES} resamples, seed {SEED})")

Key = tuple[int, int]              # (question id, how many times the id came before in the file)
TypeKey = tuple[str, str]          # (modality, question type)
Run = dict[Key, tuple[bool, TypeKey]]  # one run's answers: question -> (correct, type)


def lo_hi(column: str) -> tuple[str, str]:
    return f"{column}_lo", f"{column}_hi"


def interval_keys(taxonomy: Taxonomy) -> tuple[str, ...]:
    """The columns that get an interval: every group average and the overall (not single types)."""
    return tuple(c.key for c in taxonomy.columns if c.types is None or len(c.types) > 1)


def interval_columns(taxonomy: Taxonomy) -> list[str]:
    return [name for key in interval_keys(taxonomy) for name in lo_hi(key)]


def bootstrap_interval(correct: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED,
                       level: float = LEVEL) -> tuple[float, float] | None:
    """Percentile interval (percent) of the mean of `correct`: shape (questions,) of 0/1, or
    (seeds, questions) pooled per seed. None for no question."""
    values = np.asarray(correct, dtype=float)
    if values.ndim == 2:
        values = values.mean(axis=0)
    if values.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 256):  # bounded memory for 9k questions
        stop = min(resamples, start + 256)
        means[start:stop] = values[rng.integers(0, values.size, (stop - start, values.size))].mean(axis=1)
    tail = (1.0 - level) / 2
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return 100.0 * float(lo), 100.0 * float(hi)


def column_masks(types: Sequence[TypeKey], taxonomy: Taxonomy) -> dict[str, np.ndarray]:
    """For every `interval_keys` column, which of the questions (given by type) it counts."""
    groups = {c.key: c.types for c in taxonomy.columns}
    return {key: np.array([groups[key] is None or t in groups[key] for t in types], dtype=bool)
            for key in interval_keys(taxonomy)}


def row_intervals(runs: Sequence[Run], taxonomy: Taxonomy, resamples: int = RESAMPLES
                  ) -> dict[str, tuple[float, float] | None]:
    """Interval of every `interval_keys` column of a row of one or several runs (seeds), over the
    questions every run answered, pooled per seed."""
    if not runs:
        return dict.fromkeys(interval_keys(taxonomy))
    keys = [k for k in runs[0] if all(k in r for r in runs[1:])]
    matrix = np.array([[r[k][0] for k in keys] for r in runs], dtype=float).reshape(len(runs), len(keys))
    masks = column_masks([runs[0][k][1] for k in keys], taxonomy)
    return {key: bootstrap_interval(matrix[:, mask], resamples) for key, mask in masks.items()}


def run_of(questions: Sequence[Question], correct: Sequence[bool]) -> Run:
    """A run from scored questions and their correctness, in question order."""
    run: Run = {}
    for q, ok in zip(questions, correct):
        run[_key(run, q.question_id)] = (bool(ok), (q.modality, q.qtype))
    return run


def _key(seen: Mapping[Key, object], qid: int) -> Key:
    n = 0
    while (qid, n) in seen:
        n += 1
    return qid, n


def interval_cells(intervals: Mapping[str, tuple[float, float] | None]) -> dict[str, str]:
    cells = {}
    for key, bounds in intervals.items():
        lo, hi = lo_hi(key)
        cells[lo], cells[hi] = ("", "") if bounds is None else (f"{bounds[0]:.2f}", f"{bounds[1]:.2f}")
    return cells


def mcnemar_exact(a: Sequence[bool], b: Sequence[bool]) -> tuple[int, int, float]:
    """(b, c, p): questions only `a` got right, only `b` got right, and the exact two-sided p-value
    2 * P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), capped at 1 (1 with no discordant pair)."""
    a, b_ = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b_.shape:
        raise ValueError("McNemar needs the two rows' answers to the same questions")
    only_a, only_b = int(np.sum(a & ~b_)), int(np.sum(~a & b_))
    n = only_a + only_b
    if n == 0:
        return only_a, only_b, 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1))  # exact integers
    return only_a, only_b, min(1.0, 2 * tail / 2 ** n)


def paired(x: Run, y: Run) -> tuple[list[bool], list[bool]]:
    """Correctness of two runs on the questions both answered."""
    shared = [k for k in x if k in y]
    return [x[k][0] for k in shared], [y[k][0] for k in shared]


def p_versus(runs: Sequence[tuple[str, Run]], reference: Sequence[tuple[str, Run]]) -> float | None:
    """The row's p-value against MCD's: runs are (seed, run); runs pair with MCD's run of the same
    seed, a row with no such seed (the prior) pairs a single run with every run of the other side;
    the largest p of the pairs (None: no pair shares a question)."""
    ref = dict(reference)
    pairs = [(r, ref[seed]) for seed, r in runs if seed in ref]
    if not pairs and (len(runs) == 1 or len(reference) == 1):
        pairs = [(r, m) for _, r in runs for _, m in reference]
    ps = [mcnemar_exact(*paired(r, m))[2] for r, m in pairs if any(k in m for k in r)]
    return max(ps) if ps else None


SEED_ROW = re.compile(r"^(?P<method>.+) (seed=\S+|mean)$")


def base_method(method: str) -> str:
    """`MCD seed=1` and `MCD mean` -> `MCD`."""
    match = SEED_ROW.match(method)
    return match["method"] if match else method


def annotate_rows(rows: Sequence[dict[str, str]], runs: Mapping[str, Sequence[tuple[str, Run]]],
                  taxonomy: Taxonomy, reference: str = "MCD") -> None:
    """Fill each row's missing intervals and its p-value against `reference`'s rows. `runs`: method
    -> (seed, run) of the per-run rows; a `<method> mean` row gets the runs of its seeds' rows."""
    runs = dict(runs)
    for row in rows:
        method = row["method"]
        if method.endswith(" mean") and method not in runs:
            parts = [runs.get(f"{method[:-5]} seed={s}") for s in row.get("seed", "").split()]
            if parts and all(parts):
                runs[method] = [run for part in parts for run in part]
    ref = max((runs[r["method"]] for r in rows if base_method(r["method"]) == reference and r["method"] in runs),
              key=len, default=None)
    for row in rows:
        own = runs.get(row["method"])
        if not own:
            continue
        if not any(row.get(c) for c in interval_columns(taxonomy)):
            row.update(interval_cells(row_intervals([r for _, r in own], taxonomy)))
        if ref is not None and base_method(row["method"]) != reference:
            row[P_COLUMN] = format_p(p_versus(own, ref))


def format_p(p: float | None) -> str:
    return "" if p is None else f"{p:.3g}"


def significant(p_text: str) -> bool | None:
    """From a p-value cell: True/False, None where the row has no test."""
    return None if p_text in ("", None) else float(p_text) < ALPHA


def read_run(path: str | os.PathLike, questions: Sequence[Question] | None = None) -> Run:
    """A predictions CSV as a run: its `correct` (0/1) and `type` columns (as `mcd predict` and
    `mcd prior` write them), or, where they are missing, prediction == answer and the type of
    `questions` (the annotations it was made for; their questions without a prediction are left out)."""
    with io.StringIO(read_text_file(path, "predictions file", TableError), newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        rows = list(reader)
    own = "correct" in header and "type" in header
    if "question_id" not in header or not (own or (questions is not None and "prediction" in header)):
        raise TableError(f"{path}: needs columns question_id, correct and type (as `mcd predict` and "
                         f"`mcd prior` write them), or question_id and prediction with the annotations "
                         f"(--test)")
    truth = run_of(questions, [True] * len(questions)) if not own and questions is not None else {}
    answers = {}
    for q in questions or ():
        answers[_key(answers, q.question_id)] = q.answer
    run: Run = {}
    for line, row in enumerate(rows, start=2):
        try:
            key = _key(run, int((row["question_id"] or "").strip()))
        except ValueError:
            raise TableError(f"{path}: line {line}: column 'question_id' is not an integer") from None
        if own:
            if row["correct"] not in ("0", "1"):
                raise TableError(f"{path}: line {line}: column 'correct' is not 0 or 1: {row['correct']!r}")
            modality, _, qtype = (row["type"] or "").partition("/")
            run[key] = (row["correct"] == "1", (modality, qtype))
        elif key in truth:
            run[key] = (row["prediction"] == answers[key], truth[key][1])
    return run
