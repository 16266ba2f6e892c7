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


def forward_score(g: Acceptor) -> torch.Tensor:
    """log Σ over accepting paths of exp(Σ arc weights); -inf (no gradient) when there is none."""
    src = g.src.tolist()
    alpha: list[Optional[torch.Tensor]] = [None] * g.num_states
    alpha[0] = torch.zeros((), dtype=g.weight.dtype)
    for s, arcs in enumerate(g.incoming()):
        arcs = [a for a in arcs if alpha[src[a]] is not None]
        if not arcs:
            continue
        prev = torch.stack([alpha[src[a]] for a in arcs])                   # (k,)
        alpha[s] = torch.logsumexp(prev + g.weight[torch.tensor(arcs)], dim=0)
    ends = [alpha[f] for f in g.finals if alpha[f] is not None]
    if not ends:
        return torch.tensor(-math.inf, dtype=g.weight.dtype)
    return torch.logsumexp(torch.stack(ends), dim=0)


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
    w = g.weight.detach().double().cpu().numpy()
    src, dst = g.src.tolist(), g.dst.tolist()
    delta = np.full(g.num_states, -np.inf)
    back = np.full(g.num_states, -1, dtype=np.int64)
    delta[0] = 0.0
    for a in np.argsort(np.asarray(src, dtype=np.int64), kind="stable"):   # arcs by source state
        cand = delta[src[a]] + w[a]
        if cand > delta[dst[a]]:
            delta[dst[a]], back[dst[a]] = cand, a
    finals = [f for f in g.finals if delta[f] > -np.inf]
    if not finals:
        return torch.tensor(-math.inf, dtype=g.weight.dtype), None
    state = max(finals, key=lambda f: delta[f])
    path = []
    while state != 0:
        a = int(back[state])
        path.append(a)
        state = src[a]
    path.reverse()
    return path_score(g, path), path


def nbest(g: Acceptor, n: int) -> list[tuple[float, list[int]]]:
    """The n best accepting paths as (score, arc indices), best first (distinct paths)."""
    w = g.weight.detach().double().cpu().numpy()
    src = g.src.tolist()
    # best[s] = up to n entries (score, arc into s or -1 at the start, rank of that entry at src)
    best: list[list[tuple[float, int, int]]] = [[] for _ in range(g.num_states)]
    best[0] = [(0.0, -1, -1)]
    for s, arcs in enumerate(g.incoming()):
        cands = ((best[src[a]][r][0] + w[a], a, r) for a in arcs for r in range(len(best[src[a]])))
        if s == 0:
            continue
        best[s] = heapq.nlargest(n, cands, key=lambda c: c[0])
    ends = heapq.nlargest(n, ((best[f][r][0], f, r) for f in g.finals for r in range(len(best[f]))),
                          key=lambda c: c[0])
    out = []
    for score, state, rank in ends:
        path = []
        while True:
            _, a, prev_rank = best[state][rank]
            if a < 0:
                break
            path.append(a)
            state, rank = src[a], prev_rank
        out.append((float(score), path[::-1]))
    return out
