"""The many-label part of `seqlab bench classify`: full softmax vs hierarchical softmax, seqlab
and fastText trained in the same run on the same split, on one or more data sets
(`--hs-data bible,sotu`) and epoch counts (`--hs-epochs 5,25`: accuracy vs epochs shows whether
a gap is convergence or the model); seqlab's HS over both label trees (`hs`: Huffman's, as
fastText; `hs_similarity`: label_tree.py, which fastText does not have) and the two-level
softmax over classes cut from the similarity tree (`hs2_similarity`, Goodman 2001); each of
seqlab's models also after temperature scaling on the validation split
(`seqlab_accuracy_calibrated`, calibrate.py); what quantizing the output layer (qout) saves
there; and the cost of one output-layer SGD step alone (`output_layer_step_us`)."""
from __future__ import annotations

import statistics
import tempfile
import time

import torch

from engine.classify import data as datasets
from engine.classify.bench import (write_train_file, compress_ours, compress_ref, ref_accuracy,
                                   train_ours, train_ref)
from engine.classify.calibrate import calibrate
from engine.classify.losses import create_loss, output_rows
from engine.classify.pipeline import evaluate_split
from engine.classify.trainer import Encoded


def hs_vs_softmax(ft, a) -> dict:
    epochs = [int(e) for e in str(a.hs_epochs).split(",")]
    out = {name: _one_set(ft, a, name, epochs) for name in a.hs_data.split(",") if name}
    out["output_layer_step_us"] = {str(c): output_layer_step_us(c) for c in (66, 1000, 10000)}
    return out


def _one_set(ft, a, name, epochs) -> dict:
    ds = datasets.load(name)
    res = {"labels": len({l for ls in ds.train.labels for l in ls}), "split": ds.source["sizes"]}
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as tmp:
        path = write_train_file(ds, tmp)
        for e in epochs:
            row = {}
            for key, loss, tree in (("softmax", "softmax", "huffman"), ("hs", "hs", "huffman"),
                                    ("hs_similarity", "hs", "similarity"),
                                    ("hs2_similarity", "hs2", "similarity")):
                times, rtimes = [], []
                for _ in range(max(1, a.repeat)):              # interleaved: same machine load
                    model, t, train_set = train_ours(ds, a, loss=loss, epochs=e, hs_tree=tree)
                    times.append(t)
                    if key in ("softmax", "hs"):               # fastText has only these two
                        ref, t = train_ref(ft, path, a, loss=loss, epochs=e)
                        rtimes.append(t)
                row[key] = {"seqlab_seconds": round(statistics.median(times), 3),
                            "seqlab_all": [round(t, 3) for t in times],
                            "seqlab_accuracy": evaluate_split(model, ds.test)["accuracy"],
                            **calibrated_accuracy(model, ds)}
                if rtimes:
                    row[key].update({"fasttext_seconds": round(statistics.median(rtimes), 3),
                                     "fasttext_all": [round(t, 3) for t in rtimes],
                                     "fasttext_accuracy": ref_accuracy(ref, ds.test)})
                if loss == "softmax" and e == epochs[0]:
                    kept = model, train_set
            row["hs_speedup"] = {k: round(row["softmax"][f"{k}_seconds"] / row["hs"][f"{k}_seconds"], 2)
                                 for k in ("seqlab", "fasttext")}
            for key in ("hs_similarity", "hs2_similarity"):
                row[f"{key}_speedup"] = round(row["softmax"]["seqlab_seconds"] / row[key]["seqlab_seconds"], 2)
            res[f"epochs_{e}"] = row
        model, train_set = kept
        res["quantized_softmax"] = {
            f"dsub2_cutoff50000{'_qout' if qout else ''}": {
                "seqlab": compress_ours(model, train_set, ds.test, 2, 50_000, qout),
                "fasttext": compress_ref(ft, path, ds.test, tmp, f"q{int(qout)}", a, 2, 50_000, qout,
                                         "softmax", epochs[0])}
            for qout in (False, True)}
    return res


def calibrated_accuracy(model, ds) -> dict:
    """Test accuracy after temperature scaling on the validation split (calibrate.py; not
    timed: it is done once after training), on a copy (the softmax model is quantized next)."""
    calibrated = model.copy()
    valid = Encoded.make(calibrated, ds.valid.texts, calibrated.dict.label_ids(ds.valid.labels))
    info = calibrate(calibrated, valid)
    return {"seqlab_accuracy_calibrated": evaluate_split(calibrated, ds.test)["accuracy"],
            "calibration_scale": info["scale"]}


def output_layer_step_us(nlabels: int, dim: int = 100, batch: int = 64, repeat: int = 200) -> dict:
    """Median microseconds of one output-layer SGD step for `nlabels` Zipf-distributed labels:
    softmax, hierarchical softmax both ways (`hs_dense`: all node scores by one matmul;
    `hs_paths`: gather only the path rows), `hs` being the one the loss picks for that size, and
    the two-level softmax (`hs2`, over the Huffman tree's classes; every row scored by one
    matmul, the other classes' labels masked)."""
    gen = torch.Generator().manual_seed(0)
    counts = [max(1, int(10000 / (i + 1))) for i in range(nlabels)]
    h = torch.randn(batch, dim, generator=gen) * 0.1
    target = torch.multinomial(torch.tensor(counts, dtype=torch.float), batch, True, generator=gen)
    out = {}
    for key, name, rows, dense in (("softmax", "softmax", nlabels, None), ("hs_dense", "hs", nlabels - 1, True),
                                   ("hs_paths", "hs", nlabels - 1, False), ("hs2", "hs2", output_rows("hs2", nlabels), None)):
        loss = create_loss(name, torch.zeros(rows, dim), counts)
        if dense is not None:
            out.setdefault("hs_picks", "hs_dense" if loss.dense else "hs_paths")
            loss.dense = dense
        t = loss.prepare(target)
        times = []
        for _ in range(repeat):
            loss.W.zero_()                  # same start each time (repeated steps on one batch
            t0 = time.perf_counter()        # would otherwise drive W into denormal floats)
            loss.step(h, t, 0.1, need_loss=False)
            times.append(time.perf_counter() - t0)
        out[key] = round(statistics.median(times) * 1e6, 1)
    return out
