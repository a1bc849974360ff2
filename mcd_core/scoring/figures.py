"""Figures of the experiment suite: per-type bars of ours against the paper's, and Fig. 5(b)'s
validation and test accuracy per epoch of the late-fusion variants against MCD."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

from mcd_core.common.atomic import atomic_path
from mcd_core.common.textfiles import read_text_file
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
