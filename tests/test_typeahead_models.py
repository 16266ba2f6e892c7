"""LSTM and gated-CNN LMs: shapes, normalization, causality, incremental inference = full pass,
the one trainer learns and its cancel saves nothing."""
import math

import pytest
import torch

from engine.typeahead import models as M
from engine.typeahead import train as T
from engine.typeahead.complete import TypeAhead, generate
from engine.typeahead.gcnn import GCNNConfig, GCNNLM
from engine.typeahead.lstm import LSTMConfig, LSTMLM, State
from engine.typeahead import vocab as V

VOCAB = 40
torch.set_num_threads(1)          # tiny models: threads only add contention


def tiny(kind):
    torch.manual_seed(0)
    if kind == "lstm":
        return LSTMLM(LSTMConfig(vocab_size=VOCAB, n_embd=16, n_hidden=24, dropout=0.0, cutoffs=(10, 20)))
    return GCNNLM(GCNNConfig(vocab_size=VOCAB, n_embd=16, n_inner=8, n_layer=3, kernel=3,
                             dropout=0.0, cutoffs=(10, 20)))


@pytest.mark.parametrize("kind", ["lstm", "gcnn"])
@torch.no_grad()
def test_forward_contract_and_normalization(kind):
    model = tiny(kind).eval()
    idx = torch.randint(0, VOCAB, (2, 7))
    logits, loss = model(idx)
    assert logits.shape == (2, 7, VOCAB) and loss is None
    assert torch.allclose(logits.exp().sum(-1), torch.ones(2, 7), atol=1e-5)
    _, loss = model(idx, idx)
    # the loss is the mean -log p of the targets, read off the full distribution
    expect = -logits.gather(-1, idx[..., None]).mean()
    assert float(loss) == pytest.approx(float(expect), rel=1e-4)
    _, masked = model(idx, torch.where(torch.arange(7) < 3, -1, idx))
    assert float(masked) == pytest.approx(float(-logits[:, 3:].gather(-1, idx[:, 3:, None]).mean()), rel=1e-4)


@pytest.mark.parametrize("kind", ["lstm", "gcnn"])
def test_causal_no_peeking(kind):
    model = tiny(kind).eval()
    a = torch.randint(0, VOCAB, (1, 10))
    b = a.clone()
    b[0, 6:] = (b[0, 6:] + 1) % VOCAB
    la, _ = model(a)
    lb, _ = model(b)
    assert torch.allclose(la[0, :6], lb[0, :6], atol=1e-6)
    assert not torch.allclose(la[0, 6:], lb[0, 6:], atol=1e-4)


def test_lstm_state_step_by_step_equals_full_pass():
    model = tiny("lstm").eval()
    ids = torch.randint(0, VOCAB, (1, 9))
    full, _ = model(ids)
    p = M.make_predictor(model, V.Vocab([str(i) for i in range(VOCAB - 1)] + [V.UNK]))
    state = p.empty()
    for t in range(9):
        state = p.advance(state, [int(ids[0, t])])
        assert torch.allclose(torch.from_numpy(p.log_probs(state)).float(), full[0, t], atol=1e-5)
    # training-style state carry: two halves equal one pass
    st = State()
    first, _ = model(ids[:, :4], state=st)
    second, _ = model(ids[:, 4:], state=st)
    assert torch.allclose(torch.cat([first, second], 1), full, atol=1e-5)


def test_gcnn_cached_steps_equal_full_pass():
    model = tiny("gcnn").eval()
    R = model.context_size()
    assert R == 3 * 2 + 1
    ids = torch.randint(0, VOCAB, (1, 20))
    full, _ = model(ids)
    p = M.make_predictor(model, V.Vocab([str(i) for i in range(VOCAB - 1)] + [V.UNK]))
    state = p.empty()
    for t in range(20):                                  # from the true start: exact everywhere
        state = p.advance(state, [int(ids[0, t])])
        assert torch.allclose(torch.from_numpy(p.log_probs(state)).float(), full[0, t], atol=1e-5)
    # from a cut-off start: exact once the words fed cover the window, and stays exact
    state = p.advance(p.empty(), ids[0, 20 - R - 2:18].tolist())
    assert torch.allclose(torch.from_numpy(p.log_probs(state)).float(), full[0, 17], atol=1e-5)
    for t in (18, 19):
        state = p.advance(state, [int(ids[0, t])])
        assert torch.allclose(torch.from_numpy(p.log_probs(state)).float(), full[0, t], atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gcnn"])
def test_trainer_learns_a_pattern_and_cancel_keeps_nothing(kind):
    docs = [[i % 12 for i in range(400)]]                        # a fully predictable stream
    model = tiny(kind)
    before, n = T.evaluate(model, docs)
    cfg = T.TrainConfig(steps=45, batch_size=4, seq_len=16, lr=1e-2, warmup=5, checkpoint_every=15)
    gen = T.train(model, docs, docs, cfg)
    events, checkpoints = [], 0
    try:
        while True:
            e = next(gen)
            events.append(e)
            checkpoints += e.checkpoint is not None
    except StopIteration as stop:
        final, metrics = stop.value
    assert checkpoints == 3 and not final.training
    assert metrics["test_ppl"] < math.exp(before / n) / 3
    assert metrics["test_ppl"] < 5.0
    # cancelling: close the generator mid-way -> no result, the caller keeps its old model
    gen = T.train(tiny(kind), docs, docs, cfg)
    next(gen)
    gen.close()


def test_typeahead_on_a_tiny_model_completes_prefixes_and_generates():
    words = ["the", "cat", "sat", "on", "mat", "."]
    vocab = V.Vocab(words + [V.UNK])
    torch.manual_seed(0)
    model = LSTMLM(LSTMConfig(vocab_size=len(vocab), n_embd=8, n_hidden=8, dropout=0.0, cutoffs=()))
    docs = [vocab.encode(["."] + "the cat sat on the mat .".split() * 30)]
    gen = T.train(model, docs, docs, T.TrainConfig(steps=80, batch_size=2, seq_len=12, lr=2e-2, warmup=5))
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            final, _ = stop.value
            break
    ta = TypeAhead(M.make_predictor(final, vocab))
    out = ta.predict("the cat ")
    assert out["next"][0]["word"] == "sat" and out["completion"].startswith("sat on")
    assert out["ghost"] == out["completion"]
    out = ta.predict("the cat sat on the m")
    assert [n["word"] for n in out["next"]] == ["mat"] and out["ghost"].startswith("at")
    assert ta.predict("the cat sat on the zz")["next"] == []
    assert ta.predict("")["next"]                                 # empty editor: sentence starts
    big = ta.predict("the cat sat on the mat . " * 5000)           # 125 KB pasted
    assert big["next"][0]["word"] == "the"
    pieces = list(generate(ta.predictor, "the cat", n_words=6, temperature=0.5, seed=1))
    assert len(pieces) == 6 and all(p.strip() for p in pieces)


@pytest.mark.parametrize("kind", ["lstm", "gcnn"])
def test_fast_argmax_matches_the_full_distribution(kind):
    model = tiny(kind).eval()
    vocab = V.Vocab([str(i) for i in range(VOCAB - 1)] + [V.UNK])
    p = M.make_predictor(model, vocab)
    state = p.empty()
    for w in torch.randint(0, VOCAB, (15,)).tolist():
        state = p.advance(state, [w])
        logp = p.log_probs(state)
        logp[vocab.unk] = -float("inf")
        assert p.best_next(state) == int(logp.argmax())
