"""Answer-prior baseline: a model that never looks at the video.

For each question it predicts the most frequent training answer of the same question template
(`question_content`), or of the same filled question with `key="question"`. Unseen keys fall back
to the most frequent answer of the same question type, then of all training questions. Ties are
broken by the sorted answer string, so the prior is deterministic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable

from mcd_core.data.questions import Question

# What the prior groups questions by.
PRIOR_KEYS: dict[str, Callable[[Question], Hashable]] = {
    "template": lambda q: q.template,
    "question": lambda q: q.text,
}


class PriorError(ValueError):
    """The prior cannot be fitted (no training questions, unknown key)."""


def most_frequent(counter: Counter) -> str:
    """The most frequent answer; ties go to the alphabetically first answer."""
    return min(counter.items(), key=lambda item: (-item[1], item[0]))[0]


@dataclass
class AnswerPrior:
    key: str                    # "template" or "question": what by_key is indexed by
    by_key: dict[Hashable, str]  # template (or filled question) -> its most frequent train answer
    by_type: dict[str, str]     # type_key, e.g. "Audio/Counting" -> most frequent answer of the type
    overall: str                # most frequent answer of the whole training split

    def predict(self, q: Question) -> str:
        answer = self.by_key.get(PRIOR_KEYS[self.key](q))
        if answer is None:
            answer = self.by_type.get(q.type_key, self.overall)
        return answer


def fit_prior(train_questions: Iterable[Question], key: str = "template") -> AnswerPrior:
    if key not in PRIOR_KEYS:
        raise PriorError(f"prior key must be one of {sorted(PRIOR_KEYS)}, got {key!r}")
    key_fn = PRIOR_KEYS[key]
    by_key: dict[Hashable, Counter] = defaultdict(Counter)
    by_type: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for q in train_questions:
        by_key[key_fn(q)][q.answer] += 1
        by_type[q.type_key][q.answer] += 1
        overall[q.answer] += 1
    if not overall:
        raise PriorError("cannot fit an answer prior on zero training questions")
    return AnswerPrior(key=key,
                       by_key={k: most_frequent(c) for k, c in by_key.items()},
                       by_type={k: most_frequent(c) for k, c in by_type.items()},
                       overall=most_frequent(overall))
