"""Adaptive softmax (Grave et al. 2017) whose weights are also the input embeddings.

A 16k-word softmax costs a 16k x d matrix per token. The adaptive softmax gives the frequent
words (the "head", ids < cutoffs[0]) a full d-dimensional output vector and the rare clusters
smaller ones (d/4, d/16, ... by `div_value`), reached through a projection:
torch's nn.AdaptiveLogSoftmaxWithLoss. Tying (Press & Wolf 2017; Inan et al. 2017) reuses the
output vectors as input embeddings; with an adaptive softmax the natural tie is the *adaptive
input* of Baevski & Auli (2019): a head word's embedding is its head row, a cluster word's
embedding is its small vector projected back up to d. One set of weights, two uses, far fewer
parameters to ship.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class TiedAdaptiveSoftmax(nn.Module):

    def __init__(self, n_embd: int, vocab_size: int, cutoffs: list[int], div_value: float = 4.0):
        super().__init__()
        # torch needs at least one cluster; a tiny vocabulary gets one at its middle
        cutoffs = [c for c in cutoffs if 0 < c < vocab_size - 1] or [max(1, vocab_size // 2)]
        self.asm = nn.AdaptiveLogSoftmaxWithLoss(n_embd, vocab_size, cutoffs, div_value=div_value,
                                                 head_bias=False)
        self.shortlist = self.asm.shortlist_size
        self._frozen: Optional[torch.Tensor] = None   # cached embedding matrix for inference

    def embedding_matrix(self) -> torch.Tensor:
        """(V, d): head rows for frequent words, tail vectors projected up for the clusters."""
        if self._frozen is not None and not self.training:
            return self._frozen
        parts = [self.asm.head.weight[: self.shortlist]]            # (shortlist, d)
        for proj, out in self.asm.tail:                            # Linear(d, h_i), Linear(h_i, osz_i)
            parts.append(out.weight @ proj.weight)                  # (osz_i, h_i) @ (h_i, d) -> (osz_i, d)
        return torch.cat(parts, dim=0)

    def freeze(self) -> None:
        """Cache the embedding matrix (call in eval mode after training)."""
        with torch.no_grad():
            self._frozen = None
            self._frozen = self.embedding_matrix().detach()

    def embed(self, idx: torch.Tensor) -> torch.Tensor:
        return F.embedding(idx, self.embedding_matrix())

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of targets (positions with target < 0 are skipped)."""
        h = hidden.reshape(-1, hidden.size(-1))                     # (B*T, d)
        t = targets.reshape(-1)
        keep = t >= 0
        return self.asm(h[keep], t[keep]).loss

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., d) -> (..., V) log-probabilities over the whole vocabulary."""
        shape = hidden.shape[:-1]
        return self.asm.log_prob(hidden.reshape(-1, hidden.size(-1))).reshape(*shape, -1)
