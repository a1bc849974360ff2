"""Vocabularies built from the training split: question words, text-object words, answers.

Index 0 of both word lists is `<pad>` (the community's padding index). Index 1 is `<unk>`. Like
the AVST and TSPM loaders we build every list from the train split only (reference-facts §1: 93
words, 42 answers); a val/test word never seen in training maps to `<unk>` instead of crashing.
Answers unseen in training get index -1 and are scored as wrong.

Every list is sorted after the two specials, so the same train file gives a byte-identical
vocab.json.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from mcd_core.common.atomic import write_json
from mcd_core.common.textfiles import read_text_file
from mcd_core.data.questions import Question

MAX_QUESTION_TOKENS = 14   # community question length: truncate or pad to this many tokens
MAX_KEYWORDS = 4           # most templ_values of any MUSIC-AVQA template
MAX_OPTION_TOKENS = 8      # tokens kept of each answer option (multiple-choice formats)
PAD = "<pad>"              # index 0 in both word lists
UNK = "<unk>"              # index 1 in both word lists
SPECIALS = (PAD, UNK)
FORMAT = "mcd-vocab/1"     # tag written into vocab.json and checked on load


class VocabError(ValueError):
    """A vocabulary file is missing or malformed."""


@dataclass
class Vocab:
    words: list[str]          # question words; 0 <pad>, 1 <unk>, then sorted train tokens
    object_words: list[str]   # text-object words; 0 <pad>, 1 <unk>, then sorted type words + keywords
    answers: list[str]        # sorted train answers; position = class index; for a multiple-choice
    #                           format the option positions "0".."K-1"
    choice_options: int = 0   # K options per question of a multiple-choice format; 0: a classifier
    _word_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _object_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _answer_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("words", "object_words"):
            if tuple(getattr(self, name)[:2]) != SPECIALS:
                raise VocabError(f"{name} must start with {PAD!r}, {UNK!r}")
        for name in ("words", "object_words", "answers"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise VocabError(f"{name} has repeated entries")
        self._word_index = {w: i for i, w in enumerate(self.words)}
        self._object_index = {w: i for i, w in enumerate(self.object_words)}
        self._answer_index = {a: i for i, a in enumerate(self.answers)}

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def from_questions(cls, train_questions: Iterable[Question],
                       type_words: Iterable[str] | None = None) -> "Vocab":
        """Vocabularies of the training questions. `type_words` (the format's lower-case modality and
        type words; default MUSIC-AVQA's) join the text-object words even when a type is absent
        from training."""
        if type_words is None:
            from mcd_core.data.formats import get_format

            type_words = get_format("music_avqa").type_words
        train_questions = list(train_questions)
        n_options = {len(q.options) for q in train_questions}
        if len(n_options) > 1:
            raise VocabError(f"questions with different numbers of answer options: {sorted(n_options)}")
        choice = n_options.pop() if n_options else 0
        type_words = set(type_words) | {w.lower() for q in train_questions for w in (q.modality, q.qtype)}
        words: set[str] = set()
        keywords: set[str] = set()
        answers: set[str] = set()
        for q in train_questions:
            words.update(q.tokens)
            for option in q.option_tokens:  # options are read with the question's words
                words.update(option)
            keywords.update(q.templ_values)
            answers.add(q.answer)
        if not answers:
            raise VocabError("cannot build a vocabulary from zero training questions")
        objects = type_words | keywords
        return cls(words=[*SPECIALS, *sorted(words - set(SPECIALS))],
                   object_words=[*SPECIALS, *sorted(objects - set(SPECIALS))],
                   answers=[str(i) for i in range(choice)] if choice else sorted(answers),
                   choice_options=choice)

    # -- encoding ---------------------------------------------------------------------------
    def encode_question(self, q: Question) -> list[int]:
        """Token ids, truncated / padded with <pad> to MAX_QUESTION_TOKENS."""
        ids = [self._word_index.get(t, 1) for t in q.tokens[:MAX_QUESTION_TOKENS]]
        return ids + [0] * (MAX_QUESTION_TOKENS - len(ids))

    def encode_type(self, q: Question) -> list[int]:
        """[modality word, question-type word], lower-case, as text-object ids."""
        return [self._object_index.get(q.modality.lower(), 1),
                self._object_index.get(q.qtype.lower(), 1)]

    def encode_keywords(self, q: Question) -> list[int]:
        """The templ_values as text-object ids, padded to MAX_KEYWORDS (all <pad> if none)."""
        ids = [self._object_index.get(v, 1) for v in q.templ_values[:MAX_KEYWORDS]]
        return ids + [0] * (MAX_KEYWORDS - len(ids))

    def encode_options(self, q: Question) -> list[list[int]]:
        """Each option's token ids, truncated / padded with <pad> to MAX_OPTION_TOKENS (an option
        with no token gets <unk>, so that every option has at least one)."""
        if len(q.option_tokens) != self.choice_options:
            raise VocabError(f"question {q.question_id} has {len(q.option_tokens)} answer options, "
                             f"the vocabulary {self.choice_options}")
        out = []
        for tokens in q.option_tokens:
            ids = [self._word_index.get(t, 1) for t in tokens[:MAX_OPTION_TOKENS]] or [1]
            out.append(ids + [0] * (MAX_OPTION_TOKENS - len(ids)))
        return out

    def answer_index(self, answer: str) -> int:
        """Class index of an answer; -1 for an answer never seen in training."""
        return self._answer_index.get(answer, -1)

    # -- files ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = {"format": FORMAT, "max_question_tokens": MAX_QUESTION_TOKENS,
                "words": self.words, "object_words": self.object_words, "answers": self.answers}
        if self.choice_options:
            data["choice_options"] = self.choice_options
        return data

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict(), indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        path = Path(path)
        try:
            data = json.loads(read_text_file(path, "vocabulary file", VocabError))
        except FileNotFoundError:
            raise VocabError(f"{path}: vocabulary file not found (build it with `mcd vocab`)") from None
        except json.JSONDecodeError as exc:
            raise VocabError(f"{path}: not a JSON file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise VocabError(f"{path}: not a vocabulary file (expected \"format\": {FORMAT!r})")
        if data.get("max_question_tokens") != MAX_QUESTION_TOKENS:
            raise VocabError(f"{path}: field 'max_question_tokens' is "
                             f"{data.get('max_question_tokens')!r}, this code uses {MAX_QUESTION_TOKENS}")
        lists = {}
        for key in ("words", "object_words", "answers"):
            value = data.get(key)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise VocabError(f"{path}: field {key!r} must be a list of strings")
            lists[key] = value
        choice = data.get("choice_options", 0)
        if isinstance(choice, bool) or not isinstance(choice, int) or choice < 0:
            raise VocabError(f"{path}: field 'choice_options' must be an integer >= 0, got {choice!r}")
        try:
            return cls(**lists, choice_options=choice)
        except VocabError as exc:
            raise VocabError(f"{path}: {exc}") from None
