"""Atomic outputs: write under a temporary name beside the target, then rename.

A killed run therefore leaves either the complete previous output or nothing under the final
name; temporary leftovers carry a `.tmp-` prefix and are removed by the next attempt.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _tmp_sibling(target: Path, is_dir: bool) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_dir:
        path = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o777 & ~umask)  # mkdtemp creates 0700 folders
        return path
    fd, name = tempfile.mkstemp(prefix=f".tmp-{target.name}-", dir=target.parent)
    os.close(fd)
    # mkstemp creates 0600 files; give the output the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


def remove_path(path: Path) -> None:
    """Remove a file or a directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def clean_stale_tmp(target: Path) -> None:
    """Remove temporary leftovers of earlier, killed attempts at `target`."""
    if target.parent.is_dir():
        for leftover in target.parent.glob(f".tmp-{target.name}-*"):
            remove_path(leftover)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `target`, on error it is deleted."""
    target = Path(target)
    clean_stale_tmp(target)
    try:
        tmp = _tmp_sibling(target, is_dir)  # inside the try: a signal while it is made is cleaned too
        yield tmp
    except BaseException:
        # This attempt's temporary (a target has one writer at a time). Errors are ignored: a writer
        # thread (Zarr's) may still be renaming files in it, and the error being raised must stay
        # the one reported; whatever is left keeps its `.tmp-` name for the next attempt to remove.
        for leftover in target.parent.glob(f".tmp-{target.name}-*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        raise
    if is_dir and target.is_dir() and not target.is_symlink():
        # os.replace cannot replace a non-empty directory. Move the old one aside under a `.tmp-`
        # name (removed now, or by the next attempt if a signal comes first): deleting it in place
        # would leave a half-deleted store under the final name.
        old = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-old-", dir=target.parent))
        os.replace(target, old)
        os.replace(tmp, target)
        remove_path(old)
        return
    if is_dir:
        remove_path(target)  # a file or link where the directory goes
    os.replace(tmp, target)


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, obj, indent: int | None = 1) -> None:
    write_text(target, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
