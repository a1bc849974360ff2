"""Generate small test videos with the bundled ffmpeg (lavfi sources), plus broken files.

The default picture is a "clock": every frame encodes which second it belongs to and which frame of
that second it is, so a test can check which frame an extractor picked (`read_clock`):

- red   = 16 * (second % 16) + 8
- blue  = 16 * (second // 16) + 8          (so seconds 0..255 are distinguishable)
- green = frame index within its second * (240 // fps) + 8

Flat colours survive lossy coding to within a few levels; `read_clock` rounds to the 16-level grid.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mcd_core.media.ffmpeg import ffmpeg_executable

# Video and audio codec for each container the helpers can write.
_CODECS = {
    "mp4": ("libx264", "aac"),
    "mov": ("libx264", "aac"),
    "mkv": ("libx264", "aac"),
    "webm": ("libvpx", "libvorbis"),
    "avi": ("mpeg4", "libmp3lame"),
}


def _run(args: list[str]) -> None:
    proc = subprocess.run([ffmpeg_executable(), "-hide_banner", "-nostdin", "-y", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed making a test video: {proc.stderr[-2000:]}")


def green_step(fps: int) -> int:
    return 240 // fps


def _clock_filter(fps: int) -> str:
    step = green_step(fps)
    return (f"geq=r='16*mod(floor(N/{fps}),16)+8':g='{step}*mod(N,{fps})+8'"
            f":b='16*floor(floor(N/{fps})/16)+8'")


def _vfr_select(fps: int) -> str:
    """Drop frames so that the frame shown at i + 0.5 s differs between odd and even seconds.

    Odd seconds lose frames 1..fps/2 (shown at i + 0.5: frame 0 of the second); even seconds lose
    frames fps/2+1..fps-1 (shown at i + 0.5: frame fps/2). See `vfr_centre_frame`.
    """
    h = fps // 2
    return (f"select='if(mod(floor(n/{fps}),2),not(between(mod(n,{fps}),1,{h})),"
            f"not(between(mod(n,{fps}),{h + 1},{fps - 1})))'")


def vfr_centre_frame(second: int, fps: int) -> int:
    """Index within the second of the frame on screen at second + 0.5 in a `vfr=True` video."""
    return 0 if second % 2 else fps // 2


def make_video(path: str | Path, seconds: float = 3, size: tuple[int, int] = (64, 48), fps: int = 10,
               audio: str = "sine", sample_rate: int = 16000, channels: int = 1,
               container: str | None = None, vfr: bool = False, rotate: int | None = None,
               pattern: str = "clock") -> Path:
    """Write a test video and return its path.

    path: output file; its suffix gives the container unless `container` is set (then the suffix
        is added when missing).
    audio: "sine" (440 Hz), "tones" (second i plays 200 + 100 * i Hz) or "none" (no audio stream).
    pattern: "clock" (see module docstring) or "testsrc" (ffmpeg's test card with a frame counter).
    vfr: drop frames in a fixed pattern and keep the original timestamps (variable frame rate).
    rotate: display rotation in degrees (90, 180, 270) written as container metadata.
    """
    path = Path(path)
    container = container or (path.suffix.lstrip(".") or "mp4")
    if path.suffix.lstrip(".") != container:
        path = path.with_name(path.name + "." + container)
    vcodec, acodec = _CODECS[container]
    w, h = size
    if pattern == "clock":
        video_src = f"color=c=black:s={w}x{h}:r={fps}:d={seconds},{_clock_filter(fps)}"
    elif pattern == "testsrc":
        video_src = f"testsrc=s={w}x{h}:r={fps}:d={seconds}"
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    if vfr:
        video_src += "," + _vfr_select(fps)
    args = ["-f", "lavfi", "-i", video_src]
    if audio == "sine":
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={sample_rate}:duration={seconds}"]
    elif audio == "tones":
        expr = "0.5*sin(2*PI*(200+100*floor(t))*t)"
        args += ["-f", "lavfi", "-i", f"aevalsrc='{expr}':s={sample_rate}:d={seconds}"]
    elif audio != "none":
        raise ValueError(f"unknown audio {audio!r}")
    # x264's 4:2:0 needs even sizes; 4:4:4 takes any size (and keeps flat colours exact).
    pix_fmt = "yuv420p" if (w % 2 == 0 and h % 2 == 0) else "yuv444p"
    args += ["-map", "0:v"] + (["-map", "1:a", "-c:a", acodec, "-ac", str(channels),
                                "-ar", str(sample_rate)] if audio != "none" else [])
    args += ["-c:v", vcodec, "-pix_fmt", pix_fmt]
    if vcodec == "libx264":
        args += ["-preset", "ultrafast", "-qp", "10"]
    elif vcodec == "libvpx":
        args += ["-b:v", "200k"]
    if vfr:
        args += ["-fps_mode", "passthrough"]
    path.parent.mkdir(parents=True, exist_ok=True)
    if rotate is None:
        _run(args + [str(path)])
        return path
    plain = path.with_name(".plain-" + path.name)
    _run(args + [str(plain)])
    _run(["-display_rotation", str(rotate), "-i", str(plain), "-c", "copy", str(path)])
    plain.unlink()
    return path


def make_zero_byte(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def make_truncated(source: str | Path, path: str | Path, keep_fraction: float = 0.4) -> Path:
    """Copy the first part of `source` (an mp4 loses its index at the end: unreadable)."""
    data = Path(source).read_bytes()
    path = Path(path)
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


def read_clock(frame, fps: int) -> tuple[int, int]:
    """(second, frame index within the second) encoded in a clock frame (H, W, 3) uint8."""
    r, g, b = (float(frame[..., c].mean()) for c in range(3))
    second = int(round((r - 8) / 16)) + 16 * int(round((b - 8) / 16))
    return second, int(round((g - 8) / green_step(fps)))
