"""`mcd features`: feature stores of any videos, without annotations, in one command.

The videos go through the pipeline's own stages with its store format: `frames_shard` (1-fps centre
frames, padded or cut to T), `audio_shard` (mono WAV of exactly T s), `logmel_shard` (VGGish),
`extract_visual` and `extract_audio`, as the Snakemake rules run them, on one shard holding every
video. Inputs are video files, folders (every file with a video extension below them) and text files
listing video paths (one a line, `#` lines skipped, relative paths read from the list's folder).
A video's id is its file stem; two files with the same stem are an error naming both.

Outputs: the visual store at `--out` (`X.zarr`), the audio store (with `--audio`) beside it as
`X.audio.zarr`, and each store's failure list (`X.failures.json`, `X.audio.failures.json`, as
`mcd merge` writes them). Both stores hold the same videos, in input order: a video is kept only
when every stage read it. A file without a sound track (or with an empty one) is kept, with silence
and the store's `no_audio` flag, as in the pipeline.

Everything is made in a work folder `.tmp-X.work-*` beside `--out`; the outputs are moved into
place at the end (`atomic.atomic_path`), the visual store last, so nothing is under `--out` until the
run is done. A killed run leaves only the work folder (or a `.tmp-` temporary), which the next run
removes. A rerun redoes the work and replaces the earlier outputs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from mcd_core.common.atomic import atomic_path, clean_stale_tmp, remove_path, write_json
from mcd_core.common.ids import video_id_problem
from mcd_core.common.textfiles import read_text_file
from mcd_core.features.merge import failures_path
from mcd_core.media.shardrun import VIDEO_EXTENSIONS, Failure, write_failures

log = logging.getLogger(__name__)
AUDIO_SUFFIX = ".audio.zarr"
WORK = ".tmp-{stem}.work-"  # the work folder's name prefix: `.tmp-feats.work-XXXX` for feats.zarr


class FeaturesError(RuntimeError):
    """`mcd features` has no usable input, or inputs it cannot tell apart: one line, exit 2."""


@dataclass
class FeaturesJob:
    inputs: Sequence[Path]          # video files, folders, text files listing video paths
    backbone: str                   # visual registry name (a per-frame backbone)
    out: Path                       # visual store (.zarr)
    audio: str | None = None        # audio backbone (vggish, panns_cnn14, panns_cnn14_32k) or None
    weights: str = "pretrained"     # "pretrained" or "random-init" (both backbones)
    seed: int = 0                   # seed of random initialisation
    seconds: int = 60               # T: seconds read per video (shorter padded, longer cut)
    frame_short_side: int | None = 360  # of the saved frames, as the pipeline's default
    weights_dir: Path | None = None
    device: str = "auto"
    precision: str = "fp32"
    batch_size: int = 64            # frames per forward pass of the visual backbone
    workers: int = 2                # videos decoded at a time; JPEG decoding processes


@dataclass
class FeaturesResult:
    out: Path                       # the visual store
    audio_out: Path | None          # the audio store (None without --audio)
    video_ids: list[str]            # the videos in the stores, in input order
    failures: list[Failure]         # the videos left out, with their stage and reason
    no_audio: list[str] = field(default_factory=list)  # kept with silence (no sound track)
    weights: dict = field(default_factory=dict)  # stream -> the weights the store records


def audio_out_path(out: Path) -> Path:
    """`feats.zarr` -> `feats.audio.zarr` (beside it)."""
    name = out.name[: -len(".zarr")] if out.name.endswith(".zarr") else out.name
    return out.with_name(name + AUDIO_SUFFIX)


def _listed(path: Path) -> list[Path]:
    """Video paths of a list file: one a line, blank and `#` lines skipped, relative to its folder."""
    paths = []
    for line in read_text_file(path, "video list", FeaturesError).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            p = Path(line).expanduser()
            paths.append(p if p.is_absolute() else path.parent / p)
    return paths


def collect_videos(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """The video files named by `inputs`, in order, each once: a video file is itself; a folder gives
    its files with a video extension (subfolders included, sorted); any other file is a list of video
    paths. A list's entries are taken as they are (a missing or broken one fails later and is listed)."""
    videos: list[Path] = []
    for given in map(Path, inputs):
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS
                           and p.is_file() and not p.name.startswith("."))
            if not found:
                log.warning("%s holds no video file (%s)", given, ", ".join(VIDEO_EXTENSIONS))
            videos += found
        elif given.is_file():
            videos += [given] if given.suffix.lower() in VIDEO_EXTENSIONS else _listed(given)
        else:
            raise FeaturesError(f"{given} does not exist (give video files, folders of videos, or "
                                f"text files listing video paths)")
    unique, seen = [], set()
    for v in videos:
        key = os.path.abspath(v)
        if key not in seen:
            seen.add(key)
            unique.append(v)
    return unique


def video_ids(videos: Sequence[Path]) -> dict[str, Path]:
    """Video id (the file stem) -> file; FeaturesError naming both files when two share a stem."""
    ids: dict[str, Path] = {}
    for path in videos:
        vid = path.stem
        problem = video_id_problem(vid)
        if problem:
            raise FeaturesError(f"{path}: its name {vid!r} {problem}; rename the file")
        if vid in ids:
            raise FeaturesError(f"two videos have the id {vid!r} (the file stem): {ids[vid]} and {path}; "
                                f"rename one")
        ids[vid] = path
    return ids


def _link_videos(ids: dict[str, Path], folder: Path) -> None:
    """A videos folder as the shard stages read it: `<id><ext>` links to the files."""
    folder.mkdir()
    for vid, path in ids.items():
        ext = path.suffix.lower() if path.suffix.lower() in VIDEO_EXTENSIONS else ".mp4"
        os.symlink(os.path.abspath(path), folder / f"{vid}{ext}")


def _drop_from_shard(shard: Path, failures: list[Failure]) -> None:
    """Leave `failures`' videos out of a (work folder's) shard manifest and list them among its
    failures, so that the next stages neither read them nor forget them."""
    if not failures:
        return
    manifest = json.loads((shard / "manifest.json").read_text(encoding="utf-8"))
    for f in failures:
        manifest["videos"].pop(f.video_id, None)
    manifest["failures"] = manifest.get("failures", []) + [asdict(f) for f in failures]
    write_json(shard / "manifest.json", manifest)


def _publish(src: Path, dst: Path) -> None:
    """Move a finished store (a folder) or list (a file) of the work folder to its final name."""
    if src.is_dir():
        with atomic_path(dst, is_dir=True) as tmp:
            tmp.rmdir()
            os.replace(src, tmp)
    else:
        os.replace(src, dst)


def _name_files(text: str, links: dict[str, str]) -> str:
    """An error message naming the user's files instead of the work folder's links to them."""
    for link, original in links.items():
        text = text.replace(link, original)
    return text


def _message(failure: Failure) -> str:
    """A failure's reason in one line: its first line and, for ffmpeg's reports, its last."""
    lines = [line.strip() for line in failure.error.splitlines() if line.strip()]
    if len(lines) <= 1:
        return failure.error.strip()
    return f"{lines[0]} ... {lines[-1]}"


def extract_any(job: FeaturesJob) -> FeaturesResult:
    """Run the job; returns what was written. FeaturesError when no input video is usable."""
    from mcd_core.features.backbones.motion import is_clip_backbone

    if is_clip_backbone(job.backbone):
        raise FeaturesError(f"{job.backbone!r} is a clip (3D) backbone; `mcd features` runs the per-frame "
                            f"backbones (resnet18, resnext101_32x8d, clip_vit_b32, ...)")
    if job.seconds < 1:
        raise FeaturesError(f"--seconds must be at least 1, got {job.seconds}")
    out = Path(job.out)
    if out.suffix != ".zarr":
        raise FeaturesError(f"--out must name a .zarr store, got {out}")
    ids = video_ids(collect_videos(job.inputs))
    if not ids:
        raise FeaturesError("no video file among the inputs (video extensions: "
                            f"{', '.join(VIDEO_EXTENSIONS)})")
    audio_out = audio_out_path(out) if job.audio else None
    prefix = WORK.format(stem=out.name[: -len(".zarr")])
    if out.parent.is_dir():  # a killed run's work folder and temporaries
        for leftover in out.parent.glob(prefix + "*"):
            remove_path(leftover)
        for target in (out, audio_out):
            if target is not None:
                clean_stale_tmp(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=out.parent))
    try:
        result = _run(job, ids, work, out, audio_out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _run(job: FeaturesJob, ids: dict[str, Path], work: Path, out: Path,
         audio_out: Path | None) -> FeaturesResult:
    from mcd_core.features.backbones.audio import get_audio_entry
    from mcd_core.features.extract_audio import AudioJob, extract_audio
    from mcd_core.features.extract_visual import VisualJob, extract_visual
    from mcd_core.features.logmel import logmel_shard
    from mcd_core.features.store import open_store
    from mcd_core.media.shards import audio_shard, frames_shard, read_manifest

    steps = 3 if job.audio else 2
    videos = work / "videos"
    _link_videos(ids, videos)
    order = list(ids)
    log.info("[1/%d] frames and sound of %d videos (T = %d s)", steps, len(order), job.seconds)
    frames = frames_shard(videos, order, job.seconds, work / "frames", job.frame_short_side, "skip",
                          max(1, job.workers))
    failures = [Failure(**f) for f in frames["failures"]]
    no_audio: list[str] = []
    if job.audio:
        spec = get_audio_entry(job.audio).spec
        kept = [v for v in order if v in frames["videos"]]
        sound = (audio_shard(videos, kept, job.seconds, work / "audio", "skip", max(1, job.workers),
                             spec.sample_rate) if kept else None)
        if sound is not None:
            lost = [Failure(**f) for f in sound["failures"]]
            _drop_from_shard(work / "frames", lost)  # a video is kept only when every stage read it
            failures += lost
    frames = read_manifest(work / "frames")
    if not frames["videos"]:
        raise FeaturesError(f"no usable video: all {len(order)} failed ("
                            + "; ".join(f"{f.video_id}: {_message(f)}" for f in failures[:3])
                            + (" ..." if len(failures) > 3 else "") + ")")
    log.info("[2/%d] %s (%s weights) over the frames", steps, job.backbone, job.weights)
    visual = work / "visual.zarr"
    extract_visual(VisualJob(frames=work / "frames", backbone=job.backbone, out=visual, weights=job.weights,
                             seed=job.seed, weights_dir=job.weights_dir, device=job.device,
                             precision=job.precision, batch_size=job.batch_size, workers=job.workers,
                             on_error="skip"))
    store = open_store(visual)
    kept_ids = list(store.video_ids)
    weights = {"visual": store.attrs["weights"]}
    frames_lost = {f.video_id for f in failures}
    failures += [Failure(v, "extract-visual", "its frames could not be read")
                 for v in order if v not in kept_ids and v not in frames_lost]
    if job.audio:
        log.info("[3/%d] %s (%s weights) over the sound", steps, job.audio, job.weights)
        manifest = read_manifest(work / "audio")
        _drop_from_shard(work / "audio", [Failure(v, "extract-visual", "its frames could not be read")
                                          for v in manifest["videos"] if v not in kept_ids])
        audio_job = AudioJob(backbone=job.audio, out=work / "audio.zarr", weights=job.weights,
                             seed=job.seed, weights_dir=job.weights_dir, device=job.device,
                             precision=job.precision)
        if spec.input_kind == "logmel":
            audio_job.logmel = logmel_shard(work / "audio", work / "logmel.zarr")
        else:
            audio_job.audio_dir = work / "audio"
        extract_audio(audio_job)
        sound_store = open_store(work / "audio.zarr")
        assert sound_store.video_ids == kept_ids, (sound_store.video_ids, kept_ids)
        weights["audio"] = sound_store.attrs["weights"]
        flags = sound_store.flags.get("no_audio", [False] * len(kept_ids))
        no_audio = [v for v, flag in zip(kept_ids, flags) if flag]
    links = {str(p): str(ids[p.stem]) for p in videos.iterdir()}
    failures = [Failure(f.video_id, f.stage, _name_files(f.error, links)) for f in failures]
    # One failure list, every stage's, beside each store (the visual store is published last).
    write_failures(failures_path(visual), failures)
    if audio_out is not None:
        write_failures(failures_path(work / "audio.zarr"), failures)
        _publish(failures_path(work / "audio.zarr"), failures_path(audio_out))
        _publish(work / "audio.zarr", audio_out)
    elif (audio_default := audio_out_path(out)).exists():
        remove_path(audio_default)  # an earlier run's audio store would not match this visual store
        remove_path(failures_path(audio_default))
    try:
        _publish(failures_path(visual), failures_path(out))
        _publish(visual, out)
    except BaseException:
        for path in (failures_path(out), audio_out, audio_out and failures_path(audio_out)):
            if path is not None:
                remove_path(path)
        raise
    return FeaturesResult(out, audio_out, kept_ids, failures, no_audio, weights)


def summary_lines(result: FeaturesResult, seconds: int) -> list[str]:
    """What the run did, for the console: stores, shapes, random weights, the videos left out."""
    lines = [f"wrote {result.out}: {len(result.video_ids)} videos x {seconds} s (visual)"]
    if result.audio_out is not None:
        lines.append(f"wrote {result.audio_out}: the same videos (audio)")
    random = {s: w for s, w in result.weights.items() if isinstance(w, dict) and w.get("random_init")}
    if random:
        seeds = sorted({int(w.get("seed", 0)) for w in random.values()})
        lines.append(f"weights: random-init (seed {', '.join(map(str, seeds))}) for the "
                     f"{' and '.join(random)} backbone{'s' if len(random) > 1 else ''}: these features "
                     f"carry no learned meaning (recorded in each store's 'weights' attribute)")
    if result.no_audio:
        lines.append(f"{len(result.no_audio)} video(s) without sound, kept with silence (flag no_audio): "
                     + ", ".join(result.no_audio[:10]) + (" ..." if len(result.no_audio) > 10 else ""))
    if result.failures:
        lines.append(f"skipped {len(result.failures)} video(s) (listed in {failures_path(result.out)}):")
        lines += [f"  {f.video_id}: {f.stage}: {_message(f)}" for f in result.failures]
    return lines
