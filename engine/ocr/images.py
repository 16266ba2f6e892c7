"""Reading a user's image safely: PNG/JPEG only, size limits, one readable error line."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_WORK_PIXELS = 4_000_000          # larger images are shrunk first (a 20 MP photo: ~0.3 s)
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}

try:                                 # opencv prints its own warnings for broken files: silence them
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
except AttributeError:               # pragma: no cover - older opencv
    pass


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Gray uint8 image of a PNG/JPEG file (dark ink on light paper), shrunk to ≤ 4 MP."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such image file")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{p.name}: file too large ({size / 2**20:.0f} MB); an amount image is far smaller")
    blob = p.read_bytes()
    if not any(blob.startswith(sig) for sig in SIGNATURES):
        raise ValueError(f"{p.name}: not a PNG or JPEG image")
    img = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None or img.size == 0:
        raise ValueError(f"{p.name}: the image is corrupt or truncated and cannot be decoded")
    return shrink(img)


def shrink(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    if h * w > MAX_WORK_PIXELS:
        s = (MAX_WORK_PIXELS / (h * w)) ** 0.5
        img = cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    return img
