"""Atomic outputs: complete or absent, never half-written; normal permissions."""

import os

import pytest

from mcd_core.common.atomic import atomic_path, write_json


def test_error_leaves_previous_output_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")
    assert target.read_text().strip().replace(" ", "").replace("\n", "") == '{"a":1}'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_directory_output_replaces_old_one(tmp_path):
    target = tmp_path / "store.zarr"
    for content in ("old", "new"):
        with atomic_path(target, is_dir=True) as tmp:
            (tmp / "x").write_text(content)
    assert (target / "x").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.zarr"]


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    target = tmp_path / "out.txt"
    stale = tmp_path / ".tmp-out.txt-abc123"
    stale.write_text("left by a killed run")
    with atomic_path(target) as tmp:
        tmp.write_text("done")
    assert not stale.exists()


def test_outputs_get_umask_permissions_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "f.json", [])
        with atomic_path(tmp_path / "d", is_dir=True):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "f.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
