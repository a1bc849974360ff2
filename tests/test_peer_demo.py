"""(slow) The peers end to end through Snakemake: the shipped `demo_peers` dataset (made smaller: 12
videos, 2 epochs) builds its table3.csv with one row per model, TSPM on the small backbones its
`peer_backbones` names, each run recording the stores it read. Built by the shared run
(tests/shared_pipeline.py)."""

from __future__ import annotations

import csv
import json

import pytest

from test_workflow import snakemake


@pytest.mark.slow
def test_demo_peers_trains_every_peer_and_tables_its_row(shared_run):
    tmp_path = shared_run
    results = tmp_path / "results/demo_peers"
    with (results / "table3.csv").open(newline="") as f:
        rows = {row["method"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"MCD", "MCD + time encoding (ours)", "AVST", "PSTP-Net", "TSPM", "prior", "N"}
    assert int(rows["N"]["overall"]) > 0
    for method in ("MCD", "AVST", "PSTP-Net", "TSPM"):
        assert 0.0 <= float(rows[method]["overall"]) <= 100.0
        assert "random-init" in rows[method]["weights"]
    assert (rows["AVST"]["visual_backbone"], rows["AVST"]["inputs"]) == ("resnet18", "visual_map=resnet18_14x14")
    assert rows["PSTP-Net"]["visual_backbone"] == "clip_vit_b32"
    assert rows["TSPM"]["visual_backbone"] == "clip_vit_b32"
    assert rows["TSPM"]["inputs"] == "tome=tome_vit_s16_224 question_clip=clip_text_b32 prompt_clip=clip_text_b32"
    assert rows["MCD"]["inputs"] == ""

    runs = results / "runs"
    tspm = runs / "clip_vit_b32-vggish+tome_vit_s16_224+clip_text_b32+clip_text_b32/tspm/seed0"
    recorded = json.loads((tspm / "config.json").read_text())
    stores = recorded["inputs"]["input_stores"]
    assert stores["tome"]["backbone"] == "tome_vit_s16_224" and stores["tome"]["dim"] == 384
    assert stores["prompt_clip"]["stream"] == "prompt_sentence" and stores["prompt_clip"]["backbone"] == "clip_text_b32"
    assert stores["tome"]["weights"] == {"random_init": True, "seed": 0}
    for run in (tspm, runs / "resnet18-vggish/avst/seed0", runs / "clip_vit_b32-vggish/pstp_net/seed0",
                runs / "resnet18-vggish/mcd/seed0"):
        with (run / "metrics.csv").open(newline="") as f:
            epochs = list(csv.DictReader(f))
        assert len(epochs) == 2, run
        assert (run / "final.json").is_file()
    with (runs / "resnet18-vggish/avst/seed0/metrics.csv").open(newline="") as f:
        assert "loss_match" in next(csv.DictReader(f))

    from mcd_core.features.store import open_store

    tome = open_store(results / "features/tome/tome_vit_s16_224.zarr")
    assert tome.features.shape == (12, 10, 14, 384)
    # finished: nothing left to do
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(
        snakemake(tmp_path, "-n", "results/demo_peers/table3.csv"))
