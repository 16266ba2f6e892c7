"""Beam search (engine/seq/beam.py) on hand-made step functions whose best answers are known."""
import math

import pytest
import torch

from engine.seq.beam import beam_search, length_penalty

BOS, EOS, A, B = 0, 1, 2, 3
V = 4


def markov_step(table):
    """A step function from a transition table {prev_token: {next_token: p}}; the state counts
    calls so tests can see early stopping."""
    logp = torch.full((V, V), float("-inf"))
    for prev, nxt in table.items():
        for tok, p in nxt.items():
            logp[prev, tok] = math.log(p)
    calls = []

    def step(tokens, state, context):
        calls.append(tokens.numel())
        attn = torch.nn.functional.one_hot(tokens, V).float()     # attend to "position" = last token
        return logp[tokens] + context, state + 1, attn

    return step, calls


# Greedy takes A (0.6) but then can only end with p 0.4; B (0.4) ends with p 0.9.
GARDEN = {BOS: {A: 0.6, B: 0.4}, A: {A: 0.3, B: 0.3, EOS: 0.4}, B: {EOS: 0.9, A: 0.1}}


def run(step, beam, batch=1, context=None, **kw):
    state = torch.zeros(batch, 1)
    context = torch.zeros(batch, V) if context is None else context
    return beam_search(step, state, context, batch, BOS, EOS, beam_size=beam, **kw)


def test_greedy_takes_the_garden_path_and_beam_finds_the_better_sentence():
    step, _ = markov_step(GARDEN)
    greedy = run(step, 1, alpha=0.0)[0][0]
    assert greedy.tokens == [A]
    assert greedy.logprob == pytest.approx(math.log(0.6 * 0.4), abs=1e-5)
    best = run(step, 2, alpha=0.0)[0][0]
    assert best.tokens == [B]
    assert best.logprob == pytest.approx(math.log(0.4 * 0.9), abs=1e-5)


def test_nbest_is_sorted_and_scores_are_length_normalized():
    step, _ = markov_step(GARDEN)
    hyps = run(step, 5, alpha=1.0, n_best=5, max_len=6)[0]
    assert len(hyps) >= 3
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    for h in hyps:
        length = len(h.tokens) + (1 if h.ended else 0)
        assert h.score == pytest.approx(h.logprob / length_penalty(length, 1.0), abs=1e-5)
    texts = [tuple(h.tokens) for h in hyps]
    assert len(set(texts)) == len(texts)                      # no duplicate hypotheses


def test_length_normalization_can_prefer_a_longer_sentence():
    # Ending now costs log 0.5; one more near-certain token then EOS costs log(0.5 * 0.99 * 0.99).
    table = {BOS: {A: 1.0}, A: {EOS: 0.5, B: 0.5}, B: {EOS: 0.99, A: 0.01}}
    step, _ = markov_step(table)
    assert run(step, 3, alpha=0.0)[0][0].tokens == [A]        # raw log prob: shortest wins
    assert run(step, 3, alpha=2.0)[0][0].tokens == [A, B]     # normalized: longer wins


def test_stops_early_once_every_beam_ended():
    step, calls = markov_step({BOS: {EOS: 0.7, A: 0.3}, A: {EOS: 1.0}})
    run(step, 2, max_len=50)
    assert len(calls) <= 3


def test_hypothesis_cut_at_max_len_is_returned_unended():
    step, _ = markov_step({BOS: {A: 1.0}, A: {A: 1.0}})
    h = run(step, 2, max_len=4)[0][0]
    assert h.tokens == [A, A, A, A] and not h.ended


def test_attention_rows_follow_the_chosen_hypothesis():
    step, _ = markov_step(GARDEN)
    h = run(step, 3, alpha=0.0)[0][0]                         # tokens [B]
    # row i is the attention of the step that emitted token i: one-hot at the previous token.
    assert h.attention.shape == (1, V)
    assert h.attention[0].argmax().item() == BOS
    h = run(step, 1, alpha=0.0, max_len=3)[0][0]
    assert h.attention.shape[0] == len(h.tokens)


def test_batched_equals_one_by_one():
    step, _ = markov_step(GARDEN)
    # Input 1 gets a bias that makes A ending attractive; input 0 is the plain chain.
    bias = torch.zeros(2, V)
    bias[1, A] = 3.0
    batched = run(step, 4, batch=2, context=bias, n_best=3, max_len=5)
    for i in range(2):
        solo = run(step, 4, batch=1, context=bias[i:i + 1], n_best=3, max_len=5)[0]
        assert [h.tokens for h in batched[i]] == [h.tokens for h in solo]
        assert [round(h.score, 4) for h in batched[i]] == [round(h.score, 4) for h in solo]
    assert [h.tokens for h in batched[0]] != [h.tokens for h in batched[1]]


def test_nested_state_is_reordered_with_its_beam():
    # B never follows B. The state remembers each row's last fed token; if beam search paired a
    # row's state with another row's token, an impossible B -> B transition would show up.
    table = {BOS: {A: 0.6, B: 0.4}, A: {A: 0.5, B: 0.4, EOS: 0.1}, B: {A: 0.7, EOS: 0.3}}
    step_plain, _ = markov_step(table)
    seen = []

    def step(tokens, state, context):
        logp, _, attn = step_plain(tokens, state["n"], context)
        prev = state["last"][0][:, 0]
        seen.extend(zip(prev.tolist(), tokens.tolist()))
        return logp, {"n": state["n"] + 1, "last": [tokens.unsqueeze(1)]}, attn

    state = {"n": torch.zeros(1, 1), "last": [torch.full((1, 1), BOS)]}
    beam_search(step, state, torch.zeros(1, V), 1, BOS, EOS, beam_size=2, max_len=8)
    assert len(seen) > 8
    assert (B, B) not in seen


@pytest.mark.parametrize("beam", [0, 65])
def test_rejects_silly_beam_sizes(beam):
    step, _ = markov_step(GARDEN)
    with pytest.raises(ValueError):
        run(step, beam)
