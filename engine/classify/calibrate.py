"""Temperature scaling of the output layer (Guo et al. 2017, "On calibration of modern neural
networks"), fitted on the validation split: one scalar a, chosen to minimize the validation
negative log-likelihood, multiplies the output matrix W (every loss here scores a label through
W h, so W <- a W is the same as scoring a h: nothing new is stored in the model file).

After many epochs a model is over-confident: its training loss keeps falling after its
validation accuracy has stopped rising. For softmax, a only fixes the probabilities the tab
shows: argmax(a z) = argmax(z), so the top-1 never changes. For hierarchical softmax it also
changes the top-1: log p(label) = sum over the path of log sigmoid(+-a s), and a path of
confident but wrong deep decisions can win at a = 1 and lose at a < 1. On the Bible set, after 25
epochs, a ~ 0.3 raises HS's test accuracy by about 2 points (docs/BENCHMARKS.md).
Not for one-vs-all (multi-label): its labels have no single likelihood to fit."""
from __future__ import annotations

import math

import torch

from engine.classify.model import FastText
from engine.classify.trainer import Encoded

GRID = [2 ** (k / 4) for k in range(-18, 9)]     # a from 0.044 to 4, in steps of 2^(1/4)


@torch.no_grad()
def validation_nll(model: FastText, h: torch.Tensor, target: torch.Tensor, a: float) -> float:
    """Mean -log p(true label) of hidden vectors h (n, dim) with W scaled by a."""
    p = model.loss.probs(h * a)
    return -float(torch.log(p[torch.arange(len(target)), target].clamp(min=1e-30)).mean())


@torch.no_grad()
def fit_scale(model: FastText, valid: Encoded) -> dict:
    """The a in GRID, refined by golden-section search between its neighbours, that minimizes
    the validation NLL. {"scale", "valid_nll_before", "valid_nll_after", "n"}."""
    if model.loss.multilabel:
        raise ValueError("calibration needs a single-label loss (softmax, hs or hs2), not one-vs-all")
    keep = valid.target >= 0
    if valid.n == 0 or not bool(keep.any()):
        raise ValueError("calibration needs labelled validation texts")
    h = model.input.bag(valid.rows, valid.offsets[:-1])[keep]
    target = valid.target[keep]
    nll = {a: validation_nll(model, h, target, a) for a in GRID}
    i = GRID.index(min(nll, key=nll.get))
    lo, hi = GRID[max(0, i - 1)], GRID[min(len(GRID) - 1, i + 1)]
    best = golden_min(lambda a: validation_nll(model, h, target, a), lo, hi)
    if validation_nll(model, h, target, best) > nll[GRID[i]]:
        best = GRID[i]
    return {"scale": round(best, 4), "valid_nll_before": round(validation_nll(model, h, target, 1.0), 4),
            "valid_nll_after": round(validation_nll(model, h, target, best), 4), "n": int(keep.sum())}


def calibrate(model: FastText, valid: Encoded) -> dict:
    """Fit the scale on `valid` and apply it to the model's output matrix (in place)."""
    if model.output_q is not None:
        raise ValueError("calibrate before compressing: the output matrix is quantized")
    info = fit_scale(model, valid)
    model.loss.W.mul_(info["scale"])
    return info


def golden_min(f, lo: float, hi: float, steps: int = 20) -> float:
    """Golden-section search for the minimum of a unimodal f on [lo, hi]."""
    r = (math.sqrt(5) - 1) / 2
    a, b = lo + (1 - r) * (hi - lo), lo + r * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(steps):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - r) * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + r * (hi - lo)
            fb = f(b)
    return (lo + hi) / 2
