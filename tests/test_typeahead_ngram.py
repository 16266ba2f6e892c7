"""Kneser-Ney: distributions sum to one, pruning keeps them normalized, storage and ARPA agree."""
import math
import random

import numpy as np
import pytest

from engine.typeahead import vocab as V
from engine.typeahead.ngram import KNConfig, KneserNey, _discounts

TEXT = ("the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
        "the dog saw the cat on the mat . a log is not a mat . the cat is on the log . ") * 3


@pytest.fixture(scope="module")
def corpus():
    docs = [[V.BOS] + V.tokenize(TEXT), [V.BOS] + V.tokenize("the mat saw a cat . a dog is a dog .")]
    vocab = V.Vocab.build(docs, max_size=12, min_count=1)
    return vocab, [vocab.encode(d) for d in docs]


@pytest.mark.parametrize("order,min_count", [(1, 1), (2, 1), (3, 1), (5, 1), (3, 2), (5, 2), (5, 3)])
def test_every_distribution_sums_to_one(corpus, order, min_count):
    vocab, docs = corpus
    model = KneserNey.fit(docs, KNConfig(order=order, min_count=min_count, vocab_size=len(vocab)))
    rng = random.Random(order * 10 + min_count)
    contexts = [[rng.randrange(len(vocab)) for _ in range(rng.randrange(0, 6))] for _ in range(50)]
    contexts += [d[i - 4:i] for d in docs for i in range(4, len(d), 7)]        # seen contexts too
    for ctx in contexts:
        p = model.distribution(ctx)
        assert abs(p.sum() - 1.0) < 1e-6
        assert (p > 0).all()
        for o in range(1, order + 1):
            assert abs(model.distribution(ctx, o).sum() - 1.0) < 1e-6
        w = rng.randrange(len(vocab))
        assert model.prob(ctx, w) == pytest.approx(p[w], rel=1e-9)


def test_kneser_ney_prefers_seen_continuations(corpus):
    vocab, docs = corpus
    model = KneserNey.fit(docs, KNConfig(order=3, min_count=1, vocab_size=len(vocab)))
    p = model.distribution(vocab.encode(["sat", "on"]))
    assert vocab.itos[int(np.argmax(p))] == "the"
    # more context helps on the training text: perplexity falls with the order
    ppl = [math.exp(model.nll(docs[0], o)[0] / model.nll(docs[0], o)[1]) for o in (1, 2, 3)]
    assert ppl[0] > ppl[1] > ppl[2]


def test_pruning_shrinks_and_storage_round_trips(corpus):
    vocab, docs = corpus
    full = KneserNey.fit(docs, KNConfig(order=4, min_count=1, vocab_size=len(vocab)))
    pruned = KneserNey.fit(docs, KNConfig(order=4, min_count=3, vocab_size=len(vocab)))
    assert pruned.n_entries() < full.n_entries()
    back = KneserNey.from_tensors(pruned.tensors(), pruned.config)
    for d in docs:
        assert back.nll(d)[0] == pytest.approx(pruned.nll(d)[0], rel=1e-3)   # fp16 terms
        for i in range(1, len(d)):
            assert abs(back.distribution(d[max(0, i - 3):i]).sum() - 1.0) < 1e-6


def test_discounts_follow_chen_goodman():
    d1, d2, d3 = _discounts([1] * 100 + [2] * 40 + [3] * 20 + [4] * 10 + [9] * 5)
    y = 100 / (100 + 2 * 40)
    assert d1 == pytest.approx(1 - 2 * y * 40 / 100)
    assert d2 == pytest.approx(2 - 3 * y * 20 / 40)
    assert d3 == pytest.approx(3 - 4 * y * 10 / 20)
    assert 0 < d1 < d2 < d3


def _read_arpa(path):
    probs, bows, counts, order = {}, {}, {}, 0
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("ngram "):
            n, c = line[6:].split("=")
            counts[int(n)] = int(c)
        elif line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1])
        elif line and order and not line.startswith("\\"):
            parts = line.split("\t")
            key = tuple(parts[1].split(" "))
            probs[key] = float(parts[0])
            if len(parts) > 2:
                bows[key] = float(parts[2])
    return probs, bows, counts


def test_arpa_backoff_reproduces_the_model(corpus, tmp_path):
    vocab, docs = corpus
    model = KneserNey.fit(docs, KNConfig(order=3, min_count=2, vocab_size=len(vocab)))
    path = tmp_path / "lm.arpa"
    model.write_arpa(path, vocab.itos)
    probs, bows, counts = _read_arpa(path)
    assert counts[1] == len(vocab) + 2 and counts[3] == len(model.tables[3][0])
    assert sum(1 for k in probs if len(k) == 3) == counts[3]

    def arpa_logp(words):                         # standard ARPA back-off
        if tuple(words) in probs:
            return probs[tuple(words)]
        return bows.get(tuple(words[:-1]), 0.0) + arpa_logp(words[1:])

    rng = random.Random(0)
    for _ in range(100):
        ctx = [rng.randrange(len(vocab)) for _ in range(2)]
        w = rng.randrange(len(vocab))
        expect = math.log10(model.prob(ctx, w))
        assert arpa_logp([vocab.itos[i] for i in ctx + [w]]) == pytest.approx(expect, abs=2e-6)
