"""Experiment (not part of the app): softmax and the binary hierarchical softmax on the Bible set
(verse -> book, 66 labels), each at its own best settings.

The bench compares the two losses at the same settings (fastText's defaults). A fair objection is
that HS may want other settings. This script trains both over one grid (dim, character n-grams,
word n-grams, learning rate, epochs; threads 1, seed 0, bucket 200k, as `seqlab train classify
--data bible` does), picks each loss's best setting on the *validation* split, and reports its
test accuracy. It also lists the settings where HS comes closest to softmax. With --fasttext the
official fastText (fasttext-wheel, threads 1, seed 0) is trained over the same grid too.

    OMP_NUM_THREADS=1 python experiments/hs_tuned.py --fasttext --out /tmp/hs_tuned.jsonl

About 7 minutes (seqlab) and 4 (fastText) on one core; rerunning with the same --out skips the
settings already done. `--beyond --out other.jsonl` trains the settings past the grid's edge.
docs/BENCHMARKS.md (Text classification, "Each loss at its best settings") has the results.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import tempfile

import torch

from engine.classify import bench
from engine.classify import data as datasets
from engine.classify.model import FastTextConfig
from engine.classify.pipeline import setup_training
from engine.classify.trainer import Encoded, TrainConfig, accuracy, train

GRID = dict(loss=["softmax", "hs"], dim=[10, 50], chars=[(0, 0), (3, 6)], word_ngrams=[1, 2],
            lr=[0.25, 0.5, 1.0], epochs=[5, 15])
SETTING = ("dim", "minn", "word_ngrams", "lr", "epochs")
# The best HS setting sits at the grid's edge (lr 1.0, 15 epochs): --beyond trains past it
# (more epochs, lr 2.0, dim 100), with two softmax settings for comparison.
BEYOND = [("hs", 50, (3, 6), 2, 1.0, 30), ("hs", 50, (3, 6), 2, 2.0, 15), ("hs", 50, (3, 6), 2, 2.0, 30),
          ("hs", 100, (3, 6), 2, 1.0, 15), ("hs", 100, (3, 6), 2, 1.0, 30), ("hs", 50, (3, 6), 2, 1.0, 50),
          ("softmax", 50, (3, 6), 2, 1.0, 15), ("softmax", 100, (3, 6), 2, 1.0, 5)]


def run(ds, loss, dim, chars, word_ngrams, lr, epochs) -> dict:
    """seqlab, as `seqlab train classify --data bible --threads 1 --seed 0` trains."""
    t0 = time.perf_counter()
    minn, maxn = chars
    cfg = FastTextConfig(dim=dim, word_ngrams=word_ngrams, bucket=200_000, minn=minn, maxn=maxn, loss=loss)
    model, train_set = setup_training(ds.train, cfg, 0)
    for _ in train(model, train_set, TrainConfig(epochs=epochs, lr=lr, seed=0)):
        pass

    def acc(split):
        return round(accuracy(model, Encoded.make(model, split.texts, model.dict.label_ids(split.labels))), 4)
    return dict(impl="seqlab", loss=loss, dim=dim, minn=minn, maxn=maxn, word_ngrams=word_ngrams, lr=lr,
                epochs=epochs, valid=acc(ds.valid), test=acc(ds.test), seconds=round(time.perf_counter() - t0, 1))


def run_fasttext(ft, train_file, ds, loss, dim, chars, word_ngrams, lr, epochs) -> dict:
    """The official fastText at the same setting (the bench's reference call, plus char n-grams)."""
    t0 = time.perf_counter()
    minn, maxn = chars
    m = ft.train_supervised(input=train_file, dim=dim, epoch=epochs, lr=lr, wordNgrams=word_ngrams,
                            bucket=200_000, minn=minn, maxn=maxn, loss=loss, thread=1, minCount=1,
                            verbose=0, seed=0)
    return dict(impl="fasttext", loss=loss, dim=dim, minn=minn, maxn=maxn, word_ngrams=word_ngrams, lr=lr,
                epochs=epochs, valid=bench.ref_accuracy(m, ds.valid), test=bench.ref_accuracy(m, ds.test),
                seconds=round(time.perf_counter() - t0, 1))


def summary(results: list[dict], impl: str):
    results = [r for r in results if r["impl"] == impl]
    if not results:
        return
    print(f"\n=== {impl}")
    for loss in GRID["loss"]:
        ranked = sorted((r for r in results if r["loss"] == loss), key=lambda r: -r["valid"])
        print(f"\n{loss}: best 3 settings on the validation split")
        for r in ranked[:3]:
            print("  ", {k: r[k] for k in SETTING + ("valid", "test")})
    by = {(r["loss"],) + tuple(r[k] for k in SETTING): r for r in results}
    pairs = [(by[("softmax",) + k[1:]], r) for k, r in by.items() if k[0] == "hs" and ("softmax",) + k[1:] in by]
    pairs.sort(key=lambda p: p[0]["test"] - p[1]["test"])
    print("\nsettings where HS comes closest (test accuracy, softmax - HS in points)")
    for sm, hs in pairs[:8]:
        print("  ", {k: hs[k] for k in SETTING}, f"softmax {sm['test']:.4f} HS {hs['test']:.4f}",
              f"gap {100 * (sm['test'] - hs['test']):+.1f}")
    gaps = [100 * (sm["test"] - hs["test"]) for sm, hs in pairs]
    if not gaps:                             # --beyond: no setting was trained with both losses
        return
    print(f"\n{len(pairs)} settings; softmax - HS from {min(gaps):+.1f} to {max(gaps):+.1f} points")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="hs_tuned.jsonl", help="results, one JSON line per setting")
    ap.add_argument("--fasttext", action="store_true", help="also train the official fastText")
    ap.add_argument("--beyond", action="store_true", help="the settings past the grid's edge (BEYOND) instead")
    a = ap.parse_args()
    torch.set_num_threads(1)
    done = []
    if os.path.exists(a.out):
        with open(a.out) as f:
            done = [json.loads(line) for line in f if line.strip()]
    seen = {(r["impl"], r["loss"], r["dim"], (r["minn"], r["maxn"]), r["word_ngrams"], r["lr"], r["epochs"])
            for r in done}
    ds = datasets.load("bible")
    impls = {"seqlab": lambda *setting: run(ds, *setting)}
    tmp = tempfile.TemporaryDirectory()
    if a.fasttext:
        ft, train_file = bench._fasttext(), bench.write_train_file(ds, tmp.name)
        impls["fasttext"] = lambda *setting: run_fasttext(ft, train_file, ds, *setting)
    with open(a.out, "a") as f, tmp:
        for impl, fit in impls.items():
            for setting in BEYOND if a.beyond else itertools.product(*GRID.values()):
                if (impl,) + setting in seen:
                    continue
                r = fit(*setting)
                print(json.dumps(r), file=f, flush=True)
                print(json.dumps(r), flush=True)
                done.append(r)
    for impl in impls:
        summary(done, impl)


if __name__ == "__main__":
    main()
