"""The weighted acceptor, and intersection with another acceptor (e.g. a label sequence).

An Acceptor is a DAG whose states are numbered in topological order (every arc goes from a lower
to a higher state), with state 0 the start and a set of final states. Arcs are four parallel
tensors: src, dst, label (int64) and weight (float, may require grad). Restricting ourselves to
DAGs is what the over-segmentation lattice needs (cuts run left to right), and it lets every
algorithm be one sweep over the states in order — no closure or queue needed.

Intersection keeps, for every arc it creates, the index of the arc it came from (``arc_map``), so
the constrained graph's weights are *the same tensor entries* as the full graph's and gradients
flow back to them (Bottou et al. 1997, "global training of document processing systems using
graph transformer networks").
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import torch

EPSILON = -1   # an arc label that consumes nothing in intersection


@dataclasses.dataclass
class Acceptor:
    num_states: int
    src: torch.Tensor            # (A,) int64, source state of each arc
    dst: torch.Tensor            # (A,) int64, destination state, always > src
    label: torch.Tensor          # (A,) int64, EPSILON or a symbol id
    weight: torch.Tensor         # (A,) float, log-score of the arc (higher is better)
    finals: Optional[tuple] = None   # final states (start is always 0); None: the last state
    arc_map: Optional[torch.Tensor] = None   # (A,) index of the arc in the graph this came from

    def __post_init__(self):
        if self.num_states < 1:
            raise ValueError("an acceptor needs at least the start state")
        if self.src.numel() and bool((self.dst <= self.src).any()):
            raise ValueError("states must be numbered in topological order (dst > src on every arc)")
        self.finals = (self.num_states - 1,) if self.finals is None else tuple(self.finals)

    @property
    def num_arcs(self) -> int:
        return int(self.src.numel())

    @classmethod
    def from_arcs(cls, num_states: int, arcs: Sequence[tuple], finals: Optional[Sequence[int]] = None,
                  weight: Optional[torch.Tensor] = None) -> "Acceptor":
        """Build from [(src, dst, label, weight), ...]; `weight` overrides the arcs' weights."""
        if arcs:
            s, d, l, w = zip(*arcs)
        else:
            s, d, l, w = (), (), (), ()
        w_t = weight if weight is not None else torch.tensor(w, dtype=torch.float64)
        return cls(num_states, torch.tensor(s, dtype=torch.long), torch.tensor(d, dtype=torch.long),
                   torch.tensor(l, dtype=torch.long), w_t, finals)

    def incoming(self) -> list[list[int]]:
        """Arc indices entering each state."""
        into: list[list[int]] = [[] for _ in range(self.num_states)]
        for a, d in enumerate(self.dst.tolist()):
            into[d].append(a)
        return into

    def subgraph(self, keep_arcs: torch.Tensor, state_map: dict[int, int], finals) -> "Acceptor":
        """The acceptor made of `keep_arcs` with states renumbered by `state_map`."""
        src = torch.tensor([state_map[s] for s in self.src[keep_arcs].tolist()], dtype=torch.long)
        dst = torch.tensor([state_map[s] for s in self.dst[keep_arcs].tolist()], dtype=torch.long)
        base = self.arc_map[keep_arcs] if self.arc_map is not None else keep_arcs
        return Acceptor(len(state_map), src, dst, self.label[keep_arcs], self.weight[keep_arcs],
                        tuple(sorted(state_map[f] for f in finals if f in state_map)), base)


def linear_chain(labels: Sequence[int]) -> Acceptor:
    """The acceptor of exactly one label sequence, weight 0: states 0..L, arc k labelled labels[k]."""
    arcs = [(k, k + 1, int(lab), 0.0) for k, lab in enumerate(labels)]
    return Acceptor.from_arcs(len(labels) + 1, arcs, finals=[len(labels)])


def trim(g: Acceptor) -> Acceptor:
    """Keep only states and arcs on some start → final path (the 'connect' operation)."""
    fwd = [False] * g.num_states
    fwd[0] = True
    src, dst = g.src.tolist(), g.dst.tolist()
    for a in sorted(range(g.num_arcs), key=lambda a: src[a]):     # topological sweep
        if fwd[src[a]]:
            fwd[dst[a]] = True
    bwd = [False] * g.num_states
    for f in g.finals:
        bwd[f] = True
    for a in sorted(range(g.num_arcs), key=lambda a: -dst[a]):    # reverse sweep
        if bwd[dst[a]]:
            bwd[src[a]] = True
    alive = [fwd[s] and bwd[s] for s in range(g.num_states)]
    if not alive[0]:                       # no accepting path at all: the empty acceptor
        none = torch.zeros(0, dtype=torch.long)
        return Acceptor(1, none, none, none, g.weight[:0], (), none)
    state_map = {s: i for i, s in enumerate(s for s in range(g.num_states) if alive[s])}
    keep = torch.tensor([a for a in range(g.num_arcs) if alive[src[a]] and alive[dst[a]]],
                        dtype=torch.long)
    return g.subgraph(keep, state_map, [f for f in g.finals if alive[f]])


def intersect(a: Acceptor, b: Acceptor) -> Acceptor:
    """The acceptor of label sequences accepted by both, weights from `a` (b's weights are added).

    EPSILON arcs of `a` move in `a` alone. Product states are ordered by (state in a, state in b),
    which is topological because both inputs are. The result is trimmed, and its ``arc_map``
    indexes arcs of `a`, so ``a.weight`` gradients flow through it.
    """
    a_out: list[list[int]] = [[] for _ in range(a.num_states)]
    for i, s in enumerate(a.src.tolist()):
        a_out[s].append(i)
    b_by_label: list[dict[int, list[int]]] = [dict() for _ in range(b.num_states)]
    for j, (s, lab) in enumerate(zip(b.src.tolist(), b.label.tolist())):
        b_by_label[s].setdefault(lab, []).append(j)
    a_dst, a_lab = a.dst.tolist(), a.label.tolist()
    b_dst = b.dst.tolist()

    seen = {(0, 0)}
    frontier = [(0, 0)]
    arcs: list[tuple] = []                     # (product src, product dst, arc of a, arc of b or -1)
    while frontier:
        sa, sb = frontier.pop()
        for i in a_out[sa]:
            if a_lab[i] == EPSILON:
                targets = [((a_dst[i], sb), -1)]
            else:
                targets = [((a_dst[i], b_dst[j]), j) for j in b_by_label[sb].get(a_lab[i], [])]
            for nxt, j in targets:
                arcs.append(((sa, sb), nxt, i, j))
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
    order = sorted(seen)
    index = {p: k for k, p in enumerate(order)}
    finals = [index[p] for p in order if p[0] in a.finals and p[1] in b.finals]
    a_arcs = torch.tensor([x[2] for x in arcs], dtype=torch.long)
    b_arcs = torch.tensor([x[3] for x in arcs], dtype=torch.long)
    weight = a.weight[a_arcs]
    if b.num_arcs and bool((b_arcs >= 0).any()):
        b_w = torch.where(b_arcs >= 0, b.weight[b_arcs.clamp(min=0)].to(weight.dtype),
                          torch.zeros((), dtype=weight.dtype))
        weight = weight + b_w
    base = a.arc_map[a_arcs] if a.arc_map is not None else a_arcs
    product = Acceptor(len(order),
                       torch.tensor([index[x[0]] for x in arcs], dtype=torch.long),
                       torch.tensor([index[x[1]] for x in arcs], dtype=torch.long),
                       a.label[a_arcs], weight, tuple(finals), base)
    return trim(product)
