"""Batches indexed on the compute device, with no DataLoader: for datasets whose features fit there.

`ResidentBatches` holds each video's feature rows once (V, T', D) per stream, the encoded questions
(N, ...) and each question's video index, all on one device; a batch is an index selection there.
Its batches equal those of a DataLoader with the same batch size, shuffle and generator, in the same order for
the same generator state, and leave the generator in the same state (`batches` draws what the loader
draws: a worker seed and the sampler's permutations), so switching paths changes speed, not results.
"""

from __future__ import annotations

from typing import Iterator

import torch

from mcd_core.data.dataset import AVQADataset, question_lengths

READ_CHUNK = 512  # videos per store read while building


class ResidentBatches:
    def __init__(self, dataset: AVQADataset, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.questions = dataset.questions
        videos = sorted({q.video_id for q in dataset.questions})
        at = {v: i for i, v in enumerate(videos)}
        self.video_ids = [q.video_id for q in dataset.questions]
        self.video_index = torch.tensor([at[v] for v in self.video_ids], dtype=torch.long, device=self.device)
        encoded = dataset._encoded
        self.tensors = {
            "question": torch.stack([e[0] for e in encoded]).to(self.device) if encoded else None,
            "qtype": torch.stack([e[1] for e in encoded]).to(self.device) if encoded else None,
            "keywords": torch.stack([e[2] for e in encoded]).to(self.device) if encoded else None,
            "answer": torch.tensor([e[3] for e in encoded], dtype=torch.long, device=self.device),
            "question_id": torch.tensor([q.question_id for q in dataset.questions], dtype=torch.long,
                                        device=self.device),
        }
        # on the host, whatever the device: the LSTM's packing reads them (dataset.question_lengths)
        self.question_len_host = (question_lengths(self.tensors["question"].cpu()) if encoded
                                  else torch.zeros(0, dtype=torch.long))
        if dataset._options is not None:
            self.tensors["options"] = (torch.stack(dataset._options).to(self.device) if encoded
                                       else None)                                  # (N, K, L)
        self.features: dict[str, torch.Tensor] = {}
        self.lengths: dict[str, torch.Tensor] = {}
        for name, rows in dataset.streams.items():
            parts = [torch.from_numpy(row) for first in range(0, len(videos), READ_CHUNK)
                     for row in rows.get_many(videos[first:first + READ_CHUNK])]
            self.features[name] = torch.stack(parts).to(self.device)                  # (V, T', D)
            self.lengths[name] = torch.tensor([rows.lengths[v] for v in videos], device=self.device)
        # Per-question inputs (text features): one row per question, in dataset order.
        self.question_features: dict[str, torch.Tensor] = {}
        self.question_lengths: dict[str, torch.Tensor] = {}
        qids = [str(q.question_id) for q in dataset.questions]
        for name, rows in dataset.question_streams.items():
            parts = [torch.from_numpy(row) for first in range(0, len(qids), READ_CHUNK)
                     for row in rows.get_many(qids[first:first + READ_CHUNK])]
            self.question_features[name] = torch.stack(parts).to(self.device)        # (N, L, D)
            self.question_lengths[name] = torch.tensor([rows.lengths[k] for k in qids], device=self.device)

    def __len__(self) -> int:
        return len(self.questions)

    @staticmethod
    def nbytes(dataset: AVQADataset) -> int:
        """Feature bytes a `ResidentBatches` of `dataset` would hold (float32 rows, once per video;
        per-question rows once per question)."""
        videos = len({q.video_id for q in dataset.questions})
        return (sum(videos * rows.row_bytes for rows in dataset.streams.values())
                + sum(len(dataset) * rows.row_bytes for rows in dataset.question_streams.values()))

    def batch(self, index: torch.Tensor) -> dict:
        """The batch of questions at positions `index`, keys as the dataset's collated items."""
        ids = [self.video_ids[i] for i in index.tolist()]  # before the copy: no read back from a GPU
        lengths = self.question_len_host[index]
        index = index.to(self.device)
        out = {k: v[index] for k, v in self.tensors.items()}
        out["video_id"] = ids
        out["question_len_host"] = lengths
        videos = self.video_index[index]
        for name, feats in self.features.items():
            out[name] = feats[videos]                                                 # (B, T', D)
            out[f"{name}_len"] = self.lengths[name][videos]
        for name, feats in self.question_features.items():
            out[name] = feats[index]                                                  # (B, L, D)
            out[f"{name}_len"] = self.question_lengths[name][index]
        return out

    def batches(self, batch_size: int, shuffle: bool = False,
                generator: torch.Generator | None = None) -> Iterator[dict]:
        n = len(self)
        # As a DataLoader iterator: one draw for its workers' base seed, from `generator` or, without
        # one, from torch's global generator (which dropout uses too); then RandomSampler's
        # permutation, and after the last batch its (empty) tail permutation, also drawn.
        torch.empty((), dtype=torch.int64).random_(generator=generator)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for first in range(0, n, batch_size):
            yield self.batch(order[first:first + batch_size])
        if shuffle:
            torch.randperm(n, generator=generator)
