"""Per-question-type accuracy over a format's taxonomy; for MUSIC-AVQA the 13 columns of the
paper's Table III (reference-facts §2).

Every Avg and the Overall are weighted by question count (correct / total over the group), not the
mean of the type accuracies. The type of a question comes from the very record being scored.
A question with no prediction counts as wrong and is reported; a column with no questions has no
accuracy (None), which tables print as an empty cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

from mcd_core.data.formats.base import Taxonomy
from mcd_core.data.formats.music_avqa import TAXONOMY as MUSIC_AVQA_TAXONOMY
from mcd_core.data.questions import Question

if TYPE_CHECKING:
    from mcd_core.data.vocab import Vocab

# MUSIC-AVQA's Table III columns: the default taxonomy of every scoring function.
COLUMNS: tuple[str, ...] = MUSIC_AVQA_TAXONOMY.keys
TYPE_COLUMNS: dict[tuple[str, str], str] = {t: MUSIC_AVQA_TAXONOMY.type_column(t)
                                            for t in MUSIC_AVQA_TAXONOMY.question_types}


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
          vocab: "Vocab | None" = None, taxonomy: Taxonomy = MUSIC_AVQA_TAXONOMY) -> ScoreResult:
    """Accuracy per column of `taxonomy` (Table III by default) of `predictions` (question id ->
    answer string). A question whose type no column lists is an error, never silently dropped."""
    questions = list(questions)
    columns = taxonomy.keys
    counts = dict.fromkeys(columns, 0)
    correct = dict.fromkeys(columns, 0)
    per_question = []
    for q in questions:
        ok = is_correct(q, predictions)
        per_question.append(ok)
        cols = taxonomy.columns_of(q)
        if len(cols) < 2:  # only "overall": the type has no column of its own
            raise ValueError(f"question {q.question_id}: type {q.modality}/{q.qtype} is not in this "
                             f"format's taxonomy ({', '.join(columns)})")
        for col in cols:
            counts[col] += 1
            correct[col] += ok
    accuracy = {c: (100.0 * correct[c] / counts[c] if counts[c] else None) for c in columns}
    scored_ids = {q.question_id for q in questions}
    missing = sorted({q.question_id for q in questions if q.question_id not in predictions})
    extra = sorted(set(predictions) - scored_ids)
    unseen = None if vocab is None else sum(vocab.answer_index(q.answer) < 0 for q in questions)
    return ScoreResult(accuracy=accuracy, counts=counts, correct=correct, missing_ids=missing,
                       extra_ids=extra, unseen_answers=unseen, per_question=per_question)
