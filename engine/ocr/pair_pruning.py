"""Which pair spans the pair CNN reads: those a best path of the lattice might take.

A pair arc weighs scale · log P(pair) + offset ≤ offset (scale > 0, log P ≤ 0), so before the
pair CNN runs, each pair span's readings are bounded by the reader's offset. A pair span is left
out when even that bound cannot put it on a best path:

- a detour (stop 24): the recognizer's spans between its two states read the same ink better than
  the bound, so any path through the pair span does better through them instead;
- a dead end (stop 25): the best path through it — its readings at the bound, every other pair
  span's at the bound too — is below the best path of the recognizer's spans alone, a path the
  full lattice also has.

Either way every path through the pair span is below another path of the full lattice, so the
best reading is the full lattice's. Readings below it may lack a pair span (the alternatives, a
reading sought again in the form of an amount: graph.decode reads every pair span for that one).
"""
from __future__ import annotations

import math

import torch

from engine.ocr.checks import CHARSET
from engine.ocr.spans import Candidates

NEG = -math.inf


def best_from_start(num_states: int, arcs: list) -> list:
    """Best score of a path from state 0 to each state; arcs [(src, dst, weight)], src < dst."""
    best = [NEG] * num_states
    best[0] = 0.0
    for s, d, w in sorted(arcs):
        if best[s] + w > best[d]:
            best[d] = best[s] + w
    return best


def best_to_end(num_states: int, arcs: list) -> list:
    """Best score of a path from each state to the last one."""
    best = [NEG] * num_states
    best[-1] = 0.0
    for s, d, w in sorted(arcs, key=lambda a: -a[1]):
        if best[d] + w > best[s]:
            best[s] = best[d] + w
    return best


def recognizer_best_between(cands: Candidates, value: list):
    """best(a, b): the best score of a path of the recognizer's spans from state a to state b (span
    i weighing value[i]), -inf when none."""
    order = sorted(range(len(cands.spans)), key=lambda i: cands.spans[i][0])

    def best(a: int, b: int) -> float:
        reach = {a: 0.0}
        for i in order:
            s, d = cands.spans[i]
            if s in reach and d <= b and reach[s] + value[i] > reach.get(d, NEG):
                reach[d] = reach[s] + value[i]
        return reach.get(b, NEG)
    return best


def worth_reading(cands: Candidates, logp: torch.Tensor, bound: float):
    """spans [(a, b)] → [bool]: which pair spans (their readings weighing at most `bound`) a best
    path might take, given the recognizer's scores `logp` of `cands`' spans."""
    value = logp[:, :len(CHARSET)].max(1).values.tolist()     # each span at its best character
    arcs = [(s, d, v) for (s, d), v in zip(cands.spans, value)]
    n = cands.num_states
    best_between = recognizer_best_between(cands, value)

    def keep(pair_spans: list) -> list:
        reference = best_from_start(n, arcs)[-1]          # the recognizer's best path
        if reference == NEG:
            return [True] * len(pair_spans)
        bounded = arcs + [(a, b, bound) for a, b in pair_spans]
        into, out_of = best_from_start(n, bounded), best_to_end(n, bounded)
        return [best_between(a, b) <= bound and into[a] + bound + out_of[b] >= reference
                for a, b in pair_spans]
    return keep
