"""A store proves its content: writers record every chunk's checksum in `manifest.json`, readers stop
before their first step when a chunk is gone, `mcd verify` names each garbled chunk, and a chunk that
does not decode while reading is one line naming store, chunk and video."""

from __future__ import annotations

import json
import logging
import zlib

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from avqa_synthetic import make_task, write_task_stores
from mcd_core.cli import main
from mcd_core.common.atomic import write_json
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.inputs import open_inputs
from mcd_core.data.vocab import Vocab
from mcd_core.features.errors import StoreDamagedError
from mcd_core.features.logmel import logmel_shard
from mcd_core.features.manifest import MANIFEST
from mcd_core.features.merge import failures_path, merge_shards
from mcd_core.features.store import StoreError, StoreMeta, open_store, store_writer, write_store
from mcd_core.features.verify import verify_store
from mcd_core.media.audio import write_wav
from mcd_core.models.registry import FeatureInput
from test_train import _write_annotations

torch.set_num_threads(1)


def _manifest(store):
    return json.loads((store / MANIFEST).read_text())["arrays"]


def _garble(chunk, whole=True):
    """Same length, other bytes: every byte inverted (does not decode), or a few in the middle (may
    decode to other numbers: only the checksum tells)."""
    data = bytearray(chunk.read_bytes())
    span = range(len(data)) if whole else range(len(data) // 2, len(data) // 2 + 4)
    for i in span:
        data[i] ^= 0xFF
    chunk.write_bytes(bytes(data))


@pytest.fixture
def task(tmp_path):
    questions, audio, visual, ids = make_task(6, seconds=6, audio_dim=5, visual_dim=7)
    a, v = write_task_stores(tmp_path, audio, visual, ids)
    Vocab.from_questions(questions).save(tmp_path / "vocab.json")
    train = _write_annotations(tmp_path / "train.json", [q for q in questions if int(q.video_id) < 4])
    val = _write_annotations(tmp_path / "val.json", [q for q in questions if int(q.video_id) >= 4])
    return {"questions": questions, "ids": ids, "audio": a, "visual": v, "train": train, "val": val,
            "vocab": tmp_path / "vocab.json"}


def _train_args(task, out):
    return ["train", "--train", str(task["train"]), "--val", str(task["val"]), "--vocab", str(task["vocab"]),
            "--audio", str(task["audio"]), "--visual", str(task["visual"]), "--out-dir", str(out),
            "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--set", "d_model=16", "--set", "word_dim=16",
            "--set", "ffn_hidden=24", "--set", "proj_dim=8"]


# -- writers record the manifest ------------------------------------------------------------------

def _audio_shard(folder, names, seconds=2):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(names))
    for name in names:
        write_wav(folder / f"{name}.wav", (rng.standard_normal(seconds * 16000) * 3000).astype(np.int16))
    write_json(folder / "manifest.json", {"stage": "audio", "seconds": seconds, "params": {}, "failures": [],
                                          "videos": {n: {"length": seconds, "no_audio": False} for n in names}})
    return folder


def test_extraction_and_merge_record_every_chunk_with_its_checksum(tmp_path):
    shards = [logmel_shard(_audio_shard(tmp_path / "audio" / f"s{i}", names), tmp_path / f"s{i}.zarr")
              for i, names in enumerate((["a", "b"], ["c"]))]
    merged, _ = merge_shards(shards, tmp_path / "merged.zarr")
    for store, n in ((shards[0], 2), (shards[1], 1), (merged, 3)):
        arrays = _manifest(store)
        assert sorted(arrays["features"]) == [f"c/{i}/0/0/0" for i in range(n)]
        for name, chunks in arrays.items():  # the checksum is of the bytes on disk
            for key, (size, crc) in chunks.items():
                data = (store / name / key).read_bytes()
                assert (size, crc) == (len(data), f"{zlib.crc32(data):08x}")
        assert verify_store(store).ok
    assert "a.wav" not in json.dumps(_manifest(merged))  # only the store's own files


def test_row_writer_records_the_compacted_rows(tmp_path):
    meta = StoreMeta("visual", "toy", 3, 1.0, 2, {"random_init": True, "seed": 0}, {})
    with store_writer(tmp_path / "s.zarr", (3, 2, 3), ["a", "b", "c"], [2, 2, 2], meta) as writer:
        writer.write(0, np.ones((2, 3)))
        writer.drop(1)
        writer.write(2, np.full((2, 3), 2.0))
    assert sorted(_manifest(tmp_path / "s.zarr")["features"]) == ["c/0/0/0", "c/1/0/0"]
    assert verify_store(tmp_path / "s.zarr").ok


def test_lost_chunk_is_found_again_by_rerunning_the_stage(tmp_path):
    audio = _audio_shard(tmp_path / "audio", ["a", "b"])
    store = logmel_shard(audio, tmp_path / "s.zarr")
    expected = open_store(store).features[...]
    (store / "features" / "c/1/0/0/0").unlink()
    with pytest.raises(StoreDamagedError, match=r"chunk c/1/0/0/0 \(video 'b'\) is missing"):
        open_store(store)
    logmel_shard(audio, store)  # a damaged store is not "complete": the stage redoes it
    np.testing.assert_array_equal(open_store(store).features[...], expected)


# -- readers check before the first step -----------------------------------------------------------

def test_lost_chunk_stops_training_before_the_first_step(task, tmp_path, capsys):
    (task["visual"] / "features" / "c/2/0/0").unlink()
    out = tmp_path / "run"
    assert main(_train_args(task, out)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(task["visual"]) in err and "array 'features' chunk c/2/0/0" in err
    assert f"video '{task['ids'][2]}'" in err and "is missing" in err
    assert not (out / "last.pt").exists()


def test_truncated_chunk_and_lost_small_arrays_are_named(task):
    chunk = task["audio"] / "features" / "c/0/0/0"
    chunk.write_bytes(chunk.read_bytes()[:-3])
    with pytest.raises(StoreDamagedError, match=r"chunk c/0/0/0 \(video '00000000'\) has \d+ bytes, \d+ recorded"):
        open_store(task["audio"])
    (task["visual"] / "video_id" / "c" / "0").unlink()  # the ids are lost too: rows are named instead
    with pytest.raises(StoreDamagedError, match=r"array 'video_id' chunk c/0 \(rows 0-5\) is missing"):
        open_store(task["visual"])


def test_peer_input_per_question_store_names_the_question(tmp_path):
    meta = StoreMeta("text_sentence", "clip_text_b32", 4, 0.0, 1, {"random_init": True, "seed": 0}, {},
                     {"keyed_by": "question"})
    store = write_store(tmp_path / "t.zarr", np.ones((3, 1, 4)), [1, 1, 1], ["7", "8", "9"], meta)
    (store / "features" / "c/1/0/0").unlink()
    declared = [FeatureInput("question_sentence", "text_sentence", "clip_text_b32", per="question")]
    with pytest.raises(StoreDamagedError, match=r"chunk c/1/0/0 \(question '8'\) is missing"):
        open_inputs(declared, {"question_sentence": store}, "tspm")


def test_store_without_manifest_is_read_with_a_warning_and_can_be_recorded(task, caplog, capsys):
    (task["audio"] / MANIFEST).unlink()
    with caplog.at_level(logging.WARNING):
        assert len(open_store(task["audio"])) == 6
    assert "no chunk manifest" in caplog.text and str(task["audio"]) in caplog.text
    assert main(["verify", str(task["audio"])]) == 1
    assert "no manifest" in capsys.readouterr().out
    assert main(["verify", "--record", str(task["audio"]), str(task["visual"])]) == 0
    assert "ok: 2 stores" in capsys.readouterr().out
    assert sorted(_manifest(task["audio"])["features"]) == [f"c/{i}/0/0" for i in range(6)]


# -- mcd verify ---------------------------------------------------------------------------------------

def test_verify_names_each_garbled_chunk_and_exits_nonzero(task, capsys):
    assert main(["verify", str(task["audio"]), str(task["visual"])]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("ok: 2 stores, ")
    _garble(task["visual"] / "features" / "c/3/0/0", whole=False)
    open_store(task["visual"])  # same sizes: the cheap check passes, only the checksums tell
    _garble(task["visual"] / "lengths" / "c/0", whole=False)
    assert main(["verify", str(task["audio"]), str(task["visual"])]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    damaged = [line for line in lines if "fails its checksum" in line]
    assert damaged == [
        f"{task['visual']}: array 'features' chunk c/3/0/0 (video '{task['ids'][3]}') fails its checksum (garbled)",
        f"{task['visual']}: array 'lengths' chunk c/0 (videos '00000000', '00000001', '00000002' and 3 more) "
        f"fails its checksum (garbled)"]
    assert not any(str(task["audio"]) in line for line in lines)
    assert lines[-1].startswith("damaged or unverifiable: 1 of 2 stores")


# -- a chunk that does not decode while reading -------------------------------------------------------

def test_garbled_chunk_met_in_a_dataloader_worker_is_one_line(task):
    _garble(task["visual"] / "features" / "c/4/0/0")
    vocab = Vocab.load(task["vocab"])
    dataset = AVQADataset(task["questions"], vocab, open_store(task["audio"]), open_store(task["visual"]))
    with pytest.raises(StoreDamagedError) as caught:
        for _ in DataLoader(dataset, batch_size=8, num_workers=1):
            pass
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{task['visual']}: array 'features' chunk c/4/0/0 (video '{task['ids'][4]}') "
                              f"does not decode")


def test_garbled_chunk_met_by_mcd_train_is_one_line(task, tmp_path, capsys):
    _garble(task["audio"] / "features" / "c/1/0/0")
    assert main([*_train_args(task, tmp_path / "run"), "--set", "in_memory=true"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{task['audio']}: array 'features' chunk c/1/0/0 (video '{task['ids'][1]}') does not decode" in err


def test_merge_refuses_a_damaged_shard(tmp_path):
    meta = StoreMeta("visual", "toy", 3, 1.0, 2, {"random_init": True, "seed": 0}, {})
    parts = []
    for i, ids in enumerate((["a", "b"], ["c"])):
        parts.append(write_store(tmp_path / f"p{i}.zarr", np.ones((len(ids), 2, 3)), [2] * len(ids), ids, meta))
        write_json(failures_path(parts[-1]), [])
    (parts[0] / "features" / "c/1/0/0").unlink()
    with pytest.raises(StoreError, match=r"p0\.zarr is damaged: array 'features' chunk c/1/0/0 \(video 'b'\)"):
        merge_shards(parts, tmp_path / "m.zarr")
    assert not (tmp_path / "m.zarr").exists()
