"""The training loop waits for nothing (issue 20): one training step of MCD asks for no read of a
tensor value back to the host (`.item()`, `.cpu()`, a tensor in an `if`, ...), counted on the CPU by
`mcd_core.common.syncs`, the counter `bench/train_throughput.py` prints as `syncs/step`."""

from __future__ import annotations

import torch

from avqa_synthetic import make_task, write_task_stores
from mcd_core.common.syncs import count_host_reads
from mcd_core.data.dataset import AVQADataset
from mcd_core.data.resident import ResidentBatches
from mcd_core.data.vocab import Vocab
from mcd_core.features.store import open_store
from mcd_core.models import build_model, variant_config
from mcd_core.training.loop import _train_epoch


def _epoch_reads(model, batches, steps: int) -> int:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with count_host_reads() as reads:
        _train_epoch(model, iter(batches[:steps]), opt, torch.device("cpu"), "fp32", desc="test")
    return sum(reads.values())


def test_the_counter_sees_each_kind_of_read_and_none_inside_torch():
    t = torch.tensor([1.5, 2.0])
    with count_host_reads() as reads:
        t.sum().item()
        t.tolist()
        if t.sum() > 0:
            float(t[0])
        torch.optim.Adam([torch.nn.Parameter(t.clone())]).step()   # torch's own (host) step counter
    assert reads == {"item": 1, "tolist": 1, "__bool__": 1, "__float__": 1}
    assert torch.Tensor.item is not None and "read" not in torch.Tensor.item.__name__  # restored


def test_a_training_step_reads_nothing_back_and_an_epoch_reads_once(tmp_path):
    questions, audio, visual, ids = make_task(12, seconds=6, audio_dim=4, visual_dim=5)
    a, v = write_task_stores(tmp_path, audio, visual, ids)
    vocab = Vocab.from_questions(questions)
    dataset = AVQADataset(questions, vocab, open_store(a), open_store(v))
    cfg = variant_config("mcd", n_answers=len(vocab.answers), vocab_size=len(vocab.words),
                         n_object_words=len(vocab.object_words), audio_dim=4, visual_dim=5, d_model=16,
                         word_dim=16, ffn_hidden=32, proj_dim=16)
    batches = list(ResidentBatches(dataset).batches(4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert len(batches) >= 3
    torch.manual_seed(0)
    model = build_model(cfg)
    one, three = _epoch_reads(model, batches, 1), _epoch_reads(model, batches, 3)
    assert three == one          # per step: 0
    assert 0 < one <= 8          # the epoch's sums, read once at its end
