"""Decode a video's frames at its native frame rate, for 3D (clip) networks.

The 1-fps frames of the `frames` stage cannot feed a network that reads 16 consecutive frames, so a
clip backbone (AVQA's 3D ResNeXt-101) decodes the video itself, inside its extraction job: no
frames are stored in between (8 clips x 16 frames at 112 px would be ~5 MB a video, 57,015 videos).
Every frame of the first `seconds` seconds is decoded and scaled to `size` x `size` (aspect not
kept, as AVQA's release resized to 112 x 112); the caller picks the clips' frames from them.
ffmpeg applies rotation metadata first (autorotate), as for the 1-fps frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcd_core.media.probe import probe_media, run_ffmpeg
from mcd_core.media.shardrun import VideoError

STAGE = "clips"
# A decoded video is held in memory: refuse what would not fit (10 s at 60 fps, 112 px, is ~23 MB).
MAX_FRAMES = 20_000


@dataclass
class NativeFrames:
    frames: np.ndarray          # (N, size, size, 3) uint8 RGB, every frame of the first T seconds
    length: int                 # seconds of real video (1..T), by the frames stage's rule
    fps: float                  # frames a second as decoded (N / decoded duration)


def decode_native_frames(path: str | Path, seconds: int, size: int, threads: int | None = None) -> NativeFrames:
    """Every frame of the first `seconds` s of `path` at `size` x `size`; VideoError naming the file."""
    path = Path(path)
    info = probe_media(path, STAGE)
    if not info.has_video:
        raise VideoError(f"{STAGE}: {path} has no video stream")
    args = ["-i", str(path), "-map", "0:v:0", "-an", "-sn", "-dn", "-t", str(seconds),
            "-vf", f"scale={size}:{size}:flags=bicubic,setsar=1,format=rgb24",
            "-frames:v", str(MAX_FRAMES), "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    if threads:
        args = ["-threads", str(threads)] + args
    raw = run_ffmpeg(args + ["pipe:1"], path, STAGE)
    frame_bytes = size * size * 3
    if len(raw) % frame_bytes:
        raise VideoError(f"{STAGE}: ffmpeg returned {len(raw)} bytes for {path}, not whole {size}x{size} frames")
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, size, size, 3)
    if len(frames) == 0:
        raise VideoError(f"{STAGE}: ffmpeg decoded no frame from {path}")
    duration = min(float(seconds), info.duration) if info.duration else float(seconds)
    length = min(seconds, max(1, int(np.floor(duration + 0.5))))
    return NativeFrames(frames, length, len(frames) / max(duration, 1e-6))
