"""AVQADataset: encodings, stride and lengths, patch averaging, dropped questions, in-memory path."""

import numpy as np
import pytest
import torch

from avqa_synthetic import make_task, write_task_stores
from mcd_core.data.dataset import AVQADataset, DatasetError
from mcd_core.data.vocab import Vocab
from mcd_core.features.store import StoreMeta, open_store, write_store


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ds")
    questions, audio, visual, ids = make_task(5, seconds=7, audio_dim=3, visual_dim=4)
    lengths = [7, 7, 5, 1, 7]
    a, v = write_task_stores(tmp, audio[:4], visual[:4], ids[:4], lengths=lengths[:4])  # video 4 missing
    return tmp, questions, audio, visual, ids, open_store(a), open_store(v)


def test_items_match_store_rows_and_vocab(task):
    _, questions, audio, visual, ids, a, v = task
    vocab = Vocab.from_questions(questions)
    ds = AVQADataset(questions, vocab, a, v)
    assert len(ds) == 16 and ds.dropped == 4 and ds.dropped_videos == 1
    item = ds[9]  # video 2, length 5
    q = ds.questions[9]
    assert item["video_id"] == q.video_id == ids[2]
    assert torch.equal(item["audio"], torch.from_numpy(audio[2])) and item["audio"].shape == (7, 3)
    assert torch.equal(item["visual"], torch.from_numpy(visual[2]))
    assert int(item["audio_len"]) == 5 and int(item["visual_len"]) == 5
    assert item["question"].tolist() == vocab.encode_question(q)
    assert item["qtype"].tolist() == vocab.encode_type(q)
    assert item["keywords"].tolist() == vocab.encode_keywords(q)
    assert int(item["answer"]) == vocab.answer_index(q.answer) >= 0
    assert int(item["question_id"]) == q.question_id


def test_stride_and_real_lengths(task):
    _, questions, audio, _, _, a, v = task
    ds = AVQADataset(questions, Vocab.from_questions(questions), a, v, stride=3)
    by_video = {ds.questions[i].video_id: ds[i] for i in range(len(ds))}
    item = by_video["00000002"]  # 5 real seconds -> steps 0, 3 are real
    assert item["audio"].shape == (3, 3) and torch.equal(item["audio"], torch.from_numpy(audio[2, ::3]))
    assert int(item["audio_len"]) == 2
    assert int(by_video["00000003"]["audio_len"]) == 1
    with pytest.raises(DatasetError, match="stride"):
        AVQADataset(questions, Vocab.from_questions(questions), a, v, stride=0)


def test_in_memory_equals_lazy_and_unseen_answer_is_minus_one(task):
    _, questions, _, _, _, a, v = task
    vocab = Vocab.from_questions(questions[:8])
    lazy, mem = AVQADataset(questions, vocab, a, v, stride=2), AVQADataset(questions, vocab, a, v, 2, True)
    for i in range(len(lazy)):
        x, y = lazy[i], mem[i]
        assert all(torch.equal(x[k], y[k]) for k in ("audio", "visual", "audio_len", "question", "answer"))
    unseen = [i for i, q in enumerate(lazy.questions) if vocab.answer_index(q.answer) < 0]
    assert unseen and all(int(lazy[i]["answer"]) == -1 for i in unseen)


def test_patch_store_is_averaged_over_patches(tmp_path):
    questions, audio, _, ids = make_task(2, seconds=6, audio_dim=3, visual_dim=4)
    patches = np.random.default_rng(0).normal(size=(2, 6, 6, 5)).astype(np.float32)  # [N, T, P, D]
    meta = StoreMeta("visual_patch", "synthetic", 5, 1.0, 6, {"random_init": True, "seed": 0}, {})
    v = open_store(write_store(tmp_path / "patch.zarr", patches, [6, 6], ids, meta))
    ds = AVQADataset(questions, Vocab.from_questions(questions), None, v)
    assert "audio" not in ds[0]
    assert np.allclose(ds[0]["visual"].numpy(), patches[0].mean(axis=1), atol=1e-6)


def test_question_only_dataset_has_no_features(task):
    _, questions, *_ = task
    ds = AVQADataset(questions, Vocab.from_questions(questions))
    assert len(ds) == 20 and ds.dropped == 0 and set(ds[0]) == {
        "question", "qtype", "keywords", "answer", "question_id", "video_id", "question_len_host"}


@pytest.mark.parametrize("stride", [1, 2])
def test_batched_reads_equal_item_reads(task, tmp_path, stride):
    """`__getitems__` (what the DataLoader calls) reads a batch in one selection per stream; it must
    give exactly the items `__getitem__` gives, repeated videos and patch stores included."""
    _, questions, *_, a, v = task
    vocab = Vocab.from_questions(questions)
    ids = [q.video_id for q in questions]
    patches = np.random.default_rng(1).normal(size=(4, 7, 3, 4)).astype(np.float32)
    meta = StoreMeta("visual_patch", "synthetic", 4, 1.0, 7, {"random_init": True, "seed": 0}, {})
    p = open_store(write_store(tmp_path / "patch.zarr", patches, [7, 7, 5, 1], sorted(set(ids))[:4], meta))
    for visual in (v, p):
        ds = AVQADataset(questions, vocab, a, visual, stride=stride)
        indices = [5, 0, 9, 5, 15, 1]  # shuffled, with a repeated question and shared videos
        batch = ds.__getitems__(indices)
        for got, i in zip(batch, indices):
            want = ds[i]
            assert got.keys() == want.keys()
            for key, value in want.items():
                assert (got[key] == value) if key == "video_id" else torch.equal(got[key], value), key
