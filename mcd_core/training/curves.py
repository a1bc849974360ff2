"""Per-epoch metrics of a run: the metrics CSV and the curves plot."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from mcd_core.common.atomic import atomic_path

LOSS_NAMES = ("answer", "qv", "qa", "av", "match")  # "match": AVST's audio-visual match loss
METRIC_COLUMNS = ("epoch", "lr", "train_loss", *[f"loss_{n}" for n in LOSS_NAMES], "train_acc",
                  "val_acc", "test_acc", "seconds")


def metrics_csv(history: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, lineterminator="\n", restval="")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()
                         if not (isinstance(v, float) and math.isnan(v))})
    return buf.getvalue()


def plot_curves(history: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Train loss and val/test accuracy per epoch (like the paper's Fig. 5); `title` names the run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, ax_loss = plt.subplots(figsize=(6, 4))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], color="tab:gray", label="train loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("train loss")
    ax_acc = ax_loss.twinx()
    for key, color in (("val_acc", "tab:blue"), ("test_acc", "tab:red")):
        values = [r[key] for r in history]
        if not all(math.isnan(v) for v in values):
            ax_acc.plot(epochs, values, marker="o", color=color, label=key.replace("_acc", " accuracy"))
    ax_acc.set_ylabel("accuracy (%)")
    val = [r["val_acc"] for r in history]
    if not all(math.isnan(v) for v in val):  # the epoch best.pt comes from (first maximum)
        best = epochs[max(range(len(val)), key=lambda i: (val[i], -i))]
        ax_acc.axvline(best, color="black", linestyle=":", linewidth=1, label=f"best on val (epoch {best})")
    if title:
        ax_loss.set_title(title, fontsize="small")
    fig.legend(loc="upper center", ncol=4, frameon=False, fontsize="small")
    fig.tight_layout(rect=(0, 0, 1, 0.92 if not title else 0.88))  # room for the legend above the axes
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
