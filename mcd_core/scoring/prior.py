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


# -- multiple choice ----------------------------------------------------------------------------
CHOICE_ROUTES = ("template", "overall", "chance")


def chance_option(question_id: int, n_options: int) -> int:
    """A fixed pseudo-random option of a question (same id, same option): the chance guess."""
    import hashlib

    return int(hashlib.sha256(str(question_id).encode()).hexdigest(), 16) % n_options


@dataclass
class ChoicePrior:
    """Multiple choice: pick the option whose text was most often the right answer of the same
    question template in training; where none of the options was ever the template's answer,
    the option most often right over all training questions; where none ever was, a fixed
    pseudo-random option (chance, 25 % with four options). Ties go to the first option."""
    by_template: dict[str, Counter]   # template -> right-answer texts of its training questions
    overall: Counter                  # right-answer texts of all training questions

    def route_and_answer(self, q: Question) -> tuple[str, str]:
        for route, counts in (("template", self.by_template.get(q.template)), ("overall", self.overall)):
            if counts:
                best = max(range(len(q.options)), key=lambda i: (counts.get(q.options[i], 0), -i))
                if counts.get(q.options[best], 0) > 0:
                    return route, str(best)
        return "chance", str(chance_option(q.question_id, len(q.options)))

    def predict(self, q: Question) -> str:
        return self.route_and_answer(q)[1]

    def routes(self, questions: Iterable[Question]) -> Counter:
        """How many questions each route answered."""
        return Counter(self.route_and_answer(q)[0] for q in questions)


def fit_choice_prior(train_questions: Iterable[Question]) -> ChoicePrior:
    by_template: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for q in train_questions:
        text = q.options[int(q.answer)]
        by_template[q.template][text] += 1
        overall[text] += 1
    if not overall:
        raise PriorError("cannot fit an answer prior on zero training questions")
    return ChoicePrior(dict(by_template), overall)


def choice_prior_note(prior: ChoicePrior, test: Iterable[Question]) -> str:
    test = list(test)
    routes = prior.routes(test)
    return (f"prior (multiple choice): the option most often right for the same question text in "
            f"training answered {routes['template']} of {len(test)} test questions, the option most "
            f"often right overall {routes['overall']}, chance (a fixed pseudo-random option) "
            f"{routes['chance']}")
