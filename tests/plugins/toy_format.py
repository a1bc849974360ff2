"""A toy dataset format, registered from this one module: CSV-like JSON records with two question
types and no template slots. It shows what AVQA needs: a loader to `Question`s, a taxonomy with its
table columns, and an answer kind."""

from __future__ import annotations

import os
from pathlib import Path

from mcd_core.data.formats import Column, DatasetFormat, Taxonomy, register_format
from mcd_core.data.questions import AnnotationError, AnnotationSet, Question, read_json_records

TAXONOMY = Taxonomy(columns=(
    Column("sound", "Sound", (("Toy", "Sound"),)),
    Column("sight", "Sight", (("Toy", "Sight"),)),
    Column("total", "Total", None),
))


def load(path: str | os.PathLike) -> AnnotationSet:
    path = Path(path)
    questions = []
    for i, r in enumerate(read_json_records(path)):
        if not isinstance(r, dict) or not {"qid", "video", "kind", "text", "answer"} <= set(r):
            raise AnnotationError(f"{path}: record {i}: needs qid, video, kind, text, answer")
        words = tuple(r["text"].rstrip("?").split())
        questions.append(Question(question_id=r["qid"], video_id=r["video"], modality="Toy", qtype=r["kind"],
                                  template=r["text"], templ_values=(), answer=r["answer"], tokens=words))
    return AnnotationSet(path=path, questions=questions)


TOY = register_format(DatasetFormat(name="toy", load=load, taxonomy=TAXONOMY, answer_kind="classify",
                                    type_words=("toy", "sound", "sight")))
