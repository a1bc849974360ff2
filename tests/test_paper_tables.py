"""Issue 10's tables: mean ± sd over seeds, the paper's numbers beside ours, the experiment suite's
runs (shared between tables), and the `mcd paper-table` / `mcd fig5b` / `mcd paper-plan` verbs."""

import csv
import math

import pytest

from mcd_core.cli import main
from mcd_core.models import list_variants
from mcd_core.scoring.experiments import (EXPERIMENTS, PRIOR, TABLES, backbone_note, get_experiment,
                                          needed_runs, read_paper_results, table3_note)
from mcd_core.scoring.metrics import COLUMNS
from mcd_core.scoring.seedtables import aggregate, build_table, mean_sd, table_csv, table_markdown
from mcd_core.scoring.tables import ScoreTable, table_columns
from mcd_core.scoring.tables import table_csv as score_csv


def test_mean_and_sample_sd_of_known_values():
    assert mean_sd([70.0, 72.0, 74.0]) == (72.0, 2.0)
    mean, sd = mean_sd([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and math.isclose(sd, math.sqrt(5 / 3))     # n - 1 in the denominator
    assert mean_sd([50.0]) == (50.0, None)
    with pytest.raises(ValueError):
        mean_sd([])


def seed_table(overall: float, seed: str, audio_avg: float = 60.0, visual: str = "resnet18") -> ScoreTable:
    row = {"method": "x", **{c: "" for c in COLUMNS}, "overall": f"{overall:.2f}",
           "audio_avg": f"{audio_avg:.2f}", "seed": seed, "annotations": "demo/avqa-test.json",
           "visual_backbone": visual, "audio_backbone": "vggish", "weights": "pretrained", "notes": ""}
    counts = {"method": "N", **{c: "0" for c in COLUMNS}, "overall": "100", "audio_avg": "40"}
    return ScoreTable(rows=[row], counts=counts, columns=table_columns(["seed"]))


def test_rows_are_mean_sd_over_seeds_beside_the_paper_row_with_difference():
    exp = get_experiment("table7")
    full = aggregate("MCD", "mcd", "Bidirectional Inter-attention: A-query + V-query",
                     [(f"s{i}", seed_table(v, str(i))) for i, v in enumerate((70.0, 72.0, 74.0))])
    single = aggregate("w/o attention", "mcd_attn_none", "w/o attention", [("s0", seed_table(64.5, "0"))])
    rows = list(csv.DictReader(table_csv(build_table(exp, [full, single], {"overall": "100"})).splitlines()))
    mcd, one, n = rows
    assert (mcd["overall"], mcd["overall_sd"], mcd["n_seeds"], mcd["seeds"]) == ("72.00", "2.00", "3", "0 1 2")
    assert (mcd["paper_overall"], mcd["diff_overall"]) == ("76.12", "-4.12")
    assert (one["overall"], one["overall_sd"], one["paper_overall"], one["diff_overall"]) == \
        ("64.50", "", "66.00", "-1.50")
    assert "1 seed: no spread" in one["notes"] and "1 seed" not in mcd["notes"]
    assert n["method"] == "N" and n["overall"] == "100"
    md = table_markdown(build_table(exp, [full, single], {"overall": "100"}), "t")
    assert "| MCD | 3 | 72.00 ± 2.00 | 76.12 | -4.12 |" in md
    assert "| w/o attention | 1 | 64.50 | 66.00 | -1.50 |" in md


def test_a_paper_row_missing_from_the_data_file_is_an_error():
    row = aggregate("x", "mcd", "no such row", [("s0", seed_table(70.0, "0"))])
    with pytest.raises(ValueError, match="no such row"):
        build_table(get_experiment("table7"), [row], {})


def test_every_experiment_row_is_a_registered_variant_with_a_known_paper_row():
    paper = read_paper_results()
    for exp in EXPERIMENTS.values():
        keys = [row.key for row in exp.rows]
        assert len(keys) == len(set(keys)), exp.name
        for row in exp.rows:
            # every trained row, a peer's optional one too, names a registered variant (the peers'
            # architectures register avst and pstp_net); a published-only row (LAViSH) trains nothing
            assert not row.trained or row.variant in list_variants(), (exp.name, row.variant)
            if row.optional:
                from mcd_core.scoring.peers import peer_of

                assert peer_of(row.variant) is not None and peer_of(row.variant).visual == row.visual, row.key
            if row.paper_row is not None:
                assert (exp.paper_table, row.paper_row) in paper, (exp.name, row.paper_row)


def test_runs_are_shared_between_tables():
    runs = needed_runs(TABLES, "resnet18", [0, 1])
    mcd = [r for r in runs if r.variant == "mcd"]
    # MCD with the default settings: one run per seed and backbone, however many tables list it
    assert sorted((r.visual, r.seed) for r in mcd) == sorted(
        (v, s) for v in ("resnet18", "clip_vit_b32", "swinv2_large") for s in (0, 1))
    assert len(runs) == len(set(runs))
    # Table IX's "w/o f_t" is Table VI's "LSTM, w/o T" run (the paper prints the same numbers)
    assert needed_runs(["table6", "table9"], "resnet18", [0]) == sorted(
        set(needed_runs(["table6"], "resnet18", [0])) | set(needed_runs(["table9"], "resnet18", [0])),
        key=lambda r: (r.visual, r.variant, r.seed))
    assert len(needed_runs(["table6", "table9"], "resnet18", [0])) == 7
    assert not [r for r in needed_runs(["table2"], "resnet18", [0]) if r.variant == PRIOR]


def test_notes_name_the_paper_row_to_compare_with():
    assert "74.64" in table3_note("resnet18", "pretrained") and "76.12" in table3_note("resnet18", "pretrained")
    assert "Table III MCD row (76.12)" in table3_note("swinv2_large", "pretrained")
    assert "75.42" in backbone_note("clip_vit_b32", "pretrained")
    assert "randomly initialised" in backbone_note("resnet18", "random-init(seed 0)")


def write_scores(path, overall, seed, visual="resnet18"):
    path.write_text(score_csv(seed_table(overall, seed, visual=visual)))
    return path


def test_paper_table_verb_writes_csv_markdown_html_and_bars(tmp_path):
    exp = get_experiment("table7")
    args = ["paper-table", "--experiment", "table7", "--dataset", "demo"]
    for i, row in enumerate(exp.rows):
        for seed in ("0", "1"):
            path = write_scores(tmp_path / f"{row.key}_{seed}.csv", 60.0 + i + int(seed), seed)
            args += ["--scores", f"{row.key}={path}"]
    out = {ext: tmp_path / f"table7.{ext}" for ext in ("csv", "md", "html")}
    assert main([*args, "--out", str(out["csv"]), "--md", str(out["md"]), "--html", str(out["html"]),
                 "--bars", str(tmp_path / "bars.png")]) == 0
    rows = {r["method"]: r for r in csv.DictReader(out["csv"].open())}
    assert rows["w/o attention"]["overall"] == "60.50" and rows["w/o attention"]["overall_sd"] == "0.71"
    assert rows["bidirectional inter-attention (MCD)"]["paper_overall"] == "76.12"
    html = out["html"].read_text()
    assert html.count("<table>") == 2 and "76.12" in html and "±" in html
    assert "compare our MCD with Table IV 'Ours ResNet-18' (74.64)" in out["md"].read_text()
    assert (tmp_path / "bars.png").read_bytes()[:4] == b"\x89PNG"


def test_paper_table_verb_refuses_missing_rows_in_one_line(tmp_path, capsys):
    path = write_scores(tmp_path / "s.csv", 60.0, "0")
    code = main(["paper-table", "--experiment", "table7", "--scores", f"mcd={path}",
                 "--out", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no --scores for row 'mcd_attn_none'" in err[0]


def test_fig5b_verb_draws_every_late_fusion_variant(tmp_path):
    args = ["fig5b", "--out", str(tmp_path / "fig.png")]
    for row in get_experiment("fig5b").rows:
        path = tmp_path / f"{row.key}.csv"
        path.write_text("epoch,val_acc,test_acc\n1,50,49\n2,55,52\n3,57,50\n")
        args += ["--metrics", f"{row.key}={path}"]
    assert main(args) == 0
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"
    assert main(args[:-2]) == 2   # a missing row is refused


def test_paper_plan_counts_distinct_runs(tmp_path, capsys):
    out = tmp_path / "paper.done"
    assert main(["paper-plan", "--experiments", *TABLES, "fig5b", "--visual", "resnet18", "--seeds", "0", "1",
                 "--questions", "31927", "4568", "9129", "--epochs", "30", "--out", str(out)]) == 0
    text = out.read_text()
    n = len(needed_runs([*TABLES, "fig5b"], "resnet18", [0, 1]))
    assert f"{n} training runs" in text and "31927" in text


def test_the_cost_estimate_adds_features_and_training_on_the_measured_card_and_counts_stage_one_runs():
    from mcd_core.scoring.cost import MEASURED, plan_text, run_seconds, with_stage_one

    card_name, card = next(iter(MEASURED.items()))
    counts, epochs = (30000, 4500, 9000), 30
    text = plan_text(["table3"], "resnet18", [0, 1], counts, epochs, variants=["mcd", "avst"],
                     videos=9288, seconds=60, audio="vggish")
    suite = needed_runs(["table3"], "resnet18", [0, 1], ["mcd", "avst"])
    runs = with_stage_one(suite)
    assert {r.variant for r in runs} - {r.variant for r in suite} == {"avst_grounding"}
    assert len(runs) == len(suite) + 2                     # one grounding run per seed
    assert f"{len(runs)} training runs" in text and "2 of them stage-one runs" in text
    train_h = len(runs) * run_seconds(epochs, counts, card.training) / 3600
    feat_h = 9288 * 60 * (1 / card.frames["resnet18"] + 1 / card.frames["vggish"]) / 3600
    line = next(line for line in text.splitlines() if card_name in line)
    assert f"features {feat_h:.1f} h" in line and f"training {train_h:.1f} h" in line
    assert f"= {feat_h + train_h:.1f} GPU-hours" in line and "left out" not in line
    unmeasured = plan_text(["table3"], "clip_vit_l14_336", [0], counts, epochs, variants=["mcd"], videos=10,
                           seconds=60)
    assert "not measured on this card, left out: clip_vit_l14_336" in unmeasured
    imported = plan_text(["table5"], "imported_avqa_motion", [0], counts, epochs, variants=["mcd"], videos=10,
                         seconds=10, audio="imported_avqa_audio")
    assert "features 0 h (imported) + training" in imported and "left out" not in imported


def test_markdown_tables_become_html_tables():
    from mcd_core.scoring.mdhtml import markdown_to_html

    page = markdown_to_html("# T\n\n| Method | A \\| B |\n| --- | ---: |\n| MCD | 1.00 |\n\nNotes:\n\n- one\n- two\n")
    assert "<h2>T</h2>" in page and "<th>A | B</th>" in page and "<td>MCD</td><td>1.00</td>" in page
    assert page.count("<tr>") == 2 and "<li>one</li><li>two</li>" in page


def test_paper_table_with_predictions_gives_pooled_intervals_and_tests_against_mcd(tmp_path):
    from test_uncertainty import MCD, OTHER, write_predictions

    exp = get_experiment("table7")
    args = ["paper-table", "--experiment", "table7"]
    for i, row in enumerate(exp.rows):
        for seed in ("0", "1"):
            args += ["--scores", f"{row.key}={write_scores(tmp_path / f'{row.key}_{seed}.csv', 60.0 + i, seed)}"]
            correct = MCD if row.variant == "mcd" else OTHER if row.variant == "mcd_attn_none" else [1] * 10
            args += ["--predictions", f"{row.key}={write_predictions(tmp_path / f'{row.key}_{seed}.p.csv', correct)}"]
    out, md = tmp_path / "t.csv", tmp_path / "t.md"
    assert main([*args, "--out", str(out), "--md", str(md), "--bars", str(tmp_path / "b.png")]) == 0
    rows = {r["method"]: r for r in csv.DictReader(out.open())}
    mcd, none = rows["bidirectional inter-attention (MCD)"], rows["w/o attention"]
    assert mcd["p_mcnemar_vs_mcd"] == "" and none["p_mcnemar_vs_mcd"] == "0.0703"  # b = 1, c = 7 per seed
    assert (none["overall_lo"], none["overall_hi"]) == ("0.00", "50.00")   # 2 of 10 right in both seeds
    assert rows["self-attention: audio"]["p_mcnemar_vs_mcd"] == "0.5"  # b = 2, c = 0: 2 * C(2, 0) / 2^2
    text = md.read_text()
    assert "| w/o attention † | 2 | 60.00 ± 0.00 [0.0, 50.0] | 66.00 |" in text
    assert "| self-attention: audio † |" in text and "p (p_mcnemar_vs_mcd): w/o attention 0.0703" in text
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    # a row's predictions must match its seeds
    assert main([*args[:-2], "--out", str(out), "--md", str(md)]) == 2
