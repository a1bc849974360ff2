"""The Association Block (Eq. 1-5): self-attention plus a soft temporal cross-attention.

For modality x with other modality y (Eq. 2/3):
    c      = phi_cross(F_y, f_x, f_x)             F_y = time-mean of f_y, the "dimension compression"
    f_x^c  = f_x * c                               the cross-feature, kept for Eq. 12/13
    f_x2y  = phi_self(f_x, f_x, f_x) + f_x^c
    f_hat  = f_x + BN(f_x2y) + BN(FFN(f_x + BN(f_x2y)))      (Eq. 4/5)
The paper writes the cross-feature as f_x x W^cross with W^cross in R^{D x D}, but the cross output c
is 1 x D; we read W^cross = diag(c), i.e. the broadcast (element-wise) product, which keeps L x D and
lets the global query re-weight every channel of every step. `matrix=True` (variant
mcd_assoc_matrix) takes a full W^cross = diag(c) M with a learnt D x D M: f_x^c = (f_x * c) M.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mcd_core.models.common.layers import masked_mean


def _batch_norm(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    return bn(x.transpose(1, 2)).transpose(1, 2)  # BN over D: (B, T, D) -> (B, D, T) -> (B, T, D)


class BlockNorms(nn.Module):
    """The two BatchNorms of Eq. 4/5. Always one pair per modality, also when the attention and FFN
    weights are shared: audio and visual statistics differ, and running statistics mixed from both
    would make evaluation-mode outputs differ from training-mode ones."""

    def __init__(self, d_model: int, has_attention: bool):
        super().__init__()
        self.attn = nn.BatchNorm1d(d_model) if has_attention else None
        self.ffn = nn.BatchNorm1d(d_model)


class ModalityUpdate(nn.Module):
    """Attention and FFN weights of one modality's half of a block; shared by both when asked."""

    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, has_self: bool, has_cross: bool,
                 matrix: bool = False):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True) if has_self else None
        self.cross_attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True) if has_cross else None
        # M of W^cross = diag(c) M; a plain Linear so that profilers count it
        self.cross_matrix = nn.Linear(d_model, d_model, bias=False) if has_cross and matrix else None
        self.ffn = nn.Sequential(nn.Linear(d_model, ffn_hidden), nn.ReLU(), nn.Linear(ffn_hidden, d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor, other_summary: torch.Tensor,
                use_self: bool, use_cross: bool, norms: BlockNorms) -> tuple[torch.Tensor, torch.Tensor | None]:
        pad = ~mask                                                            # (B, T) True on padding
        terms = []
        cross = None
        if use_self:
            terms.append(self.self_attn(x, x, x, key_padding_mask=pad, need_weights=False)[0])  # (B, T, D)
        if use_cross:
            c = self.cross_attn(other_summary.unsqueeze(1), x, x, key_padding_mask=pad,
                                need_weights=False)[0]                         # (B, 1, D)
            cross = x * c                                                      # (B, T, D)
            if self.cross_matrix is not None:
                cross = self.cross_matrix(cross)                               # (B, T, D)
            terms.append(cross)
        if terms:
            x2y = _batch_norm(norms.attn, sum(terms))                          # (B, T, D)
            base = x + x2y
        else:  # Table VII "w/o attention": the block reduces to its residual FFN
            x2y, base = 0.0, x
        return x + x2y + _batch_norm(norms.ffn, self.ffn(base)), cross         # (B, T, D)


@dataclass
class BlockSwitches:
    self_audio: bool
    self_visual: bool
    cross_audio_query: bool   # audio summary queries visual: adds the cross term to visual
    cross_visual_query: bool  # visual summary queries audio: adds the cross term to audio


class AssociationBlock(nn.Module):
    """Updates audio and visual together; returns both plus their cross-features (or None)."""

    def __init__(self, d_model: int, n_heads: int, ffn_hidden: int, switches: BlockSwitches, shared: bool,
                 matrix: bool = False):
        super().__init__()
        self.s = switches
        self.norm_audio = BlockNorms(d_model, switches.self_audio or switches.cross_visual_query)
        self.norm_visual = BlockNorms(d_model, switches.self_visual or switches.cross_audio_query)
        if shared:
            has_self = switches.self_audio or switches.self_visual
            has_cross = switches.cross_audio_query or switches.cross_visual_query
            self.audio = self.visual = ModalityUpdate(d_model, n_heads, ffn_hidden, has_self, has_cross, matrix)
        else:
            self.audio = ModalityUpdate(d_model, n_heads, ffn_hidden, switches.self_audio,
                                        switches.cross_visual_query, matrix)
            self.visual = ModalityUpdate(d_model, n_heads, ffn_hidden, switches.self_visual,
                                         switches.cross_audio_query, matrix)

    def forward(self, f_a: torch.Tensor, f_v: torch.Tensor, mask_a: torch.Tensor, mask_v: torch.Tensor):
        F_a, F_v = masked_mean(f_a, mask_a), masked_mean(f_v, mask_v)         # (B, D) each
        a_hat, a_cross = self.audio(f_a, mask_a, F_v, self.s.self_audio, self.s.cross_visual_query,
                                    self.norm_audio)
        v_hat, v_cross = self.visual(f_v, mask_v, F_a, self.s.self_visual, self.s.cross_audio_query,
                                     self.norm_visual)
        return a_hat, v_hat, a_cross, v_cross
