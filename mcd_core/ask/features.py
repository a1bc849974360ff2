"""One video through the pipeline's own stages, in a scratch folder: frames shard, audio shard,
log-mel store, visual and audio feature stores, made by the functions the Snakemake rules call with
the run's settings (`run.RunSettings`). The features are then read through the training dataset
(`AVQADataset`: stride, patch averaging, lengths), as the model met them in training.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mcd_core.ask.errors import AskError
from mcd_core.ask.run import RunSettings, StreamSettings
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.questions import Question
from mcd_core.features.extract_audio import AudioJob, extract_audio
from mcd_core.features.extract_visual import VisualJob, extract_visual
from mcd_core.features.logmel import logmel_shard
from mcd_core.features.store import open_store
from mcd_core.media.audio import read_wav
from mcd_core.media.frames_shard import read_frames_shard
from mcd_core.media.probe import probe_media
from mcd_core.media.shardrun import VIDEO_EXTENSIONS, VideoError
from mcd_core.media.shards import audio_shard, frames_shard

log = logging.getLogger(__name__)
VIDEO_ID = "video"  # the video's id inside the scratch shards
DISPLAY_SHORT_SIDE = 256  # frames for the page when the model reads no visual features


@dataclass
class VideoInputs:
    path: Path                  # the video file asked about
    seconds: int                # T
    length: int                 # real seconds of picture (the frames stage's rule)
    audio_length: int           # real seconds of sound
    no_audio: bool              # the file has no audio stream (silence)
    frames: list[bytes]         # the T JPEG files of the frames stage, in time order
    samples: np.ndarray         # (T * 16000,) int16: the audio stage's WAV
    store_rows: dict[str, np.ndarray]  # "audio"/"visual" -> the row the stage wrote, (T, ...) float32
    model_inputs: dict[str, Any]  # the dataset item's feature tensors: audio, visual, *_len
    duration: float | None = None  # the file's duration in seconds (None: ffmpeg shows none)
    run_seconds: int | None = None  # the run's T (None or 0: a run without features, T = the video's)

    def seconds_used(self) -> str:
        """Which seconds of the video the model read, against the run's T: "video is 75 s; the run
        reads T = 60: used seconds 0-59 (the last 15 s are not read)". No sliding window: the
        pipeline reads the first T seconds of every video, and so does `mcd ask`."""
        T, used = self.seconds, max(1, self.length)
        span = "second 0" if used == 1 else f"seconds 0-{used - 1}"
        whole = f"{self.duration:.1f}".rstrip("0").rstrip(".") if self.duration else None
        video = f"video is {whole} s" if whole else f"video has {self.length} s of picture"
        if not self.run_seconds:
            return f"{video}; the run reads no features, T = the video's {T} s: used {span}"
        if self.duration is not None and self.duration >= T + 0.5:
            rest = self.duration - T
            return (f"{video}; the run reads T = {T}: used {span} "
                    f"(the last {rest:.0f} s are not read)")
        if used < T:
            return (f"{video}; the run reads T = {T}: used {span}, padded to {T} s by repeating "
                    f"the last second (seconds {used}-{T - 1} are padding)")
        return f"{video}; the run reads T = {T}: used {span}"


def check_video(path: str | Path) -> tuple[Path, float | None]:
    """The video path, checked (it exists and ffmpeg reads a picture stream from it), and its
    duration in seconds when known."""
    path = Path(path)
    if not path.exists():
        raise AskError(f"video {path} does not exist")
    if not path.is_file():
        raise AskError(f"video {path} is not a file")
    try:
        info = probe_media(path, "ask")
    except VideoError as exc:  # ffmpeg's report ends with its reason
        reason = [line.strip() for line in str(exc).splitlines() if line.strip()][-1]
        raise AskError(f"cannot read video {path}: {reason}") from None
    if not info.has_video:
        raise AskError(f"{path} has no video stream")
    return path, info.duration


def _visual_job(s: StreamSettings, frames: Path, tmp: Path, device: str, weights_dir) -> tuple[VisualJob, Path]:
    main, patch = tmp / "visual.zarr", tmp / "visual_patch.zarr"
    job = VisualJob(frames=frames, backbone=s.backbone, out=main, weights=s.weights, seed=s.seed,
                    weights_dir=weights_dir, device=device, precision=s.precision, workers=0,
                    patch_out=patch if s.stream == "visual_patch" else None)
    return job, patch if s.stream == "visual_patch" else main


def _audio_job(s: StreamSettings, audio_dir: Path, tmp: Path, device: str, weights_dir) -> AudioJob:
    pre = s.attrs["preprocessing"]
    job = AudioJob(backbone=s.backbone, out=tmp / "audio.zarr", weights=s.weights, seed=s.seed,
                   weights_dir=weights_dir, device=device, precision=s.precision,
                   pca=bool(pre.get("pca", False)))
    if pre.get("name") == "vggish_logmel":
        job.logmel = logmel_shard(audio_dir, tmp / "logmel.zarr")
    else:
        job.audio_dir = audio_dir
    return job


def prepare_video(run: RunSettings, video: str | Path, device: str = "cpu",
                  weights_dir: str | Path | None = None) -> VideoInputs:
    """Decode and embed `video` as the pipeline would, for the run `run`."""
    given, duration = check_video(video)
    path = given.resolve()
    seconds = run.seconds or max(1, round(duration or 1))
    with tempfile.TemporaryDirectory(prefix="mcd-ask-") as scratch:
        tmp = Path(scratch)
        videos = tmp / "videos"
        videos.mkdir()
        ext = path.suffix.lower() if path.suffix.lower() in VIDEO_EXTENSIONS else ".mp4"
        os.symlink(path, videos / f"{VIDEO_ID}{ext}")
        try:
            inputs = _run_stages(run, given, seconds, videos, tmp, device, weights_dir)
        except VideoError as exc:  # one line, naming the user's file rather than the scratch link
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            message = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
            raise AskError(message.replace(str(videos / f"{VIDEO_ID}{ext}"), str(given))) from None
    inputs.duration, inputs.run_seconds = duration, run.seconds
    return inputs


def _run_stages(run: RunSettings, path: Path, T: int, videos: Path, tmp: Path, device: str,
                weights_dir) -> VideoInputs:
    short_side = run.frame_short_side if run.visual is not None else DISPLAY_SHORT_SIDE
    frames_manifest = frames_shard(videos, [VIDEO_ID], T, tmp / "frames", short_side)
    audio_manifest = audio_shard(videos, [VIDEO_ID], T, tmp / "audio")
    stores = {}
    if run.visual is not None:
        job, store_path = _visual_job(run.visual, tmp / "frames", tmp, device, weights_dir)
        extract_visual(job)
        stores["visual"] = open_store(store_path)
    if run.audio is not None:
        extract_audio(_audio_job(run.audio, tmp / "audio", tmp, device, weights_dir))
        stores["audio"] = open_store(tmp / "audio.zarr")
    placeholder = Question(0, VIDEO_ID, "", "", "", (), "", ("",))
    dataset = AVQADataset([placeholder], run.vocab, stores.get("audio"), stores.get("visual"),
                          stride=run.stride, in_memory=True)
    item = dataset[0]
    model_inputs = {k: v for k, v in item.items() if k.startswith(("audio", "visual"))}
    shard = read_frames_shard(tmp / "frames")
    frames = [p.read_bytes() for p in shard.frame_paths(VIDEO_ID)]
    entry = audio_manifest["videos"][VIDEO_ID]
    return VideoInputs(path, T, frames_manifest["videos"][VIDEO_ID]["length"], int(entry["length"]),
                       bool(entry["no_audio"]), frames, read_wav(tmp / "audio" / f"{VIDEO_ID}.wav"),
                       {k: np.asarray(s.features[0], dtype=np.float32) for k, s in stores.items()},
                       model_inputs)
