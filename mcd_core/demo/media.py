"""Render a demo scene to an MP4: numpy frames and samples, encoded by one ffmpeg process.

Frames are piped to ffmpeg's stdin as raw RGB; the audio goes through a temporary WAV file. Each
sounding instance pulses in size with its notes, so that what is heard can also be seen.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcd_core.common.atomic import atomic_path
from mcd_core.media.ffmpeg import ffmpeg_executable
from mcd_core.demo.scene import INSTRUMENTS, POSITIONS, Scene, Source

SHAPES = ("circle", "square", "triangle", "diamond", "cross", "wide_rect", "ellipse", "ring")

# Geometry as fractions of the frame's short side; all of it stays inside the central square
# (and inside a 224/256 centre crop) even at the largest pulse.
SLOT_OFFSET = 0.28
SHAPE_RADIUS = 0.12
MAX_PULSE = 0.2          # a sounding instance grows by up to 20 % at each note onset
AUDIO_LEVEL = 0.12       # RMS of a gain-1.0 instance; a full scene stays below clipping
VOICEOVER_LEVEL = 0.05


class FfmpegEncodeError(RuntimeError):
    """ffmpeg could not encode a demo video."""


@dataclass(frozen=True)
class MediaFormat:
    width: int
    height: int
    fps: int
    sample_rate: int


# --- pictures -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def shape_mask(shape: str, radius: int) -> np.ndarray:
    """Boolean mask of `shape`, (2 radius + 1) pixels square."""
    v, u = np.mgrid[-radius:radius + 1, -radius:radius + 1] / max(radius, 1)
    masks = {
        "circle": u**2 + v**2 <= 1,
        "square": (abs(u) <= 0.85) & (abs(v) <= 0.85),
        "triangle": (v >= -0.9) & (v <= 0.9) & (abs(u) <= (v + 0.9) / 1.8),
        "diamond": abs(u) + abs(v) <= 1,
        "cross": ((abs(u) <= 0.3) & (abs(v) <= 0.95)) | ((abs(v) <= 0.3) & (abs(u) <= 0.95)),
        "wide_rect": (abs(u) <= 1) & (abs(v) <= 0.5),
        "ellipse": (u / 0.6) ** 2 + v**2 <= 1,
        "ring": (u**2 + v**2 <= 1) & (u**2 + v**2 >= 0.55**2),
    }
    return masks[shape]


@functools.lru_cache(maxsize=8)
def background(setting: str, width: int, height: int) -> np.ndarray:
    """Indoor: wood-panelled wall over a dark floor. Outdoor: sky gradient over striped grass."""
    rows = np.arange(height)[:, None, None]
    cols = np.arange(width)[None, :, None]
    if setting == "indoor":
        planks = np.where((rows // 12) % 2 == 0, [205, 175, 130], [180, 145, 100])
        floor = np.broadcast_to(np.array([90, 60, 40]), planks.shape)
        image = np.where(rows < 0.8 * height, planks, floor)
    else:
        sky = np.array([110, 170, 235]) + (rows / height) * np.array([70, 45, 10])
        grass = np.where((cols // 6) % 2 == 0, [50, 150, 60], [40, 125, 50])
        image = np.where(rows < 0.6 * height, sky, grass)
    return np.ascontiguousarray(np.broadcast_to(image, (height, width, 3)), dtype=np.uint8)


def slot_centre(position: str, width: int, height: int) -> tuple[int, int]:
    short = min(width, height)
    offset = (POSITIONS.index(position) - 1) * SLOT_OFFSET * short
    return round(width / 2 + offset), round(height / 2)


def render_frame(scene: Scene, fmt: MediaFormat, pulses: dict[int, float]) -> np.ndarray:
    """One RGB frame; `pulses[i]` is source i's note envelope (0..1) at this instant."""
    frame = background(scene.setting, fmt.width, fmt.height).copy()
    base = SHAPE_RADIUS * min(fmt.width, fmt.height)
    for index, source in enumerate(scene.sources):
        if not source.visible:
            continue
        inst = INSTRUMENTS[source.instrument]
        radius = int(round(base * (1 + MAX_PULSE * pulses.get(index, 0.0))))
        mask = shape_mask(inst.shape, radius)
        cx, cy = slot_centre(source.position, fmt.width, fmt.height)
        patch = frame[cy - radius:cy + radius + 1, cx - radius:cx + radius + 1]
        patch[mask[:patch.shape[0], :patch.shape[1]]] = inst.colour
    return frame


# --- sound ----------------------------------------------------------------------------------

def _note_shape(phase: np.ndarray, interval: float, struck: bool) -> np.ndarray:
    """Envelope of one note at `phase` seconds after its onset (0 <= phase < interval)."""
    attack = np.clip(phase / 0.01, 0.0, 1.0)
    if struck:
        return attack * np.exp(-phase / (0.3 * interval))
    # Sustained note with a dip before the next onset, so that the rhythm is audible.
    release = np.clip((interval - phase) / (0.15 * interval), 0.1, 1.0)
    return attack * 0.8 * release


def note_envelope(source: Source, t: np.ndarray) -> np.ndarray:
    """Envelope of `source` at times `t`: notes every `note_interval_s` inside its spans, else 0."""
    inst = INSTRUMENTS[source.instrument]
    envelope = np.zeros_like(t)
    for start, end in source.spans:
        inside = (t >= start) & (t < end)
        phase = np.mod(t[inside] - start, source.note_interval_s)
        envelope[inside] = _note_shape(phase, source.note_interval_s, inst.struck)
    return envelope


@functools.lru_cache(maxsize=None)
def _envelope_rms(name: str, interval: float) -> float:
    phase = np.linspace(0.0, interval, 2000, endpoint=False)
    return float(np.sqrt(np.mean(_note_shape(phase, interval, INSTRUMENTS[name].struck) ** 2)))


@functools.lru_cache(maxsize=16)
def instrument_tone(name: str, seconds: int, sample_rate: int) -> np.ndarray:
    """Unit-RMS harmonic tone of an instrument over `seconds` (partials above 0.45 sample_rate are
    dropped). Cached: every instance of an instrument plays the same pitch."""
    inst = INSTRUMENTS[name]
    t = np.arange(seconds * sample_rate) / sample_rate
    tone = np.zeros_like(t)
    power = 0.0
    for amp, ratio in zip(inst.harmonics, inst.partials):
        freq = inst.pitch_hz * ratio
        if freq < 0.45 * sample_rate:
            tone += amp * np.sin(2 * np.pi * freq * t)
            power += amp**2 / 2
    tone /= np.sqrt(power)
    tone.flags.writeable = False
    return tone


def _id_seed(video_id: str) -> int:
    """A seed of the video's own: its number (MUSIC-AVQA-style ids), else a hash of its name."""
    if video_id.isdigit():
        return int(video_id)
    return int.from_bytes(hashlib.sha256(video_id.encode()).digest()[:8], "big")


def voiceover(scene: Scene, t: np.ndarray, sample_rate: int) -> np.ndarray:
    """Speech-like noise: 300-3000 Hz band, syllable-rate amplitude modulation, in its spans."""
    rng = np.random.default_rng(_id_seed(scene.video_id))
    spectrum = np.fft.rfft(rng.standard_normal(t.size))
    freqs = np.fft.rfftfreq(t.size, 1 / sample_rate)
    spectrum[(freqs < 300) | (freqs > 3000)] = 0
    noise = np.fft.irfft(spectrum, n=t.size)
    noise /= noise.std() + 1e-12
    syllables = np.sin(2 * np.pi * 2.5 * t) ** 2
    inside = np.zeros_like(t)
    for start, end in scene.voiceover_spans:
        inside[(t >= start) & (t < end)] = 1.0
    return VOICEOVER_LEVEL * noise * syllables * inside


def render_audio(scene: Scene, sample_rate: int) -> np.ndarray:
    """Mono float32 mix in [-1, 1]; each instance's RMS while sounding is AUDIO_LEVEL * gain."""
    t = np.arange(scene.seconds * sample_rate) / sample_rate
    mix = np.zeros_like(t)
    for source in scene.sounding:
        level = AUDIO_LEVEL * source.gain / _envelope_rms(source.instrument, source.note_interval_s)
        tone = instrument_tone(source.instrument, scene.seconds, sample_rate)
        mix += level * note_envelope(source, t) * tone
    if scene.voiceover_spans:
        mix += voiceover(scene, t, sample_rate)
    return np.clip(mix, -1.0, 1.0).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


# --- encoding -------------------------------------------------------------------------------

def _ffmpeg_command(fmt: MediaFormat, wav: Path, target: Path) -> list[str]:
    return [
        ffmpeg_executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{fmt.width}x{fmt.height}",
        "-framerate", str(fmt.fps), "-i", "pipe:0",
        "-i", str(wav),
        "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-threads", "1",  # parallelism comes from encoding several videos at once
        "-c:a", "aac", "-b:a", "64k",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart", "-f", "mp4", str(target),
    ]


def encode_scene(scene: Scene, fmt: MediaFormat, target: Path) -> None:
    """Write `scene` as an H.264 + AAC MP4 at `target` (atomically)."""
    n_frames = scene.seconds * fmt.fps
    frame_times = (np.arange(n_frames) + 0.5) / fmt.fps
    envelopes = {i: note_envelope(s, frame_times) for i, s in enumerate(scene.sources) if s.visible}
    with tempfile.TemporaryDirectory(prefix="mcd-demo-") as tmp_dir, atomic_path(target) as tmp:
        wav = Path(tmp_dir) / "audio.wav"
        write_wav(wav, render_audio(scene, fmt.sample_rate), fmt.sample_rate)
        proc = subprocess.Popen(_ffmpeg_command(fmt, wav, tmp), stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _feed_frames(proc, scene, fmt, envelopes, n_frames)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        stderr = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            tail = stderr.strip()[-800:]
            raise FfmpegEncodeError(f"ffmpeg failed (exit {proc.returncode}) encoding {target}: {tail}")


def _feed_frames(proc: subprocess.Popen, scene: Scene, fmt: MediaFormat,
                 envelopes: dict[int, np.ndarray], n_frames: int) -> None:
    try:
        for k in range(n_frames):
            pulses = {i: float(env[k]) for i, env in envelopes.items()}
            proc.stdin.write(render_frame(scene, fmt, pulses).tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass  # ffmpeg died early; its exit status and stderr say why
