"""Table VIII explained: MCD's parameters per part, under the counting conventions the paper may
have used (docs/table8.md).

A part is one top-level module of the model, each association block on its own (a ModuleList's
members). Per part, three counts by module type:
- plain: every trainable parameter (what an optimizer updates);
- no_embedding: plain without nn.Embedding weights (word vectors frozen or pretrained, left out);
- thop: the thop convention of `modelcard.profile_modules` (hooked types that ran; attention,
  embeddings and bare parameters count zero).
and two conventions that also leave whole parts out of the thop count:
- thop_inference: without the projection heads Theta, which only feed the training losses (our
  forward computes them, so a profiler counts them unless the forward skips them);
- thop_question_features: thop_inference without the question encoder, i.e. the question enters
  as a precomputed sentence feature, as in the forward that thop profiled for PSTP-Net's 4.297 M.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from mcd_core.scoring.modelcard import (PAPER_TABLE_VIII, PAPER_VISUAL_DIM, card_model, example_batch,
                                        profile_modules)

TRAINING_ONLY = ("theta_q", "theta_v", "theta_a")
QUESTION_ENCODER = ("question",)
CONVENTIONS = ("plain", "no_embedding", "thop", "thop_inference", "thop_question_features")
_EXCLUDED = {"thop_inference": TRAINING_ONLY, "thop_question_features": TRAINING_ONLY + QUESTION_ENCODER}


def paper_fixed_and_step() -> tuple[float, float]:
    """(fixed part, per-block step) in M implied by the paper's N = 1 and N = 3 rows."""
    step = (PAPER_TABLE_VIII[3][0] - PAPER_TABLE_VIII[1][0]) / 2
    return PAPER_TABLE_VIII[1][0] - step, step


def part_of(name: str, model: nn.Module) -> str:
    """The part a module or parameter name belongs to: its top-level module, or for a ModuleList
    (the association blocks) the list's member."""
    head, _, rest = name.partition(".")
    if isinstance(getattr(model, head, None), nn.ModuleList) and rest:
        return f"{head}.{rest.partition('.')[0]}"
    return head


def part_counts(model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, dict[str, int]]:
    """Part -> convention -> parameters, parts in the model's order; each parameter counted once."""
    thop, _ = profile_modules(model, batch)
    parts: dict[str, dict[str, int]] = {}
    seen: set[int] = set()
    for name, module in model.named_modules():
        if not name:
            continue
        part = parts.setdefault(part_of(name, model), dict.fromkeys(CONVENTIONS, 0))
        for p in module.parameters(recurse=False):
            if id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            part["plain"] += p.numel()
            if not isinstance(module, nn.Embedding):
                part["no_embedding"] += p.numel()
        part["thop"] += thop.get(name, 0)
    for name, part in parts.items():
        for convention in ("thop_inference", "thop_question_features"):
            part[convention] = 0 if name in _EXCLUDED[convention] else part["thop"]
    return {name: part for name, part in parts.items() if part["plain"] or part["thop"]}


@dataclass
class PartRow:
    n_blocks: int
    part: str
    params_plain_m: float
    params_no_embedding_m: float
    params_thop_m: float
    params_thop_inference_m: float
    params_thop_question_features_m: float
    visual_dim: int = PAPER_VISUAL_DIM


def part_card(seconds: int = 60, visual_dim: int = PAPER_VISUAL_DIM, audio_dim: int = 128, n_answers: int = 42,
              vocab_size: int = 95, n_object_words: int = 64, blocks=(1, 2, 3)) -> list[PartRow]:
    """One row per part of MCD with N blocks for each N, then a `total` row per N."""
    rows = []
    for n in blocks:
        model, cfg = card_model(n, visual_dim, audio_dim, n_answers, vocab_size, n_object_words)
        parts = part_counts(model, example_batch(cfg, seconds))
        parts["total"] = {c: sum(p[c] for p in parts.values()) for c in CONVENTIONS}
        rows += [PartRow(n, name, *(counts[c] / 1e6 for c in CONVENTIONS), visual_dim)
                 for name, counts in parts.items()]
    return rows


@dataclass
class ConventionRow:
    convention: str
    totals_m: dict[int, float]      # N -> total parameters, millions
    fixed_m: float                  # everything but the association blocks
    step_m: float                   # one association block

    def gap(self) -> tuple[float, float]:
        """Relative difference (ours / paper - 1) of the fixed part and of the step."""
        fixed, step = paper_fixed_and_step()
        return self.fixed_m / fixed - 1, self.step_m / step - 1


def conventions(rows: list[PartRow]) -> list[ConventionRow]:
    """Totals per N, fixed part and per-block step under each convention, from `part_card` rows."""
    out = []
    for convention in CONVENTIONS:
        column = f"params_{convention}_m"
        totals = {r.n_blocks: getattr(r, column) for r in rows if r.part == "total"}
        smallest = min(totals)
        blocks = [getattr(r, column) for r in rows if r.n_blocks == smallest and r.part.startswith("blocks.")]
        fixed = round(totals[smallest] - sum(blocks), 6)   # parts are whole parameters / 1e6
        out.append(ConventionRow(convention, totals, fixed, blocks[0] if blocks else 0.0))
    return out


def subsets_near(rows: list[PartRow], target_m: float, tolerance: float, convention: str = "thop") -> tuple[int, int]:
    """(subsets within `tolerance` of `target_m`, all subsets) of the non-block parts counted under
    `convention` at the smallest N: how many ways our parts can add up to a number like the paper's."""
    column = f"params_{convention}_m"
    smallest = min(r.n_blocks for r in rows)
    values = [getattr(r, column) for r in rows if r.n_blocks == smallest and r.part != "total"
              and not r.part.startswith("blocks.") and getattr(r, column)]
    near = sum(abs(sum(c) - target_m) <= tolerance * target_m
               for k in range(len(values) + 1) for c in itertools.combinations(values, k))
    return near, 2 ** len(values)
