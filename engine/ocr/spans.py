"""The spans of a segmentation that may be characters, ready for the CNN.

A span is 1..MAX_SPAN consecutive segments; its ink is size-normalized to 28x28 like an MNIST digit,
and 5 geometry numbers keep what normalization throws away (engine/ocr/model.py). Spans of one
segmentation: candidates(); of several merged into one lattice: engine/ocr/alternatives.py.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import cv2
import numpy as np

from engine.ocr.segment import Segmentation

MAX_SPAN = 4                 # a character is made of at most 4 consecutive segments (a round
                             # digit like "0" can be cut in 4: more cost little, fewer lose it; the
                             # default of the models' span_pieces, 5 since stop 24)
MAX_SPAN_WIDTH = 1.6         # × digit height: no character is wider (the default of the models'
                             # span_width; a long-barred "5" can be wider: docs/OCR_NOTEBOOK.md stop 24)
CONTEXT_SIDE = 2.0           # × digit height: the square a span is seen in for the context channel


def normalize(crop: np.ndarray) -> np.ndarray:
    """MNIST-style: fit the ink in 20x20 keeping its aspect, centre of mass at the centre of 28x28."""
    crop = crop.astype(np.float32)
    h, w = crop.shape
    s = 20.0 / max(h, w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    total = small.sum()
    if total <= 0:
        return np.zeros((28, 28), np.float32)
    cy = (small.sum(axis=1) * np.arange(nh)).sum() / total
    cx = (small.sum(axis=0) * np.arange(nw)).sum() / total
    m = np.float32([[1, 0, 14 - cx], [0, 1, 14 - cy]])
    return cv2.warpAffine(small, m, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)


class ContextField:
    """Context windows of the spans of one field, 28x28 each: a square of CONTEXT_SIDE digit
    heights centred on the span (horizontally) and on the writing line, the span's ink at 1 and
    all other ink at 0.5. The size-normalized span image cannot tell a whole "1" from the left
    stroke of a "4" cut off its neighbour; this window shows whether the ink goes on past the
    span's edges. The field is shrunk once to the windows' scale (a per-span resize of the
    window cost ~5 ms per amount); each window is then a slice plus its span's own small resize."""

    def __init__(self, ink: np.ndarray, height: float, center_y: float):
        self.scale = s = 28.0 / (CONTEXT_SIDE * height)
        h, w = ink.shape
        small = cv2.resize(ink.astype(np.float32), (max(1, round(w * s)), max(1, round(h * s))),
                           interpolation=cv2.INTER_AREA)
        self.small = np.pad(small, 28) * np.float32(0.5)          # 28 px margins: no bounds checks
        self.top = int(round(center_y * s)) + 14                   # window top in `small` (28 - 14)

    def window(self, crop: np.ndarray, box: tuple) -> np.ndarray:
        s, (x0, y0, x1, _) = self.scale, box
        left = int(round((x0 + x1) / 2 * s)) + 14
        win = self.small[self.top:self.top + 28, left:left + 28].copy()
        span = cv2.resize(crop.astype(np.float32), (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))),
                          interpolation=cv2.INTER_AREA) * np.float32(0.5)
        px, py = int(round(x0 * s)) + 28 - left, int(round(y0 * s)) + 28 - self.top
        ax0, ay0 = max(px, 0), max(py, 0)
        ax1, ay1 = min(px + span.shape[1], 28), min(py + span.shape[0], 28)
        if ax1 > ax0 and ay1 > ay0:
            win[ay0:ay1, ax0:ax1] += span[ay0 - py:ay1 - py, ax0 - px:ax1 - px]
        return np.minimum(win, 1.0, out=win)


@dataclasses.dataclass
class Candidates:
    """The spans that may be characters, with their CNN inputs — of one segmentation, or of
    several of the same field merged into one lattice (engine/ocr/alternatives.py)."""
    seg: Segmentation             # the (first) segmentation: what the tab draws
    spans: list                   # [(k, m)]: lattice states; one segmentation: segments k..m-1
    images: np.ndarray            # (N, 28, 28) float32 in [0, 1]
    geometry: np.ndarray          # (N, NUM_GEOMETRY) float32
    boxes: list                   # [(x0, y0, x1, y1)] of each span in the normalized field
    context: Optional[np.ndarray] = None   # (N, 28, 28) context windows, when asked for
    segs: list = dataclasses.field(default_factory=list)   # every segmentation (empty: [seg])
    origin: list = dataclasses.field(default_factory=list) # per span (segmentation, k, m) (empty:
                                  # (0, k, m) = spans[i])
    states: int = 0               # lattice states (0: len(seg.segments) + 1)
    boundary_states: list = dataclasses.field(default_factory=list)  # per segmentation, the state
                                  # of each of its boundaries 0..S (empty: boundary k is state k)
    pairs: Optional[object] = None   # pairs.PairSpans: spans that may be two touching digits
                                  # (with a pair reader; engine/ocr/pairs.py)

    def state_of_boundaries(self) -> list:
        """Per segmentation, the lattice state of each of its boundaries."""
        return self.boundary_states or [list(range(len(self.seg.segments) + 1))]

    def inputs(self, context: bool) -> np.ndarray:
        """The CNN's images: (N, 28, 28), or (N, 2, 28, 28) with the context channel."""
        if not context:
            return self.images
        if self.context is None:
            raise ValueError("these candidates were built without context windows")
        return np.stack([self.images, self.context], axis=1)

    @property
    def num_states(self) -> int:
        return self.states or len(self.seg.segments) + 1

    def segments_of(self, span: int) -> tuple:
        """(segmentation, k, m): span `span` is segments k..m-1 of that segmentation."""
        return (self.segs[self.origin[span][0]], *self.origin[span][1:]) if self.origin else (self.seg, *self.spans[span])


def span_inputs(seg: Segmentation, k: int, m: int, field: Optional["ContextField"],
                max_width: float = MAX_SPAN_WIDTH) -> Optional[tuple]:
    """(image, geometry, box, context window) of segments k..m-1, or None when they cannot be one
    character: a '.' or ',' stands alone, and no character is wider than `max_width` digit heights."""
    if m - k > 1 and any(p.mark for p in seg.segments[k:m]):
        return None
    H = seg.height
    if m - k > 1 and (max(p.box[2] for p in seg.segments[k:m]) - min(p.x0 for p in seg.segments[k:m])
                      > max_width * H):
        return None
    crop, (x0, y0, x1, y1) = seg.union(k, m)
    geometry = ((y1 - y0) / H, ((y0 + y1) / 2 - seg.center_y) / H, (x1 - x0) / H,
                float(seg.segments[k].cut_left), float(seg.segments[m - 1].cut_right))
    window = field.window(crop, (x0, y0, x1, y1)) if field is not None else None
    return normalize(crop), geometry, (x0, y0, x1, y1), window


def candidates(seg: Segmentation, context: bool = False, max_width: float = MAX_SPAN_WIDTH,
               max_pieces: int = MAX_SPAN) -> Candidates:
    """Every span of 1..`max_pieces` segments that may be a character, ready for the CNN (`context`:
    with context windows too; `max_width`: span_inputs)."""
    S = len(seg.segments)
    spans, images, geometry, boxes, windows = [], [], [], [], []
    field = ContextField(seg.ink, seg.height, seg.center_y) if context else None
    for k in range(S):
        for m in range(k + 1, min(S, k + max_pieces) + 1):
            got = span_inputs(seg, k, m, field, max_width)
            if got is None:
                break                                     # longer spans from k fail alike
            spans.append((k, m))
            images.append(got[0])
            geometry.append(got[1])
            boxes.append(got[2])
            windows.append(got[3])
    return Candidates(seg, spans, np.stack(images), np.asarray(geometry, np.float32), boxes,
                      np.stack(windows) if context else None)
