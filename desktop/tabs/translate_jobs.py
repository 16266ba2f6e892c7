"""The Translation tab's engine-side jobs: they run on the engine lanes and touch no widget (no Qt here).

Each returns what the tab's callbacks show (the EngineBridge calls them on the GUI thread); engine
modules are imported inside the jobs so that building the window never imports torch.
"""
from __future__ import annotations

import time

import numpy as np

TIMING_SENTENCES = [                 # for the decode-time column: short, medium, long verses
    "E Dio disse: Sia la luce; e la luce fu.",
    "Or Elimelec, marito di Naomi, morì, ed essa rimase co’ suoi due figliuoli.",
    "Perciocchè Iddio ha tanto amato il mondo, ch’egli ha dato il suo unigenito Figliuolo, "
    "acciocchè chiunque crede in lui non perisca, ma abbia vita eterna.",
]


def list_job() -> list:
    from engine import cards
    return [c.name for c in cards.list_models("translate")]


def load_job(name: str, device: str = "cpu"):
    from engine.translate.translator import Translator
    return Translator.load(name, device)


def predict_job(translator, text: str, beam: int) -> dict:
    return translator.translate(text, beam=beam, n_best=beam)


def timing_job(translator) -> dict:
    """Seconds per sentence at beam 1 and 5 (median of the timing sentences, after a warm-up)."""
    out = {}
    translator.translate(TIMING_SENTENCES[0], beam=1)
    for beam in (1, 5):
        times = []
        for s in TIMING_SENTENCES:
            t0 = time.perf_counter()
            translator.translate(s, beam=beam, n_best=1)
            times.append(time.perf_counter() - t0)
        out[beam] = float(np.median(times))
    return {"name": translator.card.name if translator.card else "?", "seconds": out}


def train_job(options: dict):
    from engine import paths
    from engine.translate.task import train_command
    from engine.translate.train import TrainConfig, train
    cfg = TrainConfig(**options)
    return train(cfg, paths.user_models() / "translate", command=train_command(cfg, None))
