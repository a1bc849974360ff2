"""The `frames` and `audio` stages: decode every video of a shard into a shard directory.

Each shard directory (docs/design.md) is built under a temporary name and renamed into place when
complete, so a finished shard is skipped on re-run and a killed one is redone from scratch.

- frames/shard_X/: `<video_id>/NNN.jpg` (exactly T files) + manifest.json
- audio/shard_X/:  `<video_id>.wav` (mono PCM16 at the dataset's rate, 16 or 32 kHz, exactly T s) +
  manifest.json (its `params.sample_rate` says which)
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from mcd_core.common.atomic import atomic_path, write_json
from mcd_core.media.audio import SAMPLE_RATE, SAMPLE_RATES, WavError, decode_audio, write_wav
from mcd_core.media.frames import decode_frames
from mcd_core.media.probe import kill_running
from mcd_core.media.shardrun import Failure, find_video, run_over_videos, warn_if_all_failed

T = TypeVar("T")
log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
JPEG_QUALITY = 95


def map_videos(video_ids: Sequence[str], work: Callable[[str], T], stage: str, on_error: str,
               workers: int = 1) -> tuple[dict[str, T], list[Failure]]:
    """`shardrun.run_over_videos` with `workers` threads (ffmpeg runs outside the GIL).

    Results come back in `video_ids` order whatever the worker count, so outputs do not depend on it.
    """
    if workers <= 1:
        return run_over_videos(video_ids, work, stage, on_error)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {vid: pool.submit(work, vid) for vid in video_ids}
        try:
            return run_over_videos(video_ids, lambda vid: futures[vid].result(), stage, on_error)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM: the threads' ffmpeg would finish their videos first
            kill_running()
            raise
        finally:
            for future in futures.values():  # after a stop: do not start the rest
                future.cancel()


def frame_name(index: int, seconds: int) -> str:
    return f"{index:0{max(3, len(str(seconds - 1)))}d}.jpg"


def read_manifest(shard_dir: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(shard_dir) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _is_done(out: Path, stage: str, seconds: int, params: dict[str, Any]) -> bool:
    """A finished shard of the same stage and settings is already in place."""
    manifest = read_manifest(out)
    if manifest is None:
        return False
    same = (manifest.get("stage") == stage and manifest.get("seconds") == seconds
            and manifest.get("params") == params)
    if not same:
        log.info("%s exists with other settings; redoing it", out)
    return same


def _run_shard(stage: str, out: str | os.PathLike, video_ids: Sequence[str], seconds: int,
               params: dict[str, Any], per_video: Callable[[str, Path], dict[str, Any]],
               on_error: str, workers: int) -> dict[str, Any]:
    out = Path(out)
    if _is_done(out, stage, seconds, params):
        log.info("%s is complete; skipping", out)
        return read_manifest(out)
    with atomic_path(out, is_dir=True) as tmp:
        results, failures = map_videos(video_ids, lambda vid: per_video(vid, tmp), stage, on_error,
                                       workers)
        manifest = {"stage": stage, "seconds": seconds, "params": params, "videos": results,
                    "failures": [asdict(f) for f in failures]}
        write_json(tmp / MANIFEST, manifest)
    for failure in failures:
        log.warning("%s: left out %s: %s", stage, failure.video_id, failure.error)
    warn_if_all_failed(log, f"{stage} {out}", len(results), failures)
    return manifest


def frames_shard(videos_dir: str | os.PathLike, video_ids: Sequence[str], seconds: int,
                 out: str | os.PathLike, frame_short_side: int | None = 360, on_error: str = "stop",
                 workers: int = 1) -> dict[str, Any]:
    """Write the frames shard directory `out`; returns its manifest."""
    from PIL import Image

    params = {"frame_short_side": frame_short_side, "jpeg_quality": JPEG_QUALITY}
    threads = 1 if workers > 1 else None

    def one(video_id: str, tmp: Path) -> dict[str, Any]:
        path = find_video(videos_dir, video_id)
        decoded = decode_frames(path, seconds, frame_short_side, threads=threads)
        video_dir = tmp / video_id
        video_dir.mkdir()
        for i, frame in enumerate(decoded.frames):
            Image.fromarray(frame).save(video_dir / frame_name(i, seconds), quality=JPEG_QUALITY)
        return {"length": decoded.length, "source": str(path), "width": decoded.size[0],
                "height": decoded.size[1]}

    return _run_shard("frames", out, video_ids, seconds, params, one, on_error, workers)


def audio_shard(videos_dir: str | os.PathLike, video_ids: Sequence[str], seconds: int,
                out: str | os.PathLike, on_error: str = "stop", workers: int = 1,
                sample_rate: int = SAMPLE_RATE) -> dict[str, Any]:
    """Write the audio shard directory `out` at `sample_rate` Hz; returns its manifest."""
    if sample_rate not in SAMPLE_RATES:
        raise WavError(f"audio sample rate must be one of {SAMPLE_RATES}, got {sample_rate}")
    params = {"sample_rate": sample_rate, "channels": 1}
    threads = 1 if workers > 1 else None

    def one(video_id: str, tmp: Path) -> dict[str, Any]:
        path = find_video(videos_dir, video_id)
        decoded = decode_audio(path, seconds, sample_rate, threads=threads)
        if decoded.no_audio:
            log.info("audio: %s has no audio stream; writing silence (no_audio)", path)
        write_wav(tmp / f"{video_id}.wav", decoded.samples, sample_rate)
        return {"length": decoded.length, "source": str(path), "no_audio": decoded.no_audio,
                "source_sample_rate": decoded.source_rate, "source_channels": decoded.source_channels}

    return _run_shard("audio", out, video_ids, seconds, params, one, on_error, workers)
