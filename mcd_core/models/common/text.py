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

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`lengths`: words per question on the host (the batch's `question_len_host`); without
        them they are counted on the device and read back, which makes a GPU step wait."""
        mask = tokens != 0                                                    # (B, L)
        if lengths is None:
            lengths = mask.sum(1).clamp(min=1).cpu()                          # (B,)
        words = self.embedding(tokens)                                        # (B, L, E)
        packed = pack_padded_sequence(words, lengths, batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])  # (B, L, D)
        f_q = torch.cat(list(h), dim=-1)                                      # (B, D): last state(s)
        return f_q, states, mask


class TextObjects(nn.Module):
    """Sentence, type and keyword tokens -> three pooled embeddings -> concat (3E) -> linear -> D.
    With `options`, the answer options' tokens (all options together) are a fourth (4E)."""

    def __init__(self, word_embedding: nn.Embedding, n_object_words: int, d_model: int,
                 options: bool = False):
        super().__init__()
        self.word_embedding = word_embedding  # shared with the question encoder
        dim = word_embedding.embedding_dim
        self.object_embedding = nn.Embedding(n_object_words, dim, padding_idx=0)
        self.options = options
        self.refine = nn.Linear((4 if options else 3) * dim, d_model)

    @staticmethod
    def _pool(emb: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != 0).to(emb.dtype).unsqueeze(-1)                     # (B, L, 1)
        return (emb * mask).sum(1) / mask.sum(1).clamp(min=1.0)               # (B, E)

    def forward(self, question: torch.Tensor, qtype: torch.Tensor, keywords: torch.Tensor,
                options: torch.Tensor | None = None) -> torch.Tensor:
        sentence = self._pool(self.word_embedding(question), question)       # (B, E)
        kind = self._pool(self.object_embedding(qtype), qtype)               # (B, E)
        keys = self._pool(self.object_embedding(keywords), keywords)         # (B, E)
        parts = [sentence, kind, keys]
        if self.options:
            tokens = options.flatten(1)                                      # (B, K * L)
            parts.append(self._pool(self.word_embedding(tokens), tokens))    # (B, E)
        return self.refine(torch.cat(parts, dim=-1))                         # (B, D)


class OptionEncoder(nn.Module):
    """Answer options (B, K, L) token ids -> (B, K, D): through the question encoder's LSTM ("lstm",
    its last state) or as the mean of the word embeddings ("mean"), then a linear layer."""

    def __init__(self, question: QuestionEncoder, d_model: int, kind: str):
        super().__init__()
        self.question = question  # shared: options are read with the question's words
        self.kind = kind
        width = d_model if kind == "lstm" else question.embedding.embedding_dim
        self.proj = nn.Linear(width, d_model)

    def forward(self, options: torch.Tensor) -> torch.Tensor:
        flat = options.flatten(0, 1)                                         # (B*K, L)
        if self.kind == "lstm":
            encoded = self.question(flat)[0]                                 # (B*K, D)
        else:
            encoded = TextObjects._pool(self.question.embedding(flat), flat)  # (B*K, E)
        return self.proj(encoded).view(*options.shape[:2], -1)               # (B, K, D)
