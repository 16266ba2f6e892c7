"""Scores of an acceptor: forward (log semiring), Viterbi (tropical) and the n best paths.

All three are one sweep over the states in topological order (see fsa.py):
    forward:  alpha[t] = logsumexp over arcs s→t of alpha[s] + w     (sum over paths, in log space)
    viterbi:  delta[t] = max over arcs s→t of delta[s] + w            (the best single path)
    n-best:   the n largest (delta[s] + w, arc, rank) at every state  (exact k shortest paths on a DAG)
The forward score is built from torch ops on ``weight``, so autograd gives d score / d weight —
the posterior probability of each arc. The Viterbi score is the sum of the best path's weights,
which is differentiable too (its gradient is 1 on the path's arcs).
"""
from __future__ import annotations

import heapq
import math
from typing import Optional

import numpy as np
import torch

from engine.lattice.fsa import EPSILON, Acceptor


def _incoming_by_source(g: Acceptor) -> list[list[tuple[int, torch.Tensor]]]:
    """For each state, [(source state, arc indices from it)] — parallel arcs are handled together."""
    groups: list[dict[int, list[int]]] = [dict() for _ in range(g.num_states)]
    for a, (s, d) in enumerate(zip(g.src.tolist(), g.dst.tolist())):
        groups[d].setdefault(s, []).append(a)
    return [[(u, torch.tensor(arcs, dtype=torch.long)) for u, arcs in grp.items()] for grp in groups]


def forward_score(g: Acceptor) -> torch.Tensor:
    """log Σ over accepting paths of exp(Σ arc weights); -inf (no gradient) when there is none."""
    alpha: list[Optional[torch.Tensor]] = [None] * g.num_states
    alpha[0] = torch.zeros((), dtype=g.weight.dtype)
    for s, groups in enumerate(_incoming_by_source(g)):
        terms = [alpha[u] + g.weight[arcs] for u, arcs in groups if alpha[u] is not None]
        if terms:
            alpha[s] = torch.logsumexp(torch.cat(terms), dim=0)
    ends = [alpha[f] for f in g.finals if alpha[f] is not None]
    if not ends:
        return torch.tensor(-math.inf, dtype=g.weight.dtype)
    return torch.logsumexp(torch.stack(ends), dim=0)


def forward_value(g: Acceptor) -> float:
    """forward_score as a plain float, in numpy (no autograd: for decoding, ~10x faster)."""
    w = g.weight.detach().double().cpu().numpy()
    src, dst = g.src.tolist(), g.dst.tolist()
    alpha = np.full(g.num_states, -np.inf)
    alpha[0] = 0.0
    for a in np.argsort(np.asarray(src, dtype=np.int64), kind="stable"):
        alpha[dst[a]] = np.logaddexp(alpha[dst[a]], alpha[src[a]] + w[a])
    ends = [alpha[f] for f in g.finals]
    return float(np.logaddexp.reduce(ends)) if ends else -math.inf


def path_score(g: Acceptor, path: list[int]) -> torch.Tensor:
    """Σ of the path's arc weights (differentiable)."""
    if not path:
        return torch.zeros((), dtype=g.weight.dtype)
    return g.weight[torch.tensor(path, dtype=torch.long)].sum()


def path_labels(g: Acceptor, path: list[int]) -> list[int]:
    labels = g.label.tolist()
    return [labels[a] for a in path if labels[a] != EPSILON]


def viterbi(g: Acceptor) -> tuple[torch.Tensor, Optional[list[int]]]:
    """(best path score, its arc indices start→final); (-inf, None) when nothing is accepted."""
    # plain Python floats and lists: ~3x faster than numpy scalars in this per-arc loop
    w = g.weight.detach().double().cpu().tolist()
    src, dst = g.src.tolist(), g.dst.tolist()
    delta = [-math.inf] * g.num_states
    back = [-1] * g.num_states
    delta[0] = 0.0
    for a in np.argsort(np.asarray(src, dtype=np.int64), kind="stable").tolist():   # arcs by source state
        cand = delta[src[a]] + w[a]
        if cand > delta[dst[a]]:
            delta[dst[a]], back[dst[a]] = cand, a
    finals = [f for f in g.finals if delta[f] > -math.inf]
    if not finals:
        return torch.tensor(-math.inf, dtype=g.weight.dtype), None
    state = max(finals, key=lambda f: delta[f])
    path = []
    while state != 0:
        a = back[state]
        path.append(a)
        state = src[a]
    path.reverse()
    return path_score(g, path), path


def nbest(g: Acceptor, n: int) -> list[tuple[float, list[int]]]:
    """The n best accepting paths as (score, arc indices), best first (distinct paths).

    Every state keeps its n best partial paths in fixed (n,) rows padded with -inf, so that the
    candidates of a state — each incoming arc after each partial path at its source — are one
    (arcs, n) sum and one partial sort, whatever the number of sources (one numpy call per
    source was most of this function's time on an OCR lattice)."""
    if n < 1:
        return []
    w = g.weight.detach().double().cpu().numpy()
    src, dst = g.src.numpy(), g.dst.numpy()
    S = g.num_states
    # per state, row r = its r-th best partial path: score, last arc (-1 at the start), and the
    # rank of the partial path it extends at that arc's source
    score = np.full((S, n), -np.inf)
    arc = np.full((S, n), -1, np.int64)
    rank = np.full((S, n), -1, np.int64)
    score[0, 0] = 0.0
    order = np.argsort(dst, kind="stable")                        # arcs grouped by destination
    bounds = np.searchsorted(dst[order], np.arange(S + 1))
    for s in range(1, S):
        into = order[bounds[s]:bounds[s + 1]]
        if len(into) == 0:
            continue
        cand = (score[src[into]] + w[into, None]).ravel()          # (len(into) * n,)
        k = min(n, cand.size)
        top = np.argpartition(-cand, k - 1)[:k] if cand.size > k else np.arange(cand.size)
        top = top[np.argsort(-cand[top], kind="stable")]
        score[s, :k], arc[s, :k], rank[s, :k] = cand[top], into[top // n], top % n
    ends = [(score[f, r], f, r) for f in g.finals for r in range(n) if score[f, r] > -np.inf]
    out = []
    for sc, state, r in heapq.nlargest(n, ends, key=lambda e: e[0]):
        path = []
        while arc[state, r] >= 0:
            a = int(arc[state, r])
            path.append(a)
            state, r = int(src[a]), int(rank[state, r])
        out.append((float(sc), path[::-1]))
    return out
