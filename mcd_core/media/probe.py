"""Run ffmpeg safely and read a media file's stream layout from `ffmpeg -i` (there is no ffprobe).

`ffmpeg -i FILE` with no output prints the input description on stderr and exits non-zero by
design, so the probe judges success by whether an input description was printed.

Every ffmpeg of this module is listed while it runs, so that a stop of the shard stages (Ctrl-C,
SIGTERM) can kill the ones its worker threads wait on (`kill_running`) instead of letting each
finish its video first.
"""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from mcd_core.media.ffmpeg import ffmpeg_executable
from mcd_core.media.shardrun import VideoError

STDERR_TAIL = 800  # characters of ffmpeg's stderr quoted in error messages
_running: set[subprocess.Popen] = set()
_lock = threading.Lock()


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    """`subprocess.run(cmd, capture_output=True)`, listed in `_running` while it runs."""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        with _lock:
            _running.add(proc)
        try:
            out, err = proc.communicate()
        except BaseException:
            proc.kill()
            raise
        finally:
            with _lock:
                _running.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def kill_running() -> None:
    """Kill every ffmpeg this process's threads are waiting on (they then fail with VideoError)."""
    with _lock:
        procs = list(_running)
    for proc in procs:
        try:
            proc.kill()
        except OSError:
            pass


@dataclass
class MediaInfo:
    path: Path                      # the probed file
    duration: float | None          # container duration in seconds (None when ffmpeg shows N/A)
    width: int | None               # coded width of the first video stream (None: no video)
    height: int | None              # coded height of the first video stream
    rotation: int                   # display rotation in degrees, 0/90/180/270 (autorotate undoes it)
    sar: float                      # sample aspect ratio of the video (1.0 when unknown)
    has_audio: bool                 # at least one audio stream
    sample_rate: int | None         # first audio stream's sample rate
    channels: int | None            # first audio stream's channel count

    @property
    def has_video(self) -> bool:
        return self.width is not None

    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown on screen: SAR applied, rotated by the display matrix."""
        w, h = round(self.width * self.sar), self.height
        return (h, w) if self.rotation in (90, 270) else (w, h)


def stderr_tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= STDERR_TAIL else "..." + text[-STDERR_TAIL:]


def run_ffmpeg(args: list[str], path: Path, stage: str) -> bytes:
    """Run ffmpeg with `args`, return its stdout; a non-zero exit raises VideoError naming `path`."""
    cmd = [ffmpeg_executable(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    proc = _run(cmd)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        raise VideoError(f"{stage}: ffmpeg failed on {path} (exit {proc.returncode}): {stderr_tail(err)}")
    return proc.stdout


_CHANNEL_WORDS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
                  "6.1": 7, "7.1": 8}


def _parse_channels(word: str) -> int | None:
    word = word.strip()
    m = re.match(r"(\d+) channels", word)
    if m:
        return int(m.group(1))
    return _CHANNEL_WORDS.get(word.split("(")[0])


def parse_ffmpeg_info(stderr: str, path: Path, stage: str = "probe") -> MediaInfo:
    """Parse the input description ffmpeg prints for `-i`; raises VideoError when there is none."""
    if "Input #0" not in stderr:
        raise VideoError(f"{stage}: ffmpeg cannot read {path}: {stderr_tail(stderr)}")
    duration = None
    m = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", stderr)
    if m:
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    width = height = sample_rate = channels = None
    rotation, sar, has_audio = 0, 1.0, False
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if "Stream #0:" not in line:
            continue
        if ": Video:" in line and width is None and "attached pic" not in line:
            size = re.search(r", (\d{1,5})x(\d{1,5})[ ,\[]", line + " ")
            if size:
                width, height = int(size.group(1)), int(size.group(2))
            sar_m = re.search(r"SAR (\d+):(\d+)", line)
            if sar_m and int(sar_m.group(1)) > 0 and int(sar_m.group(2)) > 0:
                sar = int(sar_m.group(1)) / int(sar_m.group(2))
            # The display matrix is printed in the stream's indented block below its line.
            for follow in lines[i + 1:]:
                if "Stream #" in follow:
                    break
                rot = re.search(r"rotation of (-?\d+(?:\.\d+)?) degrees", follow)
                if rot:
                    rotation = int(round(float(rot.group(1)))) % 360
        elif ": Audio:" in line and not has_audio:
            has_audio = True
            parts = line.split(": Audio:", 1)[1].split(",")
            for j, part in enumerate(parts):
                hz = re.match(r"\s*(\d+) Hz", part)
                if hz:
                    sample_rate = int(hz.group(1))
                    if j + 1 < len(parts):
                        channels = _parse_channels(parts[j + 1])
                    break
    return MediaInfo(path, duration, width, height, rotation, sar, has_audio, sample_rate, channels)


def probe_media(path: str | Path, stage: str = "probe") -> MediaInfo:
    """Stream layout of `path`; VideoError naming the file when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{stage}: video file {path} does not exist")
    if path.stat().st_size == 0:
        raise VideoError(f"{stage}: video file {path} is empty (0 bytes)")
    proc = _run([ffmpeg_executable(), "-hide_banner", "-nostdin", "-i", str(path)])
    return parse_ffmpeg_info(proc.stderr.decode("utf-8", "replace"), path, stage)
