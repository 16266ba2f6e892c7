"""Interpolated modified Kneser-Ney n-gram language model (Chen & Goodman 1998), order <= 5.

    p(w | h) = max(c(hw) - D(c(hw)), 0) / c(h.)  +  gamma(h) * p(w | h')

where h' drops the oldest word of h. The highest order counts raw n-grams; lower orders count
*continuations* N1+(. hw) (how many different words precede hw), which is Kneser-Ney's idea: a
word that follows many contexts ("Francisco" follows only "San") gets the right unigram weight.
Three discounts D1, D2, D3+ per order come from the count-of-counts n1..n4 (Chen & Goodman eq. 26).
The unigram level interpolates with the uniform distribution, so every word (and <unk>) has p > 0.

Pruning (to ship small): n-grams of order >= 2 seen fewer than `min_count` times are dropped
after the model is estimated, and their mass moves into gamma(h) = 1 - sum of the kept terms,
so every distribution still sums to 1 exactly. Raw count is monotone (a kept n-gram's context
and suffix are kept too), so the pruned model is a valid ARPA back-off model.

Stored as tensors: for order n, `ngrams{n}` (N, n) word ids (int16 when the vocabulary fits) and `a{n}` (N,) float16, the
discounted term of each kept n-gram; gamma is recomputed at load time from the kept terms, so the
rounding of fp16 never breaks sums-to-one.
"""
from __future__ import annotations

import collections
import dataclasses
import math
from typing import Iterable, Optional

import numpy as np

from engine import cards


@dataclasses.dataclass
class KNConfig:
    order: int = 5          # longest n-gram (context of order-1 words)
    min_count: int = 2      # prune n-grams of order >= 2 seen fewer times than this (1 = keep all)
    vocab_size: int = 0     # filled in from the vocabulary


def _discounts(counts: Iterable[int]) -> tuple[float, float, float]:
    """D1, D2, D3+ from the count-of-counts (Chen & Goodman 1998, eq. 26)."""
    n = collections.Counter(c for c in counts if c <= 4)
    n1, n2, n3, n4 = (max(n[i], 1) for i in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2)
    d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    # Tiny corpora can give odd count-of-counts; keep each discount in (0, its count].
    return tuple(float(min(max(x, 0.05), i + 1)) for i, x in enumerate(d))


class KneserNey:
    """The model: unigram vector + per-order tables of kept n-grams. No torch needed."""

    def __init__(self, config: KNConfig, unigram: np.ndarray, tables: dict[int, tuple[np.ndarray, np.ndarray]]):
        self.config = config
        self.order = config.order
        self.p1 = unigram.astype(np.float64)                 # (V,) interpolated unigram p(w)
        self.tables = tables                                # n -> (ngrams (N, n) int32, a (N,) float)
        self._index()

    # -- estimation ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, docs: Iterable[list[int]], config: KNConfig, log=lambda m: None) -> "KneserNey":
        N, V = config.order, config.vocab_size
        raw = {n: collections.Counter() for n in range(1, N + 1)}
        for ids in docs:
            for n in range(1, N + 1):
                raw[n].update(zip(*(ids[i:] for i in range(n))))
        # Kneser-Ney counts: raw for the top order, continuation counts below.
        kn = {N: raw[N]}
        log(f"counted {sum(len(r) for r in raw.values()):,} n-gram types")
        for n in range(N - 1, 0, -1):
            cont = collections.Counter()
            for g in raw[n + 1]:
                cont[g[1:]] += 1
            kn[n] = cont
        tables = {}
        unigram = None
        for n in range(1, N + 1):
            counts = kn[n]
            d1, d2, d3 = _discounts(counts.values())
            disc = lambda c: d1 if c == 1 else d2 if c == 2 else d3  # noqa: E731
            total = collections.Counter()
            dsum = collections.Counter()
            for g, c in counts.items():
                total[g[:-1]] += c
                dsum[g[:-1]] += disc(c)
            if n == 1:
                t, gamma = total[()], dsum[()] / total[()]
                p = np.full(V, gamma / V)
                for (w,), c in counts.items():
                    p[w] += (c - disc(c)) / t
                unigram = p
                continue
            keep = [(g, (c - disc(c)) / total[g[:-1]]) for g, c in counts.items()
                    if raw[n][g] >= config.min_count]
            grams = np.array([g for g, _ in keep], dtype=np.int32).reshape(-1, n)
            a = np.array([x for _, x in keep], dtype=np.float64)
            order = np.lexsort(grams.T[::-1])                # sort by context, then word
            tables[n] = (grams[order], a[order])
            log(f"order {n}: {len(counts):,} n-grams, kept {len(keep):,}; D = {d1:.2f} {d2:.2f} {d3:.2f}")
        return cls(config, unigram, tables)

    # -- lookup structures --------------------------------------------------------------------
    def _index(self) -> None:
        """context -> (word ids, a, gamma) and n-gram -> a, per order; gamma = 1 - sum(kept a)."""
        self.ctx: dict[int, dict] = {}
        self._term: Optional[dict[int, dict]] = None
        for n, (grams, a) in self.tables.items():
            a = a.astype(np.float64)
            ctx_of = {}
            if len(grams):
                contexts = grams[:, :-1]
                change = np.ones(len(grams), dtype=bool)
                change[1:] = (contexts[1:] != contexts[:-1]).any(axis=1)
                starts = np.flatnonzero(change).tolist() + [len(grams)]
                ctx_rows = contexts[change].tolist()
                words = grams[:, -1].astype(np.int64)
                for h, s, e in zip(ctx_rows, starts[:-1], starts[1:]):
                    seg = a[s:e]
                    ctx_of[tuple(h)] = (words[s:e], seg, max(0.0, 1.0 - float(seg.sum())))
            self.ctx[n] = ctx_of

    @property
    def term(self) -> dict[int, dict]:
        """n-gram -> its discounted term, per order; built on first use (perplexity only)."""
        if self._term is None:
            self._term = {n: dict(zip(map(tuple, g.tolist()), a.astype(np.float64).tolist()))
                          for n, (g, a) in self.tables.items()}
        return self._term

    @property
    def vocab_size(self) -> int:
        return len(self.p1)

    def n_entries(self) -> int:
        return len(self.p1) + sum(len(g) for g, _ in self.tables.values())

    # -- inference ----------------------------------------------------------------------------
    def distribution(self, context: list[int], order: Optional[int] = None) -> np.ndarray:
        """p(. | context) over the whole vocabulary, using at most `order`-1 context words."""
        order = min(order or self.order, self.order)
        p = self.p1.copy()
        for n in range(2, order + 1):
            if len(context) < n - 1:
                break
            entry = self.ctx[n].get(tuple(context[len(context) - n + 1:]))
            if entry is None:          # unseen context: every longer one is unseen too
                break
            words, a, gamma = entry
            p *= gamma
            p[words] += a
        return p

    def prob(self, context: list[int], w: int, order: Optional[int] = None) -> float:
        """p(w | context) without building the whole distribution (for perplexity)."""
        order = min(order or self.order, self.order)
        p = float(self.p1[w])
        for n in range(2, order + 1):
            if len(context) < n - 1:
                break
            h = tuple(context[len(context) - n + 1:])
            entry = self.ctx[n].get(h)
            if entry is None:
                break
            p = entry[2] * p + self.term[n].get(h + (w,), 0.0)
        return p

    def nll(self, doc: list[int], order: Optional[int] = None) -> tuple[float, int]:
        """Sum of -ln p over doc[1:] (doc[0] is the boundary token) and the number of tokens."""
        k = (order or self.order) - 1
        total = 0.0
        for t in range(1, len(doc)):
            total -= math.log(self.prob(doc[max(0, t - k):t], doc[t], order))
        return total, len(doc) - 1

    # -- storage ------------------------------------------------------------------------------
    def tensors(self) -> dict:
        import torch
        out = {"p1": torch.from_numpy(self.p1.astype(np.float32))}
        ids = np.int16 if len(self.p1) <= 32767 else np.int32    # half the bytes for <= 32k words
        for n, (grams, a) in self.tables.items():
            out[f"ngrams{n}"] = torch.from_numpy(np.ascontiguousarray(grams.astype(ids)))
            out[f"a{n}"] = torch.from_numpy(a.astype(np.float16))
        return out

    @classmethod
    def from_tensors(cls, tensors: dict, config: KNConfig) -> "KneserNey":
        p1 = tensors["p1"].double().numpy()
        p1 = p1 / p1.sum()           # float32 storage: renormalize so the unigram sums to 1
        if len(p1) != config.vocab_size:
            raise ValueError(f"{len(p1):,} unigram probabilities for a vocabulary of {config.vocab_size:,}")
        tables = {n: (tensors[f"ngrams{n}"].numpy().astype(np.int32), tensors[f"a{n}"].double().numpy())
                  for n in range(2, config.order + 1)}      # (a KeyError when the order has no table)
        return cls(config, p1, tables)

    # -- ARPA export --------------------------------------------------------------------------
    def write_arpa(self, path, itos: list[str]) -> None:
        """Write the model in ARPA back-off format (log10 probabilities and back-off weights).

        An interpolated model is a back-off model whose stored probability is the full
        interpolated p(w|h) and whose back-off weight is gamma(h). <s> and </s> are added with
        log10 p = -99, as KenLM expects them in the vocabulary."""
        lg = lambda x: math.log10(x) if x > 0 else -99.0  # noqa: E731
        with cards.atomic_file(path, text=True) as f:   # a Ctrl-C leaves the old file whole
            f.write("\\data\\\n")
            f.write(f"ngram 1={len(self.p1) + 2}\n")
            for n, (grams, _) in sorted(self.tables.items()):
                f.write(f"ngram {n}={len(grams)}\n")
            f.write("\n\\1-grams:\n")
            f.write("-99\t<s>\t0\n-99\t</s>\n")
            ctx2 = self.ctx.get(2, {})
            for w, p in enumerate(self.p1):
                bow = ctx2.get((w,))
                f.write(f"{lg(p):.6f}\t{itos[w]}" + (f"\t{lg(bow[2]):.6f}\n" if bow and self.order > 1 else "\n"))
            for n in range(2, self.order + 1):
                grams, _ = self.tables[n]
                nxt = self.ctx.get(n + 1, {})
                f.write(f"\n\\{n}-grams:\n")
                for g in grams.tolist():
                    p = self.prob(g[:-1], g[-1], n)
                    words = " ".join(itos[i] for i in g)
                    bow = nxt.get(tuple(g))
                    f.write(f"{lg(p):.6f}\t{words}" + (f"\t{lg(bow[2]):.6f}\n" if bow else "\n"))
            f.write("\n\\end\\\n")
