"""Attention seq2seq: a bidirectional GRU reads the source, a GRU writes the target.

The lecture's recipe, in three moves per target word:
  1. represent the source: a bidirectional GRU gives one vector per source piece (the memory);
  2. score each source piece against the decoder state and softmax the scores (the alignment);
  3. combine the decoder state with the attention-weighted source vector and predict the word.

Two decoders share that recipe and differ where attention sits:
  * Bahdanau et al. 2015 ("bahdanau"): attend with the *previous* state s_{t-1}, feed the context
    into the GRU: s_t = GRU([E y_{t-1}; c_t], s_{t-1}). Needs a loop over time even in training.
  * Luong et al. 2015 ("luong-dot", "luong-general"): run the GRU first, attend with the *new*
    state h_t, then h~_t = tanh(W_c [c_t; h_t]). Without Luong's input feeding the GRU runs over
    the whole target in one call, so training is parallel over time.
Both predict through a tanh "deep output" layer of embedding size whose projection is tied to the
target embedding (Press & Wolf 2017): fewer parameters, same quality.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from engine.seq.attention import make_attention
from engine.translate.bpe import PAD


@dataclasses.dataclass
class Seq2SeqConfig:
    src_vocab: int = 4000          # source BPE pieces (incl. 4 specials)
    tgt_vocab: int = 4000          # target BPE pieces (incl. 4 specials)
    emb: int = 192                 # embedding size, both sides (also the deep-output size: tied)
    hidden: int = 256              # GRU size: each encoder direction, and the decoder
    attention: str = "bahdanau"    # bahdanau | luong-dot | luong-general
    dropout: float = 0.2           # on embeddings and the deep output


class Encoder(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.embed = nn.Embedding(cfg.src_vocab, cfg.emb, padding_idx=PAD)
        self.rnn = nn.GRU(cfg.emb, cfg.hidden, batch_first=True, bidirectional=True)
        self.to_memory = nn.Linear(2 * cfg.hidden, cfg.hidden)   # both directions -> one memory size
        self.to_init = nn.Linear(2 * cfg.hidden, cfg.hidden)     # last states -> decoder's s_0
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, src, src_len):
        x = self.drop(self.embed(src))                                    # (B, S, E)
        packed = pack_padded_sequence(x, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, last = self.rnn(packed)                                      # last (2, B, H)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))  # (B, S, 2H)
        memory = torch.tanh(self.to_memory(out))                          # (B, S, H)
        s0 = torch.tanh(self.to_init(torch.cat([last[0], last[1]], -1)))  # (B, H)
        return memory, s0


class Seq2Seq(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.cfg = cfg
        H, E = cfg.hidden, cfg.emb
        self.encoder = Encoder(cfg)
        self.embed = nn.Embedding(cfg.tgt_vocab, E, padding_idx=PAD)
        self.attn = make_attention(cfg.attention, H, H, H)
        self.bahdanau = cfg.attention == "bahdanau"
        if self.bahdanau:
            self.cell = nn.GRUCell(E + H, H)
            self.deep_out = nn.Linear(H + H + E, E)        # [s_t; c_t; E y_{t-1}] -> E
        else:
            self.rnn = nn.GRU(E, H, batch_first=True)
            self.deep_out = nn.Linear(H + H, E)            # [c_t; h_t] -> E   (Luong's W_c)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(E, cfg.tgt_vocab)
        self.out.weight = self.embed.weight                # tied (Press & Wolf 2017)
        # N(0, 1/E) embeddings: with the tied projection, N(0, 1) would start with logits of
        # std ~sqrt(E) and a loss twice log(V).
        for emb in (self.embed, self.encoder.embed):
            nn.init.normal_(emb.weight, std=cfg.emb ** -0.5)
            emb.weight.data[PAD].zero_()

    # -- encoder side, once per source -------------------------------------------------------
    def encode(self, src, src_len):
        """-> decoder state s_0 (B, H) and the context the decoder attends to."""
        memory, s0 = self.encoder(src, src_len)
        mask = src != PAD                                                  # (B, S)
        return s0, (memory, self.attn.prepare(memory), mask)

    # -- training: teacher forcing over the whole target ---------------------------------------
    def forward(self, src, src_len, tgt_in, tgt_out=None, label_smoothing: float = 0.0):
        """-> (logits (B, T, V), loss or None, attention (B, T, S))."""
        s, (memory, keys, mask) = self.encode(src, src_len)
        y = self.drop(self.embed(tgt_in))                                  # (B, T, E)
        if self.bahdanau:
            states, contexts, weights = [], [], []
            for t in range(y.size(1)):
                c, a = self.attn(s, keys, memory, mask)                    # (B, H), (B, S)
                s = self.cell(torch.cat([y[:, t], c], -1), s)              # (B, H)
                states.append(s), contexts.append(c), weights.append(a)
            h, c, a = (torch.stack(v, 1) for v in (states, contexts, weights))   # (B, T, .)
            o = torch.tanh(self.deep_out(torch.cat([h, c, y], -1)))        # (B, T, E)
        else:
            h, _ = self.rnn(y, s.unsqueeze(0))                             # (B, T, H)
            c, a = self.attn(h, keys, memory, mask)                        # (B, T, H), (B, T, S)
            o = torch.tanh(self.deep_out(torch.cat([c, h], -1)))           # (B, T, E)
        logits = self.out(self.drop(o))                                    # (B, T, V)
        loss = None
        if tgt_out is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1),
                                   ignore_index=PAD, label_smoothing=label_smoothing)
        return logits, loss, a

    # -- inference: one step, the interface engine.seq.beam expects ---------------------------
    def step(self, tokens, s, context):
        """tokens (N,), s (N, H) -> (log_probs (N, V), s' (N, H), attention (N, S))."""
        memory, keys, mask = context
        y = self.embed(tokens)                                             # (N, E)
        if self.bahdanau:
            c, a = self.attn(s, keys, memory, mask)
            s = self.cell(torch.cat([y, c], -1), s)
            o = torch.tanh(self.deep_out(torch.cat([s, c, y], -1)))
        else:
            s = self.rnn(y.unsqueeze(1), s.unsqueeze(0))[1].squeeze(0)     # (N, H)
            c, a = self.attn(s, keys, memory, mask)
            o = torch.tanh(self.deep_out(torch.cat([c, s], -1)))
        return F.log_softmax(self.out(o), -1), s, a
