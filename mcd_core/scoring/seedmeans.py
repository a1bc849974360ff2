"""Mean ± sd rows of a stacked score table (Table III / V) trained with several seeds.

The workflow names a run's row `<method> seed=<S>` when a dataset lists several `training.seeds`.
Rows that differ only in that seed (same method, backbones, weights, extra inputs and annotations)
get one summary row `<method> mean` after their last row: each accuracy column holds the mean over
the seeds and `<column>_sd` the sample standard deviation (n - 1), as the experiment tables give
them (`seedtables.py`); its `seed` cell lists the seeds. A column some seed leaves empty (no
question of that type) stays empty. The per-seed rows are kept.
"""

from __future__ import annotations

import re

from mcd_core.data.formats.base import Taxonomy
from mcd_core.scoring.metrics import MUSIC_AVQA_TAXONOMY
from mcd_core.scoring.seedtables import mean_sd
from mcd_core.scoring.tables import ScoreTable, format_accuracy, sd_column

SEED_SUFFIX = re.compile(r"^(?P<method>.+) seed=(?P<seed>\d+)$")
# Cells that must agree for two rows to be seeds of one setting (besides the method name).
SETTING_COLUMNS = ("annotations", "visual_backbone", "audio_backbone", "weights", "inputs")


def _setting(row: dict[str, str]) -> tuple[str, tuple[str, ...]] | None:
    match = SEED_SUFFIX.match(row["method"])
    if match is None or row.get("seed", "") != match["seed"]:
        return None  # not a per-seed row of the workflow (e.g. the prior, a published row)
    return match["method"], tuple(row.get(c, "") for c in SETTING_COLUMNS)


def _summary(method: str, group: list[dict[str, str]], taxonomy: Taxonomy) -> dict[str, str]:
    seeds = [r["seed"] for r in group]
    row = {c: group[0].get(c, "") for c in SETTING_COLUMNS if group[0].get(c)}
    row.update(method=f"{method} mean", seed=" ".join(seeds),
               notes=f"mean and sample sd over {len(seeds)} seeds ({', '.join(seeds)}); "
                     f"the sd is in the {sd_column('<column>')} columns")
    for column in taxonomy.keys:
        cells = [r.get(column, "") for r in group]
        if any(c == "" for c in cells):
            row[column] = row[sd_column(column)] = ""
            continue
        mean, sd = mean_sd([float(c) for c in cells])
        row[column], row[sd_column(column)] = format_accuracy(mean), format_accuracy(sd)
    return row


def add_seed_means(table: ScoreTable, taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> None:
    """Insert a mean ± sd row after each group of two or more seeds.

    Adds the `<column>_sd` columns (after all others) only when some group was summarised, so a
    single-seed table keeps its columns.
    """
    groups: dict[tuple, list[dict[str, str]]] = {}
    for row in table.rows:
        key = _setting(row)
        if key is not None:
            groups.setdefault(key, []).append(row)
    summarised = {key: group for key, group in groups.items() if len(group) > 1}
    if not summarised:
        return
    last = {id(group[-1]): (key, group) for key, group in summarised.items()}
    rows: list[dict[str, str]] = []
    for row in table.rows:
        rows.append(row)
        if id(row) in last:
            (method, _), group = last[id(row)]
            rows.append(_summary(method, group, taxonomy))
    table.rows = rows
    table.columns += [sd_column(c) for c in taxonomy.keys if sd_column(c) not in table.columns]
