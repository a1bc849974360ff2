"""AVQA scoring: per-type accuracy and the total with counts (hand-computed), the multiple-choice
prior and its note, and Table V (`mcd table --paper-rows avqa`) with the published rows."""

import csv
import json

import pytest

from mcd_core.cli import main
from mcd_core.data.formats import get_format
from mcd_core.scoring.prior import chance_option, fit_choice_prior
from mcd_core.scoring.tables import score_predictions


def rec(i, qtype, answer, options=("dog", "cat", "car", "bird"), text="What makes the sound?", rel="Sound"):
    return {"id": i, "video_name": f"-vid{i:07d}_000000", "video_id": i, "question_text": text,
            "multi_choice": list(options), "answer": answer, "question_relation": rel, "question_type": qtype}


# Eight test questions: Which x3, Come From x2, Happening x1, Why x1, When x1.
TEST = [rec(1, "Which", 0), rec(2, "Which", 1), rec(3, "Which", 2), rec(4, "Come From", 3, rel="Both"),
        rec(5, "Come From", 0), rec(6, "Happening", 1, rel="View"), rec(7, "Why", 2), rec(8, "When", 3)]
# Predicted option indices: right on 1, 2, 4, 6 and 8; wrong on 3, 5, 7.
PREDICTED = {1: 0, 2: 1, 3: 0, 4: 3, 5: 2, 6: 1, 7: 0, 8: 3}


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "val_qa.json").write_text(json.dumps(TEST))
    with open(tmp_path / "pred.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question_id", "prediction"])
        for qid, p in PREDICTED.items():
            w.writerow([qid, p])
    return tmp_path


def test_per_type_accuracy_and_total_by_hand(files):
    fmt = get_format("avqa")
    table = score_predictions(fmt.load(files / "val_qa.json"), files / "pred.csv", "MCD", {},
                              taxonomy=fmt.taxonomy)
    row, n = table.rows[0], table.counts
    # Which 2/3, Come From 1/2, Happening 1/1, Why 0/1, When 1/1, others no question; total 5/8
    assert (row["which"], n["which"]) == ("66.67", "3")
    assert (row["come_from"], n["come_from"]) == ("50.00", "2")
    assert (row["happening"], row["why"], row["when"]) == ("100.00", "0.00", "100.00")
    assert (row["where"], n["where"], row["before_next"], row["used_for"]) == ("", "0", "", "")
    assert (row["avqa_avg"], n["avqa_avg"]) == ("62.50", "8")


def test_choice_prior_takes_the_template_answer_text_then_overall_then_chance():
    fmt_questions = [rec(i, "Which", i % 2, options=("dog", "cat", "x", "y")) for i in range(5)]  # dog 3, cat 2
    fmt_questions.append(rec(9, "Where", 1, options=("sea", "park", "x", "y"), text="Where is it?"))
    from mcd_core.data.formats.avqa import parse_record
    from pathlib import Path

    train = [parse_record(r, i, Path("t.json")) for i, r in enumerate(fmt_questions)]
    prior = fit_choice_prior(train)
    ask = lambda **kw: parse_record(rec(100, "Which", 0, **kw), 0, Path("v.json"))  # noqa: E731
    assert prior.route_and_answer(ask(options=("cat", "dog", "a", "b"))) == ("template", "1")  # dog
    assert prior.route_and_answer(ask(options=("a", "cat", "b", "c"))) == ("template", "1")
    # an unseen question text: the option most often right overall (park once, dog three times)
    assert prior.route_and_answer(ask(text="New?", options=("park", "dog", "a", "b"))) == ("overall", "1")
    # the template was seen, but none of its right answers is offered: overall counts next
    assert prior.route_and_answer(ask(options=("park", "a", "b", "c"))) == ("overall", "0")
    # nothing ever right: a fixed pseudo-random option
    assert prior.route_and_answer(ask(options=("a", "b", "c", "d"))) == ("chance", str(chance_option(100, 4)))


def test_table5_stacks_ours_prior_and_published_rows(files, tmp_path):
    train = [rec(100 + i, "Which", 0) for i in range(4)]    # "dog" is always right in training
    (tmp_path / "train_qa.json").write_text(json.dumps(train))
    assert main(["prior", "--format", "avqa", "--train", str(tmp_path / "train_qa.json"),
                 "--test", str(files / "val_qa.json"), "--out", str(tmp_path / "prior.csv")]) == 0
    for name, preds in (("MCD", files / "pred.csv"), ("prior", tmp_path / "prior.csv")):
        assert main(["score", "--format", "avqa", "--annotations", str(files / "val_qa.json"),
                     "--predictions", str(preds), "--name", name, "--out", str(tmp_path / f"{name}.score.csv")]) == 0
    assert main(["table", "--format", "avqa", "--rows", str(tmp_path / "MCD.score.csv"),
                 str(tmp_path / "prior.score.csv"), "--paper-rows", "avqa", "--title", "Table V",
                 "--train", str(tmp_path / "train_qa.json"), "--test", str(files / "val_qa.json"),
                 "--out", str(tmp_path / "table5.csv"), "--md", str(tmp_path / "table5.md")]) == 0
    rows = {r["method"]: r for r in csv.DictReader(open(tmp_path / "table5.csv"))}
    assert rows["MCD"]["avqa_avg"] == "62.50"
    # the prior picks "dog" (option 0) everywhere: right on questions 1 and 5 of 8
    assert rows["prior"]["avqa_avg"] == "25.00" and rows["prior"]["which"] == "33.33"
    assert rows["HCRN+HAVF (AVQA paper)"]["why"] == "57.0" and rows["HCRN+HAVF (AVQA paper)"]["avqa_avg"] == "89.0"
    assert rows["PSTP-Net (MCD paper)"]["avqa_avg"] == "90.2"
    assert rows["MCM w/ SA (MCD paper)"]["avqa_avg"] == "90.8" and rows["MCM w/ SA (MCD paper)"]["which"] == ""
    assert rows["N"]["avqa_avg"] == "8"
    md = (tmp_path / "table5.md").read_text()
    assert "| Which | Come From | Happening | Where | Why | Before Next | When | Used For | Total |" in md
    assert "answered 8 of 8 test questions" in md    # the prior's route, said in the notes


def test_table5_has_every_row_of_the_papers_table_v_with_its_havf_mark(files, tmp_path):
    assert main(["score", "--format", "avqa", "--annotations", str(files / "val_qa.json"),
                 "--predictions", str(files / "pred.csv"), "--name", "MCD", "--out", str(tmp_path / "s.csv")]) == 0
    assert main(["table", "--format", "avqa", "--rows", str(tmp_path / "s.csv"), "--paper-rows", "avqa",
                 "--out", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md")]) == 0
    rows = {r["method"]: r for r in csv.DictReader(open(tmp_path / "t.csv"))}
    table_v = {m: (r["ensemble_havf"], r["avqa_avg"]) for m, r in rows.items() if m.endswith("(MCD paper)")}
    assert table_v == {"HME (MCD paper)": ("✓", "85.0"), "PSAC (MCD paper)": ("✓", "87.4"),
                       "LADNet (MCD paper)": ("✓", "84.1"), "ACRTransformer (MCD paper)": ("✓", "87.8"),
                       "HGA (MCD paper)": ("✓", "87.7"), "HCRN (MCD paper)": ("✓", "89.0"),
                       "PSTP-Net (MCD paper)": ("×", "90.2"), "MCM w/o SA (MCD paper)": ("×", "89.5"),
                       "MCM w/ SA (MCD paper)": ("×", "90.8")}
    # our MCD against the paper's MCM w/ SA, per column: 62.50 - 90.8
    assert rows["MCD"]["paper_row"] == "MCM w/ SA (MCD paper)" and rows["MCD"]["diff_avqa_avg"] == "-28.30"
    assert rows["MCD"]["avqa_avg_lo"] and rows["HME (MCD paper)"]["avqa_avg_lo"] == ""
    assert "ensemble_havf" in (tmp_path / "t.md").read_text()
    # Table III's rows are MUSIC-AVQA's: refused for an AVQA table
    assert main(["table", "--format", "avqa", "--rows", str(tmp_path / "s.csv"), "--paper-rows", "music_avqa",
                 "--out", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md")]) == 2
