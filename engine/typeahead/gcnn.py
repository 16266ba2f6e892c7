"""Gated convolutional language model (Dauphin, Fan, Auli & Grangier 2017, "GCNN").

Instead of a recurrence, a stack of causal 1-D convolutions: each position sees the k-1 words
before it per layer, so L layers see a fixed window of L*(k-1)+1 words, all positions in
parallel. Each layer is a gated linear unit (GLU), h = (X*W + b) * sigmoid(X*V + c): the sigmoid
gate decides what passes, and the linear path keeps gradients flowing. Blocks are the paper's
residual *bottleneck* blocks (1x1 down to n_inner, width-k causal GLU conv, 1x1 back up), which
cost a third of a full-width conv on a CPU. We add a LayerNorm before each block (pre-norm, as
in nanoGPT), which trained stably without the paper's weight normalization.

    idx (B, T) -> embed (B, T, d) -> [LN -> 1x1 d->b -> causal conv b->2b -> GLU -> 1x1 b->d
               -> dropout -> +x] x n_layer -> LN -> adaptive softmax
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.typeahead.softmax import TiedAdaptiveSoftmax


@dataclasses.dataclass
class GCNNConfig:
    vocab_size: int = 16000       # words incl. <unk>, ids sorted by frequency
    n_embd: int = 256             # residual stream width (= embedding size, tied)
    n_inner: int = 128            # bottleneck width inside each block
    n_layer: int = 6              # residual GLU blocks
    kernel: int = 4               # convolution width: each block looks kernel-1 words further back
    dropout: float = 0.1          # inside each block and on the embeddings
    cutoffs: tuple = (2000, 6000)  # adaptive softmax cluster boundaries (word ids)
    div_value: float = 4.0        # each cluster's vectors are this much smaller than the last


class GLUBlock(nn.Module):
    def __init__(self, config: GCNNConfig):
        super().__init__()
        self.ln = nn.LayerNorm(config.n_embd)
        self.down = nn.Linear(config.n_embd, config.n_inner)
        self.pad = config.kernel - 1                               # left padding only: causal
        self.conv = nn.Conv1d(config.n_inner, 2 * config.n_inner, config.kernel)
        self.up = nn.Linear(config.n_inner, config.n_embd)
        self.drop = nn.Dropout(config.dropout)

    def conv_matrix(self) -> torch.Tensor:
        """The conv weight (2b, b, k) as a (2b, k*b) matrix over a flattened (k, b) window
        (cached for inference; weights do not change once published)."""
        w = getattr(self, "_matrix", None)
        if w is None or self.training:
            w = self.conv.weight.permute(0, 2, 1).reshape(self.conv.out_channels, -1).detach()
            if not self.training:
                self._matrix = w
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.down(self.ln(x)).transpose(1, 2)                  # (B, b, T)
        h = self.conv(F.pad(h, (self.pad, 0)))                     # (B, 2b, T), position t sees t-k+1..t
        h = F.glu(h, dim=1).transpose(1, 2)                        # (B, T, b): a * sigmoid(gate)
        return x + self.drop(self.up(h))                           # (B, T, d)


class GCNNLM(nn.Module):
    stateful = False

    def __init__(self, config: GCNNConfig):
        super().__init__()
        self.config = config
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(GLUBlock(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.softmax = TiedAdaptiveSoftmax(config.n_embd, config.vocab_size, list(config.cutoffs),
                                           config.div_value)

    def context_size(self) -> int:
        """How many words the last position sees (itself included): the fixed window."""
        return self.config.n_layer * (self.config.kernel - 1) + 1

    def forward(self, idx: torch.Tensor, targets: Optional[torch.Tensor] = None, state=None):
        """(logits, loss) as in makemore; logits are log-probabilities (B, T, V), computed only
        without targets. Targets < 0 are ignored (the trainer's warm-up context)."""
        x = self.drop(self.softmax.embed(idx))                     # (B, T, d)
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        if targets is not None:
            return None, self.softmax.loss(x, targets)
        return self.softmax.log_prob(x), None

    # -- inference: one word at a time, with a cache per block -----------------------------
    # A block's conv at position t reads its bottleneck inputs at t-k+1..t, so keeping the last
    # k-1 of them per block makes a new word cost one position per block instead of a window.
    # Starting from empty (zero) caches equals the zero padding of training; once the words fed
    # cover the window (context_size()), every output is exactly the full forward pass.

    def empty_cache(self) -> list[torch.Tensor]:
        c = self.config
        return [torch.zeros(c.kernel - 1, c.n_inner) for _ in self.blocks]   # (k-1, b) per block

    @torch.no_grad()
    def advance(self, cache: list[torch.Tensor], ids: list[int]) -> tuple[list, torch.Tensor]:
        """Feed words; returns (new caches, last output (d,)). The old caches stay valid."""
        xs = self.softmax.embed(torch.tensor(ids))                  # (n, d)
        for x in xs:
            x = x[None]                                             # (1, d)
            new = []
            for block, past in zip(self.blocks, cache):
                h = block.down(block.ln(x))                         # (1, b)
                window = torch.cat([past, h], dim=0)                # (k, b): t-k+1 .. t
                y = torch.addmv(block.conv.bias, block.conv_matrix(), window.reshape(-1))  # (2b,)
                x = x + block.up(F.glu(y, dim=0))[None]             # (1, d)
                new.append(window[1:])
            cache = new
        return cache, self.ln_f(x[0])

    @torch.no_grad()
    def log_prob(self, out: torch.Tensor) -> torch.Tensor:
        """(V,) log p(next word) from the last output of `advance`."""
        return self.softmax.log_prob(out[None])[0]
