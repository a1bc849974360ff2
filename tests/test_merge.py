"""`mcd merge`: shard stores -> one store, with every shard's failures gathered beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcd_core.cli import main
from mcd_core.features.merge import MergeError, failures_path, merge_shards
from mcd_core.media.shardrun import Failure, write_failures
from mcd_core.features.store import StoreError, StoreMeta, open_store, write_store


def make_shard(path: Path, ids: list[str], seed: int, backbone: str = "resnet18",
               failures: list[Failure] = ()) -> np.ndarray:
    features = np.random.default_rng(seed).standard_normal((len(ids), 3, 4)).astype(np.float32)
    meta = StoreMeta("visual", backbone, 4, 1.0, 3, {"random_init": True, "seed": 0}, {"centre_crop": 224})
    write_store(path, features, [3] * len(ids), ids, meta)
    write_failures(failures_path(path), failures)
    return features


def test_failures_path_follows_design_naming(tmp_path):
    assert failures_path(tmp_path / "resnet18.zarr") == tmp_path / "resnet18.failures.json"


def test_cli_merge_concatenates_and_gathers_failures(tmp_path):
    lost = [Failure("v9", "frames", "no video stream"), Failure("v8", "extract-visual", "bad jpeg")]
    a = make_shard(tmp_path / "shard_00000.zarr", ["v1", "v2"], 0, failures=lost[:1])
    b = make_shard(tmp_path / "shard_00001.zarr", ["v3"], 1, failures=lost[1:])
    c = make_shard(tmp_path / "shard_00002.zarr", [], 2)  # every video of a shard may have failed
    out = tmp_path / "resnet18.zarr"
    assert main(["merge", "--parts", *(str(tmp_path / f"shard_0000{i}.zarr") for i in range(3)),
                 "--out", str(out)]) == 0
    merged = open_store(out, expect={"backbone": "resnet18"})
    assert merged.video_ids == ["v1", "v2", "v3"]
    np.testing.assert_array_equal(merged.features[...], np.concatenate([a, b, c]))
    assert json.loads(failures_path(out).read_text()) == [
        {"video_id": "v9", "stage": "frames", "error": "no video stream"},
        {"video_id": "v8", "stage": "extract-visual", "error": "bad jpeg"}]


def test_mismatched_parts_stop_and_leave_nothing(tmp_path):
    make_shard(tmp_path / "a.zarr", ["v1"], 0)
    make_shard(tmp_path / "b.zarr", ["v2"], 1, backbone="clip_vit_b32")
    out = tmp_path / "merged.zarr"
    with pytest.raises(StoreError, match="'backbone' differs"):
        merge_shards([tmp_path / "a.zarr", tmp_path / "b.zarr"], out)
    assert not out.exists() and not failures_path(out).exists()


def test_shared_video_ids_are_refused(tmp_path):
    make_shard(tmp_path / "a.zarr", ["v1"], 0)
    make_shard(tmp_path / "b.zarr", ["v1"], 1)
    with pytest.raises(StoreError, match="share video ids"):
        merge_shards([tmp_path / "a.zarr", tmp_path / "b.zarr"], tmp_path / "m.zarr")


def test_part_without_failure_list_or_listed_twice_is_refused(tmp_path):
    make_shard(tmp_path / "a.zarr", ["v1"], 0)
    with pytest.raises(MergeError, match="listed twice"):
        merge_shards([tmp_path / "a.zarr", tmp_path / "a.zarr"], tmp_path / "m.zarr")
    failures_path(tmp_path / "a.zarr").unlink()
    with pytest.raises(MergeError, match=r"a\.failures\.json is missing"):
        merge_shards([tmp_path / "a.zarr"], tmp_path / "m.zarr")
    assert main(["merge", "--parts", str(tmp_path / "a.zarr"), "--out", str(tmp_path / "m.zarr")]) == 2
