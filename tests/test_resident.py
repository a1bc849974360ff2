"""Features held on the device: the same batches as the DataLoader, hence the same training run."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from avqa_synthetic import make_task, write_task_stores
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.resident import ResidentBatches
from mcd_core.data.vocab import Vocab
from mcd_core.features.store import open_store
from mcd_core.models import variant_config
from mcd_core.training.batches import model_precision, use_resident
from mcd_core.training.config import TrainConfig
from mcd_core.training.loop import train


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resident")
    questions, audio, visual, ids = make_task(12, seconds=6, audio_dim=4, visual_dim=5)
    lengths = [6, 3, 6, 1, 6, 6, 5, 6, 6, 2, 6, 6]
    a, v = write_task_stores(tmp, audio, visual, ids, lengths=lengths)
    vocab = Vocab.from_questions(questions)
    return tmp, questions, vocab, open_store(a), open_store(v)


def test_batches_equal_the_dataloaders_in_order(task):
    _, questions, vocab, a, v = task
    ds = AVQADataset(questions, vocab, a, v, stride=2)
    resident = ResidentBatches(ds)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    ours = list(resident.batches(7, shuffle=True, generator=g1))
    theirs = list(DataLoader(ds, batch_size=7, shuffle=True, generator=g2))
    assert len(ours) == len(theirs) == -(-len(ds) // 7)
    for b1, b2 in zip(ours, theirs):
        assert b1.keys() == b2.keys()
        for key in b1:
            if key == "video_id":
                assert b1[key] == list(b2[key])
            else:
                assert torch.equal(b1[key], b2[key]), key
    assert torch.equal(g1.get_state(), g2.get_state())  # both consumed the generator alike
    plain = [int(q) for b in resident.batches(5) for q in b["question_id"]]
    assert plain == [q.question_id for q in ds.questions]
    assert ResidentBatches.nbytes(ds) == 12 * 3 * (4 + 5) * 4  # 12 videos, T' = 3, float32


def test_training_on_either_path_gives_the_same_run(task):
    tmp, questions, vocab, a, v = task
    cfg = variant_config("mcd", d_model=16, word_dim=16, ffn_hidden=16, proj_dim=8, audio_dim=4, visual_dim=5,
                         vocab_size=len(vocab.words), n_object_words=len(vocab.object_words),
                         n_answers=len(vocab.answers))
    ds = AVQADataset(questions, vocab, a, v)
    runs = {}
    for residency in ("loader", "device"):
        tcfg = TrainConfig(epochs=2, batch_size=8, device="cpu", residency=residency)
        runs[residency] = train(cfg, tcfg, ds, ds, vocab, tmp / residency).history
    for r1, r2 in zip(runs["loader"], runs["device"]):
        assert r1["train_loss"] == pytest.approx(r2["train_loss"], rel=1e-6)
        assert r1["val_acc"] == r2["val_acc"]


def test_auto_residency_and_precision_on_cpu(task):
    _, questions, vocab, a, v = task
    ds = AVQADataset(questions, vocab, a, v)
    cpu = torch.device("cpu")
    assert use_resident(TrainConfig(in_memory=True), ds, cpu)
    assert not use_resident(TrainConfig(in_memory=False), ds, cpu)
    assert use_resident(TrainConfig(residency="device"), ds, cpu)
    assert model_precision(TrainConfig(), cpu) == "fp32"
    assert model_precision(TrainConfig(), torch.device("cuda")) == "bf16"
    assert np.isfinite(ResidentBatches.nbytes(ds))
