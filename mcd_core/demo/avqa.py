"""The AVQA-format demo: the synthetic music scenes asked AVQA's eight question types, four options.

Each video is a scene of `mcd_core.demo.scene` (10 s by default) rendered by `demo.media`; its
questions are drawn from the scene's truth, so every answer is derivable from the picture or the
sound. Distractors are other instruments (or the other positions / times), and the right option's
position is drawn uniformly, so the question and option texts alone give chance (25 %): a model
beats it only by reading the video. Unlike the real AVQA (one question a video) a demo video gets
up to `questions_per_video` questions (of the config), each of a different type, so that a small
demo holds enough questions: at most eight, one per type that applies to the scene.

    DIR/scenes.json                   config + ground truth per video (written first)
    DIR/videos/<video_name>.mp4       VGGSound-like names (`-demo000001_000000`)
    DIR/annotations/train_qa.json     AVQA records (the official keys, in their order)
    DIR/annotations/val_qa.json       the test split, as the real val_qa.json is
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mcd_core.common.atomic import write_text
from mcd_core.common.ids import avqa_demo_video_id
from mcd_core.demo.dataset import (SCENE_STREAM, SPLIT_STREAM, QUESTION_STREAM, DemoConfig, _check_reusable,
                                   _rng, encode_videos)
from mcd_core.demo.scene import CATALOG, POSITIONS, Scene, draw_scene

TEST_SHARE = 0.2
NAMES = tuple(inst.name for inst in CATALOG)
PLACE = {"left": "on the left", "middle": "in the middle", "right": "on the right", None: "not in the video"}
WHEN = ("at the very beginning", "in the first half", "in the second half", "never")


def _word(name: str) -> str:
    return name.replace("_", " ")


def _choices(rng: np.random.Generator, answer: str, pool: list[str]) -> tuple[list[str], int]:
    """The answer and three distractors from `pool` (not the answer), in a random order."""
    distractors = [p for p in pool if p != answer]
    picked = [distractors[i] for i in rng.choice(len(distractors), 3, replace=False)]
    options = picked + [answer]
    order = rng.permutation(4)
    return [options[i] for i in order], int(np.flatnonzero(order == 3)[0])


def _single(scene: Scene, sources) -> list:
    """Sources whose instrument occurs once in the scene (so a question about it is unambiguous)."""
    counts = {}
    for s in scene.sources:
        counts[s.instrument] = counts.get(s.instrument, 0) + 1
    return [s for s in sources if counts[s.instrument] == 1]


def _pick(rng, items):
    return items[int(rng.integers(len(items)))] if items else None


def ask(scene: Scene, qtype: str, rng: np.random.Generator):
    """(relation, question, answer text, option pool) of one question type, or None if it does
    not apply to this scene."""
    present = {s.instrument for s in scene.sources}
    absent = [n for n in NAMES if n not in present]
    sounding = [s for s in scene.sources if s.sounding]
    if qtype in ("Which", "Used For"):
        src = _pick(rng, scene.visible)
        if src is None:
            return None
        pool = [n for n in NAMES if n != src.instrument]
        if qtype == "Which":
            return "View", f"Which instrument is {PLACE[src.position]}?", _word(src.instrument), [_word(n) for n in pool]
        return ("View", f"What is the object {PLACE[src.position]} used for?", f"playing {_word(src.instrument)} music",
                [f"playing {_word(n)} music" for n in pool])
    if qtype == "Come From":
        src = _pick(rng, _single(scene, sounding))
        if src is None:
            return None
        return ("Sound", f"Where does the sound of the {_word(src.instrument)} come from?",
                PLACE[src.position], list(PLACE.values()))
    if qtype == "Where":
        if rng.random() < 0.25 and absent:
            name = _pick(rng, absent)
            return "View", f"Where is the {_word(name)}?", PLACE[None], list(PLACE.values())
        src = _pick(rng, _single(scene, scene.visible))
        if src is None:
            return None
        return "View", f"Where is the {_word(src.instrument)}?", PLACE[src.position], list(PLACE.values())
    if qtype in ("Happening", "Why"):
        if not sounding or len(absent) < 3:
            return None
        if qtype == "Happening":  # the loudest sounding instrument
            name = max(sounding, key=lambda s: s.gain).instrument
            return ("Both", "What happened in the video?", f"someone plays the {_word(name)}",
                    [f"someone plays the {_word(n)}" for n in absent + [name]])
        name = max(sounding, key=lambda s: s.duration).instrument  # the longest sounding
        return ("Sound", "Why is there music in the video?", f"because the {_word(name)} is played",
                [f"because the {_word(n)} is played" for n in absent + [name]])
    if qtype == "Before Next":
        firsts = sorted(_single(scene, sounding), key=lambda s: s.onset)
        pairs = [(a, b) for a, b in zip(firsts, firsts[1:]) if b.onset - a.onset >= 1.0]
        pair = _pick(rng, pairs)
        if pair is None or len(absent) < 3:
            return None
        return ("Sound", f"What sounds before the {_word(pair[1].instrument)}?", _word(pair[0].instrument),
                [_word(n) for n in absent + [pair[0].instrument]])
    if qtype == "When":
        src = _pick(rng, _single(scene, scene.sources))
        if src is None:
            return None
        if not src.sounding:
            answer = WHEN[3]
        elif src.onset < 0.5:
            answer = WHEN[0]
        else:
            answer = WHEN[1] if src.onset < scene.seconds / 2 else WHEN[2]
        return "Sound", f"When does the {_word(src.instrument)} start playing?", answer, list(WHEN)
    raise ValueError(f"unknown AVQA question type {qtype!r}")


def questions_for(scene: Scene, rng: np.random.Generator, count: int) -> list[dict]:
    """Up to `count` questions of different types (types in random order, those that apply)."""
    from mcd_core.data.formats.avqa import QUESTION_TYPES

    out = []
    for i in rng.permutation(len(QUESTION_TYPES)):
        if len(out) == count:
            break
        asked = ask(scene, QUESTION_TYPES[i], rng)
        if asked is None:
            continue
        relation, text, answer, pool = asked
        options, right = _choices(rng, answer, sorted(set(pool)))
        out.append({"question_type": QUESTION_TYPES[i], "question_relation": relation,
                    "question_text": text, "multi_choice": options, "answer": right})
    return out


def build(config: DemoConfig) -> tuple[list[Scene], dict[str, str], dict[str, list[dict]]]:
    """Scenes, the split of each video (train / test) and the AVQA records of each file."""
    config.validate()
    scenes = [draw_scene(_rng(config.seed, SCENE_STREAM, i), avqa_demo_video_id(i), config.seconds)
              for i in range(config.videos)]
    order = _rng(config.seed, SPLIT_STREAM).permutation(len(scenes))
    n_test = max(1, round(TEST_SHARE * len(scenes)))
    split_of = {scenes[i].video_id: ("val" if k < n_test else "train") for k, i in enumerate(order)}
    rng = _rng(config.seed, QUESTION_STREAM)
    files: dict[str, list[dict]] = {"train": [], "val": []}
    qid = 0
    for index, scene in enumerate(scenes):
        for q in questions_for(scene, rng, config.questions_per_video):
            files[split_of[scene.video_id]].append({
                "id": qid, "video_name": scene.video_id, "video_id": index,
                "question_text": q["question_text"], "multi_choice": q["multi_choice"], "answer": q["answer"],
                "question_relation": q["question_relation"], "question_type": q["question_type"]})
            qid += 1
    return scenes, split_of, files


def write_avqa_dataset(config: DemoConfig, out_dir: str | Path, media: bool = True, jobs: int = 2,
                       progress: bool = True) -> dict[str, list[dict]]:
    """Write scenes.json, the videos (unless `media` is False) and train_qa.json / val_qa.json."""
    out_dir = Path(out_dir)
    scenes, split_of, files = build(config)
    scenes_path = out_dir / "scenes.json"
    _check_reusable(scenes_path, config)
    document = {"config": asdict(config), "format": "avqa",
                "videos": [dict(s.to_json(), split=split_of[s.video_id]) for s in scenes]}
    write_text(scenes_path, json.dumps(document, indent=2) + "\n")
    if media:
        encode_videos(scenes, config.media, out_dir / "videos", jobs, progress)
    for split, records in files.items():
        write_text(out_dir / "annotations" / f"{split}_qa.json", json.dumps(records, indent=2) + "\n")
    return files
