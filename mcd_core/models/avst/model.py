"""AVST: audio-guided spatial grounding over 14 x 14 maps, question-guided temporal attention,
fusion, and the audio-visual match loss (peer-facts §3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from mcd_core.models.avst.config import AVSTConfig
from mcd_core.models.avst.negatives import draw_negatives, video_codes
from mcd_core.models.common.attention import QueryAttention
from mcd_core.models.common.losses import LossTerm, ModelOutput


class LSTMQuestion(nn.Module):
    """Word embedding, tanh, LSTM; the last hidden and cell states, tanh, linear -> (B, D)."""

    def __init__(self, vocab_size: int, word_dim: int, d_model: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.lstm = nn.LSTM(word_dim, d_model, batch_first=True)
        self.fc = nn.Linear(2 * d_model, d_model)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != 0).sum(1).clamp(min=1)
        packed = pack_padded_sequence(torch.tanh(self.embedding(tokens)), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, (h, c) = self.lstm(packed)
        return self.fc(torch.tanh(torch.cat([h[-1], c[-1]], dim=-1)))               # (B, D)


class AVST(nn.Module):
    def __init__(self, cfg: AVSTConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.grounding_only = cfg.stage == "grounding"
        if not self.grounding_only:
            self.question = LSTMQuestion(cfg.vocab_size, cfg.word_dim, d)
        # the modules of the grounding stage (released grounding_gen: fc_a1/2, fc_gl, fc1-4), whose
        # weights the QA stage starts from; they keep their names in both stages
        self.audio_fc1 = nn.Linear(cfg.audio_dim, d)
        self.audio_fc2 = nn.Linear(d, d)
        self.map_proj = nn.Linear(cfg.map_dim, d) if cfg.map_dim != d else None  # released: none (512)
        self.grounding_fc = nn.Linear(2 * d, d)
        self.match = (nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, d // 2), nn.ReLU(),
                                    nn.Linear(d // 2, d // 4), nn.ReLU(), nn.Linear(d // 4, 2))
                      if cfg.match_weight > 0 or self.grounding_only else None)
        if self.grounding_only:
            return
        self.temporal_audio = QueryAttention(d, cfg.n_heads, cfg.ffn_hidden, cfg.dropout)
        self.temporal_visual = QueryAttention(d, cfg.n_heads, cfg.ffn_hidden, cfg.dropout)
        self.fusion = nn.Linear(2 * d, d)
        self.answer = nn.Linear(d, cfg.n_answers)

    def ground(self, maps: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Audio-guided spatial grounding: maps (B, T, P, C), audio (B, T, D) -> visual (B, T, D)."""
        if self.map_proj is not None:
            maps = self.map_proj(maps)
        pooled = maps.mean(2)                                                       # (B, T, D)
        unit = F.normalize(maps, dim=-1)                                            # (B, T, P, D)
        where = torch.einsum("btpd,btd->btp", unit, F.normalize(audio, dim=-1)).softmax(-1)  # (B, T, P)
        attended = torch.einsum("btp,btpd->btd", where, unit)                       # (B, T, D)
        return self.grounding_fc(torch.tanh(torch.cat([pooled, attended], dim=-1)))

    def forward(self, batch: dict) -> ModelOutput:
        audio = self.audio_fc2(F.relu(self.audio_fc1(batch["audio"])))              # (B, T, D)
        maps = batch["visual_map"]                                                  # (B, T, P, C)
        steps = min(audio.shape[1], maps.shape[1])
        audio, maps = audio[:, :steps], maps[:, :steps]
        visual = self.ground(maps, audio)                                           # (B, T, D)
        losses = []
        if self.match is not None:  # runs in eval too, as in the released forward (profilers count it)
            match_pos = self.match(torch.cat([audio, visual], dim=-1))              # (B, T, 2)
        if self.match is not None and self.training:
            codes = video_codes(batch.get("video_id"), maps.shape[0], maps.device)
            negative_maps, usable = draw_negatives(maps, codes)
            match_neg = self.match(torch.cat([audio, self.ground(negative_maps, audio)], dim=-1))
            logits = torch.cat([match_pos[usable], match_neg[usable]]).reshape(-1, 2)
            labels = torch.cat([torch.ones(int(usable.sum()) * steps, dtype=torch.long),
                                torch.zeros(int(usable.sum()) * steps, dtype=torch.long)]).to(logits.device)
            value = F.cross_entropy(logits, labels) if len(labels) else match_pos.sum() * 0.0
            losses.append(LossTerm("match", 1.0 if self.grounding_only else self.cfg.match_weight, value))
        if self.grounding_only:  # no answer: constant logits, and no answer loss
            logits = audio.new_zeros(audio.shape[0], self.cfg.n_answers)
            return ModelOutput(logits, [], None, losses, answer_weight=0.0)
        q = self.question(batch["question"])                                        # (B, D)
        query = q.unsqueeze(1)                                                      # (B, 1, D)
        audio_att = self.temporal_audio(query, audio)[0].squeeze(1)                 # (B, D)
        visual_att = self.temporal_visual(query, visual)[0].squeeze(1)              # (B, D)
        feat = torch.cat([audio_att + audio.mean(1), visual_att + visual.mean(1)], dim=-1)
        feat = self.fusion(torch.tanh(feat))                                        # (B, D)
        logits = self.answer(torch.tanh(feat * q))                                  # (B, n_answers)
        return ModelOutput(logits, [], None, losses)
