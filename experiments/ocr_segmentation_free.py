"""Experiment (not part of the app): a segmentation-free amount reader on the same data.

Question: is the check-OCR tab's amount accuracy limited by its over-segmentation (cuts through
touching and overlapping digits), or by reading new writers' digits? This trains a reader that
never cuts anything — convolutions over the whole normalized field, a bidirectional LSTM over its
columns, CTC loss (Graves et al. 2006: like the GTN loss, -log of the sum over every alignment of
the true amount) — on generated amounts of *training* digits, and scores it on the same 500
held-out amounts as `seqlab eval ocr` (test digits, seed 12345) and on `--validation`'s 2,000
amounts of training digits (seed 4242). docs/MODELS.md (Check OCR) has the results.

    OMP_NUM_THREADS=2 python experiments/ocr_segmentation_free.py --minutes 25 --threads 2
    OMP_NUM_THREADS=1 python experiments/ocr_segmentation_free.py --minutes 32 --threads 1 --field-elastic 0.5
    OMP_NUM_THREADS=1 python experiments/ocr_segmentation_free.py --minutes 40 --threads 1 --out crnn.pt

Input: segment.segment's normalized field (Otsu, digit height 32 px, deslanted), a 48-row band
around the writing line, resized to 32 rows; one CTC frame per 4 columns.
"""
from __future__ import annotations

import argparse
import math
import time
from multiprocessing import Pool

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.ocr import checks, train
from engine.ocr.segment import segment

BAND, HEIGHT = 48, 32
CHARS = "0123456789.,"
BLANK = len(CHARS)


def field_input(image: np.ndarray) -> np.ndarray:
    seg = segment(image)
    ink = seg.ink.astype(np.float32)
    top = int(round(seg.center_y)) - BAND // 2
    band = np.zeros((BAND, ink.shape[1]), np.float32)
    y0, y1 = max(top, 0), min(top + BAND, ink.shape[0])
    if y1 > y0:
        band[y0 - top:y1 - top] = ink[y0:y1]
    width = max(8, int(round(band.shape[1] * HEIGHT / BAND)))
    return cv2.resize(band, (width, HEIGHT), interpolation=cv2.INTER_AREA)


def inputs_of(fields: list) -> list:
    out = []
    for f in fields:
        try:
            out.append((field_input(f.image), f.text))
        except ValueError:
            out.append((np.zeros((HEIGHT, 8), np.float32), f.text))
    return out


def make_pool(args: tuple) -> list:
    seed, n, share = args
    bank = checks.DigitBank("train", train.field_distortion(share))
    rng = np.random.default_rng(seed)
    fields = [checks.make_field(rng, bank, touch_rate=0.5) for _ in range(n)]
    return [((x * 255).astype(np.uint8), t) for x, t in inputs_of(fields)]


class CRNN(nn.Module):
    def __init__(self, c=(32, 64, 96, 96), hidden=128):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, c[0], 3, padding=1), nn.Conv2d(c[0], c[1], 3, padding=1)
        self.c3, self.c4 = nn.Conv2d(c[1], c[2], 3, padding=1), nn.Conv2d(c[2], c[3], 3, padding=1)
        self.proj = nn.Linear(c[3] * 2, hidden)
        self.rnn = nn.LSTM(hidden, hidden, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * hidden, len(CHARS) + 1)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):                                   # (B, 1, 32, W) -> (B, W/4, 13)
        x = F.max_pool2d(F.relu(self.c1(x)), 2)             # 16 rows, W/2
        x = F.max_pool2d(F.relu(self.c2(x)), 2)             # 8 rows, W/4
        x = F.max_pool2d(F.relu(self.c3(x)), (2, 1))        # 4 rows
        x = F.max_pool2d(F.relu(self.c4(x)), (2, 1))        # 2 rows
        B, C, H, T = x.shape
        x = self.drop(F.relu(self.proj(x.permute(0, 3, 1, 2).reshape(B, T, C * H))))
        x, _ = self.rnn(x)
        return F.log_softmax(self.out(self.drop(x)), -1)


def batch(items: list) -> tuple[torch.Tensor, list]:
    width = (max(x.shape[1] for x, _ in items) + 3) // 4 * 4
    out = np.zeros((len(items), 1, HEIGHT, width), np.float32)
    for i, (x, _) in enumerate(items):
        out[i, 0, :, :x.shape[1]] = x
    return torch.from_numpy(out), [x.shape[1] // 4 for x, _ in items]


def greedy(logp: torch.Tensor, lengths: list) -> list:
    """Best frame labels, repeats merged, blanks dropped."""
    best, out = logp.argmax(-1).numpy(), []
    for b, n in enumerate(lengths):
        text, prev = [], BLANK
        for k in best[b, :n]:
            if k != prev and k != BLANK:
                text.append(CHARS[k])
            prev = k
        out.append("".join(text))
    return out


def accuracy(model: CRNN, items: list) -> float:
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(items), 64):
            chunk = items[i:i + 64]
            x, lengths = batch(chunk)
            right += sum(p == t for p, (_, t) in zip(greedy(model(x), lengths), chunk))
    return right / len(items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fields", type=int, default=40000, help="generated training amounts")
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--field-elastic", type=float, default=0.0)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    torch.manual_seed(0)
    t0 = time.time()
    with Pool(2) as pool:
        parts = pool.map(make_pool, [(1000 + k, a.fields // 20, a.field_elastic) for k in range(20)])
    items = [(x.astype(np.float32) / 255, t) for part in parts for x, t in part]
    val = inputs_of(train.val_fields(500, seed=777))         # checkpoint choice: training digits
    print(f"{len(items)} amounts in {time.time() - t0:.0f} s", flush=True)
    torch.set_num_threads(a.threads)
    model = CRNN()
    print("parameters", sum(p.numel() for p in model.parameters()), flush=True)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    rng = np.random.default_rng(0)
    by_width = np.argsort([x.shape[1] for x, _ in items])   # batches of similar widths: less padding
    step, size, start, best = 0, 32, time.time(), (-1.0, None)
    while time.time() < start + a.minutes * 60:
        model.train()
        j = int(rng.integers(0, len(items) - 4 * size))
        chunk = [items[i] for i in by_width[j:j + 4 * size][rng.permutation(4 * size)[:size]]]
        x, lengths = batch(chunk)
        if rng.random() < 0.5:
            x = torch.roll(x, int(rng.integers(-2, 3)), dims=2)       # a small vertical shift
        target = torch.tensor([CHARS.index(c) for _, t in chunk for c in t])
        loss = ctc(model(x).permute(1, 0, 2), target, torch.tensor(lengths), torch.tensor([len(t) for _, t in chunk]))
        done = min(1.0, (time.time() - start) / (a.minutes * 60))
        for g in opt.param_groups:                                   # cosine decay over the time budget
            g["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * done)) + 2e-5
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5)
        opt.step()
        step += 1
        if step % 500 == 0:
            acc = accuracy(model, val)
            if acc >= best[0]:
                best = (acc, {k: v.clone() for k, v in model.state_dict().items()})
            print(f"step {step} {time.time() - start:.0f} s loss {loss.item():.3f} val {acc:.3f}", flush=True)
    if best[1] is not None:
        model.load_state_dict(best[1])
    test = accuracy(model, inputs_of(train.test_fields(500)))
    val2k = accuracy(model, inputs_of(train.val_fields(2000, seed=4242)))
    print(f"steps {step}, best val {best[0]:.3f}, test {test:.3f}, validation 2k {val2k:.4f}", flush=True)
    if a.out:
        torch.save(model.state_dict(), a.out)


if __name__ == "__main__":
    main()
