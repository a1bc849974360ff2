"""Checkpoint files (`best.pt`, `last.pt`): written atomically with fixed bytes, read safely.

A checkpoint holds only tensors, numbers, strings and plain lists, tuples and dicts, so it is read
with `torch.load(..., weights_only=True)`: a file from elsewhere cannot run code when it is loaded.
A file that is not a readable checkpoint (garbage, truncated, or holding other objects) gives one
`CheckpointError` line naming the file and what to do.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from mcd_core.common.atomic import write_bytes
from mcd_core.common.loaderrors import load_error_line


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or does not fit the given vocabulary."""


def write_checkpoint(obj: dict[str, Any], path: str | os.PathLike) -> None:
    """Save `obj` to `path` atomically. Serialised through memory, so the archive's inner name does
    not depend on the temporary file name: equal content gives equal bytes."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(path, buf.getvalue())


def read_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu",
                    remedy: str = "delete it and train again (`mcd train`, or rerun snakemake)") -> dict:
    """The checkpoint dict in `path`, loaded with weights_only=True."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; run `mcd train` first")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # UnpicklingError, PytorchStreamReader RuntimeError, EOFError, ...
        raise CheckpointError(f"{path}: not a readable checkpoint ({load_error_line(exc)}); {remedy}") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not an MCD checkpoint (a {type(ckpt).__name__}, not a dict); {remedy}")
    return ckpt
