"""Model card of the peer models (AVST, PSTP-Net, TSPM): parameters in both conventions and MACs,
beside each paper's figure and the count measured from its released code (peer-facts §3-5).

Conventions as in `modelcard.py`: "plain" = every trainable parameter; "thop" = the thop profiler's
count (only hooked module types that run in the profiled forward; nn.MultiheadAttention,
nn.Embedding and bare parameters count zero). Each peer is profiled on the released code's input
shapes: AVST 10 steps (every 6th of 60 s) of 14 x 14 ResNet-18 maps and a 93-word vocabulary;
PSTP-Net 60 s of 49 CLIP ViT-B/32 patches and 77 word tokens; TSPM 60 s of CLIP ViT-L/14@336
frames and 10 ToMe frames of 14 tokens; 42 answers. MACs are our hook count (modelcard.py), which
also counts attention; the papers' FLOPs are given beside them, not matched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mcd_core.models import build_model, variant_config
from mcd_core.scoring.modelcard import plain_params, profile

# variant: (steps, paper params M, paper FLOPs G, thop count of the released code, note)
PEERS = {
    "avst": (10, 18.48, 3.188, 5_767_852,
             "the paper's 18.48 M is no count of the released code: thop on features 5.768 M (this row), "
             "all parameters 22.30 M (incl. an unused ResNet-18 object, 11.69 M), thop with the ResNet-18 "
             "run 16.94 M, used modules + whole visual net 19.61 M; its 3.188 GFLOPs is about one stride-1 "
             "ResNet-18 frame pass (3.058 GMACs) plus the head"),
    "pstp_net": (60, 4.297, 1.223, 4_296_746,
                 "thop counts the selection modules (they run) though their scorers get no gradient"),
    "tspm": (60, 6.22, 1.42, 6_000_682,
             "released code: 6.00 M thop (its unused AV_Attn norms dropped), 12.31 M plain; paper 6.22 M"),
}
RELEASED_SHAPES = {"vocab_size": 93, "n_answers": 42, "n_object_words": 64}


@dataclass
class PeerRow:
    variant: str
    params_plain_m: float       # all trainable parameters of our model, millions
    params_thop_m: float        # thop convention, millions
    released_thop_m: float      # thop count measured from the released code (peer-facts)
    paper_params_m: float       # the paper's "Training Param (M)" (MCD Table VIII; TSPM's own paper)
    macs_g: float               # our MAC count per question, billions
    paper_flops_g: float        # the paper's FLOPs (G)
    steps: int                  # time steps profiled
    note: str = ""


def example_batch(cfg, steps: int) -> dict[str, torch.Tensor]:
    """One question of 14 words and the feature inputs of `cfg` in its released shapes."""
    g = torch.Generator().manual_seed(0)
    batch = {"question": torch.randint(2, cfg.vocab_size, (1, 14), generator=g)}
    for key, shape in cfg.input_shapes(steps).items():
        batch[key] = torch.randn(1, *shape, generator=g)
        batch[f"{key}_len"] = torch.tensor([shape[0]])
    return batch


def peer_card(variants=tuple(PEERS)) -> list[PeerRow]:
    rows = []
    for name in variants:
        steps, paper_params, paper_flops, released, note = PEERS[name]
        torch.manual_seed(0)
        cfg = variant_config(name, **RELEASED_SHAPES)
        model = build_model(cfg).eval()
        thop, macs = profile(model, example_batch(cfg, steps))
        rows.append(PeerRow(name, plain_params(model) / 1e6, thop / 1e6, released / 1e6, paper_params,
                            macs / 1e9, paper_flops, steps, note))
    return rows
