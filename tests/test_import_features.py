"""`mcd import-features` on small files of every layout, its problem lines, and `mcd compare-stores`."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from mcd_core.features.importers import LAYOUTS
from mcd_core.features.importers.problems import ImportFeaturesError
from mcd_core.features.importers.run import ImportJob, import_features
from mcd_core.features.merge import failures_path
from mcd_core.features.store import StoreMeta, open_store, write_store

from import_files import AVQA_FILES, avqa_names, avqa_qa, write_avqa_h5, write_json, write_npy_folder


def mcd(*args: str) -> subprocess.CompletedProcess:
    code = f"import sys; from mcd_core.cli import main; sys.exit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.parametrize("layout", sorted(AVQA_FILES))
def test_avqa_hdf5_files_import_with_names_lengths_and_provenance(tmp_path, layout):
    names = avqa_names(5)
    qa = write_json(tmp_path / "train_qa.json", avqa_qa(names))
    ids = [1004, 1002, 1000, 1003, 1001]                # file order differs from the names' order
    fname, _, released = AVQA_FILES[layout]
    rows = write_avqa_h5(tmp_path / fname, layout, ids)
    proc = mcd("import-features", "--layout", layout, "--source", str(tmp_path / fname), "--annotations",
               str(qa), "--format", "avqa", "--out", str(tmp_path / "out.zarr"))
    assert proc.returncode == 0, proc.stderr
    store = open_store(tmp_path / "out.zarr")
    assert store.video_ids == sorted(names)
    a = store.attrs
    assert a["backbone"] == f"imported_{layout}" and a["stream"] == LAYOUTS[layout].stream
    assert a["imported"]["file"] == fname and a["imported"]["layout"] == layout
    import hashlib
    assert a["imported"]["sha256"] == hashlib.sha256((tmp_path / fname).read_bytes()).hexdigest()
    assert a["imported"]["video_id_of"][names[3]] == "1003"   # both names of a video are kept
    steps = {"avqa_appearance": 8, "avqa_motion": 8, "avqa_audio": 1}[layout]
    assert store.features.shape == (5, steps, 2048) and list(store.lengths) == [steps] * 5
    assert a["seconds"] == 10 and a["fps"] == pytest.approx(steps / 10)
    row = rows[ids.index(1003)]                                # video names[3] is id 1003
    want = {"avqa_appearance": lambda: row.mean(axis=1), "avqa_motion": lambda: row,
            "avqa_audio": lambda: row[None]}[layout]()
    np.testing.assert_allclose(np.asarray(store.features[store.row(names[3])]), want, rtol=1e-6)
    assert json.loads(failures_path(tmp_path / "out.zarr").read_text()) == []


def test_video_map_json_names_the_rows(tmp_path):
    names = avqa_names(3)
    write_avqa_h5(tmp_path / "m.h5", "avqa_motion", [7, 8, 9], shape=(8, 4))
    vmap = write_json(tmp_path / "video_map.json", {n: 7 + i for i, n in enumerate(names)})
    job = ImportJob("avqa_motion", tmp_path / "m.h5", tmp_path / "o.zarr", None,
                    {str(7 + i): n for i, n in enumerate(names)}, (8, 4))
    import_features(job)
    assert open_store(tmp_path / "o.zarr").video_ids == sorted(names)
    proc = mcd("import-features", "--layout", "avqa_motion", "--source", str(tmp_path / "m.h5"),
               "--video-map", str(vmap), "--shape", "auto", "--out", str(tmp_path / "p.zarr"))
    assert proc.returncode == 0, proc.stderr
    assert open_store(tmp_path / "p.zarr").features.shape == (3, 8, 4)


def _bad_avqa(tmp_path):
    names = avqa_names(6)
    qa = write_json(tmp_path / "train_qa.json", avqa_qa(names[:5]))     # names[5] is in no record
    rows = np.ones((6, 8, 4), np.float32)
    rows[1, 3, 2] = np.nan                                              # video names[1]
    # 1004 (names[4]) is missing; 1099 maps to no video; 1000 is there twice
    write_avqa_h5(tmp_path / "m.h5", "avqa_motion", [1000, 1001, 1002, 1003, 1099, 1000], rows=rows)
    return names, qa


def test_problems_one_line_each_and_nothing_written_on_stop(tmp_path):
    names, qa = _bad_avqa(tmp_path)
    proc = mcd("import-features", "--layout", "avqa_motion", "--source", str(tmp_path / "m.h5"), "--shape",
               "8,4", "--annotations", str(qa), "--format", "avqa", "--out", str(tmp_path / "o.zarr"))
    assert proc.returncode == 2
    err = proc.stderr
    assert f"m.h5: video {names[1]}: 1 NaN" in err
    assert f"video {names[4]}: named by the annotations, not in" in err
    assert "video 1099: video_id 1099 is in no QA record" in err
    assert f"video {names[0]}: video_id 1000 is listed twice in 'ids' (rows 0, 5)" in err
    assert "4 problem(s) (1 duplicate, 1 missing, 1 nan, 1 unmapped)" in err
    assert not (tmp_path / "o.zarr").exists() and not failures_path(tmp_path / "o.zarr").exists()


def test_skip_lists_problems_in_the_failure_list(tmp_path):
    names, qa = _bad_avqa(tmp_path)
    proc = mcd("import-features", "--layout", "avqa_motion", "--source", str(tmp_path / "m.h5"), "--shape",
               "8,4", "--annotations", str(qa), "--format", "avqa", "--on-error", "skip",
               "--out", str(tmp_path / "o.zarr"))
    assert proc.returncode == 0, proc.stderr
    assert open_store(tmp_path / "o.zarr").video_ids == [names[0], names[2], names[3]]
    lost = {f["video_id"]: f for f in json.loads(failures_path(tmp_path / "o.zarr").read_text())}
    assert set(lost) == {names[0], names[1], names[4], "1099"}
    assert all(f["stage"] == "import" for f in lost.values()) and "NaN" in lost[names[1]]["error"]


def test_an_all_zero_row_is_a_video_the_release_could_not_read(tmp_path):
    """AVQA's extractors write zeros for a video they failed to read: not features, so a problem."""
    names = avqa_names(3)
    qa = write_json(tmp_path / "train_qa.json", avqa_qa(names))
    rows = np.ones((3, 8, 4), np.float32)
    rows[2] = 0.0
    rows[1, 0] = 0.0                                     # a zero clip inside a video is kept
    write_avqa_h5(tmp_path / "m.h5", "avqa_motion", [1000, 1001, 1002], rows=rows)
    args = ["import-features", "--layout", "avqa_motion", "--source", str(tmp_path / "m.h5"), "--shape", "8,4",
            "--annotations", str(qa), "--format", "avqa", "--out", str(tmp_path / "o.zarr")]
    proc = mcd(*args)
    assert proc.returncode == 2
    assert f"m.h5: video {names[2]}: every value is 0" in proc.stderr and "1 problem(s) (1 zeros)" in proc.stderr
    assert not (tmp_path / "o.zarr").exists()
    skipped = mcd(*args, "--on-error", "skip")
    assert skipped.returncode == 0
    assert re.fullmatch(r"\[import o\] 2 videos imported, 1 left out, \d+ s\n", skipped.stdout), skipped.stdout
    assert open_store(tmp_path / "o.zarr").video_ids == names[:2]
    lost = json.loads(failures_path(tmp_path / "o.zarr").read_text())
    assert [f["video_id"] for f in lost] == [names[2]] and "every value is 0" in lost[0]["error"]


def test_npy_folders_every_problem_kind(tmp_path):
    rng = np.random.default_rng(0)
    rows = {f"{i:08d}": rng.standard_normal((60, 128)).astype(np.float32) for i in range(1, 6)}
    folder = write_npy_folder(tmp_path / "vggish", rows)
    np.save(folder / "00000002.npy", np.zeros((60, 64), np.float32))            # wrong shape
    np.save(folder / "00000003.npy", np.zeros((60, 128), np.int32))             # wrong dtype
    (folder / "00000004.npy").write_bytes(b"not an npy file")                   # unreadable
    np.save(folder / "00000005.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)  # pickled
    np.save(folder / "00000009.npy", rows["00000001"])                          # extra
    job = ImportJob("vggish", folder, tmp_path / "v.zarr", ["00000001", "00000002", "00000003",
                                                             "00000004", "00000005", "00000006"])
    with pytest.raises(ImportFeaturesError, match=r"6 problem\(s\) \(1 dtype, 1 extra, 1 missing, "
                                                   r"1 shape, 2 unreadable\)"):
        import_features(job)
    job.on_error = "skip"
    result = import_features(job)
    store = open_store(tmp_path / "v.zarr")
    assert store.video_ids == ["00000001"] and result.rows == 1
    np.testing.assert_array_equal(np.asarray(store.features[0]), rows["00000001"])
    assert store.attrs["fps"] == 1.0 and store.attrs["seconds"] == 60 and store.attrs["stream"] == "audio"
    assert len(store.attrs["imported"]["sha256"]) == 64       # the folder's digest, known after reading
    kinds = {p.key: p.kind for p in result.problems}
    assert kinds == {"00000002": "shape", "00000003": "dtype", "00000004": "unreadable",
                     "00000005": "unreadable", "00000006": "missing", "00000009": "extra"}


def test_npy_layouts_convert_rows(tmp_path):
    rng = np.random.default_rng(1)
    tokens = rng.standard_normal((2, 60, 50, 8)).astype(np.float32)
    maps = rng.standard_normal((2, 4, 3, 14, 14)).astype(np.float32)
    write_npy_folder(tmp_path / "clip", {"a": tokens[0], "b": tokens[1]})
    write_npy_folder(tmp_path / "maps", {"a": maps[0], "b": maps[1]})
    for layout, out in (("clip_vit_b32_cls", "cls"), ("clip_vit_b32_patches", "patch")):
        import_features(ImportJob(layout, tmp_path / "clip", tmp_path / f"{out}.zarr", shape="auto"))
    import_features(ImportJob("resnet18_14x14", tmp_path / "maps", tmp_path / "map.zarr", shape=(4, 3, 14, 14)))
    cls, patch, mp = (open_store(tmp_path / f"{n}.zarr") for n in ("cls", "patch", "map"))
    np.testing.assert_array_equal(np.asarray(cls.features[1]), tokens[1][:, 0])
    np.testing.assert_array_equal(np.asarray(patch.features[1]), tokens[1][:, 1:])
    assert patch.attrs["stream"] == "visual_patch" and patch.features.shape == (2, 60, 49, 8)
    assert mp.attrs["stream"] == "visual_map" and mp.features.dtype == np.float16
    # token p of the map is pixel (p // 14, p % 14), all channels
    np.testing.assert_allclose(np.asarray(mp.features[0], np.float32)[2, 14 * 5 + 7], maps[0][2, :, 5, 7],
                               rtol=1e-3, atol=1e-3)


def test_question_npy_folder_is_keyed_by_question(tmp_path):
    write_npy_folder(tmp_path / "qst", {str(q): np.full((1, 768), q, np.float32) for q in (3, 11)})
    import_features(ImportJob("tspm_question", tmp_path / "qst", tmp_path / "q.zarr", ["3", "11"]))
    store = open_store(tmp_path / "q.zarr")
    assert store.attrs["keyed_by"] == "question" and store.attrs["stream"] == "text_sentence"
    assert store.attrs["fps"] == 0.0 and store.features.shape == (2, 1, 768)
    assert float(store.features[store.row("11")][0, 0]) == 11.0


def test_wrong_hdf5_dataset_and_row_shape_are_one_line(tmp_path):
    write_avqa_h5(tmp_path / "m.h5", "avqa_motion", [1, 2], shape=(8, 1024))
    names = {"1": "a", "2": "b"}
    with pytest.raises(ImportFeaturesError, match=r"m.h5: dataset 'resnext_features' rows are \(8, 1024\), "
                                                   r"expected \(8, 2048\)"):
        import_features(ImportJob("avqa_motion", tmp_path / "m.h5", tmp_path / "o.zarr", None, names))
    with pytest.raises(ImportFeaturesError, match=r"no dataset 'vlaudio_features'"):
        import_features(ImportJob("avqa_audio", tmp_path / "m.h5", tmp_path / "o.zarr", None, names))
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(ImportFeaturesError, match="junk.h5: cannot be read as HDF5"):
        import_features(ImportJob("avqa_audio", tmp_path / "junk.h5", tmp_path / "o.zarr", None, names))


def _store(path, rows, ids, lengths=None):
    meta = StoreMeta("visual", "resnet18", rows.shape[-1], 1.0, rows.shape[1], {"random_init": True, "seed": 0}, {})
    write_store(path, rows, lengths or [rows.shape[1]] * len(ids), ids, meta)


def test_compare_stores_finds_the_known_differences(tmp_path):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3, 5)).astype(np.float32)
    b = a.copy()
    b[1] = -a[1]                                     # video v1: cosine -1
    b[2] = a[2] * 3                                  # video v2: scaled, cosine 1
    _store(tmp_path / "a.zarr", a, ["v0", "v1", "v2", "v3"])
    _store(tmp_path / "b.zarr", np.concatenate([b[:3], a[:1]]), ["v0", "v1", "v2", "v9"], [3, 3, 2, 3])
    proc = mcd("compare-stores", str(tmp_path / "a.zarr"), str(tmp_path / "b.zarr"), "--csv", str(tmp_path / "c.csv"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "videos compared: 3; only in A: 1 (v3); only in B: 1 (v9); shape mismatches: 1 (v2)" in out
    assert "mean 0.3333, min -1.0000 (video v1)" in out
    assert "v2,1.000000,lengths 3 vs 2" in (tmp_path / "c.csv").read_text()
    _store(tmp_path / "c.zarr", a[:, :, :4], ["v0", "v1", "v2", "v3"])
    proc = mcd("compare-stores", str(tmp_path / "a.zarr"), str(tmp_path / "c.zarr"))
    assert "videos compared: 0" in proc.stdout and "shape mismatches: 4" in proc.stdout


def test_no_unsafe_load_in_the_importers():
    from pathlib import Path
    import mcd_core.features.importers as pkg

    for path in Path(pkg.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "allow_pickle=True" not in text
        assert text.count("np.load(") == text.count("allow_pickle=False)")


def test_a_finished_store_is_copied_under_an_imported_name(tmp_path):
    rows = np.random.default_rng(3).standard_normal((3, 4, 6)).astype(np.float32)
    _store(tmp_path / "elsewhere.zarr", rows, ["a", "b", "c"], [4, 2, 4])
    result = import_features(ImportJob("store", tmp_path / "elsewhere.zarr", tmp_path / "o.zarr", ["a", "c"],
                                       on_error="skip"))
    store = open_store(tmp_path / "o.zarr")
    assert store.video_ids == ["a", "c"] and [p.kind for p in result.problems] == ["extra"]
    assert store.attrs["backbone"] == "imported_store" and store.attrs["imported"]["original_backbone"] == "resnet18"
    np.testing.assert_array_equal(np.asarray(store.features[1]), rows[2])
