"""`AVQADataset`: questions joined with their videos' rows in the audio and visual feature stores.

Each item is a dict of tensors: `question` (14 ids), `qtype` (2 ids), `keywords` (4 ids), `answer`
(class index, -1 if unseen in training; for a multiple-choice format the right option's position),
`options` (K, 8 ids: each answer option's tokens; multiple-choice formats only), `audio` (T', Da), `visual` (T', Dv) with patch streams
averaged over their P patches (the paper avg-pools L, W), `audio_len`/`visual_len` (real steps
after the stride), `question_id`, and `video_id` (str). A model that reads no features (the
question-only baseline) passes no stores and gets no feature keys.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch
import zarr
from torch.utils.data import Dataset

from mcd_core.common.progress import progress
from mcd_core.features.store import FeatureStore, StoreError, open_store
from mcd_core.data.formats import get_format
from mcd_core.data.questions import Question, filter_by_videos
from mcd_core.data.vocab import Vocab

log = logging.getLogger(__name__)


PRELOAD_BYTES = 256 << 20  # raw store bytes per Zarr read while preloading (patch rows are ~6 MB)


class DatasetError(ValueError):
    """Bad dataset arguments (e.g. a stride below 1, stores of different lengths)."""


class _StreamRows:
    """One store's rows for the dataset: lazy Zarr reads (re-opened per process) or a preloaded array."""

    def __init__(self, store: FeatureStore, video_ids: Sequence[str], stride: int, in_memory: bool):
        self.path = store.path
        self.stride = stride
        self.row_of = {v: store.row(v) for v in video_ids}
        steps = store.features.shape[1]
        self.lengths = {v: max(1, math.ceil(int(store.lengths[r]) / stride)) for v, r in self.row_of.items()}
        self.steps = len(range(0, steps, stride))
        self.dim = int(store.features.shape[-1])   # row width (patch streams are averaged over P)
        self._array = None
        self._pid = None
        self.memory: dict[str, np.ndarray] | None = None
        if in_memory:
            self.memory = {}
            ids = list(self.row_of)
            per_read = max(1, PRELOAD_BYTES // (4 * math.prod(store.features.shape[1:])))
            with progress(total=len(ids), desc=f"loading {store.path.name}", unit="video",
                          leave=False) as bar:
                for first in range(0, len(ids), per_read):
                    batch = ids[first:first + per_read]
                    self.memory.update(zip(batch, self._read(store.features, batch)))
                    bar.update(len(batch))

    def __getstate__(self):  # Zarr handles are re-opened in each DataLoader worker
        state = dict(self.__dict__)
        state["_array"], state["_pid"] = None, None
        return state

    def _features(self):
        if self._pid != os.getpid():
            self._array = zarr.open_group(store=str(self.path), mode="r", use_consolidated=True)["features"]
            self._pid = os.getpid()
        return self._array

    def _read(self, features, video_ids: Sequence[str]) -> list[np.ndarray]:
        """The (T', D) rows of `video_ids` in one orthogonal selection: Zarr fetches and decodes
        those chunks concurrently, where row-by-row reads pay its per-call overhead each."""
        rows = sorted({self.row_of[v] for v in video_ids})
        block = np.asarray(features.get_orthogonal_selection((rows,)), dtype=np.float32)
        block = block[:, :: self.stride]                                     # (n, T', D) or (n, T', P, D)
        # Patch streams are averaged over P; the copy drops the steps the stride skipped.
        block = block.mean(axis=2) if block.ndim == 4 else np.ascontiguousarray(block)  # (n, T', D)
        at = {r: i for i, r in enumerate(rows)}
        return [block[at[self.row_of[v]]] for v in video_ids]

    def get_many(self, video_ids: Sequence[str]) -> list[np.ndarray]:
        """The rows of a whole batch, from memory when preloaded."""
        if self.memory is not None:
            return [self.memory[v] for v in video_ids]
        return self._read(self._features(), video_ids)

    def get(self, video_id: str) -> np.ndarray:
        return self.get_many([video_id])[0]


class AVQADataset(Dataset):
    def __init__(self, questions: Sequence[Question], vocab: Vocab, audio_store: FeatureStore | None = None,
                 visual_store: FeatureStore | None = None, stride: int = 1, in_memory: bool = False):
        if stride < 1:
            raise DatasetError(f"stride must be >= 1, got {stride}")
        stores = {"audio": audio_store, "visual": visual_store}
        kept = list(questions)
        for name, store in stores.items():
            if store is not None:
                kept = [q for q in kept if q.video_id in store.index]
        self.dropped = len(questions) - len(kept)   # questions whose video is missing from a store
        self.dropped_videos = len({q.video_id for q in questions} - {q.video_id for q in kept})
        if self.dropped:
            log.warning("%d questions (%d videos) left out: their video is missing from a feature store",
                        self.dropped, self.dropped_videos)
        self.questions = kept
        videos = sorted({q.video_id for q in kept})
        self.streams = {name: _StreamRows(store, videos, stride, in_memory)
                        for name, store in stores.items() if store is not None}
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
                "video_id": q.video_id}
        if self._options is not None:
            item["options"] = self._options[index]                                # (K, L)
        for name, rows in self.streams.items():
            item[name] = torch.from_numpy(features[name])                      # (T', D)
            item[f"{name}_len"] = torch.tensor(rows.lengths[q.video_id])
        return item

    def __getitem__(self, index: int) -> dict:
        video_id = self.questions[index].video_id
        return self._item(index, {name: rows.get(video_id) for name, rows in self.streams.items()})

    def __getitems__(self, indices: Sequence[int]) -> list[dict]:
        """A batch at once (DataLoader calls this when it exists): one Zarr read per stream."""
        video_ids = [self.questions[i].video_id for i in indices]
        per_stream = {name: rows.get_many(video_ids) for name, rows in self.streams.items()}
        return [self._item(i, {name: feats[k] for name, feats in per_stream.items()})
                for k, i in enumerate(indices)]


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
    """The (audio, visual) stores, checked for their stream; None where not given."""
    return (open_feature_store(audio_path, AUDIO_STREAMS, model_cfg.needs_audio, "audio"),
            open_feature_store(visual_path, VISUAL_STREAMS, model_cfg.needs_visual, "visual"))


def make_dataset(path: Path, vocab: Vocab, model_cfg: ReadsInputs, audio, visual, stride: int,
                 in_memory: bool = False, fmt: str = "music_avqa") -> AVQADataset:
    """The dataset of one annotation file. A store given to a model that does not read it still
    filters the questions, so variants trained on the same stores see the same questions."""
    questions = get_format(fmt).load(path).questions
    for store, needed in ((audio, model_cfg.needs_audio), (visual, model_cfg.needs_visual)):
        if store is not None and not needed:
            questions, dropped = filter_by_videos(questions, set(store.video_ids))
            if dropped:
                log.warning("%s: %d questions left out, video missing from %s", path, len(dropped), store.path)
    return AVQADataset(questions, vocab, audio if model_cfg.needs_audio else None,
                       visual if model_cfg.needs_visual else None, stride=stride, in_memory=in_memory)
