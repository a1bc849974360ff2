"""Locate the ffmpeg binary: a system ffmpeg when present, else the one imageio-ffmpeg ships.

imageio-ffmpeg ships no ffprobe, so nothing in this package may depend on ffprobe.
"""

from __future__ import annotations

import functools
import os
import shutil


class FfmpegMissingError(RuntimeError):
    """No ffmpeg to run: a setup error, shown by `mcd` as one line."""


@functools.lru_cache(maxsize=1)
def ffmpeg_executable() -> str:
    explicit = os.environ.get("MCD_FFMPEG")
    if explicit:
        return explicit
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - imageio-ffmpeg is a declared dependency
        raise FfmpegMissingError("no ffmpeg found: install ffmpeg or the imageio-ffmpeg package") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()
