"""The learned cut finder: where, row by row, do two touching characters meet?

The heuristic segmenter cuts a component at the minima of its ink projection and lets each cut
bend around the strokes it would cross (cut_paths.cut_paths). On touching digits that misses the
meeting line a third of the time — the cut slices a digit, or leaves a piece of it with its
neighbour — and given the right cuts the same recognizer reads many more amounts
(`seqlab eval ocr --diagnose`, "true_cuts"; docs/OCR_NOTEBOOK.md). So the cuts are learned: a small
fully convolutional net looks at a component's ink and gives, for every pixel, the probability
that a cut between two characters passes there. The generator's owner map supplies the truth for
free: in every row, the columns between one character's last ink and its right neighbour's
first. Cuts then start at the columns where that probability peaks, and follow its cheapest path
(the same dynamic programming as the heuristic cuts, with -log probability instead of ink as the
cost).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.ocr import checks
from engine.ocr.segment import row_extents, segment
from engine.runtime import Progress

PAD = 8                       # px of empty border around a component (the dilated convolutions see past it)
MIN_WIDTH = 0.6               # × digit height: narrower components are never cut (as the heuristic)
START_THRESHOLD = 0.1         # a cut starts where the row-averaged boundary probability peaks above this
MIN_SEPARATION = 0.25         # × digit height between the starts of two cuts (as the heuristic)
GATE = 0.9                    # × digit height: narrower components (one digit, mostly) keep the heuristic
                              # cuts — the net's time goes to the components that may hold two


class CutNet(nn.Module):
    """Ink (B, 1, h, w) → boundary logits (B, h, w). Dilations 1, 2, 4, 8: each pixel sees ±15 px,
    about half a digit height each way — both characters on either side of a meeting line."""

    def __init__(self, channels: int = 16):
        super().__init__()
        c = channels
        self.l1 = nn.Conv2d(1, c, 3, padding=1)
        self.l2 = nn.Conv2d(c, c, 3, padding=2, dilation=2)
        self.l3 = nn.Conv2d(c, c, 3, padding=4, dilation=4)
        self.l4 = nn.Conv2d(c, c, 3, padding=8, dilation=8)
        self.out = nn.Conv2d(c, 1, 1)

    def forward(self, ink: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.l1(ink))
        x = F.relu(self.l2(x))
        x = F.relu(self.l3(x))
        x = F.relu(self.l4(x))
        return self.out(x)[:, 0]


def boundary_targets(mask: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """(h, w) float32: 1 at the columns between two neighbouring characters' ink, in each row where
    both have ink (owner: character index per pixel of the component's box, -1 none)."""
    own = np.where(mask, owner, -1)
    target = np.zeros(mask.shape, np.float32)
    chars = set(own[own >= 0].tolist())
    for c in sorted(chars):
        if c + 1 not in chars:
            continue
        last, first = row_extents(own, c)
        for y in np.nonzero((last >= 0) & (first < own.shape[1]) & (last < first))[0]:
            target[y, last[y] + 1:first[y] + 1] = 1.0
    return target


def separating_targets(mask: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """(h, w) float32: 1 at every column where, in that row, a cut would leave the characters up to
    one of the component's characters on its left and the next ones on its right — also in rows
    where one of the two has no ink (there boundary_targets says nothing, and a cut may slice the
    other). Used as the map itself (from the owner map, with the true cut starts), these targets
    give clean cuts in 0.977 of touching amounts, boundary_targets 0.960; nets trained on either
    reach ~0.91 (docs/OCR_NOTEBOOK.md, stop 17)."""
    own = np.where(mask, owner, -1)
    h, w = own.shape
    chars = sorted(set(own[own >= 0].tolist()))
    target = np.zeros((h, w), np.float32)
    cols = np.arange(w)
    for a, b in zip(chars[:-1], chars[1:]):
        last_left = np.where((own >= 0) & (own <= a), cols, -1).max(1)    # -1: no ink on the left
        first_right = np.where(own >= b, cols, w).min(1)                  # w: none on the right
        target[(cols[None, :] > last_left[:, None]) & (cols[None, :] <= first_right[:, None])] = 1.0
    return target


TARGETS = {"between": boundary_targets, "separating": separating_targets}


def batch(images: list, targets: list | None = None) -> tuple:
    """Component masks (and targets) padded into one batch: (ink (B,1,H,W), targets (B,H,W),
    valid (B,H,W))."""
    hh = max(m.shape[0] for m in images) + 2 * PAD
    ww = max(m.shape[1] for m in images) + 2 * PAD
    ink = np.zeros((len(images), 1, hh, ww), np.float32)
    tgt = np.zeros((len(images), hh, ww), np.float32)
    valid = np.zeros((len(images), hh, ww), np.float32)
    for i, m in enumerate(images):
        h, w = m.shape
        ink[i, 0, PAD:PAD + h, PAD:PAD + w] = m
        valid[i, PAD:PAD + h, PAD:PAD + w] = 1.0
        if targets is not None:
            tgt[i, PAD:PAD + h, PAD:PAD + w] = targets[i]
    return torch.from_numpy(ink), torch.from_numpy(tgt), torch.from_numpy(valid)


class Cutter:
    """A trained CutNet used as segment()'s cut finder (not an nn.Module attribute of the
    recognizer, so that the recognizer's parameters stay its own)."""

    def __init__(self, net: CutNet, gate: float = GATE):
        # channels-last: torch's CPU kernels for the dilated convolutions are ~2.5x faster in it
        self.net = net.eval().to(memory_format=torch.channels_last)
        self.gate = gate

    def boundary(self, masks: list) -> list:
        """Boundary probability (h, w) of each mask, one forward pass for all. (Each mask is padded
        to the batch's largest, as in training: near its edges the net's output depends slightly on
        its neighbours' sizes, because PAD is less than what the net sees.)"""
        ink, _, _ = batch(masks)
        with torch.no_grad():
            prob = torch.sigmoid(self.net(ink.contiguous(memory_format=torch.channels_last))).numpy()
        return [p[PAD:PAD + m.shape[0], PAD:PAD + m.shape[1]] for p, m in zip(prob, masks)]

    def plan(self, masks: list, H: float, heuristic: list | None = None) -> list:
        """For each component mask: (start columns, cost map or None for ink) for
        cut_paths.cut_paths. Components narrower than self.gate × H keep the `heuristic` starts
        (one digit, mostly: not worth the net's time)."""
        heuristic = heuristic if heuristic is not None else [[] for _ in masks]
        wide = [i for i, m in enumerate(masks) if m.shape[1] >= max(MIN_WIDTH, self.gate) * H]
        plans = [(heuristic[i], None) for i in range(len(masks))]
        if not wide:
            return plans
        for i, p in zip(wide, self.boundary([masks[i] for i in wide])):
            m = masks[i]
            inked = m.any(axis=1)
            profile = np.convolve(p[inked].mean(axis=0), [0.25, 0.5, 0.25], mode="same")
            mid = profile[1:-1]
            peaks = 1 + np.nonzero((mid >= profile[:-2]) & (mid >= profile[2:]) & (mid > START_THRESHOLD))[0]
            chosen: list[int] = []
            for x in peaks[np.argsort(-profile[peaks], kind="stable")].tolist():   # highest first
                if all(abs(x - c) >= MIN_SEPARATION * H for c in chosen):
                    chosen.append(x)
            plans[i] = (sorted(chosen), -np.log(np.clip(p, 1e-4, 1.0)).astype(np.float32))
        return plans


# --- training ------------------------------------------------------------------------------

BATCH = 32                    # components per training step
CROP = 64                     # px: a training example is a random window this wide of a component
LR = 2e-3                     # Adam
POSITIVE_WEIGHT = 4.0         # meeting-line pixels are few: weigh them up in the loss


def examples(n: int, seed: int, targets=boundary_targets) -> Iterator[tuple]:
    """(component mask, its `targets`) of the components of n generated amounts of training
    digits, wide enough to be cut."""
    bank = checks.DigitBank("train")
    rng = np.random.default_rng(seed)
    for _ in range(n):
        f = checks.make_field(rng, bank, touch_rate=0.7)
        try:
            seg = segment(f.image, f.owner)
        except ValueError:
            continue
        for left, top, mask in seg.groups:
            if mask.shape[1] >= MIN_WIDTH * seg.height:
                h, w = mask.shape
                yield mask, targets(mask, seg.owner[top:top + h, left:left + w])


def train_cutter(fields: int, steps: int, channels: int, seed: int, target: str = "between",
                 gate: float = GATE) -> Iterator[Progress]:
    """Generator: train a CutNet on the components of `fields` generated amounts (`target`: a key
    of TARGETS); returns the Cutter, which runs the net on components at least `gate` × H wide."""
    torch.manual_seed(seed)
    data = []
    for i, ex in enumerate(examples(fields, seed + 5, TARGETS[target])):
        data.append(ex)
        if i % 500 == 0:
            yield Progress(0, steps, message="cut finder: collecting components of generated amounts")
    if not data:
        raise ValueError("no component to learn cuts from")
    net = CutNet(channels)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    rng = np.random.default_rng(seed + 6)
    weight = torch.tensor(POSITIVE_WEIGHT)
    recent: list = []
    for step in range(1, steps + 1):
        masks, targets = [], []
        for i in rng.integers(len(data), size=BATCH):
            mask, target = data[i]
            x = int(rng.integers(0, max(mask.shape[1] - CROP, 0) + 1))   # the net is convolutional:
            masks.append(mask[:, x:x + CROP])                            # windows teach it as well,
            targets.append(target[:, x:x + CROP])                        # for less padding
        ink, target, valid = batch(masks, targets)
        loss = (F.binary_cross_entropy_with_logits(net(ink), target, reduction="none", pos_weight=weight)
                * valid).sum() / valid.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        recent = (recent + [loss.item()])[-50:]
        if step % 50 == 0 or step == steps:
            yield Progress(step, steps, float(np.mean(recent)),
                           message="cut finder: where do touching characters meet?")
    return Cutter(net, gate)
