"""The one pipeline run that the slow end-to-end tests share (issue 20: CI in half an hour).

Each slow test used to start its own Snakemake run of the demo: generate videos, extract, train.
Now one session fixture (`shared_run`, tests/conftest.py) builds every dataset below to every
target the slow tests read, in one `snakemake --cores 3` call (one DAG: its jobs fill both cores; see conftest.py),
and the tests read the finished folder. A test that needs another config plans against it in the
same folder with a config file of its own (`snakemake(..., configfile=...)`), or copies it.

The datasets:
- `demo`: 120 generated videos of 3 s at D = 128: big enough for Tables II and VII to show their
  orderings over the noise (about 290 test questions), for `mcd ask` to have right answers to
  reproduce, and for the table3 checks of the tiny demo.
- `demo_avqa`: the shipped entry as configured (the README's AVQA-format demo).
- `demo_peers`: the shipped entry made smaller (12 videos, 2 epochs): every peer end to end.

Table IV is not a target: on the demo it extracts two more visual backbones and trains MCD on each
(`snakemake -n results/demo/table4.csv`: 4 more extract_visual jobs, 2 more train jobs); its page
and bars are tested on hand-made files instead (tests/test_table_bars.py). Table III's bars are one
matplotlib job on table3.csv.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

# D = 128 as in the demo: at D = 64 the Table II MLP over-fitted the visual input (Q+A+V 41.98 = Q).
DEMO = {
    "format": "music_avqa",
    "videos": "resources/demo/videos",
    "annotations": {s: f"resources/demo/annotations/avqa-{s}.json" for s in ("train", "val", "test")},
    "seconds": 3,
    "generator": {"seed": 3, "videos": 120},
    "extraction": {"weights": "random-init", "shard_size": 60, "frame_short_side": 224,
                   "batch_size": 16, "workers": 1},
    "training": {"epochs": 10, "batch_size": 32, "lr_step": 8, "workers": 0,
                 "extra": ["d_model=128", "in_memory=true"]},
    "table": {"prior": True},
}
DEMO_VIDEOS, DEMO_SECONDS = 120, 3


def _shipped(name: str) -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())["datasets"][name]


def shared_config() -> dict:
    peers = _shipped("demo_peers")
    peers["generator"]["videos"] = 12
    peers["training"]["epochs"] = 2
    return {"run": [], "datasets": {"demo": copy.deepcopy(DEMO), "demo_avqa": _shipped("demo_avqa"),
                                    "demo_peers": peers}}


TARGETS = (
    "results/demo/table2.csv", "results/demo/table7.csv", "results/demo/table3.csv",
    "results/demo/table3.html", "results/demo/table3_bars.png", "results/demo_avqa/table5.csv", "results/demo_peers/table3.csv",
)


def with_changes(config: dict, dataset: str, **sections: dict) -> dict:
    """A copy of `config` whose `dataset` has each given section updated key by key."""
    changed = json.loads(json.dumps(config))
    for section, values in sections.items():
        changed["datasets"][dataset].setdefault(section, {}).update(values)
    return changed
