"""The lattice operations against brute force: enumerate every path of small random DAGs."""
import math
import random

import pytest
import torch

from engine.lattice import (EPSILON, Acceptor, forward_score, intersect, linear_chain, nbest,
                            path_labels, trim, viterbi)


def random_dag(seed: int, num_states: int = 6, num_arcs: int = 14, labels: int = 3,
               epsilon: bool = False) -> Acceptor:
    rng = random.Random(seed)
    arcs = []
    for _ in range(num_arcs):
        s = rng.randrange(num_states - 1)
        d = rng.randrange(s + 1, num_states)
        lab = rng.randrange(labels) if not (epsilon and rng.random() < 0.2) else EPSILON
        arcs.append((s, d, lab, rng.uniform(-3, 1)))
    finals = sorted(rng.sample(range(1, num_states), 2))
    w = torch.tensor([a[3] for a in arcs], dtype=torch.float64, requires_grad=True)
    return Acceptor.from_arcs(num_states, arcs, finals=finals, weight=w)


def all_paths(g: Acceptor):
    """Every accepting path as a list of arc indices (depth-first)."""
    out_arcs = [[] for _ in range(g.num_states)]
    for a, s in enumerate(g.src.tolist()):
        out_arcs[s].append(a)
    dst = g.dst.tolist()
    paths = []

    def walk(state, path):
        if state in g.finals:
            paths.append(list(path))
        for a in out_arcs[state]:
            walk(dst[a], path + [a])
    walk(0, [])
    return paths


def brute_scores(g, paths):
    return torch.stack([g.weight[torch.tensor(p, dtype=torch.long)].sum() if p
                        else torch.zeros((), dtype=g.weight.dtype) for p in paths])


SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_forward_matches_brute_force_with_gradients(seed):
    g = random_dag(seed)
    paths = all_paths(g)
    ours = forward_score(g)
    if not paths:
        assert ours.item() == -math.inf
        return
    ref = torch.logsumexp(brute_scores(g, paths), 0)
    assert ours.item() == pytest.approx(ref.item(), abs=1e-5)
    (g_ours,) = torch.autograd.grad(ours, g.weight)
    (g_ref,) = torch.autograd.grad(ref, g.weight)
    assert torch.allclose(g_ours, g_ref, atol=1e-5)
    # the gradient is each arc's posterior: non-negative, and it sums to the expected path length
    assert (g_ours >= -1e-9).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_viterbi_and_nbest_match_sorted_paths(seed):
    g = random_dag(seed, num_arcs=16)
    paths = all_paths(g)
    score, path = viterbi(g)
    if not paths:
        assert path is None and nbest(g, 3) == []
        return
    scores = brute_scores(g, paths).detach()
    order = torch.argsort(scores, descending=True).tolist()
    assert score.item() == pytest.approx(scores[order[0]].item(), abs=1e-5)
    assert path == paths[order[0]]
    (grad,) = torch.autograd.grad(score, g.weight)       # 1 on the best path's arcs, 0 elsewhere
    expect = torch.zeros_like(grad)
    for a in path:
        expect[a] += 1
    assert torch.allclose(grad, expect)
    got = nbest(g, 5)
    want = [(scores[i].item(), paths[i]) for i in order[:5]]
    assert [p for _, p in got] == [p for _, p in want]
    assert [s for s, _ in got] == pytest.approx([s for s, _ in want], abs=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_intersection_keeps_exactly_the_paths_with_the_labels(seed):
    g = random_dag(seed, num_states=7, num_arcs=20, labels=2, epsilon=True)
    paths = all_paths(g)
    by_labels = {}
    for p in paths:
        by_labels.setdefault(tuple(path_labels(g, p)), []).append(p)
    targets = list(by_labels)[:3] + [(1, 1, 1, 1, 1, 1, 1, 1)]      # the last one is never accepted
    for target in targets:
        c = intersect(g, linear_chain(list(target)))
        ours = forward_score(c)
        hits = by_labels.get(target, [])
        if not hits:
            assert ours.item() == -math.inf and c.num_arcs == 0
            continue
        ref = torch.logsumexp(brute_scores(g, hits), 0)
        assert ours.item() == pytest.approx(ref.item(), abs=1e-5)
        (g_ours,) = torch.autograd.grad(ours, g.weight)
        (g_ref,) = torch.autograd.grad(ref, g.weight)
        assert torch.allclose(g_ours, g_ref, atol=1e-5)
        # every path of the constrained graph reads the target, and maps back to a path of g
        for p in all_paths(c):
            assert tuple(path_labels(c, p)) == target
            assert c.arc_map[torch.tensor(p, dtype=torch.long)].tolist() in hits


def test_gtn_loss_is_minus_log_posterior_of_the_labels():
    g = random_dag(3, num_states=6, num_arcs=18, labels=2)
    paths = all_paths(g)
    target = tuple(path_labels(g, paths[0]))
    loss = -(forward_score(intersect(g, linear_chain(list(target)))) - forward_score(g))
    probs = torch.softmax(brute_scores(g, paths), 0)
    p_target = sum(probs[i] for i, p in enumerate(paths) if tuple(path_labels(g, p)) == target)
    assert loss.item() == pytest.approx(-math.log(p_target.item()), abs=1e-5)
    assert 0 <= loss.item()


def test_trim_drops_dead_ends_and_bad_numbering_is_rejected():
    g = Acceptor.from_arcs(4, [(0, 1, 0, 0.0), (1, 3, 0, 0.0), (0, 2, 1, 0.0)], finals=[3])
    t = trim(g)
    assert t.num_states == 3 and t.num_arcs == 2 and t.arc_map.tolist() == [0, 1]
    with pytest.raises(ValueError):
        Acceptor.from_arcs(2, [(1, 0, 0, 0.0)])


def test_forward_float32_is_stable_for_long_lattices():
    # 300 states in a chain of 3 parallel arcs: a naive product of probabilities would underflow
    arcs = [(s, s + 1, k, -50.0) for s in range(300) for k in range(3)]
    g = Acceptor.from_arcs(301, arcs, weight=torch.full((900,), -50.0))
    assert forward_score(g).item() == pytest.approx(300 * (-50.0 + math.log(3)), rel=1e-5)
