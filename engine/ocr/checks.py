"""The check generator: courtesy amounts composed from real MNIST digits of one split.

An amount ("200", "1,250.00", "35.50": 1-7 digits, optional thousands comma and decimal point) is
composed glyph by glyph: each digit is a random MNIST image of that digit (from the train or the
test split only), cropped, scaled to a random height, slanted (one slant per amount, like a
writer's), thickened or thinned, and placed after a random gap. In a "touching" amount, some
neighbouring digits are slid left until their ink touches (connected components merge — what
makes segmentation hard). Noise and blur come last. Alongside the image we keep, for every ink
pixel, which character drew it (``owner``): the ground truth that labels segments for
pre-training and that tests use.

``render_check`` pastes an amount field into a check like the lecture's: bank name, date, payee
line, the courtesy-amount box, the legal-amount line, signature and a MICR-like line.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import cv2
import numpy as np

from engine.ocr import data

CHARSET = "0123456789.,"          # label ids 0..11 on lattice arcs
FIELD_HEIGHT = 56                 # px, the generated amount field
DIGIT_HEIGHT = 32                 # px, mean digit height in the field
BASELINE = 44                     # px from the top


@dataclasses.dataclass
class Field:
    image: np.ndarray             # (H, W) uint8, dark ink on light paper
    text: str                     # the amount, e.g. "1,250.00"
    owner: np.ndarray             # (H, W) int16: index into text of the char that drew the pixel, -1 none
    touching: bool                # some neighbouring digits were made to touch


def random_amount(rng: np.random.Generator) -> str:
    """1-7 digits; sometimes a thousands comma, sometimes two decimals after a point."""
    n = int(rng.integers(1, 8))
    decimals = n >= 3 and rng.random() < 0.3
    whole = n - 2 if decimals else n
    digits = [str(int(rng.integers(1, 10)))] + [str(int(rng.integers(0, 10))) for _ in range(whole - 1)]
    text = "".join(digits)
    if whole >= 4 and rng.random() < 0.4:
        text = text[:-3] + "," + text[-3:]
    if decimals:
        text += "." + "".join(str(int(rng.integers(0, 10))) for _ in range(2))
    return text


class DigitBank:
    """Digit images of one split, by class. `distort(img28, rng) -> img28`, when given, changes
    each drawn digit (training only: a new hand for an old digit; the held-out and validation
    amounts never use it, and without it the random draws are exactly as before)."""

    def __init__(self, split: str, distort: Optional[Callable] = None):
        x, y = data.load(split)
        self.by_class = [x[y == d] for d in range(10)]
        self.distort = distort

    def sample(self, digit: int, rng: np.random.Generator) -> np.ndarray:
        imgs = self.by_class[digit]
        img = imgs[int(rng.integers(len(imgs)))]
        return self.distort(img, rng) if self.distort is not None else img


def _crop(img: np.ndarray, thresh: int = 40) -> np.ndarray:
    ys, xs = np.nonzero(img > thresh)
    if len(ys) == 0:
        return img
    return img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def digit_glyph(img28: np.ndarray, height: int, slant: float, stroke: int) -> np.ndarray:
    """An MNIST digit as ink (uint8, ink high), cropped, scaled to `height`, sheared by `slant`."""
    g = _crop(img28).astype(np.float32)
    h, w = g.shape
    new_w = max(2, int(round(w * height / h)))
    g = cv2.resize(g, (new_w, height), interpolation=cv2.INTER_LINEAR)
    shift = abs(slant) * height
    out_w = int(np.ceil(new_w + shift)) + 1
    # x' = x + slant * (height - y): a positive slant leans the top to the right, like handwriting
    # (for slant < 0 the offset is dropped so that x' stays >= 0)
    m = np.float32([[1, -slant, max(slant, 0.0) * height], [0, 1, 0]])
    g = cv2.warpAffine(g, m, (out_w, height), flags=cv2.INTER_LINEAR, borderValue=0)
    if stroke > 0:
        g = cv2.dilate(g, np.ones((stroke + 1, stroke + 1), np.uint8))
    elif stroke < 0:
        g = cv2.erode(g, np.ones((2, 2), np.uint8))
    return np.clip(_crop(g), 0, 255).astype(np.uint8)


def punct_glyph(char: str, height: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """'.' or ',' as ink, and how far it hangs below the baseline (px)."""
    r = max(2, int(round(height * rng.uniform(0.07, 0.11))))
    if char == ".":
        g = np.zeros((2 * r + 1, 2 * r + 1), np.uint8)
        cv2.circle(g, (r, r), r, 255, -1, cv2.LINE_AA)
        return g, 0
    tail = int(round(2.5 * r))
    g = np.zeros((2 * r + tail + 1, 2 * r + 2), np.uint8)
    cv2.circle(g, (r + 1, r), r, 255, -1, cv2.LINE_AA)
    cv2.line(g, (2 * r, r), (1, 2 * r + tail - 1), 255, max(2, r), cv2.LINE_AA)
    return g, tail


def _touches(canvas: np.ndarray, glyph: np.ndarray, x: int, y: int) -> bool:
    h, w = glyph.shape
    region = cv2.dilate((canvas[y:y + h, x:x + w] > 100).astype(np.uint8), np.ones((3, 3), np.uint8))
    return bool((region & (glyph > 100)).any())


def make_field(rng: np.random.Generator, bank: DigitBank, text: Optional[str] = None,
               touching: Optional[bool] = None, touch_rate: float = 0.3, noise: bool = True) -> Field:
    """One amount field. `touching`: force (True/False) or draw with probability `touch_rate`."""
    text = text if text is not None else random_amount(rng)
    if touching is None:
        touching = bool(rng.random() < touch_rate)
    pairs = [i for i in range(1, len(text)) if text[i].isdigit() and text[i - 1].isdigit()]
    touch = set()
    if touching and pairs:
        touch = {i for i in pairs if rng.random() < 0.5} or {int(rng.choice(pairs))}
    slant = float(rng.uniform(-0.15, 0.35))
    stroke = int(rng.choice([-1, 0, 0, 0, 1, 1]))
    width = 16 + 60 * len(text)
    ink = np.zeros((FIELD_HEIGHT, width), np.uint8)
    owner = np.full((FIELD_HEIGHT, width), -1, np.int16)
    x, prev_w = 8, 0
    for i, ch in enumerate(text):
        if ch.isdigit():
            h = int(round(DIGIT_HEIGHT * rng.uniform(0.85, 1.12)))
            glyph = digit_glyph(bank.sample(int(ch), rng), h, slant + rng.uniform(-0.05, 0.05),
                                stroke if h > 28 or stroke > 0 else 0)
            hang = 0
        else:
            glyph, hang = punct_glyph(ch, DIGIT_HEIGHT, rng)
        gh, gw = glyph.shape
        y = int(np.clip(BASELINE + hang - gh + rng.integers(-2, 3), 0, FIELD_HEIGHT - gh))
        if i > 0 and i not in touch:
            x += int(rng.integers(3, 11)) if ch.isdigit() and text[i - 1].isdigit() else int(rng.integers(2, 6))
        if x + gw > ink.shape[1]:              # a wide, slanted glyph: grow the canvas to the right
            # (only when the glyph would not fit: every field that fitted comes out as it always did;
            # before sliding a touching glyph too, whose test reads the canvas under it)
            more = x + gw + 8 - ink.shape[1] + 60
            ink = np.pad(ink, ((0, 0), (0, more)))
            owner = np.pad(owner, ((0, 0), (0, more)), constant_values=-1)
        if i in touch:          # slide left from the previous glyph's edge until the ink touches
            limit = x - int(0.45 * min(gw, prev_w))
            while x > limit and not _touches(ink, glyph, x, y):
                x -= 1
        region = ink[y:y + gh, x:x + gw]
        mine = glyph > region
        owner[y:y + gh, x:x + gw][mine & (glyph > 60)] = i
        ink[y:y + gh, x:x + gw] = np.maximum(region, glyph)
        x += gw
        prev_w = gw
    ink, owner = ink[:, :x + 8], owner[:, :x + 8]
    img = ink.astype(np.float32)
    if noise:
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (3, 3), rng.uniform(0.3, 0.8))
        img += rng.normal(0, rng.uniform(0, 10), img.shape)
        for _ in range(int(rng.integers(0, 4))):                         # specks of dust
            sy, sx = int(rng.integers(0, img.shape[0])), int(rng.integers(0, img.shape[1]))
            img[sy, sx] = 255
    paper, dark = rng.uniform(215, 255), rng.uniform(0, 70)
    gray = paper - np.clip(img, 0, 255) / 255.0 * (paper - dark)
    return Field(np.clip(gray, 0, 255).astype(np.uint8), text, owner, bool(touch))


PAYEES = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Yann LeCun", "Leon Bottou",
          "Claude Shannon", "Emmy Noether", "John von Neumann"]


def render_check(field: Field, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A whole check (dark ink on light paper) with `field` in its courtesy-amount box.

    Returns the image and the box (x, y, w, h)."""
    H, W = 280, 700
    check = np.full((H, W), 238, np.uint8)
    font, script = cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX
    ink = (40,)
    cv2.putText(check, "SEQUENCE LAB BANK", (24, 40), font, 0.8, ink, 2, cv2.LINE_AA)
    cv2.putText(check, "DATE", (470, 48), font, 0.5, ink, 1, cv2.LINE_AA)
    cv2.line(check, (515, 50), (675, 50), ink, 1)
    cv2.putText(check, "PAY TO THE", (24, 105), font, 0.45, ink, 1, cv2.LINE_AA)
    cv2.putText(check, "ORDER OF", (24, 122), font, 0.45, ink, 1, cv2.LINE_AA)
    cv2.line(check, (110, 124), (430, 124), ink, 1)
    cv2.putText(check, PAYEES[int(rng.integers(len(PAYEES)))], (125, 118), script, 0.9, ink, 1, cv2.LINE_AA)
    cv2.putText(check, "$", (440, 125), font, 0.9, ink, 2, cv2.LINE_AA)
    box = (462, 80, 222, 62)
    bx, by, bw, bh = box
    cv2.rectangle(check, (bx, by), (bx + bw, by + bh), ink, 2)
    cv2.line(check, (24, 170), (600, 170), ink, 1)
    cv2.putText(check, "DOLLARS", (610, 172), font, 0.45, ink, 1, cv2.LINE_AA)
    cv2.putText(check, "MEMO", (24, 215), font, 0.45, ink, 1, cv2.LINE_AA)
    cv2.line(check, (70, 217), (300, 217), ink, 1)
    cv2.line(check, (420, 217), (675, 217), ink, 1)
    cv2.putText(check, "C021000089C  4260193357A  0917", (40, 262), cv2.FONT_HERSHEY_PLAIN, 1.4, ink, 2)
    check = check.astype(np.float32) + np.linspace(0, 12, W)[None, :]          # a faint tint
    # the amount, scaled to fit inside the box with a margin
    f = field.image.astype(np.float32)
    scale = min((bh - 12) / f.shape[0], (bw - 12) / f.shape[1])
    f = cv2.resize(f, (max(1, int(f.shape[1] * scale)), max(1, int(f.shape[0] * scale))),
                   interpolation=cv2.INTER_AREA)
    fy, fx = by + (bh - f.shape[0]) // 2, bx + 6
    ink_amount = np.clip(np.percentile(f, 90) - f, 0, 255)        # the field's paper becomes the check's
    check[fy:fy + f.shape[0], fx:fx + f.shape[1]] -= ink_amount
    return np.clip(check, 0, 255).astype(np.uint8), box
