"""The three models behind one small interface, and their safetensors storage.

A Predictor walks a text one word at a time:

    state = p.start()                       # after the boundary token (an empty editor)
    state = p.advance(state, [ids...])      # feed words; returns a new state, the old stays valid
    logp  = p.log_probs(state, order=None)  # (V,) float64 log p(next word)

- kn:   state = the last order-1 word ids; log_probs builds the interpolated distribution.
- lstm: state = lstm.State (h, c, last output); advancing n words is one LSTM call.
- gcnn: state = (per-block caches, last output); a word costs one position per block.

Weights are saved in fp16 (measured: no change in held-out perplexity); the vocabulary goes in
the card's `extra["itos"]`, never in a pickle.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from engine import cards
from engine.typeahead import vocab as V
from engine.typeahead.gcnn import GCNNConfig, GCNNLM
from engine.typeahead.lstm import LSTMConfig, LSTMLM, State
from engine.typeahead.ngram import KNConfig, KneserNey

TASK = "typeahead"
ARCHS = {"kn": "kneser-ney", "lstm": "lstm-lm", "gcnn": "gcnn-lm"}
KINDS = {v: k for k, v in ARCHS.items()}
LSTM_MAX_CONTEXT = 512        # words an LSTM re-reads when it must start over (an edit far back)


class Predictor:
    kind = ""

    def __init__(self, vocab: V.Vocab, card: Optional[cards.ModelCard] = None):
        self.vocab = vocab
        self.card = card

    def max_context(self) -> int:
        raise NotImplementedError

    def start(self):
        return self.advance(self.empty(), [self.vocab.bos])

    def empty(self):
        raise NotImplementedError

    def advance(self, state, ids: list[int]):
        raise NotImplementedError

    def log_probs(self, state, order: Optional[int] = None) -> np.ndarray:
        raise NotImplementedError

    def best_next(self, state, order: Optional[int] = None) -> int:
        """The most likely next word other than <unk> (for the greedy ghost text)."""
        logp = self.log_probs(state, order)
        logp[self.vocab.unk] = -np.inf
        return int(np.argmax(logp))


class _AdaptiveArgmax:
    """Greedy steps need only the argmax: torch's AdaptiveLogSoftmaxWithLoss.predict scores just
    the head (1,000 frequent words + one entry per cluster) unless a cluster wins."""

    def best_next(self, state, order=None) -> int:
        out = self._output(state)
        with torch.no_grad():
            w = int(self.model.softmax.asm.predict(out[None])[0])
        return w if w != self.vocab.unk else Predictor.best_next(self, state, order)


class KNPredictor(Predictor):
    kind = "kn"

    def __init__(self, model: KneserNey, vocab, card=None):
        super().__init__(vocab, card)
        self.model = model

    def max_context(self) -> int:
        return self.model.order - 1

    def empty(self):
        return ()

    def advance(self, state, ids):
        k = self.model.order - 1
        return (tuple(state) + tuple(ids))[-k:] if k else ()

    def log_probs(self, state, order=None):
        with np.errstate(divide="ignore"):
            return np.log(self.model.distribution(list(state), order))


class LSTMPredictor(_AdaptiveArgmax, Predictor):
    kind = "lstm"

    def __init__(self, model: LSTMLM, vocab, card=None):
        super().__init__(vocab, card)
        self.model = model.eval()
        self.model.softmax.freeze()

    def max_context(self) -> int:
        return LSTM_MAX_CONTEXT

    def empty(self):
        return State()

    def advance(self, state, ids):
        return self.model.advance(state, ids) if ids else state

    def log_probs(self, state, order=None):
        return self.model.log_prob(state).double().numpy()

    def _output(self, state):
        return state.out


class GCNNPredictor(_AdaptiveArgmax, Predictor):
    kind = "gcnn"

    def __init__(self, model: GCNNLM, vocab, card=None):
        super().__init__(vocab, card)
        self.model = model.eval()
        self.model.softmax.freeze()

    def max_context(self) -> int:
        return self.model.context_size()

    def empty(self):
        return (self.model.empty_cache(), None)

    def advance(self, state, ids):
        return self.model.advance(state[0], ids) if ids else state

    def log_probs(self, state, order=None):
        return self.model.log_prob(state[1]).double().numpy()

    def _output(self, state):
        return state[1]


def make_predictor(model, vocab: V.Vocab, card=None) -> Predictor:
    if isinstance(model, KneserNey):
        return KNPredictor(model, vocab, card)
    if isinstance(model, LSTMLM):
        return LSTMPredictor(model, vocab, card)
    if isinstance(model, GCNNLM):
        return GCNNPredictor(model, vocab, card)
    raise TypeError(f"not a type-ahead model: {type(model).__name__}")


# -- storage ----------------------------------------------------------------------------------

def neural_tensors(model: torch.nn.Module) -> dict:
    """fp16 state dict (the cached embedding matrix is not a parameter, so it is not saved)."""
    return {k: v.detach().to(torch.float16) if v.is_floating_point() else v
            for k, v in model.state_dict().items()}


def save(directory: Path, model, vocab: V.Vocab, card: cards.ModelCard) -> cards.ModelCard:
    card.extra = dict(card.extra, itos=vocab.itos)
    if isinstance(model, KneserNey):
        tensors = model.tensors()
    else:
        tensors = neural_tensors(model)
    return cards.save_model(directory, tensors, card)


def load_path(path: Path) -> Predictor:
    """Load one model (path without suffix); raises cards.ModelLoadError with one readable line."""
    tensors, card = cards.load_model(path)
    try:
        vocab = V.Vocab(card.extra["itos"])
        kind = KINDS[card.arch]
        if len(vocab) != card.config.get("vocab_size"):       # (a hand-edited card: wrong words later)
            raise ValueError(f"the card lists {len(vocab):,} words, its config {card.config.get('vocab_size')}")
        if kind == "kn":
            cfg = KNConfig(**card.config)
            return KNPredictor(KneserNey.from_tensors(tensors, cfg), vocab, card)
        if kind == "lstm":
            cfg = LSTMConfig(**card.config)
            model = LSTMLM(cfg)
        else:
            cfg = GCNNConfig(**card.config)
            model = GCNNLM(cfg)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise cards.misfit(Path(path).name, exc) from None
    return make_predictor(model, vocab, card)


def load(name: str) -> Predictor:
    """Load a model by name (user-trained first, then shipped)."""
    return load_path(cards.find_model(TASK, name))


def config_dict(cfg) -> dict:
    d = dataclasses.asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
