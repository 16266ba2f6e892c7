"""Reading a user's image safely: PNG/JPEG only, size limits, one readable error line."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from engine.data.userfile import short_path

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_WORK_PIXELS = 4_000_000          # larger images are shrunk first (a 20 MP photo: ~0.3 s)
# refused before decoding: a 1.6 MB PNG of 40,000 x 40,000 pixels ("decompression bomb") would
# need 1.6 GB once decoded (a 32,000-pixel square took 2.2 GB and 7.7 s)
MAX_DECODE_PIXELS = 100_000_000
PNG_MAX_SIDE = 1_000_000             # libpng's own limit per side
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}

try:                                 # opencv prints its own warnings for broken files: silence them
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
except AttributeError:               # pragma: no cover - older opencv
    pass


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Gray uint8 image of a PNG/JPEG file (dark ink on light paper), shrunk to ≤ 4 MP."""
    if not str(path).strip():            # (Path("") is ".", which read as "a folder")
        raise FileNotFoundError("no image path given (an empty line?)")
    p = Path(path)
    try:
        found = p.is_file()
    except OSError as exc:               # e.g. a name longer than the system allows
        raise ValueError(f"{short_path(p)}: {exc.strerror or exc}") from None
    if not found:
        raise FileNotFoundError(f"{short_path(p)}: " + ("a folder, not an image file" if p.is_dir() else
                                                         "not a regular file (a device or a pipe?)" if p.exists()
                                                         else "no such image file"))
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{p.name}: file too large ({size / 2**20:.0f} MB); an amount image is far smaller")
    blob = p.read_bytes()
    if not any(blob.startswith(sig) for sig in SIGNATURES):
        raise ValueError(f"{p.name}: not a PNG or JPEG image")
    header = png_size(blob)
    if header is not None:
        width, height = header
        if not (0 < width <= PNG_MAX_SIDE and 0 < height <= PNG_MAX_SIDE):
            # (libpng would print its own "Invalid IHDR data" line on stderr before refusing)
            raise ValueError(f"{p.name}: a PNG of {width:,} × {height:,} pixels is not an image this reads")
        if width * height > MAX_DECODE_PIXELS:
            raise ValueError(f"{p.name}: {width:,} × {height:,} pixels is too large to read "
                             f"(at most {MAX_DECODE_PIXELS // 1_000_000} megapixels)")
    try:
        img = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_GRAYSCALE)
    except cv2.error:                    # opencv's own limit (a JPEG too large to decode)
        raise ValueError(f"{p.name}: the image is too large to decode") from None
    if img is None or img.size == 0:
        raise ValueError(f"{p.name}: the image is corrupt or truncated and cannot be decoded")
    return shrink(img)


def png_size(blob: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, read before decoding; None without one (a JPEG, or
    a PNG too damaged to have it: the decoder says "corrupt")."""
    if blob.startswith(b"\x89PNG\r\n\x1a\n") and len(blob) >= 24 and blob[12:16] == b"IHDR":
        return int.from_bytes(blob[16:20], "big"), int.from_bytes(blob[20:24], "big")
    return None


def shrink(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    if h * w > MAX_WORK_PIXELS:
        s = (MAX_WORK_PIXELS / (h * w)) ** 0.5
        img = cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    return img
