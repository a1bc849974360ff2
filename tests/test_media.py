"""Frames and audio decoding, and the `frames` / `audio` shard stages, on generated videos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcd_core.media.audio import SAMPLE_RATE, decode_audio, read_wav
from mcd_core.media.frames import decode_frames
from mcd_core.media.shards import audio_shard, frames_shard
from mcd_core.media.shardrun import VideoError
from videos import (make_truncated, make_video, make_zero_byte, read_clock,
                          vfr_centre_frame)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    return {
        "clock": make_video(d / "clock.mp4", seconds=3),
        "vfr": make_video(d / "vfr.mp4", seconds=4, vfr=True),
        "long": make_video(d / "long.mp4", seconds=75, size=(32, 24), fps=2),
        "portrait": make_video(d / "portrait.mp4", seconds=2, size=(64, 48), rotate=90),
        "odd": make_video(d / "odd.mp4", seconds=2, size=(65, 47), audio="none"),
        "silent": make_video(d / "silent.webm", seconds=3, audio="none"),
        "mono8k": make_video(d / "mono8k.mp4", seconds=3, sample_rate=8000, audio="tones"),
        "stereo48k": make_video(d / "stereo48k.mkv", seconds=3, sample_rate=48000, channels=2,
                                audio="tones"),
        "zero": make_zero_byte(d / "zero.mp4"),
        "spaced": make_video(d / "with space.mp4", seconds=2),
    }


def test_centre_frame_of_each_second_and_padding(videos):
    got = decode_frames(videos["clock"], seconds=5, short_side=24)
    assert got.frames.shape == (5, 24, 32, 3) and got.frames.dtype == np.uint8
    assert got.length == 3
    # centre of second i is frame 5 of 10; seconds 3 and 4 repeat second 2
    assert [read_clock(f, 10) for f in got.frames] == [(0, 5), (1, 5), (2, 5), (2, 5), (2, 5)]


def test_variable_frame_rate_takes_frame_on_screen_at_centre(videos):
    got = decode_frames(videos["vfr"], seconds=4, short_side=0)
    assert got.length == 4
    assert [read_clock(f, 10) for f in got.frames] == [(i, vfr_centre_frame(i, 10)) for i in range(4)]


def test_long_video_is_cut(videos):
    got = decode_frames(videos["long"], seconds=60, short_side=0)
    assert got.frames.shape == (60, 24, 32, 3) and got.length == 60
    assert read_clock(got.frames[59], 2) == (59, 1)


def test_rotation_metadata_keeps_portrait_and_odd_sizes(videos):
    portrait = decode_frames(videos["portrait"], seconds=2, short_side=30)
    assert portrait.size == (30, 40) and portrait.frames.shape == (2, 40, 30, 3)
    odd = decode_frames(videos["odd"], seconds=2, short_side=0)
    assert odd.size == (65, 47) and odd.frames.shape == (2, 47, 65, 3)


@pytest.mark.parametrize("key", ["mono8k", "stereo48k"])
def test_audio_any_rate_and_channels_to_16k_mono_cycling_last_second(videos, key):
    got = decode_audio(videos[key], seconds=5)
    assert got.samples.shape == (5 * SAMPLE_RATE,) and got.samples.dtype == np.int16
    assert got.length == 3 and not got.no_audio
    assert (got.source_rate, got.source_channels) == ((8000, 1) if key == "mono8k" else (48000, 2))
    # second i of the "tones" track is 200 + 100 i Hz; seconds 3 and 4 cycle the last real second
    for i, hz in enumerate([200, 300, 400, 400, 400]):
        second = got.samples[i * SAMPLE_RATE:(i + 1) * SAMPLE_RATE].astype(float)
        assert np.argmax(np.abs(np.fft.rfft(second))[1:]) + 1 == pytest.approx(hz, abs=3)
    # padding repeats the last real second sample for sample (real audio ends near 3 s)
    assert np.array_equal(got.samples[4 * SAMPLE_RATE:], got.samples[3 * SAMPLE_RATE:4 * SAMPLE_RATE])


def test_no_audio_stream_gives_silence_and_flag(videos):
    got = decode_audio(videos["silent"], seconds=4)
    assert got.no_audio and got.length == 3
    assert got.samples.shape == (4 * SAMPLE_RATE,) and not got.samples.any()


def test_broken_files_raise_errors_naming_them(videos, tmp_path):
    truncated = make_truncated(videos["clock"], tmp_path / "truncated.mp4")
    for path in (videos["zero"], truncated):
        for decode in (lambda p: decode_frames(p, 3), lambda p: decode_audio(p, 3)):
            with pytest.raises(VideoError, match=path.name):
                decode(path)


def test_frames_shard_manifest_skip_failures_and_rerun(videos, tmp_path):
    ids = ["clock", "with space", "zero"]
    out = tmp_path / "frames" / "shard_00000"
    manifest = frames_shard(videos["clock"].parent, ids, 4, out, frame_short_side=24,
                            on_error="skip", workers=2)
    assert sorted(manifest["videos"]) == ["clock", "with space"]
    assert manifest["videos"]["clock"]["length"] == 3
    assert sorted(p.name for p in (out / "with space").iterdir()) == [f"{i:03d}.jpg" for i in range(4)]
    assert [f["video_id"] for f in manifest["failures"]] == ["zero"]
    assert "zero.mp4" in manifest["failures"][0]["error"]
    assert json.loads((out / "manifest.json").read_text())["params"]["frame_short_side"] == 24
    stamp = (out / "manifest.json").stat().st_mtime_ns
    frames_shard(videos["clock"].parent, ids, 4, out, frame_short_side=24, on_error="skip")
    assert (out / "manifest.json").stat().st_mtime_ns == stamp  # finished shard skipped
    assert not list(out.parent.glob(".tmp-*"))


def test_shard_stop_raises_and_leaves_nothing(videos, tmp_path):
    out = tmp_path / "audio" / "shard_00000"
    with pytest.raises(VideoError, match="zero.mp4"):
        audio_shard(videos["clock"].parent, ["clock", "zero"], 3, out, on_error="stop")
    assert not out.exists() and not list(out.parent.glob(".tmp-*"))


def test_audio_shard_writes_wavs_and_no_audio_flag(videos, tmp_path):
    out = tmp_path / "audio" / "shard_00001"
    manifest = audio_shard(videos["clock"].parent, ["silent", "stereo48k"], 4, out)
    assert manifest["videos"]["silent"]["no_audio"] is True
    entry = manifest["videos"]["stereo48k"]
    assert (entry["no_audio"], entry["source_sample_rate"], entry["source_channels"]) == (False, 48000, 2)
    assert read_wav(out / "stereo48k.wav").shape == (4 * SAMPLE_RATE,)
