"""Pair spans left out before the pair CNN runs (engine/ocr/pair_pruning.py): the dynamic
programmes against enumeration, and on real fields no best path can go through a span left out."""
import itertools

import numpy as np
import pytest
import torch

from engine import lattice
from engine.ocr import checks, graph, pair_pruning, pairs


def all_paths(num_states, arcs, start, end):
    """Every path start → end of a DAG as a list of arcs (enumeration, for small graphs)."""
    if start == end:
        return [[]]
    return [[arc] + rest for arc in arcs if arc[0] == start for rest in all_paths(num_states, arcs, arc[1], end)]


def test_best_from_start_and_to_end_equal_enumeration():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 7))
        arcs = [(a, b, float(rng.normal())) for a, b in itertools.combinations(range(n), 2) if rng.random() < 0.6]
        into, out_of = pair_pruning.best_from_start(n, arcs), pair_pruning.best_to_end(n, arcs)
        for s in range(n):
            for got, paths in ((into[s], all_paths(n, arcs, 0, s)), (out_of[s], all_paths(n, arcs, s, n - 1))):
                expected = max((sum(w for _, _, w in p) for p in paths), default=-np.inf)
                assert got == pytest.approx(expected, abs=1e-9)


def best_through(g: lattice.Acceptor, state: int) -> float:
    """Score of the best start → final path of `g` through `state`: Viterbi to it, then from it."""
    to = lattice.Acceptor(g.num_states, g.src, g.dst, g.label, g.weight, finals=(state,))
    keep = g.src >= state
    from_ = lattice.Acceptor(g.num_states - state, g.src[keep] - state, g.dst[keep] - state, g.label[keep],
                             g.weight[keep], finals=tuple(f - state for f in g.finals))
    return float(lattice.viterbi(to)[0]) + float(lattice.viterbi(from_)[0])


def test_no_best_path_goes_through_a_pair_span_left_out():
    from engine.ocr import task
    model = task.load("amounts").gtn
    bank, rng = checks.DigitBank("test"), np.random.default_rng(5)
    checked = 0
    for _ in range(12):
        f = checks.make_field(rng, bank, touch_rate=1.0)
        every = graph.model_candidates(model, f.image)           # all pair spans, all read
        with torch.no_grad():
            logp = graph.score(model, every)
            arcs = pairs.pair_arcs(model.pair_reader, every.pairs)
        g = graph.build_graph(every, logp, arcs)
        best = float(lattice.viterbi(g)[0])
        kept = set(graph.add_pair_spans(graph.model_candidates(model, f.image, with_pairs=False),
                                        model.pair_reader, logp).pairs.spans)
        n_span_arcs, top = len(every.spans) * len(checks.CHARSET), model.pair_reader.top
        for j, span in enumerate(every.pairs.spans):
            if span in kept:
                continue
            for t in range(top):                      # each of its pairs' middle state
                mid = int(g.dst[n_span_arcs + 2 * (j * top + t)])
                assert best_through(g, mid) < best
                checked += 1
    assert checked > 0


def test_a_reading_in_the_form_of_an_amount_is_sought_with_every_pair_span():
    # held-out amount 1212: the isolated recognizer's best path reads "6373.4", no amount; the best
    # path that is one, "6373.14", takes a pair span that no best path can take (left out at first)
    from engine.ocr import evaluate, task
    model = task.load("amounts").isolated
    f = evaluate.test_fields(1213)[1212]
    with torch.no_grad():
        cands = graph.model_candidates(model, f.image, with_pairs=False)
        first = graph.add_pair_spans(cands, model.pair_reader, graph.score(model, cands)).pairs.spans
    reading = graph.decode(model, f.image, posterior=False)
    assert len(first) < len(reading.cands.pairs.spans)              # read again, all of them
    assert reading.amount == graph.decode(model, f.image, posterior=False, prune_pairs=False).amount == "6373.14"
