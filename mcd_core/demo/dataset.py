"""The built-in demo dataset: synthetic music scenes as MP4s plus MUSIC-AVQA-format annotations.

Everything is drawn from `--seed`: scene i from its own child seed (so scene i does not depend on
how many videos are asked for), the split and the question choice from another. Layout of DIR:

    DIR/scenes.json                  config + ground truth per video (written first)
    DIR/videos/<video_id>.mp4        H.264 + AAC (finished videos are skipped on re-runs)
    DIR/annotations/avqa-{train,val,test}.json   written last
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mcd_core.common.atomic import write_text
from mcd_core.common.textfiles import read_text_file
from mcd_core.demo.media import MediaFormat, encode_scene
from mcd_core.demo.picker import QuestionPicker
from mcd_core.demo.scene import INSTRUMENTS, Scene, draw_scene

SPLITS = ("train", "val", "test")
SPLIT_SHARES = {"val": 0.15, "test": 0.15}  # the rest is train
AAC_SAMPLE_RATES = (16000, 22050, 24000, 32000, 44100, 48000)
# Child-seed streams of the root seed.
SCENE_STREAM, SPLIT_STREAM, QUESTION_STREAM = 0, 1, 2


class DemoDataError(ValueError):
    """A bad demo-data argument, or an output directory made with other arguments."""


@dataclass(frozen=True)
class DemoConfig:
    seed: int = 0
    videos: int = 150
    seconds: int = 10
    width: int = 320
    height: int = 240
    fps: int = 12
    sample_rate: int = 22050
    questions_per_video: int = 24

    def validate(self) -> None:
        checks = [
            (self.videos >= 10, f"--videos must be >= 10 so every split gets videos, got {self.videos}"),
            (self.videos <= 99_999_999, f"--videos must fit 8-digit ids, got {self.videos}"),
            (self.seconds >= 2, f"--seconds must be >= 2, got {self.seconds}"),
            (self.seconds <= 600, f"--seconds must be <= 600, got {self.seconds}"),
            (self.seed >= 0, f"--seed must be >= 0, got {self.seed}"),
            (min(self.width, self.height) >= 64,
             f"frame must be at least 64x64, got {self.width}x{self.height}"),
            (self.width % 2 == 0 and self.height % 2 == 0,
             f"--width and --height must be even (H.264 4:2:0), got {self.width}x{self.height}"),
            (1 <= self.fps <= 60, f"--fps must be in 1..60, got {self.fps}"),
            (1 <= self.questions_per_video <= 64,
             f"--questions-per-video must be in 1..64, got {self.questions_per_video}"),
            (self.sample_rate in AAC_SAMPLE_RATES,
             f"--sample-rate must be one of {AAC_SAMPLE_RATES}, got {self.sample_rate}"),
        ]
        for ok, message in checks:
            if not ok:
                raise DemoDataError(message)

    @property
    def media(self) -> MediaFormat:
        return MediaFormat(self.width, self.height, self.fps, self.sample_rate)


@dataclass(frozen=True)
class DemoDataset:
    config: DemoConfig
    scenes: list[Scene]
    split_of: dict[str, str]            # video id -> split
    annotations: dict[str, list[dict]]  # split -> MUSIC-AVQA records


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


def video_id(index: int) -> str:
    return f"{index + 1:08d}"


def split_videos(ids: list[str], rng: np.random.Generator) -> dict[str, str]:
    """About 70/15/15 by video; val and test get at least one video each."""
    order = [ids[i] for i in rng.permutation(len(ids))]
    n_val = max(1, round(SPLIT_SHARES["val"] * len(ids)))
    n_test = max(1, round(SPLIT_SHARES["test"] * len(ids)))
    split_of = {vid: "val" for vid in order[:n_val]}
    split_of.update({vid: "test" for vid in order[n_val:n_val + n_test]})
    split_of.update({vid: "train" for vid in order[n_val + n_test:]})
    return split_of


def annotation_record(vid: str, question_id: int, question) -> dict:
    """One record with MUSIC-AVQA's 7 keys, in its order (and its misspelt `anser`)."""
    return {
        "video_id": vid,
        "question_id": question_id,
        "type": json.dumps(list(question.template.qtype)),
        "question_content": question.template.text,
        "templ_values": json.dumps(list(question.values)),
        "question_deleted": 0,
        "anser": question.answer,
    }


def build_dataset(config: DemoConfig) -> DemoDataset:
    """Scenes, split and annotations, without any media (fast)."""
    config.validate()
    scenes = [draw_scene(_rng(config.seed, SCENE_STREAM, i), video_id(i), config.seconds)
              for i in range(config.videos)]
    split_of = split_videos([s.video_id for s in scenes], _rng(config.seed, SPLIT_STREAM))
    picker = QuestionPicker(_rng(config.seed, QUESTION_STREAM))
    annotations: dict[str, list[dict]] = {split: [] for split in SPLITS}
    question_id = 0
    for scene in scenes:
        for question in picker.pick(scene, config.questions_per_video):
            question_id += 1  # ids are unique across splits
            record = annotation_record(scene.video_id, question_id, question)
            annotations[split_of[scene.video_id]].append(record)
    return DemoDataset(config, scenes, split_of, annotations)


def scenes_document(dataset: DemoDataset) -> dict:
    return {
        "config": asdict(dataset.config),
        "instruments": {name: asdict(inst) for name, inst in INSTRUMENTS.items()},
        "videos": [dict(scene.to_json(), split=dataset.split_of[scene.video_id]) for scene in dataset.scenes],
    }


def _check_reusable(scenes_path: Path, config: DemoConfig) -> None:
    """Refuse to mix videos made with other arguments into one directory."""
    if not scenes_path.exists():
        return
    try:
        previous = json.loads(read_text_file(scenes_path, "demo scenes file", DemoDataError))["config"]
    except (ValueError, KeyError) as exc:
        raise DemoDataError(f"{scenes_path} is not a demo scenes file ({exc}); "
                            "use an empty --out-dir") from exc
    if previous != asdict(config):
        raise DemoDataError(f"{scenes_path.parent} was made with other arguments ({previous}); "
                            "use another --out-dir or delete it")


def encode_videos(scenes: list[Scene], fmt: MediaFormat, videos_dir: Path, jobs: int,
                  progress: bool = True) -> None:
    """Encode the scenes whose MP4 is missing, `jobs` ffmpeg processes at a time."""
    from mcd_core.common.progress import progress as progress_bar

    videos_dir.mkdir(parents=True, exist_ok=True)
    # Files are written atomically, so an existing file is a finished video.
    todo = [s for s in scenes if not (videos_dir / f"{s.video_id}.mp4").exists()]
    with progress_bar(total=len(scenes), initial=len(scenes) - len(todo), desc="demo videos",
                      unit="video", disable=not progress) as bar, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(encode_scene, s, fmt, videos_dir / f"{s.video_id}.mp4") for s in todo]
        try:
            for future in as_completed(futures):
                future.result()
                bar.update()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def write_dataset(config: DemoConfig, out_dir: str | Path, media: bool = True, jobs: int = 2,
                  progress: bool = True) -> DemoDataset:
    """Write scenes.json, the videos (unless `media` is False) and the annotations under out_dir."""
    if jobs < 1:
        raise DemoDataError(f"--jobs must be >= 1, got {jobs}")
    out_dir = Path(out_dir)
    dataset = build_dataset(config)
    scenes_path = out_dir / "scenes.json"
    _check_reusable(scenes_path, config)
    write_text(scenes_path, _dumps(scenes_document(dataset)))
    if media:
        encode_videos(dataset.scenes, config.media, out_dir / "videos", jobs, progress)
    for split in SPLITS:
        write_text(out_dir / "annotations" / f"avqa-{split}.json", _dumps(dataset.annotations[split]))
    return dataset


def _dumps(obj) -> str:
    # ASCII-escaped like the real MUSIC-AVQA files (the full-width question mark becomes \uff1f).
    return json.dumps(obj, indent=2) + "\n"
