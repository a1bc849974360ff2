from pathlib import Path

import pytest

from mcd_core.data.formats.music_avqa import Question, load_annotations, tokenize
from mcd_core.data.vocab import Vocab
from mcd_core.scoring.metrics import COLUMNS, score
from mcd_core.scoring.prior import PriorError, fit_prior

REAL = Path("/work/shared/data/music_avqa")
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real MUSIC-AVQA annotations not mounted")


def q(qid, modality, qtype, answer, template="Is there a voiceover?", values=(), video="v"):
    return Question(question_id=qid, video_id=video, modality=modality, qtype=qtype, template=template,
                    templ_values=tuple(values), answer=answer, tokens=tokenize(template, values))


def test_weighted_averages_not_mean_of_types():
    questions = [q(1, "Audio", "Counting", "one"),
                 q(2, "Audio", "Comparative", "yes"), q(3, "Audio", "Comparative", "no"),
                 q(4, "Audio", "Comparative", "no"),
                 q(5, "Visual", "Location", "left")]
    preds = {1: "one", 2: "yes", 3: "yes", 4: "yes", 5: "left"}
    r = score(questions, preds)
    assert r.accuracy["audio_counting"] == 100.0
    assert r.accuracy["audio_comparative"] == pytest.approx(100 / 3)
    assert r.accuracy["audio_avg"] == 50.0            # 2/4; the unweighted mean would be 66.67
    assert r.accuracy["overall"] == 60.0              # 3/5; mean of the two modality avgs would be 75
    assert r.counts["audio_avg"] == 4 and r.counts["overall"] == 5
    assert r.per_question == [True, True, False, False, True]


def test_empty_columns_are_none_and_missing_predictions_wrong():
    questions = [q(1, "Audio-Visual", "Temporal", "first"), q(2, "Audio-Visual", "Temporal", "last")]
    r = score(questions, {1: "first", 99: "x"})
    assert r.accuracy["av_temporal"] == 50.0
    assert r.accuracy["audio_counting"] is None and r.accuracy["visual_avg"] is None
    assert r.counts["visual_avg"] == 0
    assert r.missing_ids == [2]
    assert r.extra_ids == [99]
    assert list(r.accuracy) == list(COLUMNS)


def test_type_comes_from_scored_record():
    # Same id scored under two different annotation records: each uses its own type.
    a = score([q(7, "Visual", "Counting", "two")], {7: "two"})
    b = score([q(7, "Audio", "Counting", "two")], {7: "two"})
    assert a.accuracy["visual_counting"] == 100.0 and a.accuracy["audio_counting"] is None
    assert b.accuracy["audio_counting"] == 100.0 and b.accuracy["visual_counting"] is None


def test_unseen_answers_counted_and_wrong():
    vocab = Vocab.from_questions([q(1, "Audio", "Counting", "one")])
    questions = [q(2, "Audio", "Counting", "seven"), q(3, "Audio", "Counting", "one")]
    r = score(questions, {2: "one", 3: "one"}, vocab)
    assert r.unseen_answers == 1
    assert r.accuracy["audio_counting"] == 50.0
    assert score(questions, {}).unseen_answers is None


def test_prior_template_ties_and_fallbacks():
    t1 = "Is there a <Object> sound?"
    train = [q(1, "Audio-Visual", "Existential", "yes", t1, ["piano"]),
             q(2, "Audio-Visual", "Existential", "no", t1, ["cello"]),       # tie yes/no -> "no" (sorted)
             q(3, "Audio-Visual", "Existential", "yes"),                      # voiceover template
             q(4, "Audio-Visual", "Existential", "yes"),
             q(5, "Audio", "Counting", "two", "How many instruments are sounding in the video?"),
             q(6, "Audio", "Counting", "three", "How many instruments are sounding in the video?"),
             q(7, "Audio", "Counting", "three", "How many instruments are sounding in the video?")]
    prior = fit_prior(train)
    assert prior.predict(q(10, "Audio-Visual", "Existential", "?", t1, ["flute"])) == "no"
    assert prior.predict(q(11, "Audio-Visual", "Existential", "?")) == "yes"
    # unseen template: most frequent answer of its type
    unseen = "How many musical instruments were heard throughout the video?"
    assert prior.predict(q(12, "Audio", "Counting", "?", unseen)) == "three"
    # unseen template and type: most frequent overall ("yes": 3, "three": 2)
    assert prior.predict(q(13, "Visual", "Location", "?", "Where is the performance?")) == "yes"
    by_question = fit_prior(train, key="question")
    assert by_question.predict(q(14, "Audio-Visual", "Existential", "?", t1, ["piano"])) == "yes"
    assert by_question.predict(q(15, "Audio-Visual", "Existential", "?", t1, ["tuba"])) == "yes"  # type fallback
    with pytest.raises(PriorError):
        fit_prior([])


@needs_real
def test_real_prior_val_to_test_near_published():
    val = load_annotations(REAL / "json_update/avqa-val.json").questions
    test = load_annotations(REAL / "json_update/avqa-test.json").questions
    for key in ("template", "question"):
        prior = fit_prior(val, key=key)
        r = score(test, {x.question_id: prior.predict(x) for x in test})
        print(f"prior by {key}: {r.accuracy['overall']:.2f} % on json_update test")
        assert abs(r.accuracy["overall"] - 51.8) < 1.0   # reference-facts §2: 51.8 %
        assert r.counts["overall"] == 9129 and not r.missing_ids
