"""Two stores of the same videos side by side (`mcd compare-stores`): e.g. an imported store and our
own extraction. Per video: whether the rows have the same shape and length, and the cosine
similarity of their real steps, flattened (the first min(length) steps of each)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from mcd_core.features.store import open_store


@dataclass
class Comparison:
    a: str
    b: str
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    mismatched: dict[str, str] = field(default_factory=dict)   # id -> how the shapes differ
    cosine: dict[str, float] = field(default_factory=dict)     # id -> cosine, same-shape videos

    def summary(self) -> str:
        lines = [f"A {self.a}", f"B {self.b}",
                 f"videos compared: {len(self.cosine)}; only in A: {len(self.only_a)}{_ids(self.only_a)}; "
                 f"only in B: {len(self.only_b)}{_ids(self.only_b)}; "
                 f"shape mismatches: {len(self.mismatched)}{_ids(list(self.mismatched))}"]
        if self.cosine:
            worst = min(self.cosine, key=self.cosine.get)
            lines.append(f"cosine similarity: mean {np.mean(list(self.cosine.values())):.4f}, "
                         f"min {self.cosine[worst]:.4f} (video {worst})")
        return "\n".join(lines)


def _ids(ids: list[str], shown: int = 5) -> str:
    if not ids:
        return ""
    return f" ({', '.join(ids[:shown])}{', ...' if len(ids) > shown else ''})"


def cosine(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64).ravel(), y.astype(np.float64).ravel()
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    if nx == 0 or ny == 0:
        return 1.0 if nx == ny else 0.0
    return float(x @ y / (nx * ny))


def compare_stores(a: str | os.PathLike, b: str | os.PathLike) -> Comparison:
    sa, sb = open_store(a), open_store(b)
    out = Comparison(str(sa.path), str(sb.path), [v for v in sa.video_ids if v not in sb.index],
                     [v for v in sb.video_ids if v not in sa.index])
    shape_a, shape_b = tuple(sa.features.shape[1:]), tuple(sb.features.shape[1:])
    for vid in (v for v in sa.video_ids if v in sb.index):
        la, lb = int(sa.lengths[sa.index[vid]]), int(sb.lengths[sb.index[vid]])
        if shape_a != shape_b:
            out.mismatched[vid] = f"rows {shape_a} vs {shape_b}"
            continue
        if la != lb:
            out.mismatched[vid] = f"lengths {la} vs {lb}"
        n = min(la, lb)
        out.cosine[vid] = cosine(np.asarray(sa.features[sa.index[vid]])[:n],
                                 np.asarray(sb.features[sb.index[vid]])[:n])
    return out
