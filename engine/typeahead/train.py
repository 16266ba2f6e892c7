"""The one trainer for the neural language models (LSTM and GCNN), as a generator of Progress.

The training stream is every training document concatenated (each starts with the boundary
token), cut into `batch_size` contiguous rows read left to right in chunks of `seq_len` words.
A stateful model (LSTM) carries its state from one chunk to the next (truncated BPTT); a window
model (GCNN) gets its `context_size()-1` previous words prepended to each chunk as warm-up context
whose targets are ignored, so every scored word sees a full window, as at inference time.

AdamW, linear warm-up then cosine decay, gradient clipping. Deterministic for a given seed.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import time
from typing import Iterator, Optional

import torch

from engine.runtime import Progress


@dataclasses.dataclass
class TrainConfig:
    steps: int = 2000             # optimizer steps
    batch_size: int = 32          # rows of the training stream
    seq_len: int = 64             # words scored per row per step
    lr: float = 3e-3              # peak learning rate (AdamW)
    warmup: int = 100             # linear warm-up steps
    weight_decay: float = 0.01
    clip: float = 0.5             # gradient norm clipping
    checkpoint_every: int = 100   # steps between published checkpoints (the tab predicts with them)
    seed: int = 1337


def stream_rows(docs: list[list[int]], batch_size: int) -> torch.Tensor:
    """(batch_size, N) contiguous rows of the concatenated documents."""
    flat = torch.tensor([i for d in docs for i in d], dtype=torch.long)
    n = len(flat) // batch_size
    if n < 2:
        raise ValueError("not enough training text for this batch size")
    return flat[: n * batch_size].view(batch_size, n)            # (B, N)


def chunks(rows: torch.Tensor, seq_len: int, ctx: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless (x, y) pairs: x (B, ctx+T), y (B, ctx+T) with y = x shifted left and the first
    ctx targets set to -1 (context only, not scored)."""
    n = rows.size(1)
    while True:
        for s in range(0, n - 1, seq_len):
            e = min(s + seq_len, n - 1)
            lo = max(0, s - ctx)
            x = rows[:, lo:e]
            y = rows[:, lo + 1:e + 1].clone()
            y[:, : s - lo] = -1
            yield x, y


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def predictor_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A ready-to-use copy for the interactive lane: eval mode, embeddings cached."""
    m = copy.deepcopy(model).eval()
    m.softmax.freeze()
    return m


@torch.no_grad()
def evaluate(model: torch.nn.Module, docs: list[list[int]], seq_len: int = 256,
             max_tokens: Optional[int] = None) -> tuple[float, int]:
    """(sum of -ln p, number of scored words) over docs[1:] each, as at inference: the LSTM
    reads each document from its start, the GCNN sees its full window before each word."""
    model.eval()
    ctx = max(0, model.context_size() - 1)
    total, count = 0.0, 0
    for doc in docs:
        ids = torch.tensor(doc, dtype=torch.long)[None]           # (1, L)
        state = model_state(model)
        for s in range(0, ids.size(1) - 1, seq_len):
            e = min(s + seq_len, ids.size(1) - 1)
            lo = max(0, s - ctx) if not model.stateful else s
            x = ids[:, lo:e]
            y = ids[:, lo + 1:e + 1].clone()
            y[:, : s - lo] = -1
            n = int((y >= 0).sum())
            _, loss = model(x, y, state=state)
            total += float(loss) * n
            count += n
            if max_tokens and count >= max_tokens:
                return total, count
    return total, count


def model_state(model):
    if getattr(model, "stateful", False):
        from engine.typeahead.lstm import State
        return State()
    return None


def train(model: torch.nn.Module, train_docs: list[list[int]], test_docs: list[list[int]],
          cfg: TrainConfig, eval_tokens: Optional[int] = None):
    """Generator: yields Progress each step (loss, ppl, lr); returns (best model copy, metrics)."""
    torch.manual_seed(cfg.seed)
    rows = stream_rows(train_docs, cfg.batch_size)
    ctx = max(0, model.context_size() - 1)
    data = chunks(rows, cfg.seq_len, ctx)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    state = model_state(model)
    t0 = time.monotonic()
    smooth = None
    words = 0
    for step in range(cfg.steps):
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        x, y = next(data)
        if state is not None and state.h is not None:             # truncated BPTT: keep values, cut graph
            state.h, state.c = state.h.detach(), state.c.detach()
        _, loss = model(x, y, state=state)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        words += int((y >= 0).sum())
        value = loss.item()
        smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
        elapsed = time.monotonic() - t0
        checkpoint = None
        if (step + 1) % cfg.checkpoint_every == 0:
            checkpoint = predictor_copy(model)
        note = ""
        if (step + 1) % 50 == 0 or step + 1 == cfg.steps:   # a log line now and then, not per step
            note = f"{elapsed:.0f} s, {words / max(elapsed, 1e-9):.0f} words/s, lr {lr_at(step, cfg):.2g}"
        yield Progress(step + 1, cfg.steps, loss=value, metrics={"ppl": math.exp(min(smooth, 20.0))},
                       message=note, checkpoint=checkpoint)
    yield Progress(cfg.steps, cfg.steps, message="evaluating on the held-out text")
    nll, n = evaluate(model, test_docs, max_tokens=eval_tokens)
    final = predictor_copy(model)
    return final, {"test_ppl": round(math.exp(nll / max(n, 1)), 2), "test_tokens": n,
                   "train_seconds": round(time.monotonic() - t0, 1), "train_words": words}
