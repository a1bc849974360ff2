"""What is wrong with a row of an imported file: one line each (file, id, what), and a count."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mcd_core.features.errors import StoreError


class ImportFeaturesError(StoreError):
    """A feature file that cannot be imported as its layout says."""


@dataclass(frozen=True)
class Problem:
    file: str       # the file the row comes from (or should have come from)
    key: str        # video (or question) id
    kind: str       # shape, dtype, nan, zeros, missing, extra, unreadable, unmapped, duplicate
    what: str       # one line

    def line(self, label: str = "video") -> str:
        return f"{self.file}: {label} {self.key}: {self.what}"


def row_problem(values: np.ndarray, shape: tuple[int, ...]) -> tuple[str, str] | None:
    """(kind, what) when a source row is not a finite float array of `shape`; None when it is."""
    if values.dtype.kind != "f":
        return "dtype", f"dtype {values.dtype}, expected a float array"
    if tuple(values.shape) != tuple(shape):
        return "shape", f"shape {tuple(values.shape)}, expected {tuple(shape)}"
    finite = np.isfinite(values)
    if not finite.all():
        nan = int(np.isnan(values).sum())
        return "nan", f"{nan} NaN and {int((~finite).sum()) - nan} infinite values"
    if values.size and not values.any():
        # AVQA's released extractors write a row of zeros for a video they could not read
        # (AlyssaYoung/AVQA preprocess/preprocess_visual/preprocess_visual.py); such a row is no feature
        return "zeros", "every value is 0: the releasing extractor's mark of a video it could not read"
    return None


def count_line(problems: Sequence[Problem]) -> str:
    """`3 problems (2 nan, 1 missing)`."""
    kinds = Counter(p.kind for p in problems)
    return f"{len(problems)} problem(s) ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})"
