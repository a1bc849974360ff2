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
    with pytest.raises(MergeError, match=r"gone\.zarr: no such shard store"):
        merge_shards([tmp_path / "gone.zarr"], tmp_path / "m.zarr")
    assert main(["merge", "--parts", str(tmp_path / "a.zarr"), "--out", str(tmp_path / "m.zarr")]) == 2


def _meta(dim=3, seconds=2):
    return StoreMeta("visual_patch", "toy", dim, 1.0, seconds, {"random_init": True, "seed": 0}, {})


def test_row_writer_keeps_written_rows_and_compacts_dropped_ones(tmp_path):
    from mcd_core.features.store import store_writer

    rows = np.arange(4 * 2 * 5 * 3, dtype=np.float32).reshape(4, 2, 5, 3)
    with store_writer(tmp_path / "s.zarr", rows.shape, ["a", "b", "c", "d"], [2, 1, 2, 2], _meta()) as w:
        for i in (3, 0, 2):                  # any order
            w.write(i, rows[i])
        w.drop(1)
        assert not (tmp_path / "s.zarr").exists()   # nothing under the final name before the end
    store = open_store(tmp_path / "s.zarr")
    assert store.video_ids == ["a", "c", "d"] and store.lengths.tolist() == [2, 2, 2]
    assert np.array_equal(np.asarray(store.features[...]), rows[[0, 2, 3]])


def test_row_writer_leaves_nothing_on_bad_rows_or_forgotten_ones(tmp_path):
    from mcd_core.features.store import store_writer

    bad = np.full((2, 5, 3), np.nan, dtype=np.float32)
    with pytest.raises(StoreError, match="non-finite feature values for video 'b'"):
        with store_writer(tmp_path / "s.zarr", (2, 2, 5, 3), ["a", "b"], [2, 2], _meta()) as w:
            w.write(0, np.zeros((2, 5, 3)))
            w.write(1, bad)
    with pytest.raises(StoreError, match="never written"):
        with store_writer(tmp_path / "s.zarr", (2, 2, 5, 3), ["a", "b"], [2, 2], _meta()) as w:
            w.write(0, np.zeros((2, 5, 3)))
    assert not any(tmp_path.iterdir())
