"""Answer head (dropout, activation, linear) and the projection heads Theta of Eq. 11."""

from __future__ import annotations

from torch import nn

from mcd_core.models.common.layers import ACTIVATIONS


class AnswerHead(nn.Sequential):
    """Logits over the answers from the combinatorial question embedding only (no a/v fusion)."""

    def __init__(self, d_model: int, n_answers: int, dropout: float, activation: str):
        super().__init__(nn.Dropout(dropout), ACTIVATIONS[activation](), nn.Linear(d_model, n_answers))


def projection_head(d_model: int, proj_dim: int) -> nn.Linear:
    """Theta: a linear map into the shared latent space of the contrastive losses (a plain
    nn.Linear, so that profilers that match exact module types count it)."""
    return nn.Linear(d_model, proj_dim)
