"""The pair reader: two touching digits read as one image, 100 classes ("00".."99") + not a pair.

Cutting touching digits apart is where most amounts are lost: a character whose span is cut
through ink on both sides is misread ~10% of the time, between gaps ~0.8% (docs/OCR_NOTEBOOK.md,
stop 22). A cut that slices a stroke damages both digits; a reader that never cuts cannot. So
besides the spans that may be one character, the lattice gets spans that may be *two* touching
digits — the ink of one connected component, or a run of its cut pieces, 0.8-2 digit heights
wide — and the pair reader scores each of them. Its K best pairs each become a two-arc path
(first digit, then second) from the span's start state to its end state; Viterbi then weighs
"cut here and read two characters" against "read these two together" on the same scale
(log-probabilities; `scale` and `offset` calibrated on validation amounts of training digits).

    PairNet: 28x56 image (the span's ink fitted in 24x52, centred) + the 5 geometry numbers
             → conv 5x5 ×16 → pool → conv 5x5 ×32 → pool → conv 3x3 ×48 → pool → 128 → 101
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.ocr.fast_conv import conv_bn, max_pool_2x2
from engine.ocr.segment import Segmentation

NOT_A_PAIR = 100
MIN_WIDTH, MAX_WIDTH = 0.8, 2.0      # × digit height: 99% of the pairs of touching digits (stop 23)
MAX_PIECES = 6                       # cut pieces in one pair span, at most (training; decoding may
                                     # take fewer: PairReader.pieces)


class PairNet(nn.Module):
    def __init__(self, c1: int = 16, c2: int = 32, c3: int = 48, hidden: int = 128):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(1, c1, 5, padding=2), nn.BatchNorm2d(c1)
        self.c2, self.b2 = nn.Conv2d(c1, c2, 5, padding=2), nn.BatchNorm2d(c2)
        self.c3, self.b3 = nn.Conv2d(c2, c3, 3, padding=1), nn.BatchNorm2d(c3)
        self.hidden = nn.Linear(c3 * 3 * 7 + 5, hidden)
        self.out = nn.Linear(hidden, NOT_A_PAIR + 1)
        self.drop = nn.Dropout(0.3)

    def forward(self, images: torch.Tensor, geometry: torch.Tensor) -> torch.Tensor:
        """images (B, 28, 56), geometry (B, 5) → log-probabilities (B, 101)."""
        x = images[:, None]
        if torch.is_grad_enabled():          # training: torch's own layers
            x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)                # (B, c1, 14, 28)
            x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)                # (B, c2, 7, 14)
            x = F.max_pool2d(F.relu(self.b3(self.c3(x))), 2)                # (B, c3, 3, 7)
        else:                                # decoding: the same numbers, faster (fast_conv.py)
            x = x.contiguous(memory_format=torch.channels_last)
            for conv, bn in ((self.c1, self.b1), (self.c2, self.b2), (self.c3, self.b3)):
                x = F.relu(max_pool_2x2(conv_bn(conv, bn, x)))
            x = x.contiguous()
        x = self.drop(F.relu(self.hidden(torch.cat([x.flatten(1), geometry], 1))))
        return F.log_softmax(self.out(x), dim=1)


@dataclasses.dataclass
class Attached:
    """A PairNet kept by a LeNet without becoming one of its modules: its parameters are trained
    apart, and neither GTN training nor the recognizer's state dict must see them."""
    net: PairNet


@dataclasses.dataclass
class PairReader:
    """The trained net and how its scores enter the lattice."""
    net: PairNet
    scale: float = 1.0               # arc weight = scale · log P(pair) + offset
    offset: float = -1.0
    top: int = 5                     # pairs per span put in the lattice
    pieces: int = MAX_PIECES         # cut pieces per pair span, at most


def pair_image(crop: np.ndarray) -> np.ndarray:
    """The ink fitted in 24x52 keeping its aspect, centred in 28x56 (float32, ink 1)."""
    crop = crop.astype(np.float32)
    h, w = crop.shape
    s = min(24.0 / h, 52.0 / w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = np.zeros((28, 56), np.float32)
    y0, x0 = (28 - nh) // 2, (56 - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = small
    return out


def pair_spans(seg: Segmentation, max_pieces: int = MAX_PIECES) -> list:
    """[(k, m)]: runs of segments of `seg` that may be two touching digits — one component's
    ink (every inner boundary a cut through ink), MIN_WIDTH..MAX_WIDTH digit heights wide; a
    single segment only when no cut touches it (a component left whole)."""
    S, H, out = len(seg.segments), seg.height, []
    for k in range(S):
        if seg.segments[k].mark:
            continue
        x0 = x1 = None
        for m in range(k + 1, min(S, k + max_pieces) + 1):
            p = seg.segments[m - 1]
            if p.mark or (m - k > 1 and not seg.segments[m - 2].cut_right):
                break
            x0 = p.x0 if x0 is None else min(x0, p.x0)
            x1 = p.box[2] if x1 is None else max(x1, p.box[2])
            width = (x1 - x0) / H
            if width > MAX_WIDTH:
                break
            if width >= MIN_WIDTH and not (m - k == 1 and (p.cut_left or p.cut_right)):
                out.append((k, m))
    return out


def pair_input(seg: Segmentation, k: int, m: int) -> tuple:
    """(28x56 image, 5 geometry numbers as the recognizer's, box) of segments k..m-1."""
    crop, (x0, y0, x1, y1) = seg.union(k, m)
    H = seg.height
    geometry = ((y1 - y0) / H, ((y0 + y1) / 2 - seg.center_y) / H, (x1 - x0) / H,
                float(seg.segments[k].cut_left), float(seg.segments[m - 1].cut_right))
    return pair_image(crop), geometry, (x0, y0, x1, y1)


@dataclasses.dataclass
class PairSpans:
    """The pair spans of a field's lattice: their states, inputs and boxes."""
    spans: list                       # [(state, state)] in the lattice of the field's Candidates
    images: np.ndarray                # (P, 28, 56)
    geometry: np.ndarray              # (P, 5)
    boxes: list                       # [(x0, y0, x1, y1)]
    origin: list                      # [(segmentation, k, m)]


def find_pair_spans(segs: list, states: list, max_pieces: int = MAX_PIECES, worth_reading=None) -> PairSpans:
    """Pair spans of every segmentation in `segs`; `states[a][k]` is the lattice state of
    boundary k of segmentation a (spans that are the same ink are kept once). With
    `worth_reading` ([(state, state)] → [bool]: engine/ocr/pair_pruning.py), only those it keeps."""
    found: dict = {}
    for a, seg in enumerate(segs):
        for k, m in pair_spans(seg, max_pieces):
            found.setdefault((states[a][k], states[a][m]), (a, k, m))
    spans = list(found)
    keep = worth_reading(spans) if worth_reading is not None and spans else [True] * len(spans)
    spans = [s for s, kept in zip(spans, keep) if kept]
    origin = [found[s] for s in spans]
    inputs = [pair_input(segs[a], k, m) for a, k, m in origin]
    return PairSpans(spans, np.stack([i[0] for i in inputs]) if inputs else np.zeros((0, 28, 56), np.float32),
                     np.asarray([i[1] for i in inputs], np.float32).reshape(-1, 5), [i[2] for i in inputs], origin)


def pair_target(seg: Segmentation, k: int, m: int, text: str) -> int:
    """Ground truth of a pair span from the generator's owner map: pair "ab" (10a + b) when the
    span holds ≥ 75% of the ink of two neighbouring digits a and b, ≥ 80% of its ink is theirs,
    and < 40% of anyone else's; else NOT_A_PAIR (as graph.span_targets, for two characters)."""
    owner, n = seg.owner, len(text)
    if n < 2:
        return NOT_A_PAIR
    ink_of = np.bincount(owner[seg.ink & (owner >= 0)].ravel(), minlength=n)
    crop, (x0, y0, x1, y1) = seg.union(k, m)
    own = owner[y0:y1, x0:x1][crop]
    counts = np.bincount(own[own >= 0], minlength=n)
    if counts.sum() == 0:
        return NOT_A_PAIR
    a, b = sorted(np.argsort(counts, kind="stable")[-2:].tolist())
    share = counts / np.maximum(ink_of, 1)
    if (b == a + 1 and text[a].isdigit() and text[b].isdigit() and share[a] >= 0.75 and share[b] >= 0.75
            and counts[a] + counts[b] >= 0.8 * crop.sum() and (np.delete(share, [a, b]) < 0.4).all()):
        return int(text[a]) * 10 + int(text[b])
    return NOT_A_PAIR


def pair_arcs(reader: PairReader, pairs: PairSpans, logp: Optional[torch.Tensor] = None) -> list:
    """[(src state, dst state, first digit, second digit, weight)] for the `top` pairs of each span
    (`logp`: the reader's (P, 101) log-probabilities, computed here when not given)."""
    if not pairs.spans:
        return []
    if logp is None:
        with torch.no_grad():
            logp = reader.net(torch.from_numpy(pairs.images), torch.from_numpy(pairs.geometry))
    best = logp[:, :NOT_A_PAIR].topk(reader.top, dim=1)
    arcs = []
    for (a, b), values, classes in zip(pairs.spans, best.values.tolist(), best.indices.tolist()):
        for v, c in zip(values, classes):
            arcs.append((a, b, c // 10, c % 10, reader.scale * v + reader.offset))
    return arcs
