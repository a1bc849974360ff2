"""AVQA's extraction: 32 kHz audio shards, PANNs Cnn14-32k clip-level / per-second stores, clip (3D)
backbones fed native-rate frames, and stores whose steps are not seconds."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
import torch

from mcd_core.features.backbones import motion, resnext3d
from mcd_core.features.extract_audio import AudioJob, extract_audio
from mcd_core.features.extract_clips import ClipJob, clip_tensor, extract_clips
from mcd_core.features.merge import failures_path
from mcd_core.features.store import StoreError, StoreMeta, open_store, write_store
from mcd_core.media.audio import WavError
from mcd_core.media.clips import decode_native_frames
from mcd_core.media.shards import audio_shard
from mcd_core.models.registry import variant_config
from mcd_core.models.mcd.model import MCD

from videos import make_video, read_clock


def _meta(fps: float, seconds: int = 10, dim: int = 4) -> StoreMeta:
    return StoreMeta("visual", "x", dim, fps, seconds, {"random_init": True, "seed": 0}, {})


def test_store_rows_are_seconds_times_fps(tmp_path):
    write_store(tmp_path / "clips.zarr", np.zeros((2, 8, 4)), [8, 8], ["a", "b"], _meta(0.8))
    assert open_store(tmp_path / "clips.zarr").features.shape == (2, 8, 4)
    write_store(tmp_path / "clip.zarr", np.zeros((2, 1, 4)), [1, 1], ["a", "b"], _meta(0.1))
    with pytest.raises(StoreError, match="expected 8"):
        write_store(tmp_path / "bad.zarr", np.zeros((2, 10, 4)), [8, 8], ["a", "b"], _meta(0.8))
    with pytest.raises(StoreError, match="lengths must lie in"):
        write_store(tmp_path / "bad2.zarr", np.zeros((1, 8, 4)), [9], ["a"], _meta(0.8))


@pytest.fixture(scope="module")
def av_videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    make_video(root / "-abcdefghij_000030.mp4", seconds=2, fps=10, audio="tones", sample_rate=44100)
    make_video(root / "silent_000000.mp4", seconds=2, fps=10, audio="none")
    return root


def test_audio_shard_at_32k_records_its_rate(av_videos, tmp_path):
    manifest = audio_shard(av_videos, ["-abcdefghij_000030", "silent_000000"], 2, tmp_path / "a", sample_rate=32000)
    assert manifest["params"]["sample_rate"] == 32000
    with wave.open(str(tmp_path / "a" / "-abcdefghij_000030.wav")) as wav:
        assert (wav.getframerate(), wav.getnframes()) == (32000, 64000)
    assert manifest["videos"]["silent_000000"]["no_audio"] is True
    with pytest.raises(WavError, match="one of"):
        audio_shard(av_videos, ["silent_000000"], 2, tmp_path / "b", sample_rate=22050)


@pytest.fixture(scope="module")
def shard32(av_videos, tmp_path_factory):
    out = tmp_path_factory.mktemp("audio32") / "shard_00000"
    audio_shard(av_videos, ["-abcdefghij_000030", "silent_000000"], 2, out, sample_rate=32000)
    return out


def test_panns32k_clip_level_and_per_second_stores(shard32, tmp_path):
    clip = AudioJob("panns_cnn14_32k", tmp_path / "clip.zarr", audio_dir=shard32, weights="random-init")
    assert extract_audio(clip)
    store = open_store(tmp_path / "clip.zarr", expect={"backbone": "panns_cnn14_32k", "seconds": 2})
    assert store.features.shape == (2, 1, 2048) and store.attrs["fps"] == 0.5
    assert store.lengths.tolist() == [1, 1] and store.flags["no_audio"].tolist() == [False, True]
    assert store.attrs["preprocessing"]["sample_rate"] == 32000
    assert "whole 2 s clip" in store.attrs["preprocessing"]["window"]
    feats = np.asarray(store.features[...])
    assert not np.allclose(feats[0], feats[1])  # tones vs silence
    sec = AudioJob("panns_cnn14_32k", tmp_path / "sec.zarr", audio_dir=shard32, weights="random-init",
                   per_second=True)
    assert extract_audio(sec)
    per_second = open_store(tmp_path / "sec.zarr")
    assert per_second.features.shape == (2, 2, 2048) and per_second.attrs["fps"] == 1.0
    # the 16 kHz network refuses a 32 kHz shard, naming the rate to use
    with pytest.raises(WavError, match="16000"):
        extract_audio(AudioJob("panns_cnn14", tmp_path / "x.zarr", audio_dir=shard32, weights="random-init"))


TINY = motion.ClipSpec("tiny_clips_test", 2048, clips=3, clip_frames=4, size=32, mean=(100.0, 100.0, 100.0))


@pytest.fixture()
def tiny_clip_backbone():
    source = motion.WeightSource("tiny_clips_test", "tiny_clips_test.pth", "none")
    motion.register_clip_backbone(motion.ClipEntry(TINY, source, lambda: resnext3d.ResNeXt3D(layers=(1, 1, 1, 1))))
    yield TINY
    del motion.CLIP_BACKBONES["tiny_clips_test"]


def test_native_frames_and_clip_indices(tmp_path):
    path = make_video(tmp_path / "clock.mp4", seconds=3, fps=10, size=(64, 48), audio="none")
    decoded = decode_native_frames(path, 2, 32)
    assert decoded.frames.shape == (20, 32, 32, 3) and decoded.length == 2  # native rate, first 2 s
    assert [read_clock(f, 10) for f in decoded.frames[[0, 9, 15]]] == [(0, 0), (0, 9), (1, 5)]
    x = clip_tensor(decoded.frames, TINY)                                # (3, 3, 4, 32, 32)
    assert x.shape == (3, 3, 4, 32, 32)
    # clips centred at the centres of 3 equal parts of 20 frames: starts 1, 8, 14
    firsts = [read_clock((x[c, :, 0].transpose(1, 2, 0) + 100).round().astype(np.uint8), 10) for c in range(3)]
    assert firsts == [(0, 1), (0, 8), (1, 4)]


def test_extract_clips_store_and_failures(tmp_path, av_videos, tiny_clip_backbone):
    ids = tmp_path / "ids.txt"
    ids.write_text("-abcdefghij_000030\nmissing_000000\nsilent_000000\n")
    job = ClipJob(av_videos, ids, 2, "tiny_clips_test", tmp_path / "v.zarr", on_error="skip", workers=2)
    assert extract_clips(job)
    store = open_store(tmp_path / "v.zarr", expect={"stream": "visual", "backbone": "tiny_clips_test"})
    assert store.video_ids == ["-abcdefghij_000030", "silent_000000"]
    assert store.features.shape == (2, 3, 2048) and store.lengths.tolist() == [3, 3]
    assert store.attrs["fps"] == 1.5 and store.attrs["preprocessing"]["clip_frames"] == 4
    failures = json.loads(failures_path(tmp_path / "v.zarr").read_text())
    failures = failures["failures"] if isinstance(failures, dict) else failures
    assert [f["video_id"] for f in failures] == ["missing_000000"]
    assert not extract_clips(job)  # complete: skipped
    with pytest.raises(Exception, match="missing_000000"):
        extract_clips(ClipJob(av_videos, ids, 2, "tiny_clips_test", tmp_path / "w.zarr", on_error="stop"))
    assert not (tmp_path / "w.zarr").exists()


def test_mcd_projects_2048_d_avqa_features_to_512():
    cfg = variant_config("mcd", audio_dim=2048, visual_dim=2048, n_options=4, vocab_size=50, n_answers=4)
    model = MCD(cfg)
    assert tuple(model.audio_proj.linear.weight.shape) == (512, 2048)
    assert tuple(model.visual_proj.linear.weight.shape) == (512, 2048)
    batch = {"question": torch.ones(2, 14, dtype=torch.long), "qtype": torch.ones(2, 2, dtype=torch.long),
             "keywords": torch.ones(2, 4, dtype=torch.long), "options": torch.ones(2, 4, 8, dtype=torch.long),
             "audio": torch.randn(2, 1, 2048), "audio_len": torch.tensor([1, 1]),       # clip-level audio
             "visual": torch.randn(2, 8, 2048), "visual_len": torch.tensor([8, 8])}     # 8 motion clips
    assert model(batch).logits.shape == (2, 4)
