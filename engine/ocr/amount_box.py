"""A whole check → the part to read: its courtesy-amount box (the largest wide rectangle drawn on
it), or the whole image when it is already an amount field."""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from engine.ocr.segment import binarize, to_gray


def find_amount_box(gray: np.ndarray) -> Optional[tuple[int, int, int, int]]:
    """The courtesy-amount box of a whole check: the largest wide rectangle drawn on it, or None."""
    ink = binarize(gray).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    best, area_img = None, gray.shape[0] * gray.shape[1]
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if not (0.01 * area_img < w * h < 0.4 * area_img and 1.8 < w / max(h, 1) < 8):
            continue
        approx = cv2.approxPolyDP(c, 0.03 * cv2.arcLength(c, True), True)
        if len(approx) == 4 and (best is None or w * h > best[2] * best[3]):
            best = (x, y, w, h)
    return best


def amount_field(gray: np.ndarray) -> np.ndarray:
    """The part of the image to read: inside the amount box if it is a whole check, else all of it."""
    gray = to_gray(gray)
    if gray.shape[1] > 3 * gray.shape[0] // 2 and gray.shape[0] > 150:     # maybe a whole check
        box = find_amount_box(gray)
        if box is not None:
            x, y, w, h = box
            m = max(3, h // 12)
            return gray[y + m:y + h - m, x + m:x + w - m]
    return gray
