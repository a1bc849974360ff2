"""Intervals and paired tests (mcd_core/scoring/uncertainty.py): the exact McNemar p-value by hand,
the bootstrap interval's coverage, and both in `mcd table` / `mcd paper-table` from predictions."""

import csv
import json

import numpy as np
import pytest

from mcd_core.cli import main
from mcd_core.data.formats.music_avqa import TAXONOMY
from mcd_core.scoring.uncertainty import (bootstrap_interval, mcnemar_exact, p_versus, read_run,
                                          row_intervals)

# Ten questions (ids 0-9), all Audio/Counting: MCD right on 0-7, the other model right on 1 and 8.
MCD = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
OTHER = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]


def write_predictions(path, correct, qtype="Audio/Counting"):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "video_id", "type", "answer", "prediction", "correct"])
        for i, ok in enumerate(correct):
            w.writerow([i, f"v{i}", qtype, "two", "two" if ok else "one", int(ok)])
    return path


def test_mcnemar_p_by_hand(tmp_path):
    # MCD right and the other wrong on questions 0, 2-7 (c = 7); the other right and MCD wrong on 8
    # (b = 1); both right on 1, both wrong on 9 (not counted). Exact two-sided test on the 8
    # discordant pairs: p = 2 * sum_{k<=1} C(8, k) / 2^8 = 2 * (1 + 8) / 256 = 0.0703125.
    other = read_run(write_predictions(tmp_path / "other.csv", OTHER))
    mcd = read_run(write_predictions(tmp_path / "mcd.csv", MCD))
    assert mcnemar_exact([x for x, _ in other.values()], [x for x, _ in mcd.values()]) == (1, 7, 0.0703125)
    assert p_versus([("0", other)], [("0", mcd)]) == 0.0703125
    # b = c: p = 1 (capped); no discordant pair: p = 1; b = 0, c = 6: 2 / 64 = 0.03125
    assert mcnemar_exact([1, 0], [0, 1])[2] == 1.0 and mcnemar_exact([1, 1], [1, 1])[2] == 1.0
    assert mcnemar_exact([0] * 6, [1] * 6) == (0, 6, 0.03125)


def test_bootstrap_interval_covers_the_true_accuracy_about_95_percent_of_the_time():
    # 200 data sets of n = 400 Bernoulli(0.6) questions; 500 resamples each (the tables use 2000:
    # fewer keeps this test fast and only coarsens the percentiles). A 95 % interval must cover 0.6
    # in 90-99 % of the data sets: a too narrow (e.g. sd / n instead of sd / sqrt n) or too wide
    # interval fails.
    rng = np.random.default_rng(1)
    covered = 0
    for i in range(200):
        lo, hi = bootstrap_interval(rng.random(400) < 0.6, resamples=500, seed=i)
        covered += lo <= 60.0 <= hi
    assert 180 <= covered <= 198, covered


def test_interval_is_fixed_by_the_seed_and_pools_seeds():
    values = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1] * 20, dtype=bool)
    assert bootstrap_interval(values) == bootstrap_interval(values)
    lo, hi = bootstrap_interval(values)
    assert lo < 70.0 < hi
    # two seeds that agree on every question: pooled interval = the single run's
    assert bootstrap_interval(np.stack([values, values])) == (lo, hi)
    assert bootstrap_interval(np.array([])) is None


def test_row_intervals_per_group_from_the_type_column(tmp_path):
    run = read_run(write_predictions(tmp_path / "a.csv", [1] * 10, "Visual/Location"))
    intervals = row_intervals([run], TAXONOMY)
    assert intervals["visual_avg"] == (100.0, 100.0) and intervals["overall"] == (100.0, 100.0)
    assert intervals["audio_avg"] is None and intervals["av_avg"] is None


def record(qid, answer="two"):
    return {"video_id": f"v{qid}", "question_id": qid, "type": json.dumps(["Audio", "Counting"]),
            "question_content": "How many instruments are sounding in the video?", "templ_values": "[]",
            "question_deleted": 0, "anser": answer}


def test_table_marks_rows_not_significantly_different_from_mcd(tmp_path):
    (tmp_path / "test.json").write_text(json.dumps([record(i) for i in range(10)]))
    rows, preds = [], []
    for name, correct in (("MCD", MCD), ("AVST", OTHER), ("prior", [0] * 10)):
        preds.append(write_predictions(tmp_path / f"{name}.pred.csv", correct))
        rows.append(tmp_path / f"{name}.csv")
        assert main(["score", "--annotations", str(tmp_path / "test.json"), "--predictions", str(preds[-1]),
                     "--name", name, "--meta", "seed=0", "--out", str(rows[-1])]) == 0
    out, md = tmp_path / "t.csv", tmp_path / "t.md"
    assert main(["table", "--rows", *map(str, rows), "--predictions", *map(str, preds), "--out", str(out),
                 "--md", str(md)]) == 0
    table = {r["method"]: r for r in csv.DictReader(out.open())}
    assert table["MCD"]["p_mcnemar_vs_mcd"] == ""
    assert table["AVST"]["p_mcnemar_vs_mcd"] == "0.0703"          # the hand computation above
    assert table["prior"]["p_mcnemar_vs_mcd"] == "0.00781"        # b = 0, c = 8: 2 / 256
    assert float(table["AVST"]["overall_lo"]) < 20.0 < float(table["AVST"]["overall_hi"])
    text = md.read_text()
    assert "| AVST † | 20.00 | " in text and "| prior | 0.00 |" in text and "| MCD | 80.00 |" in text
    assert "20.00 [0.0, 50.0]" in text and "†: the difference from MCD's row is not significant at 0.05" in text
    # one predictions file per score table, or none
    assert main(["table", "--rows", *map(str, rows), "--predictions", str(preds[0]), "--out", str(out),
                 "--md", str(md)]) == 2


def test_table_mean_rows_get_pooled_intervals_and_the_largest_seed_p(tmp_path):
    (tmp_path / "test.json").write_text(json.dumps([record(i) for i in range(10)]))
    rows, preds = [], []
    for name, correct in (("MCD", MCD), ("AVST", OTHER)):
        for seed in ("0", "1"):
            flipped = correct if seed == "0" else [1 - c for c in correct] if name == "AVST" else correct
            preds.append(write_predictions(tmp_path / f"{name}{seed}.pred.csv", flipped))
            rows.append(tmp_path / f"{name}{seed}.csv")
            assert main(["score", "--annotations", str(tmp_path / "test.json"), "--predictions", str(preds[-1]),
                         "--name", f"{name} seed={seed}", "--meta", f"seed={seed}", "--out", str(rows[-1])]) == 0
    out, md = tmp_path / "t.csv", tmp_path / "t.md"
    assert main(["table", "--rows", *map(str, rows), "--predictions", *map(str, preds), "--out", str(out),
                 "--md", str(md)]) == 0
    table = {r["method"]: r for r in csv.DictReader(out.open())}
    # AVST seed 1 answers the opposite of seed 0 (right on 0, 2-7, 9): against MCD seed 1 only MCD is
    # right on 1 and only AVST on 9 (b = c = 1): p = 1; seed 0: 0.0703; the mean row: the larger
    assert table["AVST seed=0"]["p_mcnemar_vs_mcd"] == "0.0703"
    assert table["AVST seed=1"]["p_mcnemar_vs_mcd"] == "1"
    assert table["AVST mean"]["p_mcnemar_vs_mcd"] == "1"
    # pooled per seed: every question is right in exactly one of AVST's seeds -> 50 % each, no spread
    assert (table["AVST mean"]["overall_lo"], table["AVST mean"]["overall_hi"]) == ("50.00", "50.00")
    assert table["AVST mean"]["overall"] == "50.00" and table["AVST mean"]["overall_sd"] == "42.43"  # 20, 80
