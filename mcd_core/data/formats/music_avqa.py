"""MUSIC-AVQA annotation files: load, validate and tokenise question records.

A file is one JSON list of records with exactly seven keys (reference-facts §1). `type` and
`templ_values` hold JSON lists inside strings; they are parsed as data (json.loads), never eval'd.
The answer lives under the misspelt key `anser`.

Duplicated question ids (the original `json/` release has 55 in test and 27 in val, each a copy of
the same question with a conflicting answer) are kept as they are in the file, so counts match the
file and the community's evaluation, and they are reported: a logging warning and
`AnnotationSet.duplicates`, or an AnnotationError with `on_duplicate="error"`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Iterable

from mcd_core.data.formats.base import Column, DatasetFormat, Taxonomy, record_location, register_format
from mcd_core.common.ids import question_id_problem, video_id_problem
from mcd_core.data.questions import (AnnotationError, AnnotationSet, Question, duplicates_log_level,
                                     find_duplicates, read_json_records)

log = logging.getLogger(__name__)

# The seven keys of a record; `anser` is the release's spelling of "answer".
RECORD_KEYS = ("video_id", "question_id", "type", "question_content", "templ_values",
               "question_deleted", "anser")

# The nine (modality, question type) pairs, in the column order of the paper's Table III.
QUESTION_TYPES: tuple[tuple[str, str], ...] = (
    ("Audio", "Counting"),
    ("Audio", "Comparative"),
    ("Visual", "Counting"),
    ("Visual", "Location"),
    ("Audio-Visual", "Existential"),
    ("Audio-Visual", "Counting"),
    ("Audio-Visual", "Location"),
    ("Audio-Visual", "Comparative"),
    ("Audio-Visual", "Temporal"),
)

MODALITIES = ("Audio", "Visual", "Audio-Visual")


def tokenize(template: str, templ_values: Iterable[str]) -> tuple[str, ...]:
    """Community tokenisation (AVST / PSTP / TSPM), without padding.

    Strip trailing whitespace, split on single spaces, drop the last character of the last token
    (the '?' or full-width '？'), then replace each token containing '<' by the next template value
    as a whole token (so punctuation glued to a placeholder goes with it).
    Raises ValueError when placeholders and values do not pair up.
    """
    values = list(templ_values)
    words = template.rstrip().split(" ")
    words[-1] = words[-1][:-1]
    tokens: list[str] = []
    used = 0
    for word in words:
        if "<" in word:
            if used >= len(values):
                raise ValueError(f"template has more placeholders than its {len(values)} values")
            tokens.append(values[used])
            used += 1
        else:
            tokens.append(word)
    if used != len(values):
        raise ValueError(f"template has {used} placeholders but {len(values)} values")
    return tuple(tokens)


def _parse_list_field(record: dict, key: str, where: str) -> list[str]:
    raw = record[key]
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{where}: field {key!r} is not a JSON list: {raw!r} ({exc.msg})") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AnnotationError(f"{where}: field {key!r} must be a list of strings, got {raw!r}")
    return value


def parse_record(record: object, index: int, path: Path) -> Question:
    """One record -> Question; `index` and `path` only serve the error messages."""
    where = record_location(record, index, path, "question_id", RECORD_KEYS)
    extra = sorted(k for k in record if k not in RECORD_KEYS)
    if extra:
        raise AnnotationError(f"{where}: unexpected field(s) {', '.join(map(repr, extra))}")

    qid = record["question_id"]
    problem = question_id_problem(qid)
    if problem:
        raise AnnotationError(f"{where}: field 'question_id' {problem}")
    for key in ("video_id", "question_content", "anser"):
        if not isinstance(record[key], str) or not record[key]:
            raise AnnotationError(f"{where}: field {key!r} must be a non-empty string, got {record[key]!r}")
    problem = video_id_problem(record["video_id"])
    if problem:
        raise AnnotationError(f"{where}: field 'video_id' {record['video_id']!r} {problem}; a video id "
                              f"names a file in the videos folder")

    type_pair = _parse_list_field(record, "type", where)
    if tuple(type_pair) not in QUESTION_TYPES:
        raise AnnotationError(f"{where}: field 'type' {record['type']!r} is not one of the nine "
                              f"question types")
    values = _parse_list_field(record, "templ_values", where)
    template = record["question_content"]
    try:
        tokens = tokenize(template, values)
    except ValueError as exc:
        raise AnnotationError(f"{where}: fields 'question_content'/'templ_values': {exc} "
                              f"({template!r}, {record['templ_values']!r})") from None
    return Question(question_id=qid, video_id=record["video_id"], modality=type_pair[0],
                    qtype=type_pair[1], template=template, templ_values=tuple(values),
                    answer=record["anser"], tokens=tokens)


def load_annotations(path: str | os.PathLike, on_duplicate: str = "report") -> AnnotationSet:
    """Read and validate one annotation file.

    on_duplicate: "report" logs a warning and lists duplicated ids in `.duplicates`;
    "error" raises AnnotationError naming the file and the first ids.
    """
    if on_duplicate not in ("report", "error"):
        raise ValueError(f"on_duplicate must be 'report' or 'error', got {on_duplicate!r}")
    path = Path(path)
    records = read_json_records(path)

    questions = [parse_record(record, i, path) for i, record in enumerate(records)]
    duplicates = find_duplicates(questions)
    if duplicates:
        shown = ", ".join(f"{qid} {answers}" for qid, answers in list(duplicates.items())[:5])
        message = (f"{path}: {len(duplicates)} duplicated question id(s) with their answers: {shown}"
                   + (" ..." if len(duplicates) > 5 else ""))
        if on_duplicate == "error":
            raise AnnotationError(message)
        log.log(duplicates_log_level(), "%s (all copies kept)", message)
    return AnnotationSet(path=path, questions=questions, duplicates=duplicates)


# Table III: the nine type columns, each modality's weighted average, and the overall.
_A, _V, _AV = "Audio", "Visual", "Audio-Visual"
TAXONOMY = Taxonomy(columns=(
    Column("audio_counting", "A Count", ((_A, "Counting"),)),
    Column("audio_comparative", "A Comp", ((_A, "Comparative"),)),
    Column("audio_avg", "A Avg", ((_A, "Counting"), (_A, "Comparative"))),
    Column("visual_counting", "V Count", ((_V, "Counting"),)),
    Column("visual_location", "V Loc", ((_V, "Location"),)),
    Column("visual_avg", "V Avg", ((_V, "Counting"), (_V, "Location"))),
    Column("av_existential", "AV Ext", ((_AV, "Existential"),)),
    Column("av_counting", "AV Count", ((_AV, "Counting"),)),
    Column("av_location", "AV Loc", ((_AV, "Location"),)),
    Column("av_comparative", "AV Comp", ((_AV, "Comparative"),)),
    Column("av_temporal", "AV Temp", ((_AV, "Temporal"),)),
    Column("av_avg", "AV Avg", tuple((_AV, t) for t in ("Existential", "Counting", "Location",
                                                        "Comparative", "Temporal"))),
    Column("overall", "Overall", None),
))
assert set(TAXONOMY.question_types) == set(QUESTION_TYPES)

MUSIC_AVQA = register_format(DatasetFormat(
    name="music_avqa", load=load_annotations, taxonomy=TAXONOMY, answer_kind="classify",
    type_words=tuple(sorted({m.lower() for m in MODALITIES} | {t.lower() for _, t in QUESTION_TYPES})),
    description="MUSIC-AVQA: 7-key JSON records (answer under `anser`), 42 answer classes, 9 types",
    paper_rows="music_avqa"))
