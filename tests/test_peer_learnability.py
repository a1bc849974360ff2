"""Learnability of the peers: AVST, PSTP-Net and TSPM learn the synthetic task (tests/avqa_synthetic.py)
from their own extra stores (tests/peer_stores.py) beyond the per-template answer prior.

Each peer reads audio, visual and the question, so each must beat the prior on the types that need
audio only (Audio/Counting) and visual only (Visual/Counting), and overall. None of them has a time
encoding (their attentions are permutation invariant over time), so no claim is made on the
temporal type.
"""

import pytest
import torch

from avqa_synthetic import make_task, write_task_stores
from peer_stores import peer_inputs, write_peer_stores
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.inputs import open_inputs
from mcd_core.data.vocab import Vocab
from mcd_core.features.store import open_store
from mcd_core.models import architecture_inputs, get_variant, variant_config
from mcd_core.scoring.metrics import score
from mcd_core.scoring.predict import load_checkpoint, predict_answers
from mcd_core.scoring.prior import fit_prior
from mcd_core.training.config import TrainConfig
from mcd_core.training.loop import train

pytestmark = pytest.mark.slow

TRAIN = TrainConfig(epochs=10, batch_size=32, lr=1e-3, lr_step=8, seed=0, device="cpu")
SIZES = dict(d_model=32, word_dim=32, ffn_hidden=64, segments=5, top_k=2, top_m=3, n_heads=4)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("peer_learn")
    train_q, train_a, train_v, train_ids = make_task(300, seed=0)
    test_q, test_a, test_v, test_ids = make_task(80, seed=1, first_id=10**6)
    vocab = Vocab.from_questions(train_q)
    split = {}
    for name, (qs, a, v, ids) in {"train": (train_q, train_a, train_v, train_ids),
                                  "test": (test_q, test_a, test_v, test_ids)}.items():
        audio, visual = write_task_stores(tmp, a, v, ids, name=name)
        split[name] = (qs, audio, visual, write_peer_stores(tmp, qs, v, ids, name=name))
    prior = fit_prior(train_q, key="template")
    return {"tmp": tmp, "vocab": vocab, "split": split, "test_q": test_q,
            "prior": score(test_q, {q.question_id: prior.predict(q) for q in test_q}).accuracy}


def dataset(task, variant, name):
    qs, audio, visual, extra = task["split"][name]
    arch = get_variant(variant).architecture
    inputs = open_inputs(architecture_inputs(arch), peer_inputs(extra, arch), arch)
    cfg_patches = arch == "pstp_net"
    return AVQADataset(qs, task["vocab"], open_store(audio),
                       open_store(extra["visual_patch"] if cfg_patches else visual) if arch != "avst" else None,
                       in_memory=True, inputs=inputs, keep_patches=cfg_patches)


@pytest.mark.parametrize("variant", ["avst", "pstp_net", "tspm"])
def test_peer_beats_the_prior_on_audio_and_visual_types(task, variant):
    vocab = task["vocab"]
    arch = get_variant(variant).architecture
    dims = {"avst": {"map_dim": 24}, "pstp_net": {"visual_dim": 24, "text_dim": 12},
            "tspm": {"visual_dim": 24, "tome_dim": 24, "text_dim": 12}}[arch]
    fields = {k: v for k, v in SIZES.items() if k in variant_config(variant).to_dict()}
    cfg = variant_config(variant, vocab_size=len(vocab.words), n_object_words=len(vocab.object_words),
                         n_answers=len(vocab.answers), audio_dim=16, **dims, **fields)
    test_set = dataset(task, variant, "test")
    out = task["tmp"] / variant
    train(cfg, TRAIN, dataset(task, variant, "train"), test_set, vocab, out)
    model = load_checkpoint(out / "last.pt")[0]
    preds = predict_answers(model, test_set, vocab.answers, 128, torch.device("cpu"))
    acc = score(task["test_q"], {q.question_id: p for q, p in zip(test_set.questions, preds)}).accuracy
    prior = task["prior"]
    print(variant, acc, "prior", prior)
    assert acc["overall"] >= prior["overall"] + 10, (acc, prior)
    for column in ("audio_counting", "visual_counting"):
        assert acc[column] >= prior[column] + 12, (column, acc, prior)
