"""`seqlab bench classify`: seqlab's fastText against the official one (fasttext-wheel), trained
in the same run on the same split with the same settings. Reports median training seconds,
the ratio, test accuracies, prediction latency (p50/p95), quantized sizes and accuracies, and
softmax vs hierarchical softmax on many-label sets (bench_hs.py).

fasttext-wheel 0.9.2's Python `predict()` breaks on numpy 2, so we call `model.f.predict(text
+ "\\n", k, 0.0, "strict")` directly (what predict() does inside).
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

import torch

from engine import bench as timing
from engine.classify import data as datasets
from engine.classify import pipeline
from engine.classify.compress import CompressConfig, size_bytes
from engine.classify.dictionary import normalize
from engine.classify.model import FastTextConfig
from engine.classify.pipeline import compress_on, evaluate_split, setup_training
from engine.classify.trainer import TrainConfig, train

QUANT_SETTINGS = [(2, 0, False), (2, 50_000, False), (5, 20_000, False), (2, 50_000, True)]  # (dsub, cutoff, qout)


def _fasttext():
    try:
        import fasttext
    except ImportError:
        raise ValueError("the reference needs fasttext-wheel: pip install 'seqlab[bench]'") from None
    return fasttext


def train_ours(ds, a, loss=None, epochs=None, hs_tree=None):
    """Texts -> trained model, timed from raw text (tokenizing and hashing included, like
    fastText's own time, which includes reading the file and building its dictionary; and
    building a similarity label tree)."""
    t0 = time.perf_counter()
    cfg = FastTextConfig(dim=a.dim, word_ngrams=a.word_ngrams, bucket=a.bucket, minn=a.minn, maxn=a.maxn,
                         loss=loss or a.loss, hs_tree=hs_tree or getattr(a, "hs_tree", "huffman"))
    model, data = setup_training(ds.train, cfg, a.seed)
    cfg = TrainConfig(epochs=epochs or a.epochs, lr=a.lr, threads=a.threads, batch=a.batch, seed=a.seed,
                      shared_rows=a.shared_rows)
    for _ in train(model, data, cfg):
        pass
    return model, time.perf_counter() - t0, data


def train_ref(ft, path, a, loss=None, epochs=None):
    t0 = time.perf_counter()
    m = ft.train_supervised(input=path, dim=a.dim, epoch=epochs or a.epochs, lr=a.lr,
                            wordNgrams=a.word_ngrams, bucket=a.bucket, minn=a.minn, maxn=a.maxn, loss=loss or a.loss,
                            thread=a.threads, minCount=1, verbose=0, seed=a.seed)
    return m, time.perf_counter() - t0


def ref_predict(m, text, k=1):
    return m.f.predict(normalize(text) + "\n", k, 0.0, "strict")


def ref_accuracy(m, split) -> float:
    hits = sum(1 for t, ls in zip(split.texts, split.labels)
               if (p := ref_predict(m, t)) and p[0][1][len("__label__"):] in ls)
    return round(hits / max(1, len(split)), 4)


def write_train_file(ds, folder) -> str:
    path = os.path.join(folder, "train.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(datasets.to_fasttext_lines(ds.train, normalize)) + "\n")
    return path


def run(a) -> dict:
    from engine.classify.bench_hs import hs_vs_softmax
    ft = _fasttext()
    torch.set_num_threads(1)
    ds = datasets.load(a.data)
    settings = {k: getattr(a, k) for k in ("data", "dim", "epochs", "lr", "word_ngrams", "bucket",
                                           "minn", "maxn", "loss", "hs_tree", "threads", "batch", "shared_rows")}
    pipeline.check_options(pipeline.Options(**settings))     # the checks `seqlab train` makes
    out = {"settings": settings, "split": ds.source["sizes"]}
    if getattr(a, "hs_only", False):
        return {"settings": settings, "hierarchical_softmax": hs_vs_softmax(ft, a)}
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as tmp:
        path = write_train_file(ds, tmp)
        ours_t, ref_t = [], []
        for _ in range(max(1, a.repeat)):                     # interleaved: same machine load
            model, t, train_set = train_ours(ds, a)
            ours_t.append(t)
            ref, t = train_ref(ft, path, a)
            ref_t.append(t)
        ours_s, ref_s = statistics.median(ours_t), statistics.median(ref_t)
        out["train_seconds"] = {"seqlab": round(ours_s, 3), "fasttext": round(ref_s, 3),
                                "seqlab_all": [round(t, 3) for t in ours_t],
                                "fasttext_all": [round(t, 3) for t in ref_t]}
        out["train_time_ratio"] = round(ours_s / ref_s, 3)
        out["accuracy"] = {"seqlab": evaluate_split(model, ds.test)["accuracy"],
                           "fasttext": ref_accuracy(ref, ds.test)}
        texts = ds.test.texts[:500]
        out["predict_ms"] = {"seqlab": timing.time_each(lambda t: model.predict(t, 1), texts),
                             "fasttext": timing.time_each(lambda t: ref_predict(ref, t), texts)}
        out["quantized"] = _quantized(ft, model, train_set, ref, ds, path, tmp, a)
    if a.hs_data:
        out["hierarchical_softmax"] = hs_vs_softmax(ft, a)
    return out


def _quantized(ft, model, train_set, ref, ds, path, tmp, a) -> dict:
    dense_path = os.path.join(tmp, "dense.bin")
    ref.save_model(dense_path)
    rows = {"seqlab": {"dense": {"bytes": size_bytes(model), "accuracy": evaluate_split(model, ds.test)["accuracy"]}},
            "fasttext": {"dense": {"bytes": os.path.getsize(dense_path), "accuracy": ref_accuracy(ref, ds.test)}}}
    for dsub, cutoff, qout in QUANT_SETTINGS:
        key = f"dsub{dsub}_cutoff{cutoff}" + ("_qout" if qout else "")
        rows["seqlab"][key] = compress_ours(model, train_set, ds.test, dsub, cutoff, qout)
        rows["fasttext"][key] = compress_ref(ft, path, ds.test, tmp, key, a, dsub, cutoff, qout)
    for side in rows.values():
        dense = side["dense"]["bytes"]
        for v in side.values():
            if "bytes" in v:                    # (not when fastText refused the setting)
                v["x_smaller"] = round(dense / v["bytes"], 1)
    return rows


def compress_ours(model, train_set, test, dsub, cutoff, qout) -> dict:
    """Quantize as fastText's `quantize` does (output retrained only with a cutoff), measuring
    the accuracy before the retraining too."""
    cfg = CompressConfig(dsub=dsub, cutoff=cutoff, qnorm=True, retrain=cutoff > 0, qout=qout)
    row = compress_on(model, cfg, test, train_set)
    del row["model"]
    return row


def compress_ref(ft, path, test, tmp, key, a, dsub, cutoff, qout, loss=None, epochs=None) -> dict:
    r, _ = train_ref(ft, path, a, loss, epochs)
    try:
        r.quantize(input=path, dsub=dsub, cutoff=cutoff, qnorm=True, qout=qout, retrain=cutoff > 0,
                   thread=a.threads, epoch=epochs or a.epochs, lr=a.lr, verbose=0)
    except ValueError as exc:         # fastText's qout refuses output matrices under 256 rows
        return {"error": str(exc)}
    ftz = os.path.join(tmp, f"{key}.ftz")
    r.save_model(ftz)
    return {"bytes": os.path.getsize(ftz), "accuracy": ref_accuracy(r, test)}
