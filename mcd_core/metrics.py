"""Per-question-type accuracy: the 13 columns of the paper's Table III (reference-facts §2).

Every Avg and the Overall are weighted by question count (correct / total over the group), not the
mean of the type accuracies. The type of a question comes from the very record being scored.
A question with no prediction counts as wrong and is reported; a column with no questions has no
accuracy (None), which tables print as an empty cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

from .data.annotations import QUESTION_TYPES, Question

if TYPE_CHECKING:
    from .data.vocab import Vocab

# Column of each of the nine (modality, type) pairs.
TYPE_COLUMNS: dict[tuple[str, str], str] = {
    ("Audio", "Counting"): "audio_counting",
    ("Audio", "Comparative"): "audio_comparative",
    ("Visual", "Counting"): "visual_counting",
    ("Visual", "Location"): "visual_location",
    ("Audio-Visual", "Existential"): "av_existential",
    ("Audio-Visual", "Counting"): "av_counting",
    ("Audio-Visual", "Location"): "av_location",
    ("Audio-Visual", "Comparative"): "av_comparative",
    ("Audio-Visual", "Temporal"): "av_temporal",
}
assert tuple(TYPE_COLUMNS) == QUESTION_TYPES

# Weighted-average columns: which modality each covers (None: all questions).
AVERAGE_COLUMNS: dict[str, str | None] = {
    "audio_avg": "Audio", "visual_avg": "Visual", "av_avg": "Audio-Visual", "overall": None}

# Table III order.
COLUMNS: tuple[str, ...] = (
    "audio_counting", "audio_comparative", "audio_avg",
    "visual_counting", "visual_location", "visual_avg",
    "av_existential", "av_counting", "av_location", "av_comparative", "av_temporal", "av_avg",
    "overall",
)


def columns_of(q: Question) -> tuple[str, ...]:
    """The columns a question counts in: its type, its modality's average, and overall."""
    avg = {"Audio": "audio_avg", "Visual": "visual_avg", "Audio-Visual": "av_avg"}[q.modality]
    return TYPE_COLUMNS[(q.modality, q.qtype)], avg, "overall"


@dataclass
class ScoreResult:
    accuracy: dict[str, float | None]   # column -> percent correct; None where the column has N = 0
    counts: dict[str, int]              # column -> N questions
    correct: dict[str, int]             # column -> questions answered correctly
    missing_ids: list[int]              # ids of scored questions without a prediction (scored wrong)
    extra_ids: list[int]                # prediction ids that are not among the scored questions
    unseen_answers: int | None = None   # questions whose answer is not in the vocab (None: no vocab)
    per_question: list[bool] = field(default_factory=list)  # correctness, in question order


def is_correct(q: Question, predictions: Mapping[int, str]) -> bool:
    return predictions.get(q.question_id) == q.answer


def score(questions: Iterable[Question], predictions: Mapping[int, str],
          vocab: "Vocab | None" = None) -> ScoreResult:
    """Accuracy per Table III column of `predictions` (question id -> answer string)."""
    questions = list(questions)
    counts = dict.fromkeys(COLUMNS, 0)
    correct = dict.fromkeys(COLUMNS, 0)
    per_question = []
    for q in questions:
        ok = is_correct(q, predictions)
        per_question.append(ok)
        for col in columns_of(q):
            counts[col] += 1
            correct[col] += ok
    accuracy = {c: (100.0 * correct[c] / counts[c] if counts[c] else None) for c in COLUMNS}
    scored_ids = {q.question_id for q in questions}
    missing = sorted({q.question_id for q in questions if q.question_id not in predictions})
    extra = sorted(set(predictions) - scored_ids)
    unseen = None if vocab is None else sum(vocab.answer_index(q.answer) < 0 for q in questions)
    return ScoreResult(accuracy=accuracy, counts=counts, correct=correct, missing_ids=missing,
                       extra_ids=extra, unseen_answers=unseen, per_question=per_question)
