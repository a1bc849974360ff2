import csv
import json

import pytest

from mcd_core.cli import main
from mcd_core.scoring.metrics import COLUMNS
from mcd_core.scoring.tables import META_COLUMNS, TableError, read_failed_videos, read_predictions
from mcd_core.scoring.uncertainty import interval_columns
from mcd_core.data.formats.music_avqa import TAXONOMY


def record(qid, video, type_, answer, content="Is there a voiceover?", values=()):
    return {"video_id": video, "question_id": qid, "type": json.dumps(type_), "question_content": content,
            "templ_values": json.dumps(list(values)), "question_deleted": 0, "anser": answer}


AV_EX = ["Audio-Visual", "Existential"]
A_CNT = ["Audio", "Counting"]
COUNT_T = "How many instruments are sounding in the video?"


@pytest.fixture
def files(tmp_path):
    ann = [record(1, "v1", AV_EX, "yes"), record(2, "v1", AV_EX, "no"), record(3, "v2", A_CNT, "two", COUNT_T),
           record(4, "v3", A_CNT, "one", COUNT_T), record(5, "v3", AV_EX, "yes")]
    (tmp_path / "test.json").write_text(json.dumps(ann))
    (tmp_path / "pred.csv").write_text("question_id,prediction,extra\n1,yes,x\n2,yes,x\n3,two,x\n5,yes,x\n")
    return tmp_path


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_read_predictions_errors(tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text("qid,prediction\n1,yes\n")
    with pytest.raises(TableError, match=r"p.csv: missing column 'question_id'"):
        read_predictions(bad)
    bad.write_text("question_id,answer\n1,yes\n")
    with pytest.raises(TableError, match=r"p.csv: missing column 'prediction'"):
        read_predictions(bad)
    bad.write_text("question_id,prediction\n1,yes\n1.5,no\n")
    with pytest.raises(TableError, match=r"p.csv: line 3: column 'question_id' is not an integer: '1.5'"):
        read_predictions(bad)
    bad.write_text("question_id,prediction\n1,yes\n1,no\n")
    with pytest.raises(TableError, match="two different predictions"):
        read_predictions(bad)


def test_failures_manifest_formats(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps([{"video_id": "v1", "reason": "x"}]))
    b.write_text(json.dumps({"failures": [{"video_id": "v2"}, {"video_id": "v3"}]}))
    assert read_failed_videos(a) == {"v1"} and read_failed_videos(b) == {"v2", "v3"}
    a.write_text(json.dumps([{"video": "v1"}]))
    with pytest.raises(TableError, match="a.json: failure 0 has no string field 'video_id'"):
        read_failed_videos(a)


def test_score_cli_table_notes_and_meta(files, capsys):
    out = files / "t.csv"
    rc = main(["score", "--annotations", str(files / "test.json"), "--predictions", str(files / "pred.csv"),
               "--out", str(out), "--name", "m1", "--meta", "seed=3", "zeta=z", "alpha=a"])
    assert rc == 0
    header = out.read_text().splitlines()[0].split(",")
    intervals = interval_columns(TAXONOMY)
    assert intervals == ["audio_avg_lo", "audio_avg_hi", "visual_avg_lo", "visual_avg_hi", "av_avg_lo",
                         "av_avg_hi", "overall_lo", "overall_hi"]
    assert header == ["method", *COLUMNS, *intervals, *META_COLUMNS, "alpha", "zeta"]
    method, n = read_rows(out)
    # 95 % bootstrap intervals: audio has one right and one wrong question, so its resampled means
    # reach 0 and 100; overall (3 of 5) lies inside its own; a column without questions has none
    assert (method["audio_avg_lo"], method["audio_avg_hi"]) == ("0.00", "100.00")
    assert float(method["overall_lo"]) < 60.0 < float(method["overall_hi"]) <= 100.0
    assert method["visual_avg_lo"] == method["visual_avg_hi"] == "" and n["overall_lo"] == ""
    assert method["method"] == "m1" and n["method"] == "N"
    assert method["av_existential"] == "66.67" and n["av_existential"] == "3"
    assert method["audio_counting"] == "50.00" and method["overall"] == "60.00"
    assert method["visual_counting"] == "" and n["visual_counting"] == "0"
    assert method["seed"] == "3" and method["alpha"] == "a" and method["annotations"] == f"{files.name}/test.json"
    assert method["notes"] == "1 questions had no prediction (scored wrong)"
    assert "m1,50.00" in capsys.readouterr().out


def test_score_cli_exclude_videos(files):
    manifest = files / "failures.json"
    manifest.write_text(json.dumps({"failures": [{"video_id": "v3", "stage": "frames"}]}))
    out = files / "t.csv"
    assert main(["score", "--annotations", str(files / "test.json"), "--predictions", str(files / "pred.csv"),
                 "--out", str(out), "--exclude-videos", str(manifest)]) == 0
    method, n = read_rows(out)
    assert method["method"] == "pred" and n["overall"] == "3"
    assert method["overall"] == "66.67"        # question 4 (no prediction) left out with its video
    assert method["notes"] == "1 videos / 2 questions left out (extraction failures)"


def test_score_cli_errors_leave_no_output(files, capsys):
    (files / "pred.csv").write_text("question_id,prediction\n1,yes\n42,no\n")
    out = files / "t.csv"
    rc = main(["score", "--annotations", str(files / "test.json"), "--predictions", str(files / "pred.csv"),
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "mcd score: error:" in err and "pred.csv" in err and "[42]" in err
    assert not out.exists() and not list(files.glob(".tmp-*"))
    assert main(["score", "--annotations", str(files / "test.json"), "--predictions", str(files / "pred.csv"),
                 "--out", str(out), "--meta", "overall=1"]) == 2


def test_prior_cli_writes_predictions(files):
    (files / "train.json").write_text(json.dumps([record(10, "t", AV_EX, "no"), record(11, "t", AV_EX, "yes"),
                                                  record(12, "t", A_CNT, "two", COUNT_T)]))
    out = files / "prior.csv"
    assert main(["prior", "--train", str(files / "train.json"), "--test", str(files / "test.json"),
                 "--out", str(out)]) == 0
    rows = read_rows(out)
    assert list(rows[0]) == ["question_id", "video_id", "type", "answer", "prediction", "correct"]
    assert [r["prediction"] for r in rows] == ["no", "no", "two", "two", "no"]   # yes/no tie -> "no"
    assert [r["correct"] for r in rows] == ["0", "1", "1", "0", "0"]
    assert rows[2]["type"] == "Audio/Counting"


def test_vocab_cli_deterministic(files):
    a, b = files / "a.json", files / "b.json"
    assert main(["vocab", "--train", str(files / "test.json"), "--out", str(a)]) == 0
    assert main(["vocab", "--train", str(files / "test.json"), "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(a.read_text())["answers"] == ["no", "one", "two", "yes"]


def score_to(files, name, pred, out, *extra):
    (files / f"{name}.csv").write_text(pred)
    assert main(["score", "--annotations", str(files / "test.json"), "--predictions", str(files / f"{name}.csv"),
                 "--out", str(out), *extra]) == 0


def test_table_cli_stacks_rows_and_notes(files):
    full = "question_id,prediction\n1,yes\n2,no\n3,two\n4,one\n5,yes\n"
    score_to(files, "good", full, files / "t1.csv", "--meta", "seed=1", "zeta=z")
    score_to(files, "partial", "question_id,prediction\n1,yes\n", files / "t2.csv")
    manifest = files / "f.json"
    manifest.write_text(json.dumps([{"video_id": "v2"}]))
    score_to(files, "fewer", full, files / "t3.csv", "--exclude-videos", str(manifest))
    out, md = files / "table3.csv", files / "table3.md"
    assert main(["table", "--rows", *(str(files / f"t{i}.csv") for i in (1, 2, 3)), "--out", str(out),
                 "--md", str(md), "--title", "Test table", "--note", "json_update test"]) == 0
    rows = read_rows(out)
    assert [r["method"] for r in rows] == ["good", "partial", "fewer", "N"]
    assert rows[0]["overall"] == "100.00" and rows[1]["overall"] == "20.00"
    assert rows[3]["overall"] == "5"                        # first table's N row
    assert rows[0]["zeta"] == "z" and rows[1]["zeta"] == ""
    text = md.read_text()
    assert text.startswith("# Test table")
    assert "| N | 2 | 0 | 2 |" in text
    assert "- json_update test" in text
    assert "t3.csv differ from" in text and "audio_counting" in text
    assert "- partial: 4 questions had no prediction (scored wrong)" in text
    # a method name given twice is an error, and nothing is written
    out.unlink()
    assert main(["table", "--rows", str(files / "t1.csv"), str(files / "t1.csv"), "--out", str(out),
                 "--md", str(md)]) == 2
    assert not out.exists()


def test_table_rejects_malformed_score_file(files, capsys):
    bad = files / "bad.csv"
    bad.write_text("method,overall\nx,1\n")
    assert main(["table", "--rows", str(bad), "--out", str(files / "o.csv"), "--md", str(files / "o.md")]) == 2
    assert "bad.csv: missing column(s) audio_counting" in capsys.readouterr().err


def test_row_notes_tell_missing_videos_from_extraction_failures(tmp_path):
    from mcd_core.data.formats.music_avqa import load_annotations
    from mcd_core.scoring.tables import score_predictions

    records = [{"video_id": v, "question_id": i, "type": '["Audio", "Counting"]',
                "question_content": "How many instruments are sounding in the video?", "templ_values": "[]",
                "question_deleted": 0, "anser": "two"} for i, v in enumerate(["a", "b", "b", "c"])]
    (tmp_path / "test.json").write_text(json.dumps(records))
    (tmp_path / "p.csv").write_text("question_id,prediction\n0,two\n")
    (tmp_path / "missing.json").write_text(json.dumps([{"video_id": "b", "stage": "videos", "error": "no file"}]))
    (tmp_path / "failed.json").write_text(json.dumps([{"video_id": "c", "stage": "frames", "error": "corrupt"}]))
    annotations = load_annotations(tmp_path / "test.json")
    only_missing = score_predictions(annotations, tmp_path / "p.csv", "M", {}, [tmp_path / "missing.json"])
    assert "1 videos / 2 questions left out (videos without a file (missing_videos: skip))" in only_missing.rows[0]["notes"]
    both = score_predictions(annotations, tmp_path / "p.csv", "M", {}, [tmp_path / "missing.json", tmp_path / "failed.json"])
    assert ("2 videos / 3 questions left out (1 extraction failures, 1 videos without a file "
            "(missing_videos: skip))") in both.rows[0]["notes"]


def test_table_adds_a_mean_sd_row_per_setting_trained_with_several_seeds(files):
    full = "question_id,prediction\n1,yes\n2,no\n3,two\n4,one\n5,yes\n"
    half = "question_id,prediction\n1,yes\n2,yes\n3,two\n4,two\n5,yes\n"   # 3 of 5 right
    rows = []
    for seed, preds in ((0, full), (1, half), (2, full)):
        rows.append(files / f"mcd{seed}.csv")
        score_to(files, f"m{seed}", preds, rows[-1], "--name", f"MCD seed={seed}", "--meta", f"seed={seed}",
                 "--meta", "visual_backbone=resnet18")
    for seed, preds in ((0, full), (1, half)):  # AVST on two backbones: one seed each, no mean
        rows.append(files / f"avst{seed}.csv")
        score_to(files, f"a{seed}", preds, rows[-1], "--name", f"AVST seed={seed}", "--meta", f"seed={seed}",
                 "--meta", f"visual_backbone={['resnet18', 'clip_vit_b32'][seed]}")
    rows.append(files / "prior.csv")
    score_to(files, "p", half, rows[-1], "--name", "prior")
    out, md = files / "table3.csv", files / "table3.md"
    assert main(["table", "--rows", *map(str, rows), "--out", str(out), "--md", str(md)]) == 0
    table = read_rows(out)
    assert [r["method"] for r in table] == ["MCD seed=0", "MCD seed=1", "MCD seed=2", "MCD mean",
                                            "AVST seed=0", "AVST seed=1", "prior", "N"]
    mean = table[3]
    assert mean["overall"] == "86.67" and mean["overall_sd"] == "23.09"   # 100, 60, 100
    assert mean["audio_counting"] == "83.33" and mean["audio_counting_sd"] == "28.87"  # 100, 50, 100
    assert mean["visual_counting"] == "" and mean["visual_counting_sd"] == ""        # no question of it
    assert mean["seed"] == "0 1 2" and mean["visual_backbone"] == "resnet18"
    assert table[0]["overall_sd"] == "" and table[6]["overall_sd"] == ""
    text = md.read_text()
    assert "| MCD mean | 83.33 ± 28.87 |" in text
    assert "overall_sd" not in text     # the sd columns are not metadata

    # one seed per setting: no mean row and no sd columns
    assert main(["table", "--rows", str(rows[0]), str(rows[3]), "--out", str(out), "--md", str(md)]) == 0
    assert [r["method"] for r in read_rows(out)] == ["MCD seed=0", "AVST seed=0", "N"]
    assert "overall_sd" not in read_rows(out)[0]


def test_table3_paper_rows_all_twelve_plus_tspm_with_per_column_diffs(files):
    score_to(files, "good", "question_id,prediction\n1,yes\n2,no\n3,two\n4,one\n5,yes\n", files / "t1.csv",
             "--name", "MCD")
    out, md = files / "table3.csv", files / "table3.md"
    assert main(["table", "--rows", str(files / "t1.csv"), "--paper-rows", "music_avqa", "--out", str(out),
                 "--md", str(md)]) == 0
    rows = read_rows(out)
    published = [r["method"] for r in rows if r["source"]]
    assert published == [f"{m} (MCD paper)" for m in ("FCNLSTM", "GRU", "HCAtn", "MCAN", "PSAC", "HME", "HCRN",
                                                      "AVSD", "Pano-AVQA", "AVST", "PSTP-Net", "MCD")] + \
        ["TSPM (TSPM paper)"]
    by = {r["method"]: r for r in rows}
    # paper-only rows: the paper's numbers, nothing of ours
    assert by["HCRN (MCD paper)"]["av_existential"] == "54.15" and by["HCRN (MCD paper)"]["seed"] == ""
    assert by["HCRN (MCD paper)"]["overall_lo"] == "" and by["TSPM (TSPM paper)"]["overall"] == "76.79"
    # ours (100 % audio counting, 100 % overall) minus the paper's MCD row, column by column
    assert by["MCD"]["paper_row"] == "MCD (MCD paper)"
    assert by["MCD"]["diff_audio_counting"] == "+17.60" and by["MCD"]["diff_overall"] == "+23.88"
    assert by["MCD"]["diff_visual_counting"] == ""           # no visual question of ours
    assert [r["method"] for r in rows][-1] == "N" and by["N"]["overall"] == "5"
    text = md.read_text()
    assert "give 76.50 overall" in text and "prints 76.12" in text and "Panp-AVQA" in text
    assert "| MCD | MCD (MCD paper) | +17.60 |" in text
