"""`mcd extract-visual`: frames shard -> feature stores equal to the backbone applied directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mcd_core.features.backbones.visual import create_visual_backbone
from mcd_core.cli import main
from mcd_core.common.device import DeviceError, autocast, choose_device
from mcd_core.features.extract_visual import ExtractError, VisualJob, extract_visual
from mcd_core.media.frames_shard import FramesShardError, read_frames_shard
from mcd_core.features.merge import failures_path
from mcd_core.media.shardrun import VideoError
from mcd_core.features.store import open_store

FRAMES_FAILURE = {"video_id": "00000009", "stage": "frames", "error": "ffmpeg: moov atom not found"}


def make_frames_shard(root: Path, lengths: dict[str, int], seconds: int, seed: int = 0) -> Path:
    """A frames shard as `mcd frames` writes it: manifest.json + <video_id>/NNN.jpg."""
    rng = np.random.default_rng(seed)
    for video_id in lengths:
        (root / video_id).mkdir(parents=True)
        for second in range(seconds):
            pixels = rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / video_id / f"{second:03d}.jpg", quality=90)
    manifest = {"stage": "frames", "seconds": seconds, "params": {"frame_short_side": 36},
                "videos": {v: {"length": n, "source": f"videos/{v}.mp4"} for v, n in lengths.items()},
                "failures": [FRAMES_FAILURE]}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def direct_features(name: str, frames: Path, video_ids: list[str], seconds: int) -> dict[str, np.ndarray]:
    """The backbone applied frame by frame, without the extraction stage."""
    model, preprocess, _ = create_visual_backbone(name, seed=0)
    out: dict[str, list] = {}
    with torch.inference_mode():
        for video_id in video_ids:
            for second in range(seconds):
                with Image.open(frames / video_id / f"{second:03d}.jpg") as image:
                    for stream, value in model(preprocess(image.convert("RGB"))[None]).items():
                        out.setdefault(stream, []).append(value[0].numpy())
    return {k: np.stack(v).reshape(len(video_ids), seconds, *v[0].shape) for k, v in out.items()}


def test_cli_features_equal_direct_application(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"00000001": 3, "00000002": 2}, seconds=3)
    out = tmp_path / "features" / "shard_00000.zarr"
    rc = main(["extract-visual", "--frames", str(frames), "--backbone", "resnet18", "--weights",
               "random-init", "--seed", "0", "--device", "cpu", "--batch-size", "4", "--workers", "0",
               "--out", str(out)])
    assert rc == 0
    store = open_store(out, expect={"stream": "visual", "backbone": "resnet18", "dim": 512, "seconds": 3})
    assert store.video_ids == ["00000001", "00000002"]
    assert store.lengths.tolist() == [3, 2]
    assert store.attrs["weights"] == {"random_init": True, "seed": 0}
    assert store.attrs["preprocessing"]["centre_crop"] == 224
    assert store.attrs["preprocessing"]["frames"] == {"frame_short_side": 36}
    expected = direct_features("resnet18", frames, store.video_ids, 3)["visual"]
    np.testing.assert_allclose(store.features[...], expected, rtol=1e-4, atol=1e-5)
    assert json.loads(failures_path(out).read_text()) == [FRAMES_FAILURE]


def test_clip_patch_store_equals_direct_application(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"00000003": 2}, seconds=2)
    job = VisualJob(frames, "clip_vit_b32", tmp_path / "v.zarr", patch_out=tmp_path / "p.zarr",
                    device="cpu", batch_size=3, workers=0)
    assert extract_visual(job)
    expected = direct_features("clip_vit_b32", frames, ["00000003"], 2)
    pooled = open_store(job.out, expect={"stream": "visual", "dim": 512})
    patch = open_store(job.patch_out, expect={"stream": "visual_patch", "dim": 512, "patch_tokens": 49})
    assert patch.features.shape == (1, 2, 49, 512)
    np.testing.assert_allclose(pooled.features[...], expected["visual"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(patch.features[...], expected["visual_patch"], rtol=1e-4, atol=1e-5)


def test_workers_and_batch_size_do_not_change_features(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"a": 2, "b": 2, "c": 1}, seconds=2)
    one = VisualJob(frames, "resnet18", tmp_path / "one.zarr", device="cpu", batch_size=1, workers=0)
    two = VisualJob(frames, "resnet18", tmp_path / "two.zarr", device="cpu", batch_size=4, workers=2)
    extract_visual(one), extract_visual(two)
    np.testing.assert_allclose(open_store(one.out).features[...], open_store(two.out).features[...],
                               rtol=1e-5, atol=1e-6)


def test_rerun_skips_complete_output_and_redoes_partial(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"a": 1}, seconds=1)
    job = VisualJob(frames, "resnet18", tmp_path / "s.zarr", device="cpu", workers=0)
    assert extract_visual(job) is True
    assert extract_visual(job) is False  # complete: skipped
    job.seed = 1                         # other weights: redone
    assert extract_visual(job) is True
    assert open_store(job.out).attrs["weights"] == {"random_init": True, "seed": 1}
    failures_path(job.out).unlink()      # an output missing: the job is redone
    assert extract_visual(job) is True and failures_path(job.out).is_file()
    (job.out / "zarr.json").unlink()     # a broken store: redone as well
    assert extract_visual(job) is True
    assert open_store(job.out).video_ids == ["a"]
    assert not list(tmp_path.glob(".tmp-*"))


def test_bad_videos_are_skipped_and_listed_or_stop_the_job(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"good": 2, "corrupt": 2, "short": 2}, seconds=2)
    (frames / "corrupt" / "001.jpg").write_bytes(b"not a jpeg")
    (frames / "short" / "001.jpg").unlink()
    job = VisualJob(frames, "resnet18", tmp_path / "s.zarr", device="cpu", workers=0, on_error="skip")
    extract_visual(job)
    assert open_store(job.out).video_ids == ["good"]
    listed = json.loads(failures_path(job.out).read_text())
    assert [f["video_id"] for f in listed] == ["00000009", "short", "corrupt"]
    assert "001.jpg" in listed[2]["error"] and listed[2]["stage"] == "extract-visual"

    job.on_error, job.force = "stop", True
    with pytest.raises(VideoError, match="short"):
        extract_visual(job)


def test_patch_out_needs_a_backbone_with_patch_tokens(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"a": 1}, seconds=1)
    job = VisualJob(frames, "resnet18", tmp_path / "s.zarr", patch_out=tmp_path / "p.zarr", device="cpu")
    with pytest.raises(ExtractError, match="no patch tokens"):
        extract_visual(job)
    assert not job.out.exists()


def test_manifest_errors_name_file_and_field(tmp_path):
    frames = make_frames_shard(tmp_path / "frames", {"a": 1}, seconds=1)
    manifest = json.loads((frames / "manifest.json").read_text())
    manifest["videos"]["a"]["length"] = 5
    (frames / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FramesShardError, match=r"manifest.json: videos\['a'\].length"):
        read_frames_shard(frames)
    with pytest.raises(FramesShardError, match="run `mcd frames`"):
        read_frames_shard(tmp_path / "nowhere")


def test_device_choice_and_precision():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceError, match="'tpu'"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="fp16"):
            autocast("cpu", "fp16")
    with autocast("cpu", "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast("cpu", "fp32"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
