"""Model card: thop-convention counting by hooks, and Table VIII's 1.561 M per association block."""

import torch
from torch import nn

from mcd_core.cli import main
from mcd_core.scoring.modelcard import model_card, profile


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 3)
        self.unused = nn.Linear(4, 100)          # never runs: thop convention counts 0
        self.attn = nn.MultiheadAttention(4, 1)  # counts 0 under thop
        self.emb = nn.Embedding(10, 4)           # counts 0 under thop
        self.scale = nn.Parameter(torch.ones(7))  # bare parameter: 0
        self.bn = nn.BatchNorm1d(3)

    def forward(self, batch):
        x = batch["x"] * self.scale[0] + self.emb(batch["i"])               # (B, 4)
        x = x + self.attn(x[None], x[None], x[None])[0][0]                   # (B, 4)
        return self.bn(self.used(x))                                         # (B, 3)


def test_thop_convention_counts_only_run_hooked_modules():
    toy = _Toy().eval()
    params, macs = profile(toy, {"x": torch.randn(2, 4), "i": torch.tensor([1, 2])})
    assert params == (4 * 3 + 3) + (3 + 3)  # used Linear + BatchNorm affine
    attn_macs = 2 * (16 + 2 * 16 + 2 * 4 + 16)  # batch 2, L=1: q, k+v, QK^T + AV, out projections
    assert macs == 2 * 3 * 4 + attn_macs + 2 * 2 * 3


def test_one_association_block_adds_table_viii_params(tmp_path):
    rows = model_card(seconds=60, visual_dim=512, audio_dim=128, n_answers=42)
    per_block = [b.params_thop_m - a.params_thop_m for a, b in zip(rows, rows[1:])]
    for added in per_block:
        assert abs(added - 1.561) / 1.561 < 0.03, per_block
    assert all(r.params_plain_m > r.params_thop_m for r in rows)
    assert rows[0].macs_g < rows[1].macs_g < rows[2].macs_g
    out = tmp_path / "card.csv"
    assert main(["modelcard", "--out", str(out), "--seconds", "10"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("n_blocks,params_plain_m,params_thop_m,macs_g") and len(lines) == 4


def test_card_csv_keeps_the_field_order_and_the_asked_decimals(tmp_path):
    from dataclasses import dataclass

    from mcd_core.scoring.modelcard import write_card

    @dataclass
    class Row:
        name: str
        params_m: float
        steps: int

    out = tmp_path / "card.csv"
    write_card(out, [Row("a", 4.2967461, 12), Row("b", 6.0, 60)], decimals=6)
    assert out.read_text() == "name,params_m,steps\na,4.296746,12\nb,6.000000,60\n"
    write_card(out, [Row("a", 4.2967461, 12)])
    assert out.read_text() == "name,params_m,steps\na,4.297,12\n"
    assert not list(tmp_path.glob(".tmp-*"))                  # written atomically, nothing left beside
