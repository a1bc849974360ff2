"""`Question`, the record every dataset format reads into, and what is common to annotation files:
reading a JSON list of records, duplicated ids, filtering by available videos."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from mcd_core.common.textfiles import read_text_file

# Set by the Snakefile, which reports each dataset's duplicated question ids once, when it plans the
# run: the `mcd` commands of its jobs then log them at debug level instead of once per command.
DUPLICATES_REPORTED_ENV = "MCD_DUPLICATES_REPORTED"


def duplicates_log_level() -> int:
    """The level at which a format's reader logs duplicated question ids (see above)."""
    return logging.DEBUG if os.environ.get(DUPLICATES_REPORTED_ENV) else logging.WARNING


class AnnotationError(ValueError):
    """An annotation file is unreadable or a record in it is malformed."""


def fill_template(template: str, templ_values: Iterable[str]) -> str:
    """The question as a sentence: each placeholder token's `<...>` part replaced by its value."""
    values = iter(templ_values)
    words = []
    for word in template.rstrip().split(" "):
        if "<" in word:  # same rule as tokenize(); keep punctuation around the placeholder
            start = word.index("<")
            end = word.index(">", start) if ">" in word[start:] else len(word) - 1
            word = word[:start] + next(values) + word[end + 1:]
        words.append(word)
    return " ".join(words)


@dataclass(frozen=True)
class Question:
    question_id: int                # id from the file (not unique in the original json/ release)
    video_id: str                   # 8 digits for real videos; va/sa/vv/eva/esa/evv prefix if synthetic
    modality: str                   # "Audio", "Visual" or "Audio-Visual"
    qtype: str                      # "Counting", "Comparative", "Location", "Existential", "Temporal"
    template: str                   # raw question_content with <Object>-style placeholders
    templ_values: tuple[str, ...]   # placeholder values, left to right
    answer: str                     # the `anser` field
    tokens: tuple[str, ...]         # community tokenisation, placeholders filled, not padded
    options: tuple[str, ...] = ()   # candidate answers of a multiple-choice format; () for classifiers
    option_tokens: tuple[tuple[str, ...], ...] = ()  # each option's tokens (multiple choice only)

    @property
    def type_key(self) -> str:
        """e.g. "Audio-Visual/Temporal"."""
        return f"{self.modality}/{self.qtype}"

    @property
    def text(self) -> str:
        """The question with its placeholders filled."""
        return fill_template(self.template, self.templ_values)


@dataclass
class AnnotationSet:
    path: Path                                  # the file the questions came from
    questions: list[Question]                   # every record, in file order (duplicates kept)
    duplicates: dict[int, list[str]] = field(default_factory=dict)  # duplicated id -> its answers

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def video_ids(self) -> set[str]:
        return {q.video_id for q in self.questions}


def read_json_records(path: str | os.PathLike) -> list:
    """The JSON list of records in `path`, at least one; AnnotationError naming the file otherwise."""
    path = Path(path)
    records = read_json_file(path)
    if not isinstance(records, list):
        raise AnnotationError(f"{path}: expected a JSON list of question records, "
                              f"got {type(records).__name__}")
    if not records:
        raise AnnotationError(f"{path}: holds no question records (an empty list): a split needs questions")
    return records


def read_json_file(path: Path) -> object:
    """The JSON value of an annotation file; AnnotationError naming the file (and for bytes that
    are not UTF-8 their offset) otherwise."""
    try:
        return json.loads(read_text_file(path, "annotation file", AnnotationError))
    except FileNotFoundError:
        raise AnnotationError(f"{path}: annotation file not found") from None
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{path}: not a JSON file ({exc})") from None


def cross_split_duplicates(splits: dict[str, "AnnotationSet"]) -> dict[int, list[str]]:
    """Question ids found in more than one split -> the names of those splits, in split order."""
    where: dict[int, list[str]] = {}
    for name, split in splits.items():
        for qid in dict.fromkeys(q.question_id for q in split.questions):
            where.setdefault(qid, []).append(name)
    return {qid: names for qid, names in sorted(where.items()) if len(names) > 1}


def find_duplicates(questions: Iterable[Question]) -> dict[int, list[str]]:
    """Question ids that occur more than once, with the answers of each occurrence in file order."""
    answers: dict[int, list[str]] = {}
    for q in questions:
        answers.setdefault(q.question_id, []).append(q.answer)
    return {qid: a for qid, a in sorted(answers.items()) if len(a) > 1}


def filter_by_videos(questions: Iterable[Question],
                     keep: set[str]) -> tuple[list[Question], list[Question]]:
    """Split questions into (those whose video is in `keep`, the others), order preserved."""
    kept: list[Question] = []
    dropped: list[Question] = []
    for q in questions:
        (kept if q.video_id in keep else dropped).append(q)
    return kept, dropped
