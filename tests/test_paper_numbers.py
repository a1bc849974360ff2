"""The paper's numbers file (mcd_core/scoring/paper_results.csv) against the paper's text.

Spot values per table are quoted here from the paper; when the paper's text is present (the
shared papers folder of the project's workspace, or MCD_PAPER), every value of the file must also
appear in the text of its own table.
"""

import math
import os
import re
from pathlib import Path

import pytest

from mcd_core.scoring.experiments import read_paper_results

# (table, row, column): value, as printed in the paper
SPOT_VALUES = {
    ("II", "Q", "overall"): "51.24", ("II", "Q+V", "overall"): "68.31", ("II", "Q+A+V", "overall"): "66.72",
    ("III", "MCD (Ours)", "audio_counting"): "82.40", ("III", "MCD (Ours)", "av_temporal"): "67.42",
    ("III", "MCD (Ours)", "overall"): "76.12",
    ("IV", "Ours ResNet-18", "overall"): "74.64", ("IV", "Ours CLIP-ViT-B/32", "visual_avg"): "80.31",
    ("IV", "Ours Swin-V2-L", "av_avg"): "75.51",
    ("V", "MCM w/o SA (Ours)", "avqa_avg"): "89.5",
    ("VI", "LSTM, w/o T", "audio_avg"): "74.68", ("VI", "Bi-LSTM, w/ T", "visual_avg"): "81.12",
    ("VII", "w/o attention", "overall"): "66.00", ("VII", "Cross-attention: A-query", "overall"): "69.12",
    ("VII", "Bidirectional Inter-attention: A-query", "overall"): "72.04",
    ("VIII", "AB (N=1)", "params_m"): "6.026", ("VIII", "AB (N=3)", "overall"): "75.98",
    ("VIII", "AB (N=2)", "flops_g"): "2.542",
    ("IX", "w/o F_v", "overall"): "72.22", ("IX", "Only element-wise add", "av_avg"): "74.41",
    ("X", "MCD w/o L_c^qa", "audio_avg"): "74.45", ("X", "MCD w/o L_c^av", "overall"): "75.63",
    ("III", "FCNLSTM", "visual_location"): "48.08", ("III", "HCRN", "av_existential"): "54.15",
    ("III", "Pano-AVQA", "overall"): "69.53", ("III", "MCAN", "visual_avg"): "71.76",
    ("V", "LADNet", "avqa_avg"): "84.1", ("V", "HCRN", "ensemble_havf"): "✓", ("V", "PSTP-Net", "ensemble_havf"): "×",
}

PAPER_CANDIDATES = [os.environ.get("MCD_PAPER", ""),
                    "/work/shared/papers/mcd-answering-diverse-questions.md",
                    str(Path(__file__).resolve().parents[2] / "shared/papers/mcd-answering-diverse-questions.md")]


def test_spot_values_match_the_paper():
    paper = read_paper_results()
    for (table, row, column), value in SPOT_VALUES.items():
        assert paper[(table, row)][column] == value, (table, row, column)


def test_tables_iii_and_v_have_every_row_of_the_paper():
    paper = read_paper_results()
    from mcd_core.scoring.paperrows import MUSIC_COLUMNS, TABLE_III_ROWS
    from mcd_core.scoring.avqa_reference import TABLE_V_ROWS

    assert len(TABLE_III_ROWS) == 12 and len(TABLE_V_ROWS) == 9
    assert {r for t, r in paper if t == "III"} == set(TABLE_III_ROWS)
    assert {r for t, r in paper if t == "V"} == set(TABLE_V_ROWS)
    assert all(set(MUSIC_COLUMNS) <= set(paper[("III", r)])
               for r in TABLE_III_ROWS)
    assert all({"avqa_avg", "ensemble_havf"} <= set(paper[("V", r)]) for r in TABLE_V_ROWS)


def _paper_text() -> str:
    path = next((Path(p) for p in PAPER_CANDIDATES if p and Path(p).is_file()), None)
    if path is None:
        pytest.skip("the paper's text is not on this machine (set MCD_PAPER)")
    return path.read_text(encoding="utf-8")


def _printed_rows(body: str) -> dict[str, list[str]]:
    """Row label (reference number dropped) -> its cells, as the extracted text prints them."""
    rows = {}
    for line in body.splitlines():
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in line.split("\t") if c.strip()]
        if len(cells) > 2:
            rows[re.sub(r"\s*\[\d+\]$", "", cells[0])] = cells[1:]
    return rows


def test_table_iii_rows_as_printed():
    """Each Table III row's 13 numbers, in column order, are the printed row's (stronger than
    'appears somewhere in the table': a value in the wrong column or row fails)."""
    from mcd_core.scoring.paperrows import MUSIC_COLUMNS, TABLE_III_ROWS

    printed = _printed_rows(_table_text(_paper_text(), "III"))
    paper = read_paper_results()
    for row in TABLE_III_ROWS:
        label = "Panp-AVQA" if row == "Pano-AVQA" else row   # the paper's misprint
        assert [paper[("III", row)][c] for c in MUSIC_COLUMNS] == printed[label], row
    assert "Panp-AVQA" in paper[("III", "Pano-AVQA")]["note"]


def test_table_v_rows_as_printed():
    from mcd_core.scoring.avqa_reference import TABLE_V_ROWS

    printed = _printed_rows(_table_text(_paper_text(), "V"))
    marks = {"✓": "$\\checkmark$", "×": "$\\times$"}
    for row in TABLE_V_ROWS:
        values = read_paper_results()[("V", row)]
        assert printed[row] == [marks[values["ensemble_havf"]], values["avqa_avg"]], row


# Questions per type of the test split, in the order A Count, A Comp, V Count, V Loc, AV Ext,
# AV Count, AV Loc, AV Comp, AV Temp (counted from the files in shared/data/music_avqa/).
JSON_UPDATE_COUNTS = (1017, 594, 1197, 1225, 988, 1265, 920, 1101, 822)   # 9,129 questions
JSON_COUNTS = (1022, 601, 1199, 1228, 995, 1274, 927, 1115, 824)          # 9,185 questions


def test_mcd_rows_overall_does_not_follow_from_its_own_columns():
    """By hand: the MCD row's type columns 82.40 67.39 | 80.45 81.20 | 83.83 75.81 70.63 72.42 67.42,
    count-weighted, give sum(acc * n) / 9185 = 76.50 (json/) and 76.51 (json_update); its group
    averages 77.31 (A, 1623 questions), 81.06 (V, 2427), 75.51 (AV, 5135) give 77.30; printed: 76.12.
    TSPM's row, weighted the same way, gives its printed 76.79 (the arithmetic is right)."""
    from mcd_core.scoring.paperrows import TEST_TYPE_COUNTS, TSPM, table3_notes, weighted_overall

    assert TEST_TYPE_COUNTS == {"json_update": JSON_UPDATE_COUNTS, "json": JSON_COUNTS}
    assert sum(JSON_UPDATE_COUNTS) == 9129 and sum(JSON_COUNTS) == 9185
    types = (82.40, 67.39, 80.45, 81.20, 83.83, 75.81, 70.63, 72.42, 67.42)
    by_hand = sum(a * n for a, n in zip(types, JSON_COUNTS)) / 9185
    assert round(by_hand, 2) == 76.50
    assert round(sum(a * n for a, n in zip(types, JSON_UPDATE_COUNTS)) / 9129, 2) == 76.51
    assert round((77.31 * 1623 + 81.06 * 2427 + 75.51 * 5135) / 9185, 1) == 77.3
    mcd = {c: float(v) for c, v in read_paper_results()[("III", "MCD (Ours)")].items() if c != "note"}
    from_types, from_groups = weighted_overall(mcd, "json")
    assert math.isclose(from_types, by_hand) and round(from_groups, 1) == 77.3 and mcd["overall"] == 76.12
    tspm = dict(zip(("audio_counting", "audio_comparative", "audio_avg", "visual_counting", "visual_location",
                     "visual_avg", "av_existential", "av_counting", "av_location", "av_comparative",
                     "av_temporal", "av_avg", "overall"), TSPM))
    assert round(weighted_overall(tspm)[0], 2) == tspm["overall"] == 76.79
    note = table3_notes()[0]
    assert "give 76.50 overall" in note and "76.51 with json_update" in note and "group averages 77.3" in note
    assert "prints 76.12" in note


def test_test_split_counts_are_the_files():
    import collections
    import json

    root = Path(PAPER_CANDIDATES[1]).parents[1] / "data/music_avqa"
    order = [("Audio", "Counting"), ("Audio", "Comparative"), ("Visual", "Counting"), ("Visual", "Location"),
             ("Audio-Visual", "Existential"), ("Audio-Visual", "Counting"), ("Audio-Visual", "Location"),
             ("Audio-Visual", "Comparative"), ("Audio-Visual", "Temporal")]
    for version, expected in (("json_update", JSON_UPDATE_COUNTS), ("json", JSON_COUNTS)):
        path = root / version / "avqa-test.json"
        if not path.is_file():
            pytest.skip(f"{path} is not on this machine")
        counts = collections.Counter(tuple(json.loads(r["type"])) for r in json.loads(path.read_text()))
        assert tuple(counts[t] for t in order) == expected, version


def test_every_table_of_the_suite_has_numbers():
    tables = {t for t, _ in read_paper_results()}
    assert {"II", "III", "IV", "VI", "VII", "VIII", "IX", "X"} <= tables


def _table_text(text: str, numeral: str) -> str:
    """The text of the paper's TABLE <numeral> up to the next TABLE heading (Table II's body sits in
    the text after its caption too)."""
    starts = [m.start() for m in re.finditer(rf"^TABLE {numeral}\s*$", text, re.M)]
    assert starts, f"TABLE {numeral} not found in the paper's text"
    start = starts[0]
    nxt = re.search(r"^TABLE [IVX]+\s*$", text[start + 10:], re.M)
    return text[start: start + 10 + nxt.start()] if nxt else text[start:]


def test_every_value_appears_in_its_table_in_the_papers_text():
    path = next((Path(p) for p in PAPER_CANDIDATES if p and Path(p).is_file()), None)
    if path is None:
        pytest.skip("the paper's text is not on this machine (set MCD_PAPER)")
    text = path.read_text(encoding="utf-8")
    for (table, row), values in read_paper_results().items():
        body = _table_text(text, table)
        for column, value in values.items():
            if column not in ("note", "ensemble_havf"):   # the marks: test_table_v_rows_as_printed
                assert re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", body), (table, row, column, value)
