"""A feature-level synthetic AVQA task for the model, dataset and training tests.

Six instruments each own a random audio and a random visual signature. A video shows 1-3 instruments
(visual: the sum of their signatures at every second) and, independently, 1-3 instruments sound
(audio: each plays for `duration` seconds from its own start second, so the time-mean of the audio
carries which instruments play but not their order).
Four MUSIC-AVQA types, each needing different evidence:
  Audio/Counting         how many sound            audio only
  Visual/Counting        how many are visible      visual only
  Audio-Visual/Existential  is <Object> visible AND sounding   both
  Audio-Visual/Temporal  which instrument sounds first        audio + time order
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcd_core.data.formats.music_avqa import Question, tokenize
from mcd_core.features.store import StoreMeta, write_store

INSTRUMENTS = ("piano", "violin", "cello", "flute", "guitar", "drum")
NUMBERS = ("zero", "one", "two", "three")
TEMPLATES = {
    ("Audio", "Counting"): "How many instruments are sounding in the video?",
    ("Visual", "Counting"): "How many instruments are in the video?",
    ("Audio-Visual", "Existential"): "Is the <Object> in the video playing?",
    ("Audio-Visual", "Temporal"): "What is the first sounding instrument?",
}
AUDIO_TYPES = ("Audio/Counting", "Audio-Visual/Temporal")  # unanswerable without audio


def _question(qid, video_id, key, answer, values=()):
    template = TEMPLATES[key]
    return Question(question_id=qid, video_id=video_id, modality=key[0], qtype=key[1], template=template,
                    templ_values=tuple(values), answer=answer, tokens=tokenize(template, values))


def make_task(n_videos: int, seconds: int = 10, audio_dim: int = 16, visual_dim: int = 24,
              seed: int = 0, first_id: int = 0, noise: float = 0.1, signature_seed: int = 1234,
              duration: int = 3):
    """(questions, audio [N, T, Da], visual [N, T, Dv], video_ids); signatures fixed by signature_seed."""
    sig = np.random.default_rng(signature_seed)
    sig_a = sig.normal(size=(len(INSTRUMENTS), audio_dim)).astype(np.float32)
    sig_v = sig.normal(size=(len(INSTRUMENTS), visual_dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    audio = rng.normal(scale=noise, size=(n_videos, seconds, audio_dim)).astype(np.float32)
    visual = rng.normal(scale=noise, size=(n_videos, seconds, visual_dim)).astype(np.float32)
    questions, video_ids = [], []
    qid = first_id
    for n in range(n_videos):
        vid = f"{first_id + n:08d}"
        video_ids.append(vid)
        visible = rng.choice(len(INSTRUMENTS), size=rng.integers(1, 4), replace=False)
        sounding = rng.choice(len(INSTRUMENTS), size=rng.integers(1, 4), replace=False)
        starts = rng.choice(seconds - duration + 1, size=len(sounding), replace=False)
        visual[n] += sig_v[visible].sum(0)
        for inst, start in zip(sounding, starts):
            audio[n, start:start + duration] += sig_a[inst]
        both = sorted(set(visible) & set(sounding))
        if both and rng.random() < 0.5:
            obj = int(rng.choice(both))
        else:
            obj = int(rng.choice([i for i in range(len(INSTRUMENTS)) if i not in both]))
        first = sounding[int(np.argmin(starts))]
        rows = [(("Audio", "Counting"), NUMBERS[len(sounding)], ()),
                (("Visual", "Counting"), NUMBERS[len(visible)], ()),
                (("Audio-Visual", "Existential"), "yes" if obj in both else "no", (INSTRUMENTS[obj],)),
                (("Audio-Visual", "Temporal"), INSTRUMENTS[first], ())]
        for key, answer, values in rows:
            questions.append(_question(qid, vid, key, answer, values))
            qid += 1
    return questions, audio, visual, video_ids


def write_task_stores(directory: Path, audio: np.ndarray, visual: np.ndarray, video_ids, lengths=None,
                      name: str = "task"):
    """Audio and visual stores of a task under `directory`; returns their paths."""
    seconds = audio.shape[1]
    lengths = [seconds] * len(video_ids) if lengths is None else lengths
    paths = []
    for stream, x in (("audio", audio), ("visual", visual)):
        meta = StoreMeta(stream=stream, backbone="synthetic", dim=x.shape[-1], fps=1.0, seconds=seconds,
                         weights={"random_init": True, "seed": 0}, preprocessing={})
        paths.append(write_store(directory / f"{name}_{stream}.zarr", x, lengths, video_ids, meta))
    return tuple(paths)
