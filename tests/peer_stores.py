"""Tiny stores of the peers' extra inputs for a synthetic task (tests/avqa_synthetic.py).

Derived from the task's own features, so the evidence the task plants stays in them: patch tokens
and 14 x 14-style maps are the frame feature plus noise at each of P positions; ToMe-style tokens
take F frames evenly spaced over the seconds; the per-question text stores embed the question's
words with fixed random word vectors (sentence = their mean, words = one row per token, padded),
the prompt store the same words through another fixed map.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from mcd_core.features.store import StoreMeta, write_store

RANDOM = {"random_init": True, "seed": 0}


def _meta(stream, backbone, dim, seconds, **extra):
    return StoreMeta(stream=stream, backbone=backbone, dim=dim, fps=1.0, seconds=seconds, weights=RANDOM,
                     preprocessing={}, extra=extra)


def word_vector(word: str, dim: int, salt: int = 0) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(word.encode()) + salt)
    return rng.normal(size=dim).astype(np.float32)


def write_peer_stores(directory: Path, questions, visual: np.ndarray, video_ids, name: str = "task",
                      positions: int = 4, frames: int = 4, tokens: int = 3, text_dim: int = 12,
                      max_words: int = 16, noise: float = 0.1, seed: int = 0) -> dict[str, Path]:
    """Paths of: "visual_patch" (--visual of PSTP-Net), "visual_cls" (its CLS frame input), "visual_map",
    "tome", "text_sentence", "text_words", "prompt_sentence" stores."""
    rng = np.random.default_rng(seed)
    n, seconds, dim = visual.shape
    lengths = [seconds] * n
    patches = visual[:, :, None, :] + rng.normal(scale=noise, size=(n, seconds, positions, dim)).astype(np.float32)
    at = np.round(np.linspace(0, seconds - 1, frames)).astype(int)
    tome = visual[:, at, None, :] + rng.normal(scale=noise, size=(n, frames, tokens, dim)).astype(np.float32)
    out = {
        "visual_patch": write_store(directory / f"{name}_patch.zarr", patches, lengths, video_ids,
                                    _meta("visual_patch", "synthetic", dim, seconds, patch_tokens=positions)),
        "visual_cls": write_store(directory / f"{name}_cls.zarr", visual, lengths, video_ids,
                                  _meta("visual", "clip_vit_b32", dim, seconds)),
        "visual_map": write_store(directory / f"{name}_map.zarr", patches, lengths, video_ids,
                                  _meta("visual_map", "resnet18_14x14", dim, seconds)),
        "tome": write_store(directory / f"{name}_tome.zarr", tome, [frames] * n, video_ids,
                            _meta("tome", "tome_vit_l16_384", dim, frames)),
    }
    qids = [str(q.question_id) for q in questions]
    words = np.zeros((len(questions), max_words, text_dim), np.float32)
    counts = []
    for i, q in enumerate(questions):
        toks = list(q.tokens)[:max_words]
        for j, w in enumerate(toks):
            words[i, j] = word_vector(w, text_dim)
        counts.append(max(1, len(toks)))
    sentence = np.stack([words[i, :c].mean(0) for i, c in enumerate(counts)])[:, None, :]
    mix = np.random.default_rng(99).normal(size=(text_dim, text_dim)).astype(np.float32) / np.sqrt(text_dim)
    keyed = {"keyed_by": "question"}
    out["text_words"] = write_store(directory / f"{name}_words.zarr", words, counts, qids,
                                    _meta("text_words", "clip_text_b32", text_dim, max_words, **keyed))
    out["text_sentence"] = write_store(directory / f"{name}_sentence.zarr", sentence, [1] * len(qids), qids,
                                       _meta("text_sentence", "clip_text_b32", text_dim, 1, **keyed))
    out["prompt_sentence"] = write_store(directory / f"{name}_prompt.zarr", sentence @ mix, [1] * len(qids), qids,
                                         _meta("prompt_sentence", "clip_text_l14_336", text_dim, 1, **keyed))
    return out


def peer_inputs(stores: dict[str, Path], architecture: str) -> dict[str, Path]:
    """The `--input` mapping of `architecture` from `write_peer_stores` paths."""
    return {"avst": {"visual_map": stores["visual_map"]},
            "pstp_net": {"question_clip": stores["text_sentence"], "question_words": stores["text_words"],
                         "visual_cls": stores["visual_cls"]},
            "tspm": {"tome": stores["tome"], "question_clip": stores["text_sentence"],
                     "prompt_clip": stores["prompt_sentence"]}}[architecture]
