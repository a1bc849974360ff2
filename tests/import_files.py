"""Small feature files in the layouts users have: AVQA's HDF5 files (official dataset names; the
released shapes, or smaller rows where a test says so), per-video and per-question `.npy` folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

AVQA_FILES = {  # layout -> (file name, feature dataset, one row as released)
    "avqa_appearance": ("AVQA_appearance_resnet101_feat.h5", "resnet_features", (8, 16, 2048)),
    "avqa_motion": ("AVQA_motion_resnext101_feat.h5", "resnext_features", (8, 2048)),
    "avqa_audio": ("AVQA_audio_PANNs_feat.h5", "vlaudio_features", (2048,)),
}
TYPES = ["Which", "Come From", "Happening", "Where", "Why", "Before Next", "When", "Used For"]


def avqa_names(n: int, start: int = 0) -> list[str]:
    return [f"-clip{i:06d}_{i * 10:06d}"[:18] for i in range(start, start + n)]


def avqa_qa(names: list[str], first_id: int = 0, answers=None) -> list[dict]:
    """One question a video; `video_id` = 1000 + the question's id (the int the HDF5 `ids` hold)."""
    return [{"id": first_id + i, "video_name": v, "video_id": 1000 + first_id + i,
             "question_text": "What happened in the video?", "multi_choice": ["a", "b", "c", "d"],
             "answer": (i % 4) if answers is None else answers[i], "question_relation": "View",
             "question_type": TYPES[i % 8]} for i, v in enumerate(names)]


def write_avqa_h5(path: Path, layout: str, ids: list[int], rows: np.ndarray | None = None,
                  shape: tuple[int, ...] | None = None, seed: int = 0) -> np.ndarray:
    import h5py

    _, dataset, released = AVQA_FILES[layout]
    if rows is None:
        rows = np.random.default_rng(seed).standard_normal((len(ids), *(shape or released))).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_dataset("ids", data=np.asarray(ids, dtype=np.int64))
        f.create_dataset(dataset, data=rows)
    return rows


def write_npy_folder(folder: Path, rows: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, values in rows.items():
        np.save(folder / f"{key}.npy", values)
    return folder


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path
