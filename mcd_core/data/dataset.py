"""`AVQADataset`: questions joined with their videos' rows in the audio and visual feature stores.

Each item is a dict of tensors: `question` (14 ids), `qtype` (2 ids), `keywords` (4 ids), `answer`
(class index, -1 if unseen in training; for a multiple-choice format the right option's position),
`options` (K, 8 ids: each answer option's tokens; multiple-choice formats only), `audio` (T', Da), `visual` (T', Dv) with patch streams
averaged over their P patches (the paper avg-pools L, W), `audio_len`/`visual_len` (real steps
after the stride), `question_id`, and `video_id` (str). A model that reads no features (the
question-only baseline) passes no stores and gets no feature keys. With `keep_patches` (PSTP-Net)
a patch stream's `visual` rows stay un-averaged (T', P, D). Each extra input of an architecture
(`inputs`, see data/inputs.py) adds its key: a per-video row (the stride applies to streams on the
run's time axis) or, for per-question stores, the row of the question's id, plus `<key>_len`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Protocol, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mcd_core.features.store import FeatureStore, StoreError, open_store
from mcd_core.data.formats import get_format
from mcd_core.data.inputs import InputStore
from mcd_core.data.questions import Question, filter_by_videos
from mcd_core.data.rows import StreamRows
from mcd_core.data.vocab import Vocab

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """Bad dataset arguments (e.g. a stride below 1, stores of different lengths)."""


class AVQADataset(Dataset):
    def __init__(self, questions: Sequence[Question], vocab: Vocab, audio_store: FeatureStore | None = None,
                 visual_store: FeatureStore | None = None, stride: int = 1, in_memory: bool = False,
                 inputs: Mapping[str, InputStore] | None = None, keep_patches: bool = False):
        if stride < 1:
            raise DatasetError(f"stride must be >= 1, got {stride}")
        stores = {"audio": audio_store, "visual": visual_store}
        inputs = dict(inputs or {})
        clash = sorted(set(inputs) & {"audio", "visual", "question", "qtype", "keywords", "answer"})
        if clash:
            raise DatasetError(f"extra input key {clash[0]!r} clashes with a batch key the dataset writes")
        kept = list(questions)
        for name, store in stores.items():
            if store is not None:
                kept = [q for q in kept if q.video_id in store.index]
        for extra in inputs.values():
            kept = [q for q in kept if _key(q, extra.per) in extra.store.index]
        self.dropped = len(questions) - len(kept)   # questions whose video (or question) is missing from a store
        self.dropped_videos = len({q.video_id for q in questions} - {q.video_id for q in kept})
        if self.dropped:
            log.warning("%d questions (%d videos) left out: their video (or question) is missing from a "
                        "feature store", self.dropped, self.dropped_videos)
        self.questions = kept
        videos = sorted({q.video_id for q in kept})
        self.streams = {name: StreamRows(store, videos, stride, in_memory,
                                         average_patches=not (keep_patches and name == "visual"))
                        for name, store in stores.items() if store is not None}
        self.question_streams: dict[str, StreamRows] = {}
        for key, extra in inputs.items():
            if extra.per == "video":
                self.streams[key] = StreamRows(extra.store, videos, stride if extra.strided else 1, in_memory,
                                               average_patches=False)
            else:
                ids = sorted({_key(q, "question") for q in kept})
                self.question_streams[key] = StreamRows(extra.store, ids, 1, in_memory, average_patches=False)
        self._encoded = [(torch.tensor(vocab.encode_question(q)), torch.tensor(vocab.encode_type(q)),
                          torch.tensor(vocab.encode_keywords(q)), vocab.answer_index(q.answer))
                         for q in kept]
        self._options = ([torch.tensor(vocab.encode_options(q)) for q in kept]     # (K, L) each
                         if vocab.choice_options else None)

    def __len__(self) -> int:
        return len(self.questions)

    def _item(self, index: int, features: dict[str, np.ndarray]) -> dict:
        q = self.questions[index]
        question, qtype, keywords, answer = self._encoded[index]
        item = {"question": question, "qtype": qtype, "keywords": keywords,
                "answer": torch.tensor(answer), "question_id": torch.tensor(q.question_id),
                "video_id": q.video_id, "question_len_host": question_lengths(question)}
        if self._options is not None:
            item["options"] = self._options[index]                                # (K, L)
        for name, rows in self.streams.items():
            item[name] = torch.from_numpy(features[name])                      # (T', D) or (T', P, D)
            item[f"{name}_len"] = torch.tensor(rows.lengths[q.video_id])
        for name, rows in self.question_streams.items():
            item[name] = torch.from_numpy(features[name])                      # (L, D)
            item[f"{name}_len"] = torch.tensor(rows.lengths[_key(q, "question")])
        return item

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict]:
        """A batch at once (DataLoader calls this when it exists): one Zarr read per stream."""
        video_ids = [self.questions[i].video_id for i in indices]
        per_stream = {name: rows.get_many(video_ids) for name, rows in self.streams.items()}
        question_ids = [_key(self.questions[i], "question") for i in indices]
        per_stream.update({name: rows.get_many(question_ids) for name, rows in self.question_streams.items()})
        return [self._item(i, {name: feats[k] for name, feats in per_stream.items()})
                for k, i in enumerate(indices)]


def question_lengths(tokens: torch.Tensor) -> torch.Tensor:
    """Words per question (at least 1) of token rows (..., L), as the LSTM's packing wants them: on
    the host, beside the batch (key `question_len_host`), so no step reads them back from a GPU."""
    return (tokens != 0).sum(-1).clamp(min=1)


def _key(q: Question, per: str) -> str:
    """The row key of question `q` in a store keyed by `per` ("video" or "question")."""
    return q.video_id if per == "video" else str(q.question_id)


# -- datasets from files, for `mcd train` and `mcd predict` ---------------------------------------

class ReadsInputs(Protocol):
    """What the dataset needs to know of a model config: which feature streams it reads."""
    needs_audio: bool
    needs_visual: bool


AUDIO_STREAMS = ("audio",)
VISUAL_STREAMS = ("visual", "visual_patch")


def open_feature_store(path: Path | None, streams: tuple[str, ...], needed: bool, role: str):
    """The store at `path`, checked for its stream; None without a path (an error if `needed`)."""
    if path is None:
        if needed:
            raise DatasetError(f"this variant reads {role} features: give --{role}")
        return None
    store = open_store(path)
    if store.attrs["stream"] not in streams:
        raise StoreError(f"{path}: stream is {store.attrs['stream']!r}, --{role} needs one of {list(streams)}")
    return store


def open_stores(audio_path: Path | None, visual_path: Path | None, model_cfg: ReadsInputs):
    """The (audio, visual) stores, checked for their stream; None where not given. A model that
    reads patch tokens (`needs_patches`) needs a patch stream as --visual."""
    patches = getattr(model_cfg, "needs_patches", False)
    visual = open_feature_store(visual_path, ("visual_patch",) if patches else VISUAL_STREAMS,
                                model_cfg.needs_visual, "visual")
    return open_feature_store(audio_path, AUDIO_STREAMS, model_cfg.needs_audio, "audio"), visual


def make_dataset(path: Path, vocab: Vocab, model_cfg: ReadsInputs, audio, visual, stride: int,
                 in_memory: bool = False, fmt: str = "music_avqa",
                 inputs: Mapping[str, InputStore] | None = None) -> AVQADataset:
    """The dataset of one annotation file. A store given to a model that does not read it still
    filters the questions, so variants trained on the same stores see the same questions."""
    questions = get_format(fmt).load(path).questions
    for store, needed in ((audio, model_cfg.needs_audio), (visual, model_cfg.needs_visual)):
        if store is not None and not needed:
            questions, dropped = filter_by_videos(questions, set(store.video_ids))
            if dropped:
                log.warning("%s: %d questions left out, video missing from %s", path, len(dropped), store.path)
    return AVQADataset(questions, vocab, audio if model_cfg.needs_audio else None,
                       visual if model_cfg.needs_visual else None, stride=stride, in_memory=in_memory,
                       inputs=inputs, keep_patches=getattr(model_cfg, "needs_patches", False))
