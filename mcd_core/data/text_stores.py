"""Per-question text feature stores (`mcd extract-text`): the questions of every split of a dataset,
or their TSPM prompts (`prompts.py`), through a CLIP text tower, one store per stream.

Layout: the feature-store layout (`features/store.py`) with rows keyed by question id: `video_id`
holds the question ids as strings, attribute `keyed_by: "question"`, `seconds` is the steps per row
(1 for sentence streams, 77 for word tokens), `fps` 0 (no time axis), `lengths` the real steps (the
token count incl. SOT/EOT for words, 1 for sentences). Streams:

- `text_sentence` [Q, 1, D]: the question's sentence (EOT) feature
- `text_words` [Q, 77, D]: the question's projected word tokens
- `prompt_sentence` [Q, 1, D]: the sentence feature of the question's declarative prompt

A question id given by several records (splits share ids, or the original json/ release's
duplicates) is one row when their text is the same, and an error naming both files otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcd_core.data.formats import get_format
from mcd_core.data.prompts import build_prompt
from mcd_core.data.questions import AnnotationError, Question
from mcd_core.features.backbones.text import create_text_backbone
from mcd_core.features.store import StoreMeta, store_writer

TEXT_STREAMS = {"text_sentence": "question", "text_words": "question", "prompt_sentence": "prompt"}


class TextStoreError(ValueError):
    """The text job was asked for something it cannot do."""


@dataclass
class TextJob:
    annotations: list[Path]     # annotation files (every split), read with `format`
    backbone: str               # text registry name (clip_text_b32, clip_text_l14_336)
    outputs: dict[str, Path]    # stream -> store path
    format: str = "music_avqa"
    weights: str = "random-init"
    seed: int = 0
    weights_dir: Path | None = None
    device: str = "cpu"
    batch_size: int = 256       # texts per forward pass
    sources: dict[str, str] = field(default_factory=dict)   # filled: question id -> first file


def question_texts(job: TextJob) -> tuple[list[str], list[Question]]:
    """(question ids as strings, one Question each) over every file, in first-seen order."""
    fmt = get_format(job.format)
    ids: list[str] = []
    first: dict[str, tuple[Question, Path]] = {}
    for path in job.annotations:
        for q in fmt.load(path).questions:
            key = str(q.question_id)
            if key in first:
                seen, where = first[key]
                if (seen.template, seen.templ_values) != (q.template, q.templ_values):
                    raise AnnotationError(f"question id {key} has different texts in {where} ({seen.text!r}) "
                                          f"and {path} ({q.text!r}); a per-question store cannot hold both")
                continue
            first[key] = (q, Path(path))
            ids.append(key)
    job.sources = {k: str(p) for k, (_, p) in first.items()}
    return ids, [first[k][0] for k in ids]


def texts_for(stream: str, questions: list[Question]) -> list[str]:
    if TEXT_STREAMS[stream] == "prompt":
        return [build_prompt(q.template, q.templ_values) for q in questions]
    return [q.text for q in questions]


def extract_text(job: TextJob) -> dict[str, Path]:
    """Write every store of `job.outputs`; returns them."""
    unknown = sorted(set(job.outputs) - set(TEXT_STREAMS))
    if unknown:
        raise TextStoreError(f"unknown text stream(s) {unknown}; known: {sorted(TEXT_STREAMS)}")
    if job.batch_size < 1:
        raise TextStoreError(f"batch size must be >= 1, got {job.batch_size}")
    ids, questions = question_texts(job)
    encoder, spec = create_text_backbone(job.backbone, job.weights, job.seed, job.weights_dir, job.device)
    for stream, out in job.outputs.items():
        texts = texts_for(stream, questions)
        words = stream == "text_words"
        steps = spec.context if words else 1
        meta = StoreMeta(stream=stream, backbone=spec.name, dim=spec.dim, fps=0.0, seconds=steps,
                         weights=encoder.weights_info,
                         preprocessing={"tokenizer": f"open_clip {spec.model_config}", "context": spec.context,
                                        "text": TEXT_STREAMS[stream], "format": job.format},
                         extra={"keyed_by": "question", "annotations": [str(p) for p in job.annotations]})
        lengths = np.ones(len(ids), dtype=np.int64)
        if words:
            lengths = np.concatenate([encoder.tokenize(texts[i:i + job.batch_size]).ne(0).sum(1).numpy()
                                      for i in range(0, len(texts), job.batch_size)] or [lengths])
        with store_writer(out, (len(ids), steps, spec.dim), ids, lengths, meta) as writer:
            for start in range(0, len(texts), job.batch_size):
                batch = encoder(texts[start:start + job.batch_size])
                rows = batch.words if words else batch.sentence[:, None]
                for j, row in enumerate(rows):
                    writer.write(start + j, row)
    return dict(job.outputs)
