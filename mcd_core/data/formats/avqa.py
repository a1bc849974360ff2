"""AVQA (Yang et al., ACM MM 2022): `train_qa.json` / `val_qa.json` records, four answer options.

A file is one JSON list of records with the keys `id`, `video_name`, `video_id`, `question_text`,
`multi_choice`, `answer`, `question_relation`, `question_type` (shared/docs/avqa-facts.md). Read as
`Question`s:

- `question_id` = `id`; `video_id` = `video_name` (`<YouTube id>_<start, 6 digits>`, the file name
  of the clip; ids beginning with '-' are kept as they are). The record's int `video_id` only keys
  the official feature files and is not used.
- `modality` = `question_relation` ("View", "Sound" or "Both"), `qtype` = `question_type` (one of
  the eight types); both are also the type words of the text objects.
- `options`: `multi_choice` padded to four with 'NULL' and `None` options read as 'null', as the
  official loader does; `answer` is the 0-based index as a string ("0".."3"), so a prediction is
  right when its index is (two options with the same text stay two options).
- `tokens`: the official text recipe: drop the last character (the '?'), lower-case, split into
  words and punctuation (a regular expression where the release used nltk's tokenizer).
- `template` = the question text as written: AVQA questions repeat verbatim ("What happened in the
  video?"), which is what the answer prior groups by.

Splits: papers report on `val_qa.json` (the test split here). A validation split for model
selection is carved from `train_qa.json` by a *carve file*, a JSON object instead of a list:
`{"avqa_carve": "val" | "train", "source": "<path of train_qa.json, relative to this file>",
"val_questions": 2000, "seed": 0}`. The carve takes whole videos, in the order of
sha256("<seed>:<video_name>"), until it holds at least `val_questions` questions (default 2,000
questions, about 5 % of train, seed 0); "train" is every other record. It depends on the records'
video names only, not on their order in the file. Torch-free.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

from mcd_core.common.atomic import write_text
from mcd_core.common.ids import question_id_problem, video_id_problem
from mcd_core.data.formats.base import Column, DatasetFormat, Taxonomy, record_location, register_format
from mcd_core.data.questions import (AnnotationError, AnnotationSet, Question, duplicates_log_level,
                                     find_duplicates, read_json_file, read_json_records)

log = logging.getLogger(__name__)

RECORD_KEYS = ("id", "video_name", "video_id", "question_text", "multi_choice", "answer",
               "question_relation", "question_type")
N_OPTIONS = 4
PAD_OPTION = "NULL"       # the official loader's padding of a short `multi_choice`
NONE_OPTION = "null"      # ... and its reading of a `None` option
RELATIONS = ("View", "Sound", "Both")
# The eight types in the column order of the official per-type table.
QUESTION_TYPES = ("Which", "Come From", "Happening", "Where", "Why", "Before Next", "When", "Used For")
CARVE_KEY = "avqa_carve"
CARVE_VAL_QUESTIONS = 2000
CARVE_SEED = 0

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize_text(text: str) -> tuple[str, ...]:
    """Lower-case words and punctuation marks of `text`."""
    return tuple(_TOKEN.findall(text.lower()))


def question_tokens(question_text: str) -> tuple[str, ...]:
    """The official recipe: drop the last character ('?'), lower-case, tokenize."""
    return tokenize_text(question_text.rstrip()[:-1])


def pad_options(choices: list) -> tuple[str, ...]:
    """`multi_choice` as four strings: None -> 'null', padded with 'NULL'."""
    options = [NONE_OPTION if c is None else c for c in choices]
    return tuple(options + [PAD_OPTION] * (N_OPTIONS - len(options)))


def parse_record(record: object, index: int, path: Path) -> Question:
    where = record_location(record, index, path, "id", RECORD_KEYS)
    problem = question_id_problem(record["id"])
    if problem:
        raise AnnotationError(f"{where}: field 'id' {problem}")
    for key in ("video_id", "answer"):
        if isinstance(record[key], bool) or not isinstance(record[key], int):
            raise AnnotationError(f"{where}: field {key!r} must be an integer, got {record[key]!r}")
    for key in ("video_name", "question_text", "question_relation", "question_type"):
        if not isinstance(record[key], str) or not record[key].strip():
            raise AnnotationError(f"{where}: field {key!r} must be a non-empty string, got {record[key]!r}")
    problem = video_id_problem(record["video_name"])
    if problem:
        raise AnnotationError(f"{where}: field 'video_name' {record['video_name']!r} {problem}; it "
                              f"names a file in the videos folder")
    choices = record["multi_choice"]
    if (not isinstance(choices, list) or not 1 <= len(choices) <= N_OPTIONS
            or not all(c is None or isinstance(c, str) for c in choices)):
        raise AnnotationError(f"{where}: field 'multi_choice' must be a list of 1 to {N_OPTIONS} strings "
                              f"(or null), got {choices!r}")
    if not 0 <= record["answer"] < len(choices):
        raise AnnotationError(f"{where}: field 'answer' {record['answer']} is not an index into its "
                              f"{len(choices)} options")
    if record["question_relation"] not in RELATIONS:
        raise AnnotationError(f"{where}: field 'question_relation' {record['question_relation']!r} is "
                              f"not one of {', '.join(RELATIONS)}")
    if record["question_type"] not in QUESTION_TYPES:
        raise AnnotationError(f"{where}: field 'question_type' {record['question_type']!r} is not one "
                              f"of the eight types ({', '.join(QUESTION_TYPES)})")
    text = record["question_text"]
    options = pad_options(choices)
    return Question(question_id=record["id"], video_id=record["video_name"],
                    modality=record["question_relation"], qtype=record["question_type"],
                    template=text, templ_values=(), answer=str(record["answer"]),
                    tokens=question_tokens(text), options=options,
                    option_tokens=tuple(tokenize_text(o) for o in options))


def carve_val_videos(records: list, val_questions: int, seed: int) -> set[str]:
    """The video names of the carved validation split (whole videos, hash order, >= val_questions)."""
    per_video: dict[str, int] = {}
    for r in records:
        per_video[r["video_name"]] = per_video.get(r["video_name"], 0) + 1
    order = sorted(per_video, key=lambda v: hashlib.sha256(f"{seed}:{v}".encode()).hexdigest())
    chosen, total = set(), 0
    for video in order:
        if total >= val_questions:
            break
        chosen.add(video)
        total += per_video[video]
    return chosen


def _carved_records(spec: dict, path: Path) -> tuple[list, Path]:
    part = spec.get(CARVE_KEY)
    if part not in ("train", "val"):
        raise AnnotationError(f"{path}: field {CARVE_KEY!r} must be 'train' or 'val', got {part!r}")
    if not isinstance(spec.get("source"), str):
        raise AnnotationError(f"{path}: field 'source' must name the train_qa.json file (relative to {path.parent})")
    n, seed = spec.get("val_questions", CARVE_VAL_QUESTIONS), spec.get("seed", CARVE_SEED)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or isinstance(seed, bool) or not isinstance(seed, int):
        raise AnnotationError(f"{path}: fields 'val_questions' (>= 1) and 'seed' must be integers")
    source = path.parent / spec["source"]
    records = read_json_records(source)
    for i, r in enumerate(records):
        if not isinstance(r, dict) or not isinstance(r.get("video_name"), str):
            raise AnnotationError(f"{source}: record {i}: field 'video_name' must be a string")
    val = carve_val_videos(records, n, seed)
    if len(val) == len({r["video_name"] for r in records}):
        raise AnnotationError(f"{path}: carving {n} validation questions leaves no training video in {source}")
    return [r for r in records if (r["video_name"] in val) == (part == "val")], source


def write_carve_files(source: str | os.PathLike, train_out: str | os.PathLike, val_out: str | os.PathLike,
                      val_questions: int = CARVE_VAL_QUESTIONS, seed: int = CARVE_SEED) -> None:
    """The two carve files of `source` (train_qa.json), each naming it relative to itself; checked
    by loading both (AnnotationError naming the file when the carve leaves a part empty)."""
    for part, out in (("train", Path(train_out)), ("val", Path(val_out))):
        spec = {CARVE_KEY: part, "source": os.path.relpath(Path(source), out.parent),
                "val_questions": val_questions, "seed": seed}
        out.parent.mkdir(parents=True, exist_ok=True)
        _carved_records(spec, out)  # the carve is possible before anything is written
        write_text(out, json.dumps(spec, indent=2) + "\n")


def load_annotations(path: str | os.PathLike) -> AnnotationSet:
    """An AVQA annotation file (a JSON list), or a carve file (a JSON object, see the module doc)."""
    path = Path(path)
    raw = read_json_file(path)
    source = path
    if isinstance(raw, dict) and CARVE_KEY in raw:
        raw, source = _carved_records(raw, path)
    elif not isinstance(raw, list):
        raise AnnotationError(f"{path}: expected a JSON list of AVQA records or a carve object "
                              f"with key {CARVE_KEY!r}, got {type(raw).__name__}")
    elif not raw:
        raise AnnotationError(f"{path}: holds no question records (an empty list): a split needs questions")
    questions = [parse_record(r, i, source) for i, r in enumerate(raw)]
    duplicates = find_duplicates(questions)
    if duplicates:
        log.log(duplicates_log_level(), "%s: %d duplicated question id(s), e.g. %s (all copies kept)", path,
                len(duplicates), list(duplicates)[:5])
    return AnnotationSet(path=path, questions=questions, duplicates=duplicates)


def _type_column(qtype: str) -> Column:
    return Column(qtype.lower().replace(" ", "_"), qtype, tuple((r, qtype) for r in RELATIONS))


# The total is keyed `avqa_avg`, the paper's name for it (Table V "Avg", Table X's AVQA column: the
# share of all questions answered right), so the experiment suite compares it with those columns.
TAXONOMY = Taxonomy(columns=(*(_type_column(t) for t in QUESTION_TYPES), Column("avqa_avg", "Total", None)))

AVQA = register_format(DatasetFormat(
    name="avqa", load=load_annotations, taxonomy=TAXONOMY, answer_kind="choice",
    type_words=tuple(sorted({r.lower() for r in RELATIONS} | {t.lower() for t in QUESTION_TYPES})),
    description="AVQA: train_qa.json / val_qa.json records, four answer options, 8 question types",
    table="table5", paper_rows="avqa", carve=write_carve_files))
