"""Answer head (dropout, activation, linear) and the projection heads Theta of Eq. 11."""

from __future__ import annotations

import torch
from torch import nn

from mcd_core.models.common.layers import ACTIVATIONS


class AnswerHead(nn.Sequential):
    """Logits over the answers from the combinatorial question embedding only (no a/v fusion)."""

    def __init__(self, d_model: int, n_answers: int, dropout: float, activation: str):
        super().__init__(nn.Dropout(dropout), ACTIVATIONS[activation](), nn.Linear(d_model, n_answers))


class ChoiceHead(nn.Module):
    """One score per answer option from the combinatorial question embedding and the option's
    embedding: Linear(dropout(act(f_q_hat * f_o + f_o))) -> 1. The product lets what the question,
    audio and visual carry pick an option; the plain term lets the option's own text count."""

    def __init__(self, d_model: int, dropout: float, activation: str):
        super().__init__()
        self.score = nn.Sequential(nn.Dropout(dropout), ACTIVATIONS[activation](), nn.Linear(d_model, 1))

    def forward(self, f_q_hat: torch.Tensor, options: torch.Tensor) -> torch.Tensor:
        joint = f_q_hat.unsqueeze(1) * options + options                    # (B, K, D)
        return self.score(joint).squeeze(-1)                                # (B, K)


def projection_head(d_model: int, proj_dim: int) -> nn.Linear:
    """Theta: a linear map into the shared latent space of the contrastive losses (a plain
    nn.Linear, so that profilers that match exact module types count it)."""
    return nn.Linear(d_model, proj_dim)
