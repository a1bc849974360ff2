import json
import logging
from pathlib import Path

import pytest

from mcd_core.data.questions import filter_by_videos
from mcd_core.data.formats.music_avqa import (QUESTION_TYPES, AnnotationError,
                                       load_annotations, tokenize)

REAL = Path("/work/shared/data/music_avqa")
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real MUSIC-AVQA annotations not mounted")


def record(qid=1, video="00000001", type_=("Audio-Visual", "Temporal"), content="Where is the <FL> sounding instrument?",
           values=("first",), answer="left", **overrides):
    rec = {"video_id": video, "question_id": qid, "type": json.dumps(list(type_)),
           "question_content": content, "templ_values": json.dumps(list(values)),
           "question_deleted": 0, "anser": answer}
    rec.update(overrides)
    return rec


def write(tmp_path, records, name="a.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def test_tokenize_glued_placeholder_fullwidth_and_trailing_space():
    assert tokenize("Is the <Object> louder than the <Object>?", ["cello", "flute"]) == (
        "Is", "the", "cello", "louder", "than", "the", "flute")
    assert tokenize("How many sounding <Object> in the video？", ["piano"]) == (
        "How", "many", "sounding", "piano", "in", "the", "video")
    assert tokenize("What kind of instrument is the <LRer> instrument? ", ["leftest"])[-2:] == (
        "leftest", "instrument")


def test_tokenize_rejects_unpaired_placeholders():
    with pytest.raises(ValueError):
        tokenize("Is the <Object> louder than the <Object>?", ["cello"])
    with pytest.raises(ValueError):
        tokenize("Is there a voiceover?", ["cello"])


def test_question_fields_and_text(tmp_path):
    path = write(tmp_path, [record(content="Is the <Object> on the <LR> louder than the <Object> on the <LR>?",
                                   values=("cello", "left", "piano", "right"), type_=("Audio-Visual", "Comparative"),
                                   answer="no")])
    (q,) = load_annotations(path).questions
    assert q.type_key == "Audio-Visual/Comparative"
    assert q.templ_values == ("cello", "left", "piano", "right")
    assert q.text == "Is the cello on the left louder than the piano on the right?"
    assert q.tokens[-1] == "right" and len(q.tokens) == 13
    assert q.answer == "no"


def test_missing_and_extra_keys_are_named(tmp_path):
    bad = record(qid=7)
    del bad["anser"]
    with pytest.raises(AnnotationError, match=r"record 0 \(question_id 7\).*'anser'"):
        load_annotations(write(tmp_path, [bad]))
    with pytest.raises(AnnotationError, match="unexpected field.*'answer'"):
        load_annotations(write(tmp_path, [{**record(), "answer": "x"}]))


def test_bad_type_and_placeholder_count(tmp_path):
    with pytest.raises(AnnotationError, match="question_id 3.*'type'"):
        load_annotations(write(tmp_path, [record(qid=3, type_=("Visual", "Temporal"))]))
    with pytest.raises(AnnotationError, match="question_id 4.*placeholders"):
        load_annotations(write(tmp_path, [record(qid=4, values=())]))
    with pytest.raises(AnnotationError, match="'templ_values' is not a JSON list"):
        load_annotations(write(tmp_path, [record(templ_values="['first']")]))  # python repr, not JSON


def test_not_json_or_not_a_list(tmp_path):
    garbage = tmp_path / "g.json"
    garbage.write_text("{not json")
    with pytest.raises(AnnotationError, match="g.json: not a JSON file"):
        load_annotations(garbage)
    with pytest.raises(AnnotationError, match="d.json: expected a JSON list"):
        load_annotations(write(tmp_path, {"questions": []}, "d.json"))


def test_duplicates_reported_or_raised(tmp_path, caplog):
    path = write(tmp_path, [record(qid=5, answer="left"), record(qid=6), record(qid=5, answer="right")])
    with caplog.at_level(logging.WARNING):
        ann = load_annotations(path)
    assert ann.duplicates == {5: ["left", "right"]}
    assert len(ann.questions) == 3  # copies kept, as in the file
    assert "1 duplicated question id" in caplog.text
    with pytest.raises(AnnotationError, match="5 \\['left', 'right'\\]"):
        load_annotations(path, on_duplicate="error")


def test_filter_by_videos(tmp_path):
    ann = load_annotations(write(tmp_path, [record(qid=1, video="a"), record(qid=2, video="b"),
                                            record(qid=3, video="a")]))
    kept, dropped = filter_by_videos(ann.questions, {"a"})
    assert [q.question_id for q in kept] == [1, 3]
    assert [q.question_id for q in dropped] == [2]


@needs_real
@pytest.mark.parametrize("rel, n, n_dup", [("json/avqa-test.json", 9185, 55), ("json/avqa-val.json", 4595, 27),
                                           ("json_update/avqa-test.json", 9129, 0),
                                           ("json_update/avqa-val.json", 4568, 0)])
def test_real_files_tokenize_and_duplicates(rel, n, n_dup):
    ann = load_annotations(REAL / rel)
    assert len(ann.questions) == n
    assert len(ann.duplicates) == n_dup
    assert all(len(set(answers)) > 1 for answers in ann.duplicates.values())  # conflicting answers
    types = set()
    for q in ann.questions:
        types.add((q.modality, q.qtype))
        assert not any("<" in t or ">" in t or "?" in t or "？" in t for t in q.tokens), q
        assert [t for t in q.tokens if t in q.templ_values] or not q.templ_values
        assert len(q.tokens) <= 14
        assert "<" not in q.text and q.text.rstrip()[-1] in "?？"
    assert types == set(QUESTION_TYPES)
