"""The `avqa` format: records written exactly as the official train_qa.json / val_qa.json
(shared/docs/avqa-facts.md), their quirks, the carved validation split, the vocabulary and dataset
items of a multiple-choice format."""

import json

import pytest
import torch

from mcd_core.data.dataset import AVQADataset
from mcd_core.data.formats import get_format
from mcd_core.data.formats.avqa import TAXONOMY, carve_val_videos
from mcd_core.data.questions import AnnotationError
from mcd_core.data.vocab import MAX_OPTION_TOKENS, Vocab

# The facts file's record, verbatim, then the quirks: a short option list, a None option, a
# YouTube id beginning with '-', another relation and type.
FACTS_RECORD = {"id": 183, "video_name": "-HG3Omg_89c_000030", "video_id": 341,
                "question_text": "What happened in the video?",
                "multi_choice": ["motorboat", "Yacht consignment", "Sailboat set sail", "Consignment car"],
                "answer": 1, "question_relation": "View", "question_type": "Happening"}
SHORT = {"id": 7, "video_name": "abcdefghijk_000010", "video_id": 12,
         "question_text": "Where is the sound of the dog coming from?",
         "multi_choice": ["garden", None, "kitchen"], "answer": 2,
         "question_relation": "Both", "question_type": "Come From"}


def write(path, records):
    path.write_text(json.dumps(records))
    return path


def test_facts_record_reads_as_a_four_option_question(tmp_path):
    fmt = get_format("avqa")
    assert fmt.answer_kind == "choice"
    (q, short) = fmt.load(write(tmp_path / "val_qa.json", [FACTS_RECORD, SHORT])).questions
    assert q.question_id == 183 and q.video_id == "-HG3Omg_89c_000030"   # the '-' id kept as is
    assert (q.modality, q.qtype) == ("View", "Happening")
    assert q.options == ("motorboat", "Yacht consignment", "Sailboat set sail", "Consignment car")
    assert q.answer == "1"                                     # the index, as the official scorer
    assert q.tokens == ("what", "happened", "in", "the", "video")   # '?' dropped, lower-case
    assert q.option_tokens[2] == ("sailboat", "set", "sail")
    # fewer than four options are padded with 'NULL', None reads as 'null'
    assert short.options == ("garden", "null", "kitchen", "NULL")
    assert short.answer == "2" and short.qtype == "Come From"
    assert TAXONOMY.columns_of(short) == ("come_from", "avqa_avg")


@pytest.mark.parametrize("field, value, message", [
    ("answer", 4, "'answer' 4 is not an index"),
    ("question_type", "How", "'question_type' 'How'"),
    ("question_relation", "Smell", "'question_relation' 'Smell'"),
    ("multi_choice", ["a", "b", "c", "d", "e"], "'multi_choice'"),
    ("video_name", "../x_000000", "'video_name'"),
    ("id", "183", "'id' must be an integer"),
])
def test_bad_records_name_file_record_and_field(tmp_path, field, value, message):
    path = write(tmp_path / "train_qa.json", [SHORT, {**FACTS_RECORD, field: value}])
    with pytest.raises(AnnotationError) as err:
        get_format("avqa").load(path)
    assert str(path) in str(err.value) and "record 1" in str(err.value) and message in str(err.value)


def test_non_object_and_incomplete_records_are_named(tmp_path):
    incomplete = {k: v for k, v in FACTS_RECORD.items() if k != "question_type"}
    path = write(tmp_path / "train_qa.json", [SHORT, incomplete])
    with pytest.raises(AnnotationError, match=rf"record 1 \(id {FACTS_RECORD['id']!r}\): missing field\(s\) 'question_type'"):
        get_format("avqa").load(path)
    path = write(tmp_path / "val_qa.json", [SHORT, ["not", "a", "record"]])
    with pytest.raises(AnnotationError, match=r"val_qa.json: record 1: expected an object, got list"):
        get_format("avqa").load(path)


def records(n, first=0):
    return [{**FACTS_RECORD, "id": first + i, "video_name": f"vid{i:08d}_{i % 3 * 10:06d}", "video_id": i,
             "answer": i % 4} for i in range(n)]


def test_carve_files_split_train_by_whole_videos_deterministically(tmp_path):
    rows = records(50)
    rows.append({**rows[3], "id": 999})                         # a video with two questions
    write(tmp_path / "train_qa.json", rows)
    for part in ("train", "val"):
        write(tmp_path / f"{part}.json", {"avqa_carve": part, "source": "train_qa.json",
                                          "val_questions": 10, "seed": 3})
    fmt = get_format("avqa")
    train, val = fmt.load(tmp_path / "train.json"), fmt.load(tmp_path / "val.json")
    assert len(train) + len(val) == 51
    assert not train.video_ids & val.video_ids                  # no video in both
    assert 10 <= len(val) <= 11
    # the carve depends on the video names, not on the order of the records in the file
    write(tmp_path / "train_qa.json", rows[::-1])
    assert fmt.load(tmp_path / "val.json").video_ids == val.video_ids
    assert carve_val_videos(rows, 10, 4) != val.video_ids       # another seed, another carve


def test_carve_file_errors_are_one_line(tmp_path):
    write(tmp_path / "val.json", {"avqa_carve": "test", "source": "train_qa.json"})
    with pytest.raises(AnnotationError, match="'avqa_carve' must be 'train' or 'val'"):
        get_format("avqa").load(tmp_path / "val.json")
    write(tmp_path / "val.json", {"avqa_carve": "val", "source": "nowhere.json"})
    with pytest.raises(AnnotationError, match="nowhere.json: annotation file not found"):
        get_format("avqa").load(tmp_path / "val.json")


def test_vocab_and_dataset_items_of_a_choice_format(tmp_path):
    fmt = get_format("avqa")
    questions = fmt.load(write(tmp_path / "q.json", [FACTS_RECORD, SHORT])).questions
    vocab = Vocab.from_questions(questions, fmt.type_words)
    assert vocab.answers == ["0", "1", "2", "3"] and vocab.choice_options == 4
    assert {"sailboat", "kitchen", "null"} <= set(vocab.words)   # option words are question words
    assert {"view", "happening", "come from"} <= set(vocab.object_words)
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json") == vocab
    item = AVQADataset(questions, vocab)[0]
    assert item["options"].shape == (4, MAX_OPTION_TOKENS)
    assert int(item["answer"]) == 1
    assert item["options"][2, :3].tolist() == [vocab.words.index(w) for w in ("sailboat", "set", "sail")]
    assert torch.equal(item["options"][2, 3:], torch.zeros(MAX_OPTION_TOKENS - 3, dtype=torch.long))
