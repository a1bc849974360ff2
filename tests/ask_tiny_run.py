"""A tiny but real run for the `mcd ask` tests: four 3-second videos through the pipeline's stage
functions (frames, audio, log-mel, random-init ResNet-18 and VGGish), MUSIC-AVQA annotations with
real templates, one epoch of a small MCD. Paths in the run's config.json are relative, as when
Snakemake runs it, so `mcd ask` must find the stores from the run folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from videos import make_video

SECONDS = 3
RUN = Path("results/toy/runs/resnet18-vggish/mcd/seed0")
TINY_MODEL = ["d_model=16", "word_dim=16", "ffn_hidden=24", "proj_dim=8"]
# (video id, audio kind, picture pattern)
VIDEOS = [("00000000", "sine", "clock"), ("00000001", "tones", "testsrc"),
          ("00000002", "none", "clock"), ("00000003", "tones", "clock")]
TEMPLATES = [
    ("How many instruments are sounding in the video?", ["Audio-Visual", "Counting"], []),
    ("Is there a <Object> sound?", ["Audio", "Counting"], ["cello"]),
    ("Is the <Object> on the <LR> louder than the <Object> on the <LR>?", ["Audio-Visual", "Comparative"],
     ["piano", "left", "violin", "right"]),
]


def _records(video_ids):
    records, qid = [], 0
    for n, vid in enumerate(video_ids):
        for k, (template, qtype, values) in enumerate(TEMPLATES):
            records.append({"video_id": vid, "question_id": qid, "type": json.dumps(qtype),
                            "question_content": template, "templ_values": json.dumps(values),
                            "question_deleted": 0, "anser": ("one", "two", "yes", "no")[(n + k) % 4]})
            qid += 1
    return records


def build_tiny_run(root: Path) -> Path:
    """Videos and a trained run under `root`; returns the run folder (absolute)."""
    from mcd_core.data.formats import get_format
    from mcd_core.data.vocab import Vocab
    from mcd_core.features.extract_audio import AudioJob, extract_audio
    from mcd_core.features.extract_visual import VisualJob, extract_visual
    from mcd_core.features.logmel import logmel_shard
    from mcd_core.media.shards import audio_shard, frames_shard
    from mcd_core.training.config import TrainConfig, split_overrides
    from mcd_core.training.files import RunFiles, train_from_files

    root.mkdir(parents=True, exist_ok=True)
    old = os.getcwd()
    os.chdir(root)
    try:
        videos = Path("resources/toy/videos")
        videos.mkdir(parents=True)
        for vid, audio, pattern in VIDEOS:
            make_video(videos / f"{vid}.mp4", seconds=SECONDS, size=(64, 48), audio=audio, pattern=pattern)
        ids = [v for v, _, _ in VIDEOS]
        out = Path("results/toy")
        frames_shard(videos, ids, SECONDS, out / "frames/shard_00000", 48)
        audio_shard(videos, ids, SECONDS, out / "audio/shard_00000")
        logmel_shard(out / "audio/shard_00000", out / "logmel/shard_00000.zarr")
        visual = out / "features/visual/resnet18.zarr"
        audio = out / "features/audio/vggish.zarr"
        extract_visual(VisualJob(out / "frames/shard_00000", "resnet18", visual, workers=0, device="cpu"))
        extract_audio(AudioJob("vggish", audio, logmel=out / "logmel/shard_00000.zarr",
                               weights="random-init", device="cpu"))
        ann = Path("resources/toy/annotations")
        ann.mkdir(parents=True)
        (ann / "train.json").write_text(json.dumps(_records(ids[:3])))
        (ann / "val.json").write_text(json.dumps(_records(ids[3:])))
        Vocab.from_questions(get_format("music_avqa").load(ann / "train.json").questions).save(out / "vocab.json")
        files = RunFiles(train=ann / "train.json", val=ann / "val.json", vocab=out / "vocab.json",
                         audio=audio, visual=visual)
        model_overrides, _ = split_overrides(TINY_MODEL, "mcd")
        train_from_files(files, "mcd", RUN, TrainConfig(epochs=1, batch_size=4, device="cpu"), model_overrides)
    finally:
        os.chdir(old)
    return root / RUN
