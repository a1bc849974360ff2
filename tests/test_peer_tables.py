"""Peer rows of the paper's Table IV: AVST and PSTP-Net beside MCD on the same backbone when the
dataset trains them, LAViSH with the paper's numbers only."""

from __future__ import annotations

import csv

from mcd_core.cli import main
from mcd_core.scoring.experiments import PUBLISHED, get_experiment, needed_runs

from test_paper_tables import write_scores


def test_table4_rows_pair_each_peer_with_mcd_on_its_backbone():
    exp = get_experiment("table4")
    assert [r.key for r in exp.rows] == ["mcd@resnet18", "avst@resnet18", "mcd@clip_vit_b32",
                                         "pstp_net@clip_vit_b32", "mcd@swinv2_large", f"{PUBLISHED}@swinv2_large"]
    assert [r.key for r in exp.rows_for(["mcd"])] == ["mcd@resnet18", "mcd@clip_vit_b32", "mcd@swinv2_large",
                                                      f"{PUBLISHED}@swinv2_large"]
    assert len(exp.rows_for(["mcd", "avst", "pstp_net", "tspm"])) == 6
    plain = needed_runs(["table4"], "resnet18", [0, 1])
    with_peers = needed_runs(["table4"], "resnet18", [0, 1], ["avst", "pstp_net"])
    assert len(plain) == 6 and len(with_peers) == 10
    assert {(r.visual, r.variant) for r in with_peers} - {(r.visual, r.variant) for r in plain} == {
        ("resnet18", "avst"), ("clip_vit_b32", "pstp_net")}


def test_paper_table_keeps_missing_peer_rows_out_and_shows_lavish_published(tmp_path):
    args = ["paper-table", "--experiment", "table4", "--dataset", "real"]
    for i, key in enumerate(["mcd@resnet18", "avst@resnet18", "mcd@clip_vit_b32", "mcd@swinv2_large"]):
        visual = key.split("@")[1]
        for seed in ("0", "1"):
            path = write_scores(tmp_path / f"{key}_{seed}.csv", 60.0 + i + int(seed), seed, visual=visual)
            args += ["--scores", f"{key}={path}"]
    out = tmp_path / "table4.csv"
    assert main([*args, "--out", str(out), "--md", str(tmp_path / "t.md")]) == 0
    rows = {r["method"]: r for r in csv.DictReader(out.open())}
    assert "PSTP-Net CLIP ViT-B/32" not in rows   # pstp_net not trained by this dataset
    assert rows["AVST ResNet-18"]["overall"] == "61.50" and rows["AVST ResNet-18"]["paper_overall"] == "71.59"
    lavish = rows["LAViSH Swin-V2-L (published)"]
    assert lavish["n_seeds"] == "0" and lavish["overall"] == "" and lavish["paper_overall"] == "74.61"
    md = (tmp_path / "t.md").read_text()
    assert "LAViSH is not trained here" in md
