"""Model card: parameters and compute of MCD for N = 1, 2, 3 association blocks (Table VIII).

Two parameter conventions, side by side (reference-facts §4):
- plain: every trainable parameter of the model (what an optimizer updates);
- thop: the thop profiler's count, which the paper used: only modules of hooked types (Linear,
  LSTM, BatchNorm/LayerNorm, Conv) that RUN in the profiled forward count, each once;
  nn.MultiheadAttention (its in-projection is a bare Parameter, its out_proj never runs as a module),
  nn.Embedding and bare nn.Parameter count zero.
Compute: our own count of multiply-accumulates (MACs) for one question, by forward hooks: Linear
(in x out per output row), LSTM (4 h (in + h) per step and direction), MultiheadAttention (q/k/v/out
projections plus Q K^T and A V), BatchNorm (2 per element); element-wise ops, softmax, pooling and
embeddings are not counted. thop calls such a count "FLOPs"; the paper's FLOPs could not be
reproduced (reference-facts §4), so ours are a documented convention beside them, not a match.
The card per part of the model, and which convention comes near the paper's counts: cardparts.py,
docs/table8.md.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from mcd_core.common.atomic import write_text
from mcd_core.models import build_model, variant_config
from mcd_core.models.mcd.config import MCDConfig

THOP_COUNTED_TYPES = (nn.Linear, nn.LSTM, nn.GRU, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm,
                      nn.Conv1d, nn.Conv2d)
PAPER_TABLE_VIII = {1: (6.026, 2.173), 2: (7.587, 2.542), 3: (9.148, 2.850)}  # N: (params M, FLOPs G)
# The paper's Table VIII N = 2 row (76.12 %) is the Swin-V2-L model of Table IV (1536-d frames, Sec.
# IV-A-2), so the card is computed for that input by default; 512 gives the ResNet-18 / CLIP setting.
PAPER_VISUAL_DIM = 1536
VISUAL_SETTINGS = {512: "ResNet-18 / CLIP ViT-B/32 (512-d)", 768: "CLIP ViT-L/14 (768-d)",
                   1536: "Swin-V2-L (1536-d), the paper's Table VIII setting", 2048: "ResNeXt-101 (2048-d)"}


def plain_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _lstm_macs(m: nn.LSTM, inputs) -> int:
    x = inputs[0]
    steps = x.data.shape[0] if isinstance(x, PackedSequence) else x.shape[0] * x.shape[1]
    dirs = 2 if m.bidirectional else 1
    return steps * dirs * 4 * m.hidden_size * (m.input_size + m.hidden_size)


def _mha_macs(m: nn.MultiheadAttention, inputs) -> int:
    q, k = inputs[0], inputs[1]
    bq, lq, e = q.shape if m.batch_first else (q.shape[1], q.shape[0], q.shape[2])
    lk = k.shape[1] if m.batch_first else k.shape[0]
    return bq * (lq * e * e + 2 * lk * e * e + 2 * lq * lk * e + lq * e * e)


def _module_macs(m: nn.Module, inputs, output) -> int:
    """MACs of one call of a hooked module (0 for types outside the convention)."""
    if type(m) is nn.Linear:
        return output.numel() * m.in_features
    if type(m) is nn.LSTM:
        return _lstm_macs(m, inputs)
    if type(m) is nn.MultiheadAttention:
        return _mha_macs(m, inputs)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
        return 2 * inputs[0].numel()
    return 0


def profile_modules(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[dict[str, int], int]:
    """Per module name, its thop-convention parameters (its own, for modules of counted types that ran
    in one forward pass of `batch`; a shared module under its first name), and the MACs of the pass."""
    ran: dict[int, nn.Module] = {}
    macs = [0]

    def hook(module, inputs, output):
        ran[id(module)] = module
        macs[0] += _module_macs(module, inputs, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for h in handles:
            h.remove()
    counts = {name: sum(p.numel() for p in m.parameters(recurse=False))
              for name, m in model.named_modules() if id(m) in ran and type(m) in THOP_COUNTED_TYPES}
    return counts, macs[0]


def profile(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(thop-convention parameter count, MACs) of one forward pass of `batch`."""
    counts, macs = profile_modules(model, batch)
    return sum(counts.values()), macs


def example_batch(cfg: MCDConfig, seconds: int, question_len: int = 14) -> dict[str, torch.Tensor]:
    """One question of full length and one video of `seconds` real steps."""
    g = torch.Generator().manual_seed(0)
    return {"question": torch.randint(2, cfg.vocab_size, (1, question_len), generator=g),
            "qtype": torch.randint(2, cfg.n_object_words, (1, 2), generator=g),
            "keywords": torch.randint(2, cfg.n_object_words, (1, 4), generator=g),
            "audio": torch.randn(1, seconds, cfg.audio_dim, generator=g),
            "visual": torch.randn(1, seconds, cfg.visual_dim, generator=g),
            "audio_len": torch.tensor([seconds]), "visual_len": torch.tensor([seconds])}


@dataclass
class CardRow:
    n_blocks: int
    params_plain_m: float       # all trainable parameters, millions
    params_thop_m: float        # thop convention, millions
    macs_g: float               # our MAC count per question, billions
    paper_params_m: float       # Table VIII "Training Param (M)"
    paper_flops_g: float        # Table VIII "FLOPs (G)"
    visual_dim: int = PAPER_VISUAL_DIM  # width of the visual features fed to MCD
    setting: str = ""           # which backbone that width is


def card_model(n_blocks: int, visual_dim: int, audio_dim: int, n_answers: int, vocab_size: int,
               n_object_words: int):
    """MCD with `n_blocks` association blocks at the card's input sizes, built from seed 0, and its
    config (the model card and its per-part split count the same model)."""
    torch.manual_seed(0)
    cfg = variant_config("mcd", n_blocks=n_blocks, visual_dim=visual_dim, audio_dim=audio_dim,
                         n_answers=n_answers, vocab_size=vocab_size, n_object_words=n_object_words)
    return build_model(cfg).eval(), cfg


def model_card(seconds: int = 60, visual_dim: int = PAPER_VISUAL_DIM, audio_dim: int = 128, n_answers: int = 42,
               vocab_size: int = 95, n_object_words: int = 64, blocks=(1, 2, 3)) -> list[CardRow]:
    rows = []
    for n in blocks:
        model, cfg = card_model(n, visual_dim, audio_dim, n_answers, vocab_size, n_object_words)
        thop, macs = profile(model, example_batch(cfg, seconds))
        paper = PAPER_TABLE_VIII.get(n, (float("nan"), float("nan")))
        rows.append(CardRow(n, plain_params(model) / 1e6, thop / 1e6, macs / 1e9, *paper, visual_dim,
                            VISUAL_SETTINGS.get(visual_dim, f"{visual_dim}-d visual features")))
    return rows


def write_card(path: str | os.PathLike, rows: list, decimals: int = 3) -> None:
    """A card's rows (dataclasses) as CSV, floats with `decimals` digits, written atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(asdict(rows[0])), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.{decimals}f}" if isinstance(v, float) else v) for k, v in asdict(row).items()})
    write_text(path, buf.getvalue())
