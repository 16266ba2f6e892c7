"""The OCR tab's engine-side jobs: they run on the engine lanes and touch no widget (no Qt here).

Each returns what the tab's @Slot callbacks show; engine modules are imported inside the jobs so
that building the window never imports torch.
"""
from __future__ import annotations

import argparse

import numpy as np


# The tab saves its trainings under their own name, so the shipped `amounts` stays one click away.
TRAINED_NAME = "my-amounts"


def list_job() -> list:
    from engine import cards
    return [c.name for c in cards.list_models("ocr")]


def load_job(name: str = "amounts"):
    from engine.ocr import task
    return task.load(name)


def read_job(model, image: np.ndarray, truth: str):
    from engine.ocr import graph
    if model is None:
        raise ValueError("the recognizer is still loading")
    reading = graph.decode(model, image, n_alternatives=5, wider_alternatives=True)
    view = graph.explain_truth(reading, truth) if truth else None
    return reading, view


def truth_job(reading, truth: str):
    from engine.ocr import graph
    return graph.explain_truth(reading, truth)


def random_check_job(seed: int):
    from engine.ocr import checks
    rng = np.random.default_rng(seed)
    bank = _bank()
    field = checks.make_field(rng, bank, touch_rate=0.3)
    check, _ = checks.render_check(field, rng)
    return check, field.text


def _bank():
    from engine.ocr import checks
    global _BANK
    if _BANK is None:
        _BANK = checks.DigitBank("test")
    return _BANK


_BANK = None


def open_image_job(path: str) -> np.ndarray:
    from engine.ocr import images
    return images.read_image(path)


def train_step_job(model, image: np.ndarray, truth: str):
    from engine.ocr import train
    return train.train_on_example(model, image, truth, lr=2e-3)


def train_options(values: dict, init) -> dict:
    """The training panel's values -> `seqlab train ocr`'s options. `init`: the model whose
    pre-trained CNN and cut finders GTN training starts from (None: pre-train from scratch). Its
    architecture is that model's: --init refuses architecture options, so they stay the defaults."""
    from dataclasses import asdict

    from engine.ocr.model import LeNetConfig
    from engine.ocr.train import TrainConfig
    from engine.ocr.train_pairs import PairConfig
    options = {**asdict(TrainConfig()), **asdict(LeNetConfig()),
               **{"pair_" + k: v for k, v in asdict(PairConfig()).items() if k != "seed"},
               "fields": values["fields"], "epochs": values["epochs"],
               "gtn_steps": values["gtn_steps"], "gtn_lr": values["gtn_lr"],
               "alt_heuristic": 1,      # decode like the shipped model: wide components' heuristic cuts too
               "pair_top": None, "pair_pieces": None,   # the loaded model's, when training from it
               "eval_amounts": 200, "out": None, "name": TRAINED_NAME, "init": init}
    if init:                            # every architecture option back to its default (alt_heuristic too)
        options.update(asdict(LeNetConfig()))
    return options


def train_job(options: dict):
    from engine.ocr import task
    args = argparse.Namespace(**options)
    return task.TASK.train(args)


def self_test_job(image: np.ndarray):
    model = load_job().gtn
    return read_job(model, image, "")
