"""Whether an output folder can be written, checked before any work that would fill it."""

from __future__ import annotations

import os
from pathlib import Path


def unwritable_problem(folder: str | os.PathLike) -> str | None:
    """Why files cannot be created in `folder` (None: they can): the folder, or the nearest of its
    parents that exists (where it would be created), is not a folder or is not writable."""
    path = Path(folder)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    where = "it" if existing == path else f"its parent {existing}"
    if not existing.is_dir():
        return f"{where} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{where} is not writable"
    return None


def check_writable(folder: str | os.PathLike, role: str, error: type[Exception]) -> None:
    """`error("<role> <folder> cannot be written: ...")` when `unwritable_problem` finds a reason."""
    problem = unwritable_problem(folder)
    if problem:
        raise error(f"{role} {folder} cannot be written: {problem}")
