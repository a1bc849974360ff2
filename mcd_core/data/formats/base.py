"""The dataset-format seam: how a format's records are read, its question-type taxonomy (the columns
and groups of its table) and its kind of answer; and the registry of formats.

A new format is one module that builds a `DatasetFormat` and calls `register_format`; nothing else
changes. Torch-free.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterable

from mcd_core.data.questions import AnnotationError, AnnotationSet, Question

ANSWER_KINDS = ("classify", "choice")  # a class over the training answers / one of the given options

TypeKey = tuple[str, str]  # (modality or group, question type), as in `Question`


@dataclass(frozen=True)
class Column:
    key: str                              # CSV column name, e.g. "audio_counting"
    header: str                           # short markdown header, e.g. "A Count"
    types: tuple[TypeKey, ...] | None     # question types counted here; None = every question


@dataclass(frozen=True)
class Taxonomy:
    """The columns of a format's accuracy table, in table order. A column counting several types is
    their question-count-weighted average (correct / total over the group)."""
    columns: tuple[Column, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def question_types(self) -> tuple[TypeKey, ...]:
        """The single-type columns' types, in table order."""
        return tuple(c.types[0] for c in self.columns if c.types is not None and len(c.types) == 1)

    def type_column(self, type_key: TypeKey) -> str:
        for c in self.columns:
            if c.types == (type_key,):
                return c.key
        raise KeyError(type_key)

    def columns_of(self, q: Question) -> tuple[str, ...]:
        """Every column question `q` counts in: its type, its group's average, the overall."""
        key = (q.modality, q.qtype)
        return tuple(c.key for c in self.columns if c.types is None or key in c.types)


@dataclass(frozen=True)
class DatasetFormat:
    name: str                                              # `format:` in config/config.yaml
    load: Callable[[str | os.PathLike], AnnotationSet]     # one annotation file -> questions
    taxonomy: Taxonomy
    answer_kind: str                                       # one of ANSWER_KINDS
    type_words: tuple[str, ...] = ()                       # lower-case type words for text objects
    description: str = ""
    table: str = "table3"                                  # results/<dataset>/<table>.csv it writes
    paper_rows: str | None = None                          # `mcd table --paper-rows` of that table
    # Writes the two files of a validation split carved from a training file (formats without a
    # validation file): (source, train_out, val_out, val_questions, seed) -> None; config `carve`.
    carve: Callable[..., None] | None = None

    def __post_init__(self) -> None:
        if self.answer_kind not in ANSWER_KINDS:
            raise ValueError(f"format {self.name!r}: answer_kind {self.answer_kind!r} is not one of "
                             f"{ANSWER_KINDS}")


FORMATS: dict[str, DatasetFormat] = {}


def register_format(fmt: DatasetFormat) -> DatasetFormat:
    if fmt.name in FORMATS and FORMATS[fmt.name] is not fmt:
        raise ValueError(f"dataset format {fmt.name!r} is registered twice")
    FORMATS[fmt.name] = fmt
    return fmt


def get_format(name: str) -> DatasetFormat:
    if name not in FORMATS:
        raise KeyError(f"unknown dataset format {name!r}; known: {', '.join(FORMATS)}")
    return FORMATS[name]


def list_formats() -> list[str]:
    return list(FORMATS)


def missing_types(questions: Iterable[Question], taxonomy: Taxonomy) -> set[TypeKey]:
    """Types of `questions` that no column of `taxonomy` counts (a sign of the wrong format)."""
    known = set(taxonomy.question_types)
    return {(q.modality, q.qtype) for q in questions} - known


def record_location(record: object, index: int, path: os.PathLike | str, id_key: str,
                    keys: Iterable[str]) -> str:
    """Where record `index` of `path` is, for error messages ("<path>: record 3 (id 17)"), once it
    is checked to be an object holding every one of `keys`."""
    where = f"{path}: record {index}"
    if not isinstance(record, dict):
        raise AnnotationError(f"{where}: expected an object, got {type(record).__name__}")
    if id_key in record:
        where += f" ({id_key} {record[id_key]!r})"
    missing = [k for k in keys if k not in record]
    if missing:
        raise AnnotationError(f"{where}: missing field(s) {', '.join(map(repr, missing))}")
    return where
