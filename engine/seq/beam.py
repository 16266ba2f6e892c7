"""Beam search over any step function, batched on the model's device.

A decoder exposes one step:

    step(tokens, state, context) -> (log_probs, state, attention)
        tokens (N,) the last token of each hypothesis; state: tensors with N rows (any nesting of
        tuple/list/dict); context: per-input tensors (encoder memory, mask) that never change;
        log_probs (N, V); attention (N, S) or None (kept per hypothesis for alignment views).

`beam_search` keeps `beam_size` live hypotheses per input, moves a hypothesis to the finished
list when it ends with EOS, and stops an input once it has `beam_size` finished ones (or at its
max length). Finished hypotheses are ranked by length-normalized log probability (GNMT, Wu et al.
2016: lp(Y) = ((5 + |Y|) / 6) ** alpha), because raw log probability always prefers short output.
beam_size=1 is greedy decoding. Nothing here knows about words, images or tasks.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence, Union

import torch


@dataclasses.dataclass
class Hypothesis:
    tokens: list            # emitted token ids, without BOS and EOS
    score: float            # length-normalized log probability: what ranks the n-best
    logprob: float          # total log probability (including EOS when it ended)
    attention: Optional[torch.Tensor] = None   # (len(tokens), S): the step's attention per token
    ended: bool = True      # False when cut at max_len without EOS


StepFn = Callable[[torch.Tensor, Any, Any], tuple]


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's length penalty; alpha=0 ranks by raw log probability."""
    return ((5.0 + length) / 6.0) ** alpha


def tree_map(fn: Callable[[torch.Tensor], torch.Tensor], tree: Any) -> Any:
    """Apply fn to every tensor in a nest of tuples/lists/dicts (None and scalars pass through)."""
    if isinstance(tree, torch.Tensor):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: tree_map(fn, v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(tree_map(fn, v) for v in tree)
    return tree


@torch.no_grad()
def beam_search(step: StepFn, state: Any, context: Any, batch_size: int, bos: int, eos: int,
                beam_size: int = 5, max_len: Union[int, Sequence[int]] = 100, alpha: float = 1.0,
                n_best: int = 1) -> list[list[Hypothesis]]:
    """The n_best hypotheses per input (best first), each a Hypothesis."""
    if not 1 <= beam_size <= 64:
        raise ValueError(f"beam size must be between 1 and 64, got {beam_size}")
    B, K = batch_size, beam_size
    n_best = max(1, min(n_best, K))
    limits = [int(max_len)] * B if isinstance(max_len, int) else [int(m) for m in max_len]
    if len(limits) != B:
        raise ValueError("max_len needs one value per input")

    # Every input starts with K copies of its state; only copy 0 is live (others at -inf), so
    # the first step does not pick the same token K times.
    state = tree_map(lambda x: x.repeat_interleave(K, 0), state)
    context = tree_map(lambda x: x.repeat_interleave(K, 0), context)
    device = _device_of(state, context)
    tokens = torch.full((B * K,), bos, dtype=torch.long, device=device)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0
    history = torch.zeros(B * K, 0, dtype=torch.long, device=device)     # (B*K, t)
    attn_hist: Optional[torch.Tensor] = None                             # (B*K, t, S)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    base = (torch.arange(B, device=device) * K).unsqueeze(1)            # (B, 1) row offset per input

    for t in range(max(limits)):
        logp, state, attn = step(tokens, state, context)                 # (B*K, V), ..., (B*K, S)
        V = logp.size(-1)
        cand = (scores.view(B * K, 1) + logp.float()).view(B, K * V)      # (B, K*V)
        top_v, top_i = cand.topk(min(2 * K, K * V), dim=1)               # (B, 2K)
        parent, tok = top_i // V, top_i % V                              # beam index, token id
        is_eos = tok == eos

        # Finished: EOS among the top K candidates, or any of the top K at the input's limit.
        tv, te, tp, tt = (x[:, :K].tolist() for x in (top_v, is_eos, parent, tok))
        for b in range(B):
            if done[b]:
                continue
            last = t + 1 >= limits[b]
            for j in range(K):
                if tv[b][j] == float("-inf") or not (te[b][j] or last):
                    continue
                row = b * K + tp[b][j]
                toks = history[row].tolist() + ([] if te[b][j] else [tt[b][j]])
                att = None
                if attn is not None:
                    rows = [attn_hist[row]] if attn_hist is not None else []
                    rows.append(attn[row].unsqueeze(0))
                    att = torch.cat(rows, 0)[: len(toks)].float().cpu()
                finished[b].append(Hypothesis(toks, tv[b][j] / length_penalty(t + 1, alpha),
                                              tv[b][j], att, ended=bool(te[b][j])))
            if last or len(finished[b]) >= K:
                done[b] = True
        if all(done):
            break

        # Live: the K best candidates that did not end, per input (stable sort keeps the order).
        keep = torch.sort(is_eos.to(torch.int8), dim=1, stable=True).indices[:, :K]   # (B, K)
        new_parent, new_tok = parent.gather(1, keep), tok.gather(1, keep)
        scores = top_v.gather(1, keep)
        scores[torch.tensor(done, device=device)] = float("-inf")         # finished inputs idle
        rows = (base + new_parent).view(-1)                              # (B*K,) rows to keep
        state = tree_map(lambda x: x.index_select(0, rows), state)
        history = torch.cat([history[rows], new_tok.view(-1, 1)], 1)
        if attn is not None:
            a = attn[rows].unsqueeze(1)                                  # (B*K, 1, S)
            attn_hist = a if attn_hist is None else torch.cat([attn_hist[rows], a], 1)
        tokens = new_tok.view(-1)

    return [sorted(f, key=lambda h: -h.score)[:n_best] for f in finished]


def _device_of(*trees) -> torch.device:
    found = []
    for tree in trees:
        tree_map(lambda x: found.append(x.device) or x, tree)
    return found[0] if found else torch.device("cpu")
