"""Choosing which demo questions to ask, so that each template's answers stay balanced."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from mcd_core.demo.questions import TEMPLATES, Template
from mcd_core.demo.scene import Scene


@dataclass(frozen=True)
class Question:
    template: Template
    values: tuple[str, ...]
    answer: str


# A (template, answer) is asked only while that answer has been given at most MAX_DEFICIT times more
# than the template's least-given answer. Without this, asking many questions a video lets the
# scenes' statistics skew the answers (24 a video: the per-template prior on the demo's test split
# rose from 27 % to 42 %; with it, 33 %).
MAX_DEFICIT = 1


class QuestionPicker:
    """Choose questions across videos so that each template's answers stay balanced.

    Greedy: a template is preferred when it was asked less often; it is asked only when this scene
    can give one of its least-given answers (`MAX_DEFICIT`), and that answer is chosen.
    """

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.asked: Counter[str] = Counter()
        self.answers: dict[str, Counter[str]] = defaultdict(Counter)

    def _best_answer(self, text: str, answers: set[str]) -> tuple[int, str]:
        given = self.answers[text]
        floor = min(given[a] for a in given) if given else 0
        least = min(given[a] for a in answers)
        tied = sorted(a for a in answers if given[a] == least)
        return least - floor, tied[int(self.rng.integers(len(tied)))]

    def pick(self, scene: Scene, count: int) -> list[Question]:
        options = {}
        for tmpl in TEMPLATES:
            candidates = list(tmpl.candidates(scene))
            if candidates:
                options[tmpl.text] = (tmpl, candidates)
                for cand in candidates:  # register every possible answer, so it counts as owed
                    self.answers[tmpl.text].setdefault(cand.answer, 0)
        scored = []
        for text, (tmpl, candidates) in options.items():
            deficit, answer = self._best_answer(text, {c.answer for c in candidates})
            score = self.asked[text] + 3 * deficit + self.rng.random()  # drawn for every template
            if deficit <= MAX_DEFICIT:
                scored.append((score, text, answer))
        questions = []
        for _, text, answer in sorted(scored)[:count]:
            tmpl, candidates = options[text]
            matching = [c for c in candidates if c.answer == answer]
            chosen = matching[int(self.rng.integers(len(matching)))]
            self.asked[text] += 1
            self.answers[text][answer] += 1
            questions.append(Question(tmpl, chosen.values, answer))
        return questions
