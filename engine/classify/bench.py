"""`seqlab bench classify`: seqlab's fastText against the official one (fasttext-wheel), trained
in the same run on the same split with the same settings. Reports median training seconds,
the ratio, test accuracies, prediction latency (p50/p95), quantized sizes and accuracies, and
softmax vs hierarchical softmax on a many-label set.

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
from engine.classify.compress import CompressConfig, compress, size_bytes
from engine.classify.dictionary import Dictionary, normalize, tokenize_all
from engine.classify.model import FastText, FastTextConfig
from engine.classify.pipeline import evaluate_split
from engine.classify.trainer import Encoded, TrainConfig, train

QUANT_SETTINGS = [(2, 0), (2, 50_000), (5, 20_000)]      # (dsub, cutoff)


def _fasttext():
    try:
        import fasttext
    except ImportError:
        raise ValueError("the reference needs fasttext-wheel: pip install 'seqlab[bench]'") from None
    return fasttext


def train_ours(ds, a, loss=None, epochs=None):
    """Texts -> trained model, timed from raw text (tokenizing and hashing included, like
    fastText's own time, which includes reading the file and building its dictionary)."""
    t0 = time.perf_counter()
    tokens = tokenize_all(ds.train.texts)
    d = Dictionary.build(ds.train.texts, ds.train.labels, tokens=tokens, word_ngrams=a.word_ngrams,
                         bucket=a.bucket)
    model = FastText.create(FastTextConfig(dim=a.dim, word_ngrams=a.word_ngrams, bucket=a.bucket,
                                           loss=loss or a.loss), d, seed=a.seed)
    data = Encoded.make(model, ds.train.texts, d.label_ids(ds.train.labels), tokens)
    cfg = TrainConfig(epochs=epochs or a.epochs, lr=a.lr, threads=a.threads, batch=a.batch, seed=a.seed)
    for _ in train(model, data, cfg):
        pass
    return model, time.perf_counter() - t0, data


def train_ref(ft, path, a, loss=None, epochs=None):
    t0 = time.perf_counter()
    m = ft.train_supervised(input=path, dim=a.dim, epoch=epochs or a.epochs, lr=a.lr,
                            wordNgrams=a.word_ngrams, bucket=a.bucket, loss=loss or a.loss,
                            thread=a.threads, minCount=1, verbose=0, seed=a.seed)
    return m, time.perf_counter() - t0


def ref_predict(m, text, k=1):
    return m.f.predict(normalize(text) + "\n", k, 0.0, "strict")


def ref_accuracy(m, split) -> float:
    hits = sum(1 for t, ls in zip(split.texts, split.labels)
               if (p := ref_predict(m, t)) and p[0][1][len("__label__"):] in ls)
    return round(hits / max(1, len(split)), 4)


def _write_train_file(ds, folder) -> str:
    path = os.path.join(folder, "train.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(datasets.to_fasttext_lines(ds.train, normalize)) + "\n")
    return path


def run(a) -> dict:
    ft = _fasttext()
    torch.set_num_threads(1)
    ds = datasets.load(a.data)
    settings = {k: getattr(a, k) for k in ("data", "dim", "epochs", "lr", "word_ngrams", "bucket",
                                           "loss", "threads", "batch")}
    out = {"settings": settings, "split": ds.source["sizes"]}
    if getattr(a, "hs_only", False):
        return {"settings": settings, "hierarchical_softmax": _hs_vs_softmax(ft, a)}
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as tmp:
        path = _write_train_file(ds, tmp)
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
        out["hierarchical_softmax"] = _hs_vs_softmax(ft, a)
    return out


def _quantized(ft, model, train_set, ref, ds, path, tmp, a) -> dict:
    dense_path = os.path.join(tmp, "dense.bin")
    ref.save_model(dense_path)
    rows = {"seqlab": {"dense": {"bytes": size_bytes(model), "accuracy": evaluate_split(model, ds.test)["accuracy"]}},
            "fasttext": {"dense": {"bytes": os.path.getsize(dense_path), "accuracy": ref_accuracy(ref, ds.test)}}}
    for dsub, cutoff in QUANT_SETTINGS:
        key = f"dsub{dsub}_cutoff{cutoff}"
        small = compress(model, CompressConfig(dsub=dsub, cutoff=cutoff, qnorm=True, retrain=True), train_set)
        rows["seqlab"][key] = {"bytes": size_bytes(small), "accuracy": evaluate_split(small, ds.test)["accuracy"]}
        r, _ = train_ref(ft, path, a)
        r.quantize(input=path, dsub=dsub, cutoff=cutoff, qnorm=True, retrain=cutoff > 0, thread=a.threads,
                   epoch=a.epochs, lr=a.lr, verbose=0)
        ftz = os.path.join(tmp, f"{key}.ftz")
        r.save_model(ftz)
        rows["fasttext"][key] = {"bytes": os.path.getsize(ftz), "accuracy": ref_accuracy(r, ds.test)}
    for side in rows.values():
        dense = side["dense"]["bytes"]
        for v in side.values():
            v["x_smaller"] = round(dense / v["bytes"], 1)
    return rows


def output_layer_step_us(nlabels: int, dim: int = 100, batch: int = 64, repeat: int = 200) -> dict:
    """Median microseconds of one output-layer SGD step (softmax vs hierarchical softmax) for
    `nlabels` Zipf-distributed labels: where the O(log C) path starts to pay off in torch."""
    from engine.classify.losses import create_loss
    gen = torch.Generator().manual_seed(0)
    counts = [max(1, int(10000 / (i + 1))) for i in range(nlabels)]
    h = torch.randn(batch, dim, generator=gen) * 0.1
    target = torch.multinomial(torch.tensor(counts, dtype=torch.float), batch, True, generator=gen)
    out = {}
    for name, rows in (("softmax", nlabels), ("hs", nlabels - 1)):
        loss = create_loss(name, torch.zeros(rows, dim), counts)
        t = loss.prepare(target)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            loss.step(h, t, 0.1, need_loss=False)
            times.append(time.perf_counter() - t0)
        out[name] = round(statistics.median(times) * 1e6, 1)
    return out


def _hs_vs_softmax(ft, a) -> dict:
    ds = datasets.load(a.hs_data)
    res = {"data": a.hs_data, "labels": len({l for ls in ds.train.labels for l in ls}),
           "epochs": a.hs_epochs}
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as tmp:
        path = _write_train_file(ds, tmp)
        for loss in ("softmax", "hs"):
            times, rtimes = [], []
            for _ in range(max(1, a.repeat)):
                model, t, _ = train_ours(ds, a, loss=loss, epochs=a.hs_epochs)
                times.append(t)
                ref, t = train_ref(ft, path, a, loss=loss, epochs=a.hs_epochs)
                rtimes.append(t)
            res[loss] = {"seqlab_seconds": round(statistics.median(times), 3),
                         "seqlab_accuracy": evaluate_split(model, ds.test)["accuracy"],
                         "fasttext_seconds": round(statistics.median(rtimes), 3),
                         "fasttext_accuracy": ref_accuracy(ref, ds.test)}
    res["output_layer_step_us"] = {str(c): output_layer_step_us(c) for c in (66, 1000, 10000)}
    return res
