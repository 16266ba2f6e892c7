"""Training as fastText does it: plain SGD, learning rate decaying linearly to zero over all
epochs, sparse updates, and Hogwild (Recht et al. 2011) worker processes.

Each step takes a minibatch of texts, computes h = mean of their rows, lets the loss update
its output matrix, and adds lr * grad_h / n_rows to exactly the input rows the texts used
(`index_put_(accumulate=True)`): no autograd, no optimizer state, no dense gradient of the
(huge) input matrix. fastText updates after every single text; a minibatch (default 64) keeps
close dynamics while paying torch's per-call overhead once per batch instead of once per text.
The data are shuffled once into fixed batches; each epoch visits the batches in a new order.

Hogwild: with threads > 1 the parameters live in shared memory and `threads` forked processes
each train on their own slice of the data, reading and writing the same tensors without locks,
while the learning rate follows the global token count (as in fastText). threads=1 trains in
this process, and is bit-for-bit reproducible for a given seed.
"""
from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import dataclass

import torch
import torch.multiprocessing as mp    # its pickler shares tensors' memory under 'spawn' too

from engine.classify.model import FastText
from engine.runtime import Progress


@dataclass
class TrainConfig:
    epochs: int = 5             # passes over the training set
    lr: float = 0.5             # initial learning rate, decays linearly to 0
    threads: int = 1            # Hogwild worker processes (1 = in-process, reproducible)
    batch: int = 64             # texts per sparse SGD step
    shared_rows: str = "mean"   # an input row used by c texts of a batch gets the mean of their
                                # c updates ("mean", stable on short texts) or their sum ("sum",
                                # closer to fastText's per-text SGD; learns long texts faster)
    seed: int = 0               # data order (and initialization, in the caller)
    report_s: float = 0.2       # seconds between progress events


@dataclass
class Encoded:
    """Texts as bags of rows, ready for training (all tensors)."""
    rows: torch.Tensor          # (N,) int64 row ids, texts concatenated
    offsets: torch.Tensor       # (n+1,) int64 start of each text, then N
    target: torch.Tensor        # (n,) label ids, or (n, C) multi-hot for one-vs-all

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def make(cls, model: FastText, texts: list[str], label_ids: list[list[int]]) -> "Encoded":
        return cls.of_rows(model, *model.dict.encode(texts), label_ids)

    @classmethod
    def of_rows(cls, model: FastText, rows, offsets, label_ids: list[list[int]]) -> "Encoded":
        """From already encoded texts (Dictionary.encode's numpy rows and offsets)."""
        if model.loss.multilabel:
            target = torch.zeros(len(label_ids), len(model.labels))
            for i, ls in enumerate(label_ids):
                target[i, ls] = 1.0
        else:
            target = torch.tensor([ls[0] if ls else -1 for ls in label_ids], dtype=torch.long)
        return cls(torch.from_numpy(rows), torch.from_numpy(offsets), target)

    def subset(self, idx: torch.Tensor) -> "Encoded":
        """Texts `idx` (in that order), with their rows gathered contiguously."""
        starts, lens = self.offsets[idx], self.offsets[idx + 1] - self.offsets[idx]
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), lens.cumsum(0)])
        total = int(offsets[-1])
        # position of each gathered row in self.rows: its text's start + its index inside the text
        gather = torch.repeat_interleave(starts - offsets[:-1], lens) + torch.arange(total)
        return Encoded(self.rows[gather], offsets, self.target[idx])


@torch.no_grad()
def accuracy(model: FastText, data: Encoded) -> float:
    """Top-1 accuracy (one-vs-all: the top label is one of the true ones)."""
    if data.n == 0:
        return float("nan")
    top = model.probs_rows(data.rows, data.offsets[:-1]).argmax(1)
    if data.target.dim() == 2:
        return float(data.target[torch.arange(data.n), top].mean())
    return float((top == data.target).float().mean())


class Batches:
    """Fixed minibatches of a (shuffled once) training set, with everything the inner loop needs
    precomputed and cut into per-batch views, so that an epoch only permutes their order."""

    @torch.no_grad()
    def __init__(self, data: Encoded, B: int, nrows: int, shared_rows: str = "mean"):
        n, offsets = data.n, data.offsets
        lens = offsets[1:] - offsets[:-1]
        self.n = n
        inv = 1.0 / lens.clamp(min=1).float()                       # fastText: grad / n rows
        first = torch.arange(n) // B * B                            # first text of each text's batch
        local_off = offsets[:-1] - offsets[first]                   # offsets inside the batch
        local_seg = torch.repeat_interleave(torch.arange(n) - first, lens)  # row -> text in batch
        # A row used by c texts of one batch gets by default the mean of their c updates, not the
        # sum: per-text SGD lets each update see the previous ones, while summing c stale updates
        # of a very frequent row ("</s>", "the") can overshoot at fastText's learning rates. The
        # mean slows rows shared by many long texts (SOTU), hence the "sum" option.
        scale = inv.repeat_interleave(lens)                         # 1 / rows in the text
        bounds = offsets[::B].tolist() + ([int(offsets[-1])] if n % B else [])
        if shared_rows == "mean":
            scale = scale / _counts_in_batch(data.rows, bounds, nrows)   # ... / c
        elif shared_rows != "sum":
            raise ValueError(f"shared_rows must be 'mean' or 'sum', not {shared_rows!r}")
        scale = scale[:, None]                                      # (N, 1)
        self.parts = [(data.rows[o0:o1], local_off[b:b + B], inv[b:b + B, None], data.target[b:b + B],
                       local_seg[o0:o1], scale[o0:o1])
                      for b, o0, o1 in zip(range(0, n, B), bounds[:-1], bounds[1:])]

    def __len__(self):
        return len(self.parts)


def _counts_in_batch(rows: torch.Tensor, bounds: list[int], nrows: int) -> torch.Tensor:
    """For each row occurrence, how many times its row id occurs in its batch, by counting into
    a scratch vector per batch (2-4x faster than torch.unique over (batch, row) pairs)."""
    scratch, count = torch.zeros(nrows), torch.empty(len(rows))
    ones = torch.ones(max((b - a for a, b in zip(bounds[:-1], bounds[1:])), default=0))
    for o0, o1 in zip(bounds[:-1], bounds[1:]):
        r = rows[o0:o1]
        scratch.index_put_((r,), ones[:o1 - o0], accumulate=True)
        count[o0:o1] = scratch[r]
        scratch[r] = 0
    return count


@torch.no_grad()
def sgd_epoch(model: FastText, batches: Batches, order: list[int], lr_at, counter, loss_acc,
              stop=None):
    """One pass over the batches in `order` (targets already `loss.prepare`d): the inner loop of
    fastText's trainThread. lr_at(tokens) gives the decayed learning rate; counter(tokens)
    records this batch's tokens and returns the global count (Hogwild workers share it).
    Yields after each batch so the caller can report and cancel."""
    E, step, parts = model.input.weight, model.loss.step, batches.parts    # E (nrows, dim), shared
    tokens = 0
    for k, i in enumerate(order):
        rows, offsets, inv, target, seg, scale = parts[i]
        # mean of the rows = their sum / n (embedding_bag's "sum" mode is ~4x faster than "mean")
        h = torch.embedding_bag(E, rows, offsets, False, 0)[0].mul_(inv)      # (B, dim)
        need_loss = k % 8 == 0                                      # loss estimated on 1 batch in 8
        loss, grad_h = step(h, target, lr_at(tokens), need_loss)    # W updated
        # sparse update of exactly the rows used: E[r] += lr * grad_h[text of r] / n / c_r
        E.index_put_((rows,), grad_h.index_select(0, seg).mul_(scale), accumulate=True)
        tokens = counter(len(rows))
        if need_loss:
            loss_acc[0] += float(loss)
            loss_acc[1] += len(inv)
        if stop is not None and stop[0]:
            return
        yield


def train(model: FastText, data: Encoded, cfg: TrainConfig, valid: Encoded | None = None):
    """Train `model` in place. Generator of Progress (step = input rows processed: words and
    n-grams); a checkpoint (frozen copy) at each epoch end. Returns {"seconds", "rows", "loss"}."""
    if data.n == 0:
        raise ValueError("no training examples")
    if not hasattr(model.input, "weight") or model.input.kept is not None:
        raise ValueError("only a dense, unpruned model can be trained")
    if cfg.epochs < 1 or not (math.isfinite(cfg.lr) and cfg.lr > 0) or cfg.batch < 1:   # (NaN > 0 is False)
        raise ValueError("epochs, lr and batch must be positive")
    data = Encoded(data.rows, data.offsets, model.loss.prepare(data.target))
    total = cfg.epochs * int(data.offsets[-1])
    lr_at = LinearDecay(cfg.lr, total)
    t0 = time.perf_counter()
    if cfg.threads <= 1:
        result = yield from _train_inprocess(model, data, cfg, valid, total, lr_at)
    else:
        result = yield from _train_hogwild(model, data, cfg, valid, total, lr_at)
    result["seconds"] = time.perf_counter() - t0
    return result


@dataclass
class LinearDecay:
    """fastText's schedule: lr * (1 - done / all), counted here in input rows (words and
    n-grams) where fastText counts words; the two grow together text by text."""
    lr: float
    total: int

    def __call__(self, done: float) -> float:
        return self.lr * max(0.0, 1.0 - done / self.total)


def _event(step, total, loss, message, model, valid=None, checkpoint=False):
    metrics = {}
    if valid is not None and valid.n:
        metrics["valid_accuracy"] = accuracy(model, valid)
    return Progress(step, total, loss, metrics, message, model.copy() if checkpoint else None)


def _mean(acc) -> float | None:
    return float(acc[0]) / float(acc[1]) if float(acc[1]) else None


def _epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000003 + epoch))


def _train_inprocess(model, data, cfg, valid, total, lr_at):
    done = [0]

    def counter(tokens):
        done[0] += tokens
        return done[0]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)                  # tiny ops: one thread is faster and deterministic
    try:
        last, loss_acc = time.perf_counter(), [0.0, 0]
        batches = Batches(data.subset(_epoch_order(data.n, cfg.seed, 0)), cfg.batch, model.input.weight.shape[0],
                      cfg.shared_rows)
        for epoch in range(cfg.epochs):
            loss_acc = [0.0, 0]
            order = _epoch_order(len(batches), cfg.seed, epoch + 1).tolist()
            for _ in sgd_epoch(model, batches, order, lambda _: lr_at(done[0]), counter, loss_acc):
                if time.perf_counter() - last > cfg.report_s:
                    last = time.perf_counter()
                    yield _event(done[0], total, _mean(loss_acc), f"epoch {epoch + 1}/{cfg.epochs}", model)
            yield _event(done[0], total, _mean(loss_acc), f"epoch {epoch + 1}/{cfg.epochs} done",
                         model, valid, checkpoint=True)
    finally:
        torch.set_num_threads(threads)
    return {"rows": done[0], "loss": _mean(loss_acc)}


def _hogwild_worker(model, data, cfg, slot, nworkers, lr_at, done, loss_acc, stop):
    # Ctrl-C reaches every process of the terminal's group: the parent stops the workers through
    # `stop` and says so in one line, so a worker must not die printing its own traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()           # ... and a worker whose parent was killed stops by itself
    torch.set_num_threads(1)
    mine = data.subset(torch.arange(slot, data.n, nworkers))       # this worker's slice
    state = {"calls": 0, "mine": 0, "global": 0}

    def counter(tokens):        # publish own count; read everyone's every 8 batches
        state["mine"] += tokens
        state["calls"] += 1
        done[slot] = state["mine"]
        if state["calls"] % 8 == 0:
            state["global"] = int(done.sum())
        else:
            state["global"] += tokens
        return state["global"]

    seed = cfg.seed + 7919 * slot
    batches = Batches(mine.subset(_epoch_order(mine.n, seed, 0)), cfg.batch, model.input.weight.shape[0],
                      cfg.shared_rows)
    for epoch in range(cfg.epochs):
        order = _epoch_order(len(batches), seed, epoch + 1).tolist()
        for k, _ in enumerate(sgd_epoch(model, batches, order, lambda _: lr_at(state["global"]), counter,
                                        loss_acc[slot], stop)):
            if k % 64 == 0 and os.getppid() != parent:
                return
        if stop[0]:
            return


def _train_hogwild(model, data, cfg, valid, total, lr_at):
    model.input.weight.share_memory_()       # the Hogwild part: every worker writes these in place
    model.loss.W.share_memory_()
    done = torch.zeros(cfg.threads, dtype=torch.long).share_memory_()
    loss_acc = torch.zeros(cfg.threads, 2, dtype=torch.float64).share_memory_()
    stop = torch.zeros(1, dtype=torch.uint8).share_memory_()
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    workers = [ctx.Process(target=_hogwild_worker, daemon=True,
                           args=(model, data, cfg, i, cfg.threads, lr_at, done, loss_acc, stop))
               for i in range(cfg.threads)]
    try:
        for w in workers:
            w.start()
        last_ckpt = time.perf_counter()
        while any(w.is_alive() for w in workers):
            for w in workers:
                w.join(timeout=cfg.report_s / len(workers))
            ckpt = time.perf_counter() - last_ckpt > 1.0
            if ckpt:
                last_ckpt = time.perf_counter()
            epoch = min(cfg.epochs, 1 + int(done.sum()) * cfg.epochs // total)
            yield _event(int(done.sum()), total, _mean(loss_acc.sum(0)),
                         f"epoch {epoch}/{cfg.epochs}, {cfg.threads} Hogwild workers",
                         model, valid if ckpt else None, ckpt)
        if any(w.exitcode != 0 for w in workers):
            raise RuntimeError("a training worker process failed")
    finally:
        stop[0] = 1                                                   # cancel: workers stop at next batch
        for w in workers:
            if w.pid is not None:
                w.join(timeout=5)
                if w.is_alive():
                    w.terminate()
    yield _event(int(done.sum()), total, _mean(loss_acc.sum(0)), "done", model, valid, checkpoint=True)
    return {"rows": int(done.sum()), "loss": _mean(loss_acc.sum(0))}
