"""The MCD model (Section III, Fig. 2/3), assembled from the switches of one `MCDConfig`."""

from __future__ import annotations

import torch
from torch import nn

from mcd_core.models.mcd.aggregator import Aggregator
from mcd_core.models.mcd.association import AssociationBlock, BlockSwitches
from mcd_core.models.mcd.config import MCDConfig
from mcd_core.models.mcd.fusion import CombinatorialEmbedding, LateFusion, LocalElementFusion
from mcd_core.models.common.heads import AnswerHead, ChoiceHead, projection_head
from mcd_core.models.common.layers import FeatureProjection, length_mask, masked_mean
from mcd_core.models.common.losses import ContrastTerm, ModelOutput
from mcd_core.models.common.text import OptionEncoder, QuestionEncoder, TextObjects


class MCD(nn.Module):
    def __init__(self, cfg: MCDConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        positional = cfg.positional == "sinusoidal"
        self.question = QuestionEncoder(cfg.vocab_size, cfg.word_dim, d, cfg.bilstm)
        self.question_proj = nn.Linear(d, d) if cfg.question_proj == "linear" else None
        self.audio_proj = FeatureProjection(cfg.audio_dim, d, positional)
        self.visual_proj = FeatureProjection(cfg.visual_dim, d, positional)
        switches = BlockSwitches(cfg.self_attn_audio, cfg.self_attn_visual,
                                 cfg.cross_audio_query, cfg.cross_visual_query)
        self.blocks = nn.ModuleList(AssociationBlock(d, cfg.n_heads, cfg.ffn_hidden, switches,
                                                     cfg.share_block_weights, cfg.cross_product == "matrix")
                                    for _ in range(cfg.n_blocks))
        self.aggregator = Aggregator(d, cfg.n_heads, cfg.topk_fraction)
        choice = cfg.n_options > 0
        self.text_objects = (TextObjects(self.question.embedding, cfg.n_object_words, d,
                                         options=choice and cfg.option_objects)
                             if cfg.text_objects else None)
        self.lef = LocalElementFusion(d, cfg.lef_visual, cfg.lef_audio, cfg.lef_product, cfg.lef_dropout)
        self.combine = CombinatorialEmbedding(d)
        self.late = (LateFusion(d, cfg.late_fusion, cfg.late_dropout, cfg.late_fusion_streams)
                     if cfg.late_fusion != "none" else None)
        if choice:  # multiple choice: a score per given option (AVQA)
            self.options = OptionEncoder(self.question, d, cfg.option_encoder)
            self.head = ChoiceHead(d, cfg.head_dropout, cfg.head_activation)
        else:
            self.options = None
            self.head = AnswerHead(d, cfg.n_answers, cfg.head_dropout, cfg.head_activation)
        # Theta: only the heads of losses that are switched on exist (Table X removes them).
        use_q = cfg.lambda_qv > 0 or cfg.lambda_qa > 0
        self.theta_q = projection_head(d, cfg.proj_dim) if use_q else None
        self.theta_v = projection_head(d, cfg.proj_dim) if cfg.lambda_qv > 0 else None
        self.theta_a = projection_head(d, cfg.proj_dim) if cfg.lambda_qa > 0 else None
        self.has_av_loss = (cfg.lambda_av > 0 and cfg.n_blocks > 0 and cfg.cross_audio_query
                            and cfg.cross_visual_query)

    def _aggregate(self, low: torch.Tensor, high: torch.Tensor, mask: torch.Tensor, f_q: torch.Tensor,
                   text: torch.Tensor, text_mask: torch.Tensor, stream: str,
                   clues: dict | None) -> torch.Tensor:
        levels = {"low": [("low", low)], "high": [("high", high)],
                  "both": [("low", low), ("high", high)]}[self.cfg.aggregator_levels]
        total = 0
        for level, f in levels:
            if clues is None:
                total = total + self.aggregator(f, mask, f_q, text, text_mask)
            else:  # the same clue, with the aggregator's selection kept for `mcd ask`
                clue, clues[f"{stream}/{level}"] = self.aggregator(f, mask, f_q, text, text_mask, True)
                total = total + clue
        return total                                                            # (B, D)

    def forward(self, batch: dict[str, torch.Tensor], return_clues: bool = False) -> ModelOutput:
        """`return_clues`: also return each aggregator call's `Selection` (outputs unchanged)."""
        cfg = self.cfg
        f_q, words, word_mask = self.question(batch["question"], batch.get("question_len_host"))               # (B, D), (B, L, D), (B, L)
        if self.question_proj is not None:  # Sec. III-A-2: f_q comes out of a linear projection
            f_q = self.question_proj(f_q)                                       # (B, D)
        if cfg.aggregator_text_keys == "sentence":
            words, word_mask = f_q.unsqueeze(1), torch.ones_like(word_mask[:, :1])  # (B, 1, D), (B, 1)
        f_a = self.audio_proj(batch["audio"])                                   # (B, Ta, D)
        f_v = self.visual_proj(batch["visual"])                                 # (B, Tv, D)
        mask_a = length_mask(batch["audio_len"], f_a.shape[1])                  # (B, Ta)
        mask_v = length_mask(batch["visual_len"], f_v.shape[1])                 # (B, Tv)
        F_a, F_v = masked_mean(f_a, mask_a), masked_mean(f_v, mask_v)           # (B, D) each
        high_a, high_v = f_a, f_v
        m_a = m_v = 0.0
        for block in self.blocks:
            high_a, high_v, cross_a, cross_v = block(high_a, high_v, mask_a, mask_v)
            if self.has_av_loss:  # Eq. 12: sum over blocks of the time-pooled cross-features
                m_a = m_a + masked_mean(cross_a, mask_a)                        # (B, D)
                m_v = m_v + masked_mean(cross_v, mask_v)                        # (B, D)
        clues: dict | None = {} if return_clues else None
        clue_v = self._aggregate(f_v, high_v, mask_v, f_q, words, word_mask, "visual", clues)  # f_vq hat
        clue_a = self._aggregate(f_a, high_a, mask_a, f_q, words, word_mask, "audio", clues)   # f_aq hat
        f_t = (self.text_objects(batch["question"], batch["qtype"], batch["keywords"], batch.get("options"))
               if self.text_objects is not None else None)                      # (B, D)
        f_g = self.lef(f_t, F_v, F_a)                                           # (B, D)
        f_q_hat = self.combine(f_g, clue_v, clue_a)                             # (B, D)
        if self.late is not None:
            f_q_hat = self.late(f_q_hat, masked_mean(high_v, mask_v), masked_mean(high_a, mask_a))
        if self.options is not None:
            logits = self.head(f_q_hat, self.options(batch["options"]))         # (B, K)
        else:
            logits = self.head(f_q_hat)                                         # (B, n_answers)
        contrast = []
        if self.theta_q is not None:
            z_q = self.theta_q(f_q_hat)                                         # (B, P)
            if self.theta_v is not None:
                contrast.append(ContrastTerm("qv", cfg.lambda_qv, cfg.temperature, z_q, self.theta_v(F_v)))
            if self.theta_a is not None:
                contrast.append(ContrastTerm("qa", cfg.lambda_qa, cfg.temperature, z_q, self.theta_a(F_a)))
        if self.has_av_loss:
            contrast.append(ContrastTerm("av", cfg.lambda_av, cfg.temperature, m_v, m_a))
        return ModelOutput(logits, contrast, clues)
