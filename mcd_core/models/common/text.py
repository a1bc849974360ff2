"""Text side of MCD: the word-embedding + LSTM question encoder and the text objects."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class QuestionEncoder(nn.Module):
    """Word embedding + (Bi-)LSTM. Returns the sentence vector f_q and the per-word states."""

    def __init__(self, vocab_size: int, word_dim: int, d_model: int, bidirectional: bool):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        hidden = d_model // 2 if bidirectional else d_model  # both directions together give D
        self.lstm = nn.LSTM(word_dim, hidden, batch_first=True, bidirectional=bidirectional)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mask = tokens != 0                                                    # (B, L)
        lengths = mask.sum(1).clamp(min=1)                                    # (B,)
        words = self.embedding(tokens)                                        # (B, L, E)
        packed = pack_padded_sequence(words, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])  # (B, L, D)
        f_q = torch.cat(list(h), dim=-1)                                      # (B, D): last state(s)
        return f_q, states, mask


class TextObjects(nn.Module):
    """Sentence, type and keyword tokens -> three pooled embeddings -> concat (3E) -> linear -> D."""

    def __init__(self, word_embedding: nn.Embedding, n_object_words: int, d_model: int):
        super().__init__()
        self.word_embedding = word_embedding  # shared with the question encoder
        dim = word_embedding.embedding_dim
        self.object_embedding = nn.Embedding(n_object_words, dim, padding_idx=0)
        self.refine = nn.Linear(3 * dim, d_model)

    @staticmethod
    def _pool(emb: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != 0).to(emb.dtype).unsqueeze(-1)                     # (B, L, 1)
        return (emb * mask).sum(1) / mask.sum(1).clamp(min=1.0)               # (B, E)

    def forward(self, question: torch.Tensor, qtype: torch.Tensor, keywords: torch.Tensor) -> torch.Tensor:
        sentence = self._pool(self.word_embedding(question), question)       # (B, E)
        kind = self._pool(self.object_embedding(qtype), qtype)               # (B, E)
        keys = self._pool(self.object_embedding(keywords), keywords)         # (B, E)
        return self.refine(torch.cat([sentence, kind, keys], dim=-1))        # (B, D)
