"""Training the pair reader (engine/ocr/pairs.py), after the recognizer: it changes decoding, not
the recognizer's weights.

1. Data: the pair spans of the recognizer's own segmentations of generated amounts of *training*
   digits (70% with touching digits, half of the digits elastically distorted), each labelled from
   the generator's owner map (pairs.pair_target): a pair "00".."99", or not a pair.
2. Cross-entropy, Adam with a one-cycle learning rate, small random shifts of the images.
3. Calibration: the arc weight scale · log P + offset that reads the most validation amounts
   (training digits, train.val_fields' seed: the test split is never looked at).
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from engine import lattice
from engine.ocr import checks, graph, pairs, train
from engine.ocr.model import LeNet
from engine.runtime import Progress

SCALES = (0.5, 1.0)
OFFSETS = (-3.0, -2.0, -1.0, 0.0)


@dataclasses.dataclass
class PairConfig:
    fields: int = 40000           # generated amounts whose pair spans train the reader
    epochs: int = 6
    batch: int = 128
    lr: float = 3e-3              # the one-cycle schedule's peak
    touch_rate: float = 0.7
    val: int = 2000               # validation amounts the arc weights are calibrated on
    seed: int = 0


def pair_data(model: LeNet, cfg: PairConfig) -> Iterator:
    """Yields Progress; returns (images, geometry, targets) of the pair spans of cfg.fields amounts."""
    rng = np.random.default_rng(cfg.seed + 23)
    bank = checks.DigitBank("train", train.field_distortion(0.5))
    images, geometry, targets = [], [], []
    for i in range(cfg.fields):
        f = checks.make_field(rng, bank, touch_rate=cfg.touch_rate)
        try:
            segs = graph.segmentations(model, f.image, f.owner)
        except ValueError:
            continue
        # each segmentation's pair spans; one that two segmentations share is drawn twice (as the
        # shipped reader was trained; decoding keeps it once: pairs.find_pair_spans)
        for seg in segs:
            for k, m in pairs.pair_spans(seg):
                image, geo, _ = pairs.pair_input(seg, k, m)
                images.append(image)
                geometry.append(geo)
                targets.append(pairs.pair_target(seg, k, m, f.text))
        if i % 500 == 0:
            yield Progress(i, cfg.fields, message=f"pair spans of generated amounts: {len(targets):,}")
    return (torch.from_numpy(np.stack(images)), torch.tensor(np.asarray(geometry, np.float32)),
            torch.tensor(targets, dtype=torch.long))


def train_pair_net(model: LeNet, cfg: PairConfig) -> Iterator:
    """Yields Progress; returns the trained PairNet (eval mode)."""
    torch.manual_seed(cfg.seed)
    images, geometry, targets = yield from pair_data(model, cfg)
    net = pairs.PairNet()
    steps = cfg.epochs * (len(targets) // cfg.batch)
    opt = torch.optim.Adam(net.parameters(), cfg.lr / 3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=max(steps, 1))
    rng = np.random.default_rng(cfg.seed)
    step = 0
    for epoch in range(cfg.epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(len(targets)))
        for i in range(len(targets) // cfg.batch):
            batch = order[i * cfg.batch:(i + 1) * cfg.batch]
            # a pixel or two of shift: where the span's box falls is not what the pair is
            x = torch.roll(images[batch], (int(rng.integers(-1, 2)), int(rng.integers(-2, 3))), (1, 2))
            loss = F.nll_loss(net(x, geometry[batch]), targets[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            if step % 200 == 0:
                yield Progress(step, steps, message=f"pair reader, epoch {epoch + 1}/{cfg.epochs}",
                               metrics={"loss": loss.item()})
    return net.eval()


def calibrate(model: LeNet, net: pairs.PairNet, cfg: PairConfig, top: int = 5,
              pieces: int = pairs.MAX_PIECES) -> Iterator:
    """Yields Progress; returns (scale, offset, accuracy by setting) read best on validation amounts."""
    prepared = []
    for i, f in enumerate(train.val_fields(cfg.val)):
        cands = graph.add_pair_spans(graph.model_candidates(model, f.image, with_pairs=False),
                                     pairs.PairReader(net, top=top, pieces=pieces))
        p = cands.pairs
        with torch.no_grad():
            logp = graph.score(model, cands)
            pair_logp = net(torch.from_numpy(p.images), torch.from_numpy(p.geometry)) if p.spans else None
        prepared.append((f.text, cands, logp, pair_logp))
        if i % 200 == 0:
            yield Progress(i, cfg.val, message="calibrating the pair arcs on validation amounts")
    results = {}
    for scale in SCALES:
        for offset in OFFSETS:
            reader = pairs.PairReader(net, scale, offset, top, pieces)
            right = 0
            for text, cands, logp, pair_logp in prepared:
                arcs = pairs.pair_arcs(reader, cands.pairs, pair_logp) if pair_logp is not None else []
                g = graph.build_graph(cands, logp, arcs)
                _, path = lattice.viterbi(g)
                right += path is not None and graph.path_text(g, path) == text
            results[(scale, offset)] = right / max(len(prepared), 1)
    best = max(results, key=lambda k: (results[k], -abs(k[1])))
    return best[0], best[1], {f"{s} {o}": round(a, 4) for (s, o), a in results.items()}
