"""Figures of the experiment suite: per-type bars of ours against the paper's, per-group bars of a
score table (Table III / V: ours, the peers, the prior and the published rows), and Fig. 5(b)'s
validation and test accuracy per epoch of the late-fusion variants against MCD."""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from mcd_core.common.atomic import atomic_path
from mcd_core.common.textfiles import read_text_file
from mcd_core.data.formats.base import Taxonomy
from mcd_core.scoring.seedtables import ExperimentTable, _header


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str | os.PathLike) -> None:
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def _error(row, col: str) -> tuple[float, float]:
    """(below, above) the bar: the interval where there is one, else ± the sd (0 where neither)."""
    mean, bounds = row.mean.get(col), row.intervals.get(col)
    if mean is not None and bounds is not None:
        return max(0.0, mean - bounds[0]), max(0.0, bounds[1] - mean)
    sd = row.sd.get(col) or 0.0
    return sd, sd


def bar_chart(t: ExperimentTable, path: str | os.PathLike, title: str) -> None:
    """One group of bars per row and column the paper reports: ours (mean; error bar: the 95 %
    interval over questions where the row has one, else the sd over seeds) and the paper's value
    beside it; columns without a paper value show ours only. A row whose difference from MCD is not
    significant carries † in its label."""
    plt = _pyplot()
    cols = t.compared or ["overall"]
    fig, axes = plt.subplots(1, len(cols), figsize=(max(6, 0.55 * len(t.rows) * len(cols) + 2), 4.2),
                             squeeze=False)
    for ax, col in zip(axes[0], cols):
        xs = range(len(t.rows))
        ours = [r.mean.get(col) or 0.0 for r in t.rows]
        errs = list(zip(*(_error(r, col) for r in t.rows))) or None
        paper = [t.paper_value(r, col) for r in t.rows]
        ax.bar([x - 0.2 for x in xs], ours, 0.4, yerr=errs, capsize=3, color="tab:blue", label="ours")
        ax.bar([x + 0.2 for x in xs], [p if p is not None else 0.0 for p in paper], 0.4,
               color="tab:orange", label="paper")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r.shown_label for r in t.rows], rotation=60, ha="right", fontsize="x-small")
        ax.set_title(_header(t, col), fontsize="small")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
    axes[0][0].legend(fontsize="small")
    fig.suptitle(title, fontsize="medium")
    fig.text(0.01, 0.01, "error bars: 95 % interval over questions (sd over seeds where there is none); "
                         "†: not significantly different from MCD (exact McNemar, 0.05)", fontsize="x-small")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


# -- per-group bars of a score table (table3.csv, table5.csv) ---------------------------------------
# Row kinds, in legend order, with their colours: our MCD rows, the peers we trained, the answer
# prior, and published numbers (rows with a `source`: the MCD paper's Table III / V, TSPM's, AVQA's).
ROW_KINDS = {"ours": "tab:blue", "peer": "tab:green", "prior": "tab:gray", "published": "tab:orange"}


@dataclass(frozen=True)
class Bar:
    """One plotted bar: the row, its kind, the value and the 95 % interval drawn as its error bar
    (None where the row has none: published rows, or a group without questions)."""
    method: str
    kind: str
    value: float
    interval: tuple[float, float] | None


def row_kind(row: Mapping[str, str]) -> str:
    """`published` (a `source`), `prior`, `peer` (AVST, PSTP-Net, TSPM and their variants `AVST[...]`,
    trained here) or `ours` (MCD, `MCD[variant]`, registered labels such as "MCD + time encoding
    (ours)")."""
    from mcd_core.scoring.peers import PEERS
    from mcd_core.scoring.uncertainty import base_method

    if row.get("source"):
        return "published"
    method = base_method(row["method"])
    if method == "prior":
        return "prior"
    return "peer" if method.split("[", 1)[0] in {p.label for p in PEERS.values()} else "ours"


def score_table_groups(taxonomy: Taxonomy) -> list[tuple[str, str]]:
    """(column, header) of the table's groups: every group average and the overall, the columns
    that carry a 95 % interval (`uncertainty.interval_keys`): A Avg, V Avg, AV Avg, Overall on
    MUSIC-AVQA."""
    from mcd_core.scoring.uncertainty import interval_keys

    keys = interval_keys(taxonomy)
    return [(c.key, c.header) for c in taxonomy.columns if c.key in keys]


def _number(cell: str | None) -> float | None:
    try:
        return float(cell) if cell not in ("", None) else None
    except ValueError:
        return None


def score_table_bars(table, path: str | os.PathLike, title: str,
                     taxonomy: Taxonomy | None = None) -> dict[str, list[Bar]]:
    """Horizontal bars of a score table (`tables.ScoreTable`, e.g. table3.csv read back): one panel
    per question group (`score_table_groups`), one bar per row of the table in table order,
    coloured by `row_kind`, with the row's 95 % bootstrap interval (`<col>_lo`, `<col>_hi`) as error
    bar where it has one. A row without a value in a group gets no bar there. Returns what was
    plotted: group column -> bars, top to bottom."""
    from mcd_core.scoring.metrics import MUSIC_AVQA_TAXONOMY
    from mcd_core.scoring.uncertainty import lo_hi

    taxonomy = taxonomy or MUSIC_AVQA_TAXONOMY
    groups = score_table_groups(taxonomy)
    plotted: dict[str, list[Bar]] = {}
    ys: dict[str, list[int]] = {}                  # group -> each bar's row position, top to bottom
    for col, _ in groups:
        bars, ys[col] = [], []
        for i, row in enumerate(table.rows):
            value = _number(row.get(col))
            if value is None:
                continue
            lo, hi = (_number(row.get(k)) for k in lo_hi(col))
            bars.append(Bar(row["method"], row_kind(row), value,
                            (lo, hi) if lo is not None and hi is not None else None))
            ys[col].append(len(table.rows) - 1 - i)
        plotted[col] = bars
    plt = _pyplot()
    height = max(3.0, 0.28 * len(table.rows) + 1.6)
    fig, axes = plt.subplots(1, len(groups), figsize=(3.0 * len(groups) + 2.2, height), sharey=True,
                             squeeze=False)
    for ax, (col, header) in zip(axes[0], groups):
        bars = plotted[col]
        for kind, color in ROW_KINDS.items():
            mine = [b for b in bars if b.kind == kind]
            at = [y for b, y in zip(bars, ys[col]) if b.kind == kind]
            if not mine:
                continue
            errs = [[max(0.0, b.value - b.interval[0]) if b.interval else 0.0 for b in mine],
                    [max(0.0, b.interval[1] - b.value) if b.interval else 0.0 for b in mine]]
            ax.barh(at, [b.value for b in mine], 0.7, color=color, label=kind,
                    xerr=errs if any(b.interval for b in mine) else None, capsize=2,
                    error_kw={"elinewidth": 0.8})
        ax.set_title(header, fontsize="small")
        ax.set_xlim(0, 100)
        ax.set_xlabel("accuracy (%)", fontsize="small")
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(table.rows) - 1, -1, -1))
    axes[0][0].set_yticklabels([r["method"] for r in table.rows], fontsize="x-small")
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    kinds = [k for k in ROW_KINDS if k in handles]
    fig.legend([handles[k] for k in kinds], kinds, loc="upper right", fontsize="x-small", ncol=len(handles))
    fig.suptitle(title, fontsize="medium", x=0.01, ha="left")
    fig.text(0.01, 0.005, "error bars: 95 % bootstrap interval over questions where the row has one",
             fontsize="x-small")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    _save(fig, path)
    plt.close(fig)
    return plotted


def read_metrics(path: str | os.PathLike) -> list[dict[str, float]]:
    """A run's metrics.csv as numbers (missing cells NaN)."""
    with io.StringIO(read_text_file(path, "metrics file"), newline="") as fh:
        return [{k: (float(v) if v not in ("", None) else math.nan) for k, v in row.items()}
                for row in csv.DictReader(fh)]


def mean_curve(runs: Sequence[list[dict[str, float]]], key: str) -> tuple[list[int], list[float]]:
    """Per-epoch mean of `key` over the seeds' runs (epochs present in every run)."""
    epochs = sorted(set.intersection(*(set(int(r["epoch"]) for r in run) for run in runs)))
    by_run = [{int(r["epoch"]): r[key] for r in run} for run in runs]
    return epochs, [sum(m[e] for m in by_run) / len(by_run) for e in epochs]


def fig5b(curves: Mapping[str, Sequence[list[dict[str, float]]]], path: str | os.PathLike,
          title: str, baseline: str) -> None:
    """Two panels as the paper's Fig. 5(b): fusion by concatenation and by addition. Each panel
    draws validation (solid) and test (dashed) accuracy per epoch of its variants and of
    `baseline` (MCD without late fusion); labels are `<mode>: <streams>`; seeds are averaged."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, mode in zip(axes, ("concat", "add")):
        labels = [baseline, *(label for label in curves if label.startswith(f"{mode}:"))]
        for i, label in enumerate(labels):
            runs = curves[label]
            for key, style in (("val_acc", "-"), ("test_acc", "--")):
                epochs, values = mean_curve(runs, key)
                if epochs and not all(math.isnan(v) for v in values):
                    ax.plot(epochs, values, style, color=colors[i % len(colors)], marker=".",
                            label=f"{label} ({'val' if key == 'val_acc' else 'test'}, {len(runs)} seed(s))")
        ax.set_title(f"late fusion by {'concatenation' if mode == 'concat' else 'addition'}")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("accuracy (%)")
    fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
