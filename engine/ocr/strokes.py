"""Pen strokes: how thick they are, and keeping them strokes through the segmenter's rescaling.

The segmenter shrinks every field to a 32 px digit height. A thin pen on a big drawing (2 px on
the tab's canvas, 140 px digits) then covers under half of each shrunk pixel and falls below the
ink threshold: the "0" became dust three pixels high, and the amount was read from the dust. So a
stroke that would come out thinner than MIN_STROKE px is thickened before shrinking.

The opposite case is ink that is not pen strokes at all: a photo's dark regions, a face, a filled
shape. Normalized like a field, its "strokes" are a third of a digit height thick, where
handwriting (every generated test amount, every canvas pen width that reads) stays under a fifth;
such input gets a message instead of a confident reading of two zeros. (Of 8,000 generated
training draws, one is refused: a "1" drawn as a thick wedge; training skips it.)
"""
from __future__ import annotations

import math

import cv2
import numpy as np

MIN_STROKE = 1.5              # px after rescaling: a thinner stroke is thickened first
THICKEN_TO = 2.5              # px after rescaling, when it is (training digits: ~2.5-5 px)
MAX_THICKNESS = 0.28          # × digit height: 90th percentile of the ink's distance to paper
                              # (generated amounts: 0.06-0.21; a filled face or hill: 0.33)


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in px: twice the ink's area over its boundary (two edges per stroke).
    1-px lines come out as 2 (all their pixels are boundary)."""
    boundary = ink & ~cv2.erode(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return 2.0 * float(ink.sum()) / max(float(boundary.sum()), 1.0)


def keep_strokes(ink: np.ndarray, scale: float) -> np.ndarray:
    """`ink`, thickened when shrinking it by `scale` would make its strokes thinner than MIN_STROKE."""
    if scale >= 1:
        return ink
    width = stroke_width(ink)
    if width * scale >= MIN_STROKE:
        return ink
    k = int(math.ceil(THICKEN_TO / scale - width)) + 1
    return cv2.dilate(ink.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)


def looks_filled(ink: np.ndarray, height: float) -> bool:
    """True when the normalized ink is filled shapes rather than pen strokes."""
    inside = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3)[ink]
    return inside.size > 0 and float(np.percentile(inside, 90)) > MAX_THICKNESS * height
