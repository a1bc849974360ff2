"""Losses: InfoNCE with cosine similarity and in-batch negatives (Eq. 11, 13), total loss (Eq. 14),
and plain weighted terms a model computes itself (AVST's audio-visual match loss); for multiple
choice the official HCRN+HAVF hinge loss as an alternative answer loss."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F


@dataclass
class ContrastTerm:
    name: str                 # "qv", "qa" or "av": the loss column in metrics.csv
    weight: float             # its factor in Eq. 14
    temperature: float        # tau of its InfoNCE
    anchor: torch.Tensor      # (B, P) rows i pair with positive row i
    positive: torch.Tensor    # (B, P)


@dataclass
class LossTerm:
    name: str                 # the loss column in metrics.csv (training/curves.py LOSS_NAMES)
    weight: float             # its factor in the total loss
    value: torch.Tensor       # () the loss itself, already reduced


@dataclass
class ModelOutput:
    logits: torch.Tensor                  # (B, n_answers)
    contrast: list[ContrastTerm]          # empty for models without semantic approximation
    clues: dict[str, Any] | None = None   # asked for only (MCD: "<stream>/<level>" -> Selection)
    losses: list[LossTerm] = field(default_factory=list)  # extra terms (AVST: "match"), training only
    answer_weight: float = 1.0            # 0: no answer loss (AVST's grounding stage trains the match alone)


def info_nce(anchor: torch.Tensor, positive: torch.Tensor, temperature: float) -> torch.Tensor:
    """-log softmax of the matched pair among the batch, cosine similarity / tau (Eq. 11, 13)."""
    sim = F.normalize(anchor, dim=-1) @ F.normalize(positive, dim=-1).T / temperature  # (B, B)
    return F.cross_entropy(sim, torch.arange(sim.shape[0], device=sim.device))


ANSWER_LOSSES = ("ce", "hinge")


def choice_hinge(scores: torch.Tensor, answers: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Multiple-choice hinge loss: for each wrong option max(0, margin + s_wrong - s_right), summed
    over the wrong options, averaged over the questions (rows with answer -1 are ignored)."""
    keep = answers >= 0
    scores, answers = scores[keep], answers[keep]                            # (B', K), (B',)
    if not len(answers):
        return scores.sum() * 0.0
    right = scores.gather(1, answers[:, None])                               # (B', 1)
    violation = F.relu(margin + scores - right)                              # (B', K)
    wrong = torch.ones_like(violation).scatter_(1, answers[:, None], 0.0)    # 0 at the right option
    return (violation * wrong).sum(1).mean()


def total_loss(output: ModelOutput, answers: torch.Tensor, answer_loss: str = "ce",
               margin: float = 1.0) -> dict[str, torch.Tensor]:
    """Eq. 14: answer loss plus each weighted contrastive term; returns every part.

    `answer_loss`: "ce" cross-entropy over the logits (over the options' scores for multiple
    choice), "hinge" the multiple-choice hinge loss with `margin` (HCRN+HAVF's, margin 1).
    Rows with answer -1 (never seen in training) are ignored by the answer loss.
    """
    if answer_loss not in ANSWER_LOSSES:
        raise ValueError(f"answer_loss must be one of {ANSWER_LOSSES}, got {answer_loss!r}")
    parts: dict[str, torch.Tensor] = {}
    if output.answer_weight:
        parts["answer"] = (F.cross_entropy(output.logits, answers, ignore_index=-1) if answer_loss == "ce"
                           else choice_hinge(output.logits, answers, margin))
        total = output.answer_weight * parts["answer"]
    else:
        total = output.logits.sum() * 0.0   # keeps the graph's device and dtype
    for term in output.contrast:
        parts[term.name] = info_nce(term.anchor, term.positive, term.temperature)
        total = total + term.weight * parts[term.name]
    for extra in output.losses:
        parts[extra.name] = extra.value
        total = total + extra.weight * extra.value
    parts["total"] = total
    return parts
