"""How well a recognizer reads: held-out MNIST digits, and generated amounts of held-out digits
(string accuracy, on touching amounts, by length, and why the wrong ones are wrong)."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from engine.ocr import checks, data, graph
from engine.ocr.digit_inputs import mnist_input
from engine.ocr.model import LeNet


def digit_predictions(model: LeNet, images: np.ndarray) -> np.ndarray:
    """MNIST digits (N, 28, 28) read directly (no field): argmax over the 10 digit classes."""
    inputs = [mnist_input(img, context=bool(model.config.context)) for img in images]
    with torch.no_grad():
        logp = model.eval()(torch.from_numpy(np.stack([i[0] for i in inputs])),
                            torch.tensor([i[1] for i in inputs], dtype=torch.float32))
    return logp[:, :10].argmax(1).numpy()


def digit_accuracy(model: LeNet) -> tuple[float, int]:
    """Held-out MNIST digits, argmax over the 10 digit classes."""
    x, y = data.load("test")
    return float((digit_predictions(model, x) == y).mean()), len(y)


def test_fields(n: int, seed: int = 12345, touch_rate: float = 0.3) -> list:
    """The held-out amounts: digits from the test split only, a fixed seed, 30% touching."""
    bank = checks.DigitBank("test")
    rng = np.random.default_rng(seed)
    return [checks.make_field(rng, bank, touch_rate=touch_rate) for _ in range(n)]


def error_kind(reading: graph.Reading, text: str) -> str:
    """Why a reading is wrong: "no_path" (no segmentation of the ink can read `text`),
    "segmentation" (the best path that reads `text` cuts the ink elsewhere than the Viterbi path)
    or "recognition" (same cuts as the truth's best path, a character misread)."""
    truth = graph.truth_path(reading.graph, text)
    if not truth:
        return "no_path"
    return "recognition" if reading.units(truth) == reading.units(reading.path) else "segmentation"


def why_wrong(model: LeNet, image: np.ndarray, text: str) -> str:
    """error_kind in the whole lattice: decoding leaves out pair spans that no best path can take
    but the truth's path may (pair_pruning.py)."""
    try:
        reading = graph.decode(model, image, n_alternatives=0, posterior=False, prune_pairs=False)
    except ValueError:
        return "no_path"
    return error_kind(reading, text)


def readings(model: LeNet, fields: list) -> Iterator[tuple]:
    """(field, its Viterbi reading, or None when nothing in it is readable at all) for each field."""
    for f in fields:
        try:
            yield f, graph.decode(model, f.image, n_alternatives=0, posterior=False)
        except ValueError:
            yield f, None


def amount_accuracy(model: LeNet, fields: list) -> dict:
    """String accuracy on generated amounts, on the touching ones, by number of digits, why the
    wrong ones are wrong, and whether they read more characters than written (pieces of a digit
    read as characters), fewer (digits merged) or as many (misreads)."""
    right = right_touch = n_touch = 0
    errors = {"recognition": 0, "segmentation": 0, "no_path": 0}
    length = {"longer": 0, "shorter": 0, "same": 0}
    by_digits: dict = {}
    for f, reading in readings(model, fields):      # nothing readable at all: counted as "no_path"
        ok = reading is not None and reading.amount == f.text
        if not ok:
            errors[why_wrong(model, f.image, f.text) if reading is not None else "no_path"] += 1
            got = len(reading.amount) if reading is not None else 0
            length["longer" if got > len(f.text) else "shorter" if got < len(f.text) else "same"] += 1
        right += ok
        n_touch += f.touching
        right_touch += ok and f.touching
        tally = by_digits.setdefault(str(sum(c.isdigit() for c in f.text)), [0, 0])
        tally[0] += ok
        tally[1] += 1
    return {"accuracy": right / len(fields), "touching_accuracy": right_touch / max(n_touch, 1),
            "n": len(fields), "n_touching": n_touch, "errors": errors, "wrong_length": length,
            "by_digits": {k: round(r / n, 4) for k, (r, n) in sorted(by_digits.items())}}
