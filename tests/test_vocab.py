import json

import pytest

from mcd_core.data.formats.music_avqa import Question, tokenize
from mcd_core.data.vocab import MAX_QUESTION_TOKENS, PAD, UNK, Vocab, VocabError


def q(template, values=(), answer="yes", modality="Audio-Visual", qtype="Existential", qid=1):
    return Question(question_id=qid, video_id="v", modality=modality, qtype=qtype, template=template,
                    templ_values=tuple(values), answer=answer, tokens=tokenize(template, values))


TRAIN = [q("Is there a <Object> sound?", ["piano"], "yes"),
         q("Is the <Object> louder than the <Object>?", ["cello", "flute"], "no", "Audio", "Comparative"),
         q("How many instruments are sounding in the video?", (), "two", "Audio-Visual", "Counting")]


def test_build_sorted_with_specials():
    v = Vocab.from_questions(TRAIN)
    assert v.words[:2] == [PAD, UNK] and v.words[2:] == sorted(v.words[2:])
    assert "piano" in v.words and "Is" in v.words and "sound" in v.words
    assert v.answers == ["no", "two", "yes"]
    assert {"audio-visual", "temporal", "cello", "flute", "piano"} <= set(v.object_words)
    assert v.object_words[:2] == [PAD, UNK]


def test_encodings_pad_truncate_and_unk():
    v = Vocab.from_questions(TRAIN)
    ids = v.encode_question(TRAIN[0])
    assert len(ids) == MAX_QUESTION_TOKENS and ids[5:] == [0] * 9
    assert [v.words[i] for i in ids[:5]] == ["Is", "there", "a", "piano", "sound"]
    long = q(" ".join(["Is"] * 20) + "?")
    assert v.encode_question(long) == [v.words.index("Is")] * MAX_QUESTION_TOKENS
    unseen = q("Is there a <Object> sound?", ["tuba"])
    assert v.encode_question(unseen)[3] == 1                     # tuba -> <unk>
    assert v.encode_keywords(unseen) == [1, 0, 0, 0]
    assert v.encode_keywords(TRAIN[1]) == [v.object_words.index("cello"), v.object_words.index("flute"), 0, 0]
    assert v.encode_keywords(TRAIN[2]) == [0, 0, 0, 0]
    t = q("Where is the <FL> sounding instrument?", ["first"], modality="Visual", qtype="Location")
    assert [v.object_words[i] for i in v.encode_type(t)] == ["visual", "location"]
    assert v.answer_index("two") == 1 and v.answer_index("seven") == -1


def test_save_load_roundtrip_byte_identical(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    Vocab.from_questions(TRAIN).save(a)
    Vocab.from_questions(list(reversed(TRAIN))).save(b)  # input order must not matter
    assert a.read_bytes() == b.read_bytes()
    assert Vocab.load(a) == Vocab.from_questions(TRAIN)


@pytest.mark.parametrize("content, match", [
    ("{broken", "not a JSON file"),
    (json.dumps({"words": []}), "not a vocabulary file"),
    (json.dumps({"format": "mcd-vocab/1", "max_question_tokens": 14, "words": [PAD, UNK],
                 "object_words": [PAD, UNK], "answers": "yes"}), "'answers' must be a list"),
    (json.dumps({"format": "mcd-vocab/1", "max_question_tokens": 14, "words": ["a", PAD],
                 "object_words": [PAD, UNK], "answers": []}), "words must start with"),
])
def test_load_malformed(tmp_path, content, match):
    path = tmp_path / "vocab.json"
    path.write_text(content)
    with pytest.raises(VocabError, match=match):
        Vocab.load(path)
