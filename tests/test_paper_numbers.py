"""The paper's numbers file (mcd_core/scoring/paper_results.csv) against the paper's text.

Spot values per table are quoted here from the paper; when the paper's text is present (the
shared papers folder of the project's workspace, or MCD_PAPER), every value of the file must also
appear in the text of its own table.
"""

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
}

PAPER_CANDIDATES = [os.environ.get("MCD_PAPER", ""),
                    "/work/shared/papers/mcd-answering-diverse-questions.md",
                    str(Path(__file__).resolve().parents[2] / "shared/papers/mcd-answering-diverse-questions.md")]


def test_spot_values_match_the_paper():
    paper = read_paper_results()
    for (table, row, column), value in SPOT_VALUES.items():
        assert paper[(table, row)][column] == value, (table, row, column)


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
            if column != "note":
                assert re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", body), (table, row, column, value)
