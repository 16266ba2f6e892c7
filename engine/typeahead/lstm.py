"""Word-level LSTM language model (Zaremba et al. 2014; Merity et al. 2018, minus the tricks).

The recurrence carries the whole left context in (h, c), so it is not limited to n-1 words as an
n-gram is, and words share statistical strength through their embeddings. Type-ahead is
stateful: a State holds (h, c) after the words typed so far, so a new word costs one step.

    idx (B, T) -> embed (B, T, d) -> dropout -> LSTM x n_layer -> dropout -> adaptive softmax
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import torch
import torch.nn as nn

from engine.typeahead.softmax import TiedAdaptiveSoftmax


@dataclasses.dataclass
class LSTMConfig:
    vocab_size: int = 16000       # words incl. <unk>, ids sorted by frequency
    n_embd: int = 256             # embedding = LSTM output size (tied weights need them equal)
    n_hidden: int = 512           # LSTM cell size; projected down to n_embd (LSTMP, Sak et al. 2014)
    n_layer: int = 1              # stacked LSTM layers
    dropout: float = 0.2          # on embeddings, between layers and on outputs
    cutoffs: tuple = (2000, 6000)  # adaptive softmax cluster boundaries (word ids)
    div_value: float = 4.0        # each cluster's vectors are this much smaller than the last


@dataclasses.dataclass
class State:
    """Per-caller recurrent state (kept apart from the weights, so lanes never share it)."""
    h: Optional[torch.Tensor] = None     # (n_layer, B, n_embd)
    c: Optional[torch.Tensor] = None     # (n_layer, B, n_hidden)
    out: Optional[torch.Tensor] = None   # (d,) the last output (inference), input of log_prob


class LSTMLM(nn.Module):
    stateful = True

    def __init__(self, config: LSTMConfig):
        super().__init__()
        self.config = config
        self.drop = nn.Dropout(config.dropout)
        proj = config.n_embd if config.n_hidden != config.n_embd else 0
        self.rnn = nn.LSTM(config.n_embd, config.n_hidden, config.n_layer, batch_first=True,
                           dropout=config.dropout if config.n_layer > 1 else 0.0, proj_size=proj)
        self.softmax = TiedAdaptiveSoftmax(config.n_embd, config.vocab_size, list(config.cutoffs),
                                           config.div_value)

    def context_size(self) -> int:
        return 0          # no fixed window: the state carries the context

    def forward(self, idx: torch.Tensor, targets: Optional[torch.Tensor] = None,
                state: Optional[State] = None):
        """(logits, loss) as in makemore. `logits` are log-probabilities (B, T, V), computed only
        when there are no targets (training needs just the adaptive softmax loss). A `state`
        is read as the starting (h, c) and overwritten with the final one."""
        x = self.drop(self.softmax.embed(idx))                  # (B, T, d)
        start = None if state is None or state.h is None else (state.h, state.c)
        out, (h, c) = self.rnn(x, start)                        # (B, T, d)
        if state is not None:
            state.h, state.c = h, c
        out = self.drop(out)
        if targets is not None:
            return None, self.softmax.loss(out, targets)
        return self.softmax.log_prob(out), None

    @torch.no_grad()
    def advance(self, state: State, ids: list[int]) -> State:
        """Feed words; returns a new State, the old one stays valid (backspace). One word is one
        cell step done by hand (torch's fused LSTM costs milliseconds of set-up per call on a
        CPU); many words (re-reading a context) are one fused call."""
        if len(ids) > 1 or state.h is None:
            x = self.softmax.embed(torch.tensor([ids]))             # (1, n, d)
            start = None if state.h is None else (state.h, state.c)
            out, (h, c) = self.rnn(x, start)                       # (1, n, d)
            return State(h, c, out[0, -1])
        x = self.softmax.embed(torch.tensor(ids))                   # (1, d)
        hs, cs = [], []
        for layer in range(self.config.n_layer):
            w_ih = getattr(self.rnn, f"weight_ih_l{layer}")
            w_hh = getattr(self.rnn, f"weight_hh_l{layer}")
            b = getattr(self.rnn, f"bias_ih_l{layer}") + getattr(self.rnn, f"bias_hh_l{layer}")
            h, c = state.h[layer], state.c[layer]                  # (1, d), (1, n_hidden)
            gates = torch.addmm(b, x, w_ih.t()) + h @ w_hh.t()      # (1, 4 n_hidden): i, f, g, o
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            if self.rnn.proj_size:
                h = h @ getattr(self.rnn, f"weight_hr_l{layer}").t()
            hs.append(h)
            cs.append(c)
            x = h
        return State(torch.stack(hs), torch.stack(cs), x[0])

    @torch.no_grad()
    def log_prob(self, state: State) -> torch.Tensor:
        """(V,) log p(next word | everything fed into `state`)."""
        return self.softmax.log_prob(state.out[None])[0]
