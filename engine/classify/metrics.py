"""Held-out metrics (fastText's src/meter.cc): accuracy = precision@1, recall@1, per-label F1."""
from __future__ import annotations

import torch


def evaluate_probs(probs: torch.Tensor, targets: list[list[int]], labels: list[str]) -> dict:
    """probs (n, C) and each example's true label ids -> metrics dict."""
    n = len(targets)
    if n == 0:
        nan = float("nan")                     # (cards and --json write it as null)
        return {"accuracy": nan, "precision_at_1": nan, "recall_at_1": nan, "n": 0, "f1": {}}
    top = probs.argmax(1).tolist()
    hits = [t in ts for t, ts in zip(top, targets)]
    gold = sum(len(ts) for ts in targets)
    per_label = {}
    for c, name in enumerate(labels):
        tp = sum(1 for t, ts in zip(top, targets) if t == c and c in ts)
        pred = sum(1 for t in top if t == c)
        true = sum(1 for ts in targets if c in ts)
        p, r = tp / pred if pred else 0.0, tp / true if true else 0.0
        per_label[name] = round(2 * p * r / (p + r), 4) if p + r else 0.0
    return {"accuracy": round(sum(hits) / n, 4), "precision_at_1": round(sum(hits) / n, 4),
            "recall_at_1": round(sum(hits) / gold, 4) if gold else 0.0, "n": n, "f1": per_label}
