"""The form of an amount, for readings that break it: the best path of the lattice that is an amount.

A check amount is written `(0|[1-9][0-9]*)(,[0-9]{3})*(\\.[0-9]{2})?` (US style; the generator's
"1234,567" fits too). Viterbi knows nothing of it, and a few readings break it — most of them
because a piece broken off a digit stands apart as a small low mark, which the segmenter keeps on
its own as a '.' or ',' (it never joins a digit's span), so every path must read it as one: "9.6"
for "96" (docs/OCR_NOTEBOOK.md, stop 24). For such a reading, decode again over the product of the
lattice and this grammar's automaton, where each mark may also be read as *nothing* (a piece of
ink left out, at a fixed cost): the best path that spells an amount.

The automaton (states below) is deterministic and has loops, so the product is searched by
dynamic programming over lattice states (acyclic) × automaton states rather than built.
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np

from engine.ocr.checks import CHARSET

AMOUNT_FORM = re.compile(r"(0|[1-9][0-9]*)(,[0-9]{3})*(\.[0-9]{2})?")
SKIP_COST = 3.0               # -log weight of reading a mark as nothing (chosen on validation amounts
                              # of training digits: docs/OCR_NOTEBOOK.md, stop 24)

# automaton states: 0 start · 1 "0" · 2 integer digits · 3 a ',' · 4/5/6 one/two/three digits after it
# · 7 a '.' · 8/9 one/two cents digits; final: 1, 2, 6, 9
FINAL = (1, 2, 6, 9)
STATES = 10


def step(state: int, ch: str) -> Optional[int]:
    """The automaton's next state after `ch`, None where an amount cannot go on so."""
    digit = ch.isdigit()
    if state == 0:
        return (1 if ch == "0" else 2) if digit else None
    if state in (1, 2, 6):                            # an amount so far: more digits, a ',' or a '.'
        if ch == ".":
            return 7
        if ch == ",":
            return 3
        return 2 if digit and state == 2 else None
    if state in (3, 4, 5, 7, 8):                      # inside a group of three, or the cents
        return state + 1 if digit else None
    return None


_TABLE = [[step(s, ch) for ch in CHARSET] for s in range(STATES)]


def is_amount(text: str) -> bool:
    return AMOUNT_FORM.fullmatch(text) is not None


def best_amount_path(graph, skips: list, skip_cost: float = SKIP_COST) -> tuple[float, list, list]:
    """(score, arcs of `graph` on the path, indices into `skips` the path leaves out) of the best
    path that spells an amount; `skips`: [(src, dst)] — lattice steps that read a mark as nothing,
    each costing `skip_cost`. (-inf, [], []) when no path does."""
    w = graph.weight.detach().double().cpu().tolist()
    src, dst, label = graph.src.tolist(), graph.dst.tolist(), graph.label.tolist()
    best: list = [{} for _ in range(graph.num_states)]   # per lattice state: {automaton state: score}
    back: dict = {}                                   # (state, automaton state) -> (prev, prev g, arc or skip)
    best[0][0] = 0.0
    moves = [(src[a], dst[a], a) for a in range(len(src))] + [(s, d, ("skip", j)) for j, (s, d) in enumerate(skips)]
    moves.sort(key=lambda m: m[0])                    # by source: states are topologically numbered
    for s, d, what in moves:
        here, there = best[s], best[d]
        for g, score in here.items():
            if isinstance(what, tuple):
                g2, score = g, score - skip_cost
            else:
                g2 = _TABLE[g][label[what]]
                if g2 is None:
                    continue
                score += w[what]
            if score > there.get(g2, -np.inf):
                there[g2] = score
                back[(d, g2)] = (s, g, what)
    ends = [(best[f][g], f, g) for f in graph.finals for g in FINAL if g in best[f]]
    if not ends:
        return -np.inf, [], []
    score, state, g = max(ends)
    arcs, skipped = [], []
    while (state, g) != (0, 0):
        state, g, what = back[(state, g)]
        (skipped.append(what[1]) if isinstance(what, tuple) else arcs.append(what))
    return float(score), arcs[::-1], skipped[::-1]
