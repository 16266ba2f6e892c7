"""Type-ahead on top of any Predictor: top-k next words, prefix completion, ghost text, sampling.

Per keystroke, the text splits into committed words and the word being typed (vocab.split_partial).
The committed words go through the model incrementally: a Session remembers the ids it has fed
and the state after them, so a new word costs one step (LSTM), one window (GCNN) or one lookup
(KN), and typing inside a word costs no model call at all (the next-word distribution has not
changed; only the prefix filter has). Candidates for a partial word are the vocabulary words
with that prefix, ranked by the model's next-word probability.

Long texts: only the tail of the text is tokenized (TAIL_CHARS, cut on a fixed grid so the cut
point rarely moves, keeping the cache valid) — 100 KB pasted costs what the last few KB cost.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Iterator, Optional

import numpy as np

from engine.typeahead import vocab as V
from engine.typeahead.models import Predictor

TAIL_CHARS = 6000          # characters of context read from the end of the text
GRID = 2000                # the cut point moves in steps of this many characters
COMPLETION_WORDS = 3       # ghost text: the completed word plus up to two more
STOP = set(".!?;:,\"()[]-")


def tail(text: str) -> tuple[str, bool]:
    """The part of `text` the models read, and whether it was cut (then its first word is dropped)."""
    if len(text) <= TAIL_CHARS:
        return text, False
    cut = ((len(text) - TAIL_CHARS) // GRID + 1) * GRID
    return text[cut:], True


def apply_temperature(logp: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities p_i ∝ exp(log p_i / T) (T = 1: the model's own distribution)."""
    t = max(float(temperature), 1e-3)
    if t == 1.0:
        return np.exp(logp)
    z = logp / t
    z = z - z[np.isfinite(z)].max()
    p = np.exp(z)
    return p / p.sum()


@dataclasses.dataclass
class Session:
    """One editor's cache for one model: the ids fed so far and the states after them."""
    predictor: Predictor
    ids: list = dataclasses.field(default_factory=list)
    states: list = dataclasses.field(default_factory=list)   # states[i] = state after ids[:i+1]
    _dist_key: tuple = ()
    _dist: Optional[np.ndarray] = None
    _probs: Optional[np.ndarray] = None     # the distribution at the temperature below
    _temperature: float = 1.0

    def state_for(self, ids: list[int]):
        """The model state after `ids`, reusing the longest cached prefix."""
        common = 0
        limit = min(len(ids), len(self.ids))
        while common < limit and ids[common] == self.ids[common]:
            common += 1
        p = self.predictor
        if common == 0:
            start = max(0, len(ids) - p.max_context())
            base = p.advance(p.empty(), ids[start:])
            self.ids, self.states = list(ids), [None] * (len(ids) - 1) + [base]
            return base
        self.ids, self.states = self.ids[:common], self.states[:common]
        state = self.states[-1]
        if state is None:                   # an edit inside a bulk-fed stretch: re-read it
            self.ids, self.states = [], []
            return self.state_for(ids)
        for i in ids[common:]:
            state = p.advance(state, [i])
            self.ids.append(i)
            self.states.append(state)
        # Keep the cache bounded: only the last few hundred states are worth remembering.
        if len(self.states) > 4 * 512:
            drop = len(self.states) - 2 * 512
            self.states[:drop] = [None] * drop
        return state

    def probs(self, ids: list[int], order: Optional[int], temperature: float) -> tuple[object, np.ndarray]:
        """(state, p over the vocabulary with <unk> zeroed); cached while only the prefix changes."""
        key = (tuple(ids[-(self.predictor.max_context() + 1):]), len(ids), order)
        state = self.state_for(ids)
        if key != self._dist_key or self._dist is None:
            self._dist = self.predictor.log_probs(state, order)
            self._dist_key = key
            self._probs = None
        if self._probs is None or temperature != self._temperature:
            self._probs = apply_temperature(self._dist, temperature)
            self._probs[self.predictor.vocab.unk] = 0.0          # never suggest <unk>
            self._temperature = temperature
        return state, self._probs


class TypeAhead:
    """What the tab and `seqlab predict` call once per keystroke."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self.vocab = predictor.vocab
        self.session = Session(predictor)
        self._ghost_cache: dict = {}

    def context_ids(self, text: str) -> tuple[list[int], str]:
        body, cut = tail(text)
        tokens, partial = V.split_partial(body)
        if cut:
            tokens = tokens[1:]                  # the first word may have been cut in half
        ids = self.vocab.encode(tokens)
        # Starting from the boundary token: an empty editor predicts sentence starts.
        return ([self.vocab.bos] + ids) if not cut or not ids else ids, partial

    def predict(self, text: str, k: int = 5, order: Optional[int] = None,
                temperature: float = 1.0, completion: bool = True) -> dict:
        t0 = time.perf_counter()
        ids, partial = self.context_ids(text)
        state, p = self.session.probs(ids, order, temperature)
        cand = np.array(self.vocab.with_prefix(partial), dtype=np.int64) if partial else None
        if cand is not None and len(cand) == 0:
            top = []
        elif cand is not None:
            top = cand[_top_k(p[cand], k)].tolist()
        else:
            top = _top_k(p, k).tolist()
        result = {"next": [{"word": self.vocab.itos[i], "p": round(float(p[i]), 6)} for i in top]}
        words = []
        if completion and top:
            words = self._greedy(tuple(ids[-(self.predictor.max_context() + 1):]), state, top[0], order)
        text_done = V.detokenize(words)
        result["completion"] = text_done
        result["ghost"] = _ghost(text, partial, words)
        result["ms"] = round((time.perf_counter() - t0) * 1000.0, 3)
        return result

    def _greedy(self, key: tuple, state, first: int, order) -> list[str]:
        """The first word, then the most likely next ones, stopping before punctuation."""
        cache_key = (key, first, order)
        if cache_key in self._ghost_cache:
            return self._ghost_cache[cache_key]
        words = [self.vocab.itos[first]]
        w = first
        for _ in range(COMPLETION_WORDS - 1):
            if words[-1] in STOP:
                break
            state = self.predictor.advance(state, [w])
            w = self.predictor.best_next(state, order)
            if self.vocab.itos[w] in STOP:
                break
            words.append(self.vocab.itos[w])
        if len(self._ghost_cache) > 256:
            self._ghost_cache.clear()
        self._ghost_cache[cache_key] = words
        return words


def _top_k(p: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first (argpartition: no full sort of 15k)."""
    if len(p) <= k:
        return np.argsort(-p, kind="stable")
    idx = np.argpartition(-p, k)[:k]
    return idx[np.argsort(-p[idx], kind="stable")]


def _ghost(text: str, partial: str, words: list[str]) -> str:
    """What to draw after the cursor (and insert on Tab)."""
    if not words:
        return ""
    done = V.detokenize(words)
    if partial:
        if done.startswith(partial):
            return done[len(partial):]
        return ""                                 # case-insensitive match: don't rewrite the prefix
    if not text or text[-1].isspace() or words[0] in V.NO_SPACE_BEFORE or text[-1] in V.NO_SPACE_AFTER:
        return done
    return " " + done


def generate(predictor: Predictor, text: str, n_words: int = 30, temperature: float = 1.0,
             order: Optional[int] = None, seed: Optional[int] = None) -> Iterator[str]:
    """Sample a continuation word by word (yields each piece of text to append)."""
    rng = np.random.default_rng(seed)
    ta = TypeAhead(predictor)
    ids, partial = ta.context_ids(text)
    if partial:
        ids = ids + ta.vocab.encode([partial])
    state = predictor.advance(predictor.empty(), ids[-predictor.max_context():])
    prev = text[-1:] if text else ""
    for _ in range(n_words):
        p = apply_temperature(predictor.log_probs(state, order), temperature)
        p[ta.vocab.unk] = 0.0
        p /= p.sum()
        w = int(rng.choice(len(p), p=p))
        word = ta.vocab.itos[w]
        space = bool(prev) and not prev[-1].isspace() and word not in V.NO_SPACE_BEFORE \
            and prev not in V.NO_SPACE_AFTER
        piece = (" " if space else "") + word
        yield piece
        prev = word
        state = predictor.advance(state, [w])
