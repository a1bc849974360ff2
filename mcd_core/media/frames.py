"""Decode one frame per second of video: the frame on screen at the centre of each second.

Frame i is the last frame whose timestamp is <= i + 0.5 s (what a player shows at that instant),
chosen by ffmpeg: shift timestamps by -0.5 s, then `fps=1:round=up` keeps, for output slot i, the
last input frame at or before it. This works for any frame rate, variable ones included. ffmpeg
applies rotation metadata before our filters (autorotate), so portrait videos stay portrait.

Videos shorter than T seconds are padded by repeating the last real frame (at 1 fps that is the
whole last real second); `length` records the real count. Longer videos are cut at T.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcd_core.media.probe import MediaInfo, probe_media, run_ffmpeg
from mcd_core.media.shardrun import VideoError

STAGE = "frames"


@dataclass
class VideoFrames:
    frames: np.ndarray          # (T, H, W, 3) uint8 RGB, rows past `length` repeat the last real one
    length: int                 # seconds with a real centre frame (1..T)
    size: tuple[int, int]       # (width, height) of each frame


def output_size(info: MediaInfo, short_side: int | None) -> tuple[int, int]:
    """(width, height): the displayed picture scaled so its short side is `short_side`, aspect kept.

    `short_side` None or 0 keeps the displayed size.
    """
    w, h = info.display_size()
    if not short_side:
        return w, h
    if w <= h:
        return short_side, max(1, round(h * short_side / w))
    return max(1, round(w * short_side / h)), short_side


def _decode(path: Path, size: tuple[int, int], max_frames: int, centre: bool,
            threads: int | None) -> np.ndarray:
    w, h = size
    chain = []
    if centre:
        # Microsecond time base first, so the 0.5 s shift is exact whatever the stream's time base.
        chain += ["settb=AVTB", "setpts=PTS-STARTPTS-0.5/TB", "fps=1:round=up"]
    chain += [f"scale={w}:{h}:flags=bicubic", "setsar=1", "format=rgb24"]
    args = ["-i", str(path), "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", ",".join(chain),
            "-frames:v", str(max_frames), "-f", "rawvideo", "-pix_fmt", "rgb24"]
    if threads:
        args = ["-threads", str(threads)] + args
    raw = run_ffmpeg(args + ["pipe:1"], path, STAGE)
    frame_bytes = w * h * 3
    if len(raw) % frame_bytes:
        raise VideoError(f"{STAGE}: ffmpeg returned {len(raw)} bytes for {path}, "
                         f"not a whole number of {w}x{h} frames")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w, 3)


def pad_to_seconds(frames: np.ndarray, seconds: int) -> np.ndarray:
    """Cut to `seconds` rows or pad by repeating the last row.  # (L, H, W, 3) -> (T, H, W, 3)"""
    if len(frames) >= seconds:
        return frames[:seconds]
    pad = np.repeat(frames[-1:], seconds - len(frames), axis=0)
    return np.concatenate([frames, pad], axis=0)


def decode_frames(path: str | Path, seconds: int, short_side: int | None = 360,
                  threads: int | None = None) -> VideoFrames:
    """The centre frame of each of the first `seconds` seconds of `path`, padded to `seconds`."""
    path = Path(path)
    info = probe_media(path, STAGE)
    if not info.has_video:
        raise VideoError(f"{STAGE}: {path} has no video stream")
    size = output_size(info, short_side)
    frames = _decode(path, size, seconds, centre=True, threads=threads)
    if len(frames) == 0:
        # Shorter than half a second: no centre frame exists; its first frame stands for second 0.
        frames = _decode(path, size, 1, centre=False, threads=threads)
    if len(frames) == 0:
        raise VideoError(f"{STAGE}: ffmpeg decoded no frame from {path}")
    length = len(frames)
    return VideoFrames(pad_to_seconds(frames, seconds), length, size)
