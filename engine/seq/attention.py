"""Soft attention: score every memory position for a query, softmax, and average the memory.

Three scoring functions from the papers the lecture cites:

    Bahdanau et al. 2015 (additive):  score(q, k) = v^T tanh(W_q q + W_k k)
    Luong et al. 2015 (dot):          score(q, k) = q^T k
    Luong et al. 2015 (general):      score(q, k) = q^T W k

All share one interface, so a decoder (translation, captioning, VQA) never knows which it has:

    keys = attn.prepare(memory)                  # once per source: (B, S, Dk) projected keys
    context, weights = attn(query, keys, memory, mask)
        query (B, Dq) or (B, T, Dq); memory (B, S, Dm); mask (B, S) True where real
        -> context (B, [T,] Dm), weights (B, [T,] S) summing to 1 over real positions
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    """Base: subclasses define prepare() (per-source work done once) and score()."""

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        return memory

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """query (B, T, Dq), keys (B, S, Dk) -> scores (B, T, S)."""
        raise NotImplementedError

    def forward(self, query, keys, memory, mask=None):
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)                        # (B, 1, Dq)
        scores = self.score(query, keys)                      # (B, T, S)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = F.softmax(scores, dim=-1)                   # (B, T, S)
        context = torch.bmm(weights, memory)                  # (B, T, Dm)
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


class AdditiveAttention(Attention):
    """Bahdanau: a one-hidden-layer MLP scores each (query, key) pair."""

    def __init__(self, query_dim: int, memory_dim: int, attn_dim: int):
        super().__init__()
        self.W_q = nn.Linear(query_dim, attn_dim, bias=False)
        self.W_k = nn.Linear(memory_dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def prepare(self, memory):
        return self.W_k(memory)                               # (B, S, A): once per source, not per step

    def score(self, query, keys):
        q = self.W_q(query)                                   # (B, T, A)
        e = torch.tanh(q.unsqueeze(2) + keys.unsqueeze(1))    # (B, T, S, A)
        return self.v(e).squeeze(-1)                          # (B, T, S)


class DotAttention(Attention):
    """Luong dot: query and memory must share a size; scaled by sqrt(d) to keep softmax soft."""

    def __init__(self, query_dim: int, memory_dim: int):
        super().__init__()
        if query_dim != memory_dim:
            raise ValueError(f"dot attention needs equal sizes, got {query_dim} and {memory_dim}")
        self.scale = query_dim ** -0.5

    def score(self, query, keys):
        return torch.bmm(query, keys.transpose(1, 2)) * self.scale   # (B, T, S)


class GeneralAttention(Attention):
    """Luong general: a bilinear form q^T W k; W is applied to the keys once per source."""

    def __init__(self, query_dim: int, memory_dim: int):
        super().__init__()
        self.W = nn.Linear(memory_dim, query_dim, bias=False)
        self.scale = query_dim ** -0.5

    def prepare(self, memory):
        return self.W(memory)                                 # (B, S, Dq)

    def score(self, query, keys):
        return torch.bmm(query, keys.transpose(1, 2)) * self.scale   # (B, T, S)


KINDS = ("bahdanau", "luong-dot", "luong-general")


def make_attention(kind: str, query_dim: int, memory_dim: int, attn_dim: int = 0) -> Attention:
    """The one factory: 'bahdanau', 'luong-dot' or 'luong-general'."""
    if kind == "bahdanau":
        return AdditiveAttention(query_dim, memory_dim, attn_dim or query_dim)
    if kind == "luong-dot":
        return DotAttention(query_dim, memory_dim)
    if kind == "luong-general":
        return GeneralAttention(query_dim, memory_dim)
    raise ValueError(f"unknown attention {kind!r}; choose one of {', '.join(KINDS)}")
