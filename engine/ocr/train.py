"""Training: heuristic pre-training of the recognizer, then GTN training of the whole graph.

1. Isolated pre-training (what the 1998 paper calls training on a heuristic over-segmentation):
   the CNN learns single MNIST digits (augmented: rotation, scale, shear, stroke width) and the
   spans of generated amounts labelled from the generator's ground truth — a digit, '.', ',' or
   NOT_A_CHAR for pieces and merges (graph.span_targets).
2. GTN training: for generated amounts (half of them with touching digits), the loss
   -log P(true amount | image) = -(forward(graph ∩ truth) - forward(graph)) is back-propagated
   through the lattice into the CNN. No segment is ever labelled: the graph sums over every
   segmentation that reads the right amount, and the network learns which pieces to trust.
Both are generators of engine.runtime.Progress (cancellable at every yield).
"""
from __future__ import annotations

import copy
import dataclasses
import math
from typing import Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F

from engine.ocr import checks, data, graph, pairs
from engine.ocr.digit_inputs import elastic, mnist_input
from engine.ocr.evaluate import amount_accuracy
from engine.ocr.model import LeNet, LeNetConfig
from engine.ocr.segment import segment
from engine.runtime import Progress


@dataclasses.dataclass
class TrainConfig:
    fields: int = 3000            # generated amounts whose spans pre-train the recognizer
    epochs: int = 44              # pre-training epochs (held-out digits: 98.65% after 20, 99.05% after 40)
    spans_per_epoch: int = 12000  # spans (from those amounts) mixed into each epoch
    span_touch_rate: float = 0.3  # share of those amounts with touching digits (their spans cut
                                  # through ink are what amounts misread most: docs/OCR_NOTEBOOK.md stop 20)
    digits_per_epoch: int = 8000  # isolated digits per epoch, a fresh draw from the 67,996 (0: all)
    batch: int = 128              # pre-training batch size
    lr: float = 2e-3              # pre-training Adam learning rate
    gtn_steps: int = 2000         # GTN steps after pre-training (0: isolated model only)
    gtn_batch: int = 8            # amounts per GTN step
    gtn_lr: float = 3e-4          # GTN Adam learning rate
    gtn_per_char: int = 0         # 1: divide each amount's GTN loss by its length (long amounts
                                  # then weigh no more than short ones)
    gtn_digits: int = 64          # isolated digits per GTN step, cross-entropy kept beside the
                                  # GTN loss so that single-digit accuracy is not forgotten
    gtn_spans: int = 0            # labelled spans (pre-training's heuristic labels) per GTN step,
                                  # likewise kept so that "not a character" is not forgotten
    gtn_touch_rate: float = 0.5   # share of GTN amounts with touching digits
    gtn_val: int = 500            # amounts of *training* digits (never the test split) scored every
                                  # gtn_eval_every steps; the best checkpoint is kept (0: the last)
    gtn_eval_every: int = 100
    field_elastic: float = 0.0    # share of the digits in generated *training* amounts (pre-training
                                  # spans and GTN amounts) given an elastic distortion, as isolated
                                  # pre-training digits get (0: the amounts' digits as drawn)
    cut_fields: int = 6000        # generated amounts whose components teach the cut finder (stage 0)
    cut_steps: int = 3000         # its training steps (32 windows of components each)
    cut_target: str = "between"   # what it learns (cutter.TARGETS): the columns "between" two
                                  # characters' ink where both have some, or every "separating" one
    alt_cut_target: str = "separating"   # what the second cut finder learns (with --alt-cutter)
    gtn_alternatives: int = 0     # 1: the alternative segmentations (--alt-heuristic, --alt-cutter)
                                  # join the lattice before GTN training, not after it
    gtn_start: str = "isolated"   # with --init: GTN training starts from the model's pre-trained
                                  # recognizer ("isolated"), or goes on from its GTN-trained one
                                  # ("gtn"), in the lattice as it decodes — alternative cuts and the
                                  # pair reader's arcs (the pair reader itself frozen) included
    seed: int = 0


def field_distortion(share: float):
    """`checks.DigitBank`'s distort for training amounts: elastic on `share` of the digits."""
    if share <= 0:
        return None
    return lambda img, rng: elastic(img.astype(np.float32), rng) if rng.random() < share else img


def field_spans(n: int, split: str, seed: int, touch_rate: float = 0.3, elastic_share: float = 0.0,
                cutter=None, options: Optional[dict] = None) -> Iterator[tuple]:
    """(images uint8 (k,28,28) — (k,2,28,28) with a context channel —, geometry (k,NUM_GEOMETRY),
    targets (k,)) of the spans of n generated amounts (`options`: graph.span_options of the model
    they are for; none: the defaults)."""
    options = options or {}
    context = bool(options.get("context"))
    bank = checks.DigitBank(split, field_distortion(elastic_share))
    rng = np.random.default_rng(seed)
    for _ in range(n):
        f = checks.make_field(rng, bank, touch_rate=touch_rate)
        try:
            cands = graph.candidates(segment(f.image, f.owner, cutter=cutter), **options)
        except ValueError:
            continue
        yield ((cands.inputs(context) * 255).round().astype(np.uint8), cands.geometry,
               np.asarray(graph.span_targets(cands, f.text)))


def eval_copy(model: LeNet) -> LeNet:
    return copy.deepcopy(model).eval()


# --- 1. isolated pre-training ------------------------------------------------------------------

def pretrain(cfg: TrainConfig, model: Optional[LeNet] = None,
             config: LeNetConfig = LeNetConfig(), cutter=None) -> Iterator[Progress]:
    """Generator: pre-train the recognizer on the spans of `cutter`'s segmentations (stage 0's
    cutter.Cutter; None: heuristic cuts); returns the trained model (eval mode)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = model or LeNet(config)
    model.cutter = cutter if cutter is not None else model.cutter
    context = bool(model.config.context)
    x_digits, y_digits = data.load("train")
    imgs, geos, tgts = [], [], []
    spans = field_spans(cfg.fields, "train", cfg.seed + 1, cfg.span_touch_rate, elastic_share=cfg.field_elastic,
                        cutter=model.cutter, options=graph.span_options(model))
    for i, (im, ge, tg) in enumerate(spans):
        imgs.append(im); geos.append(ge); tgts.append(tg)
        if i % 100 == 0:
            yield Progress(i, cfg.fields, message="cutting generated amounts into spans")
    span_x, span_g, span_y = np.concatenate(imgs), np.concatenate(geos), np.concatenate(tgts)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    n_spans = min(cfg.spans_per_epoch, len(span_y))
    n_digits = min(cfg.digits_per_epoch or len(y_digits), len(y_digits))
    per_epoch = math.ceil((n_digits + n_spans) / cfg.batch)
    total = cfg.epochs * per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=total, pct_start=0.15)
    step = 0
    for epoch in range(cfg.epochs):
        # a fresh draw of digits and spans each epoch, every digit freshly augmented
        which = rng.choice(len(y_digits), n_digits, replace=False)
        dig = [mnist_input(x_digits[i], rng, context, x_digits) for i in which]
        pick = rng.choice(len(span_y), n_spans, replace=False)
        X = np.concatenate([np.stack([d[0] for d in dig]), span_x[pick].astype(np.float32) / 255])
        G = np.concatenate([np.asarray([d[1] for d in dig], np.float32), span_g[pick]])
        Y = np.concatenate([y_digits[which], span_y[pick]])
        order = rng.permutation(len(Y))
        model.train()
        for b in range(0, len(order), cfg.batch):
            idx = order[b:b + cfg.batch]
            logp = model(torch.from_numpy(X[idx]).float(), torch.from_numpy(G[idx]))
            loss = F.nll_loss(logp, torch.from_numpy(Y[idx]).long())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 10 == 0 or step == total:
                yield Progress(step, total, loss.item(), {"epoch": epoch + 1},
                               message="pre-training on digits and labelled spans")
        yield Progress(step, total, loss.item(), {"epoch": epoch + 1}, checkpoint=eval_copy(model))
    return model.eval()


# --- 2. GTN training ---------------------------------------------------------------------------

def gtn_example_loss(model: LeNet, image: np.ndarray, text: str, with_pairs: bool = False):
    """-log P(text | image) through the lattice (of all the model's segmentations: in GTN training
    from the pre-trained recognizer its own cut finder's only, the alternatives join after it);
    `with_pairs`: the arcs of every pair span too, weighed as decoding weighs them (decoding reads
    only those a best path might take; the reader, trained apart, gets no gradient); None when no
    path reads `text`."""
    reader = model.pair_reader if with_pairs else None
    cands = graph.model_candidates(model, image, with_pairs=reader is not None)
    logp = graph.score(model, cands)
    with torch.no_grad():
        arcs = pairs.pair_arcs(reader, cands.pairs) if reader is not None else []
    loss, constrained = graph.gtn_loss(graph.build_graph(cands, logp, arcs), text)
    return (loss if constrained.num_arcs and torch.isfinite(loss) else None), cands


def anchor_loss(model: LeNet, cfg: TrainConfig, rng, digits: tuple, spans: Optional[tuple]) -> torch.Tensor:
    """Cross-entropy on a few isolated digits and labelled spans, beside the GTN loss."""
    images, geometry, targets = [], [], []
    if cfg.gtn_digits:
        x, y = digits
        pick = rng.integers(0, len(y), cfg.gtn_digits)
        dig = [mnist_input(x[i], rng, bool(model.config.context), x) for i in pick]
        images.append(np.stack([d[0] for d in dig]))
        geometry.append(np.asarray([d[1] for d in dig], np.float32))
        targets.append(y[pick])
    if cfg.gtn_spans and spans is not None:
        pick = rng.integers(0, len(spans[2]), cfg.gtn_spans)
        images.append(spans[0][pick].astype(np.float32) / 255)
        geometry.append(spans[1][pick])
        targets.append(spans[2][pick])
    if not targets:
        return torch.zeros(())
    logp = model(torch.from_numpy(np.concatenate(images)).float(), torch.from_numpy(np.concatenate(geometry)))
    return F.nll_loss(logp, torch.from_numpy(np.concatenate(targets)).long())


def val_fields(n: int, seed: int = 777) -> list:
    """Amounts built from training digits, for choosing the GTN checkpoint (the test split stays unseen)."""
    bank = checks.DigitBank("train")
    rng = np.random.default_rng(seed)
    return [checks.make_field(rng, bank, touch_rate=0.3) for _ in range(n)]


def gtn_train(cfg: TrainConfig, model: LeNet, history: Optional[list] = None) -> Iterator[Progress]:
    """Generator: GTN-train `model` (a copy is made); returns the trained model (eval mode).

    Every cfg.gtn_eval_every steps the model reads cfg.gtn_val validation amounts; the best
    checkpoint (step 0, the pre-trained model, included) is returned, and (step, accuracy) pairs
    are appended to `history`."""
    model = copy.deepcopy(model)
    torch.manual_seed(cfg.seed)
    bank = checks.DigitBank("train", field_distortion(cfg.field_elastic))
    x_digits, y_digits = data.load("train")
    rng = np.random.default_rng(cfg.seed + 2)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.gtn_lr)
    val = val_fields(cfg.gtn_val) if cfg.gtn_val else []
    spans = None
    if cfg.gtn_spans:
        banks = list(field_spans(400, "train", cfg.seed + 3, elastic_share=cfg.field_elastic,
                                 cutter=model.cutter, options=graph.span_options(model)))
        spans = tuple(np.concatenate(parts) for parts in zip(*banks))       # images, geometry, targets
    history = history if history is not None else []
    best = (amount_accuracy(model, val)["accuracy"], 0, eval_copy(model)) if val else None
    if best:
        history.append((0, best[0]))
    recent = []
    for step in range(1, cfg.gtn_steps + 1):
        model.train().freeze_batchnorm()
        losses = []
        for _ in range(cfg.gtn_batch):
            f = checks.make_field(rng, bank, touch_rate=cfg.gtn_touch_rate)
            try:
                loss, _ = gtn_example_loss(model, f.image, f.text, with_pairs=cfg.gtn_start == "gtn")
            except ValueError:
                continue
            if loss is not None:
                losses.append(loss / len(f.text) if cfg.gtn_per_char else loss)
        if losses:
            loss = torch.stack(losses).mean()
            ce = anchor_loss(model, cfg, rng, (x_digits, y_digits), spans)
            opt.zero_grad()
            (loss + ce).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            recent = (recent + [loss.item()])[-20:]
        metrics = {"paths_found": len(losses) / cfg.gtn_batch}
        if val and (step % cfg.gtn_eval_every == 0 or step == cfg.gtn_steps):
            acc = amount_accuracy(eval_copy(model), val)["accuracy"]
            history.append((step, acc))
            if acc > best[0]:
                best = (acc, step, eval_copy(model))
            metrics.update(val_amount_accuracy=acc, best_step=best[1])
        yield Progress(step, cfg.gtn_steps, float(np.mean(recent)) if recent else None, metrics,
                       message="GTN training: -log P(amount | image) over all segmentations",
                       checkpoint=eval_copy(model) if step % 50 == 0 else None)
    return best[2] if best else model.eval()


def train_on_example(model: LeNet, image: np.ndarray, text: str, lr: float = 1e-3) -> tuple:
    """One GTN step on one image (the tab's "train on this"): (new model, loss before, after)."""
    model = copy.deepcopy(model).train().freeze_batchnorm()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss, _ = gtn_example_loss(model, image, text)
    if loss is None:
        raise ValueError(f"no segmentation of this ink can read {text!r}")
    opt.zero_grad()
    loss.backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        after, _ = gtn_example_loss(model, image, text)
    return model, loss.item(), float(after) if after is not None else float("inf")
