"""FastText.zip (Joulin et al. 2016): make a trained model ~10-100x smaller.

  1. cutoff: keep only the `cutoff` input rows with the largest norms (rare n-grams and words
     with small vectors barely move the average), and only the words whose rows are kept;
  2. product-quantize the kept rows (k=256 centroids per sub-vector of `dsub` floats), optionally
     quantizing each row's norm separately (qnorm) so directions use the codebooks well;
  3. optionally retrain the output layer for a few epochs on top of the now-frozen quantized
     input, which recovers most of the accuracy the quantization cost;
  4. optionally re-fit the output layer's scale on validation texts (calibrate.py): the
     retraining makes a calibrated model over-confident again;
  5. optionally (qout) product-quantize the output matrix too, after retraining, with dsub 2
     as fastText's `-qout` does (it matters with many labels: with 2 labels the codebooks
     cost more bytes than the 2 rows they replace).
The result is an ordinary FastText whose input is a QuantMatrix: prediction code is unchanged.
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

import torch

from engine.classify.calibrate import calibrate
from engine.classify.matrix import QuantMatrix
from engine.classify.model import FastText


@dataclass
class CompressConfig:
    dsub: int = 2               # floats per sub-vector (bytes per row = dim / dsub)
    cutoff: int = 0             # keep this many rows with the largest norms (0 = all)
    qnorm: bool = True          # quantize norms separately
    retrain: bool = True        # retrain the output layer on the quantized input
    qout: bool = False          # also product-quantize the output matrix (dsub 2, after retraining)
    calibrate: bool = False     # re-fit the output layer's scale on validation texts (calibrate.py)
                                # after retraining: retraining undoes a calibrated model's scale
    epochs: int = 2             # retraining epochs
    lr: float = 0.1             # retraining learning rate (decays linearly)
    seed: int = 0


def size_bytes(model: FastText) -> int:
    """What the model costs to store: its tensors plus its vocabulary (as the card's JSON holds
    it: the words, and after a cutoff their ids)."""
    d = model.dict
    vocabulary = [d.words] if d.word_ids is None else [d.words, d.word_ids]
    return model.nbytes() + len(json.dumps(vocabulary, ensure_ascii=False).encode("utf-8"))


@contextlib.contextmanager
def single_thread():
    """One torch thread for the duration: on a busy machine, k-means' many small parallel ops
    spin-wait on descheduled OpenMP threads (measured 19 s with 2 threads vs 3.8 s with 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.no_grad()
def compress(model: FastText, cfg: CompressConfig, data=None, before_retrain=None, valid=None) -> FastText:
    """A quantized copy of a dense `model`; `data` (an Encoded training set) enables retraining,
    `valid` (Encoded validation texts) is what cfg.calibrate fits on.
    `before_retrain(small)` sees the quantized model before its output layer is retrained."""
    small = quantize_input(model, cfg)
    if cfg.retrain and data is not None and data.n:
        if before_retrain is not None:
            before_retrain(small)
        retrain_output(small, data, cfg)
    if cfg.calibrate:
        if valid is None or valid.n == 0:
            raise ValueError("calibrating the compressed model needs validation texts")
        calibrate(small, valid)
    if cfg.qout:
        quantize_output(small, cfg)
    return small


@torch.no_grad()
def quantize_input(model: FastText, cfg: CompressConfig) -> FastText:
    """Steps 1-2: cutoff + product quantization of the input rows (output layer copied)."""
    E = model.input.weight.float()
    kept, d = None, model.dict
    if 0 < cfg.cutoff < E.shape[0]:
        norms = E.norm(dim=1)
        norms[0] = float("inf")                         # always keep </s> (fastText keeps it too)
        kept = torch.topk(norms, cfg.cutoff).indices.sort().values
        E = E[kept]
        d = d.pruned(kept.tolist())                     # a dropped word's row is gone: so is the word
    with single_thread():
        quant = QuantMatrix.quantize(E, cfg.dsub, cfg.qnorm, kept, seed=cfg.seed)
    return FastText(model.config, d, quant, model.loss.W.clone(), tree=model.tree)


@torch.no_grad()
def quantize_output(model: FastText, cfg: CompressConfig) -> None:
    """Step 4 (qout), in place: PQ codes for the output rows; W becomes their decoded values."""
    W = model.loss.W
    with single_thread():
        q = QuantMatrix.quantize(W, 2 if W.shape[1] % 2 == 0 else 1, cfg.qnorm, seed=cfg.seed)
    W.copy_(q.dense())                                  # predictions use the quantized rows
    model.output_q = q


@torch.no_grad()
def retrain_output(model: FastText, data, cfg: CompressConfig) -> None:
    """Step 3, in place: SGD on the output matrix only. The quantized input is fixed, so each
    text's h is computed once."""
    with single_thread():
        h = model.input.bag(data.rows, data.offsets[:-1])              # (n, dim)
        target = model.loss.prepare(data.target)
        gen = torch.Generator().manual_seed(cfg.seed)
        B = 64
        steps, t = cfg.epochs * ((data.n + B - 1) // B), 0
        for _ in range(cfg.epochs):
            order = torch.randperm(data.n, generator=gen)
            for b in range(0, data.n, B):
                idx = order[b:b + B]
                model.loss.step(h[idx], target[idx], cfg.lr * (1 - t / steps), need_loss=False)
                t += 1
