"""Cuts that bend around strokes: the cheapest top-to-bottom path near each cut column.

Both cut finders end here — the heuristic one (cost = ink crossed) and the learned one
(engine/ocr/cutter.py: cost = -log P(two characters meet here)). A straight cut through two
touching digits slices one of them; a cut that may move one column a row separates them.
"""
from __future__ import annotations

from typing import Optional

import numpy as np


def cut_paths(parts: list, H: float, costs: Optional[list] = None) -> list[list[np.ndarray]]:
    """For each (mask, xs) of `parts` and each x of xs: a top-to-bottom cut near column x that
    crosses as little of the mask's ink as it can (one column per row of the mask) — or, with
    `costs` (one (h, w) map per part, e.g. the learned cut finder's -log probability), as little
    of that cost.

    Touching digits overlap: a straight cut through the overlap slices one of them, a cut that
    bends around strokes separates them. Dynamic programming over rows: each row a cut moves at
    most one column; cost = ink crossed + a little for bending and for leaving x. All the cuts of a
    field run in one batch (rows aligned at each mask's top), since the per-row numpy calls, not
    the arithmetic, are what this costs."""
    r = int(0.3 * H)
    offsets = np.arange(-r, r + 1)
    blocks, all_cols, heights = [], [], []
    for i, (mask, xs) in enumerate(parts):
        if not xs:
            continue
        h, w = mask.shape
        cols = np.asarray(xs)[:, None] + offsets                           # (cuts, n) candidate columns
        at = np.clip(cols, 0, w - 1)
        crossed = mask[:, at] * np.float32(4.0) if costs is None or costs[i] is None else costs[i][:, at]
        unary = crossed + np.float32(0.02) * np.abs(offsets)
        unary[:, ~((cols >= 1) & (cols < w - 1))] = np.inf                  # (h, cuts, n)
        blocks.append(unary)
        all_cols.append(cols)
        heights += [h] * len(xs)
    if not blocks:
        return [[] for _ in parts]
    cols, heights = np.concatenate(all_cols), np.asarray(heights)
    (c, n), top = cols.shape, int(heights.max())
    unary = np.zeros((top, c, n))
    k = 0
    for block in blocks:
        unary[:len(block), k:k + block.shape[1]] = block
        k += block.shape[1]
    # row y: best cost of a cut arriving at each column = unary + min(from x - 1 + bend, from x,
    # from x + 1 + bend); min(a + b, c + b) = min(a, c) + b exactly (rounding is monotonic), so
    # the two side moves share one addition. Rows are kept for the backtracking.
    bend = np.float32(0.3)
    costs = np.empty((top, c, n + 2), np.float32)
    costs[:, :, 0] = costs[:, :, -1] = np.inf         # columns beyond the window: never entered
    costs[0, :, 1:-1] = unary[0]
    side = np.empty((c, n), np.float32)
    last = unary[0].copy()                            # each cut's cost at its own last row (float64,
    end_rows = set((heights - 1).tolist())            # as the sums are made, before rounding)
    for y in range(1, top):
        prev = costs[y - 1]
        np.minimum(prev[:, :-2], prev[:, 2:], out=side)
        side += bend
        np.minimum(side, prev[:, 1:-1], out=side)
        np.add(side, unary[y], out=costs[y, :, 1:-1])
        if y in end_rows:
            ends = heights == y + 1
            last[ends] = side[ends] + unary[y][ends]
    # backtracking: per cut and row, the move taken is the cheapest arrival (first on ties, as
    # argmin) — plain Python on lists: a few comparisons per row, where numpy calls cost microseconds
    plain, bent = costs.tolist(), (costs + bend).tolist()
    path = np.zeros((top, c), np.int64)
    for j, (x, h) in enumerate(zip(last.argmin(1).tolist(), heights.tolist())):
        column = [0] * h
        column[h - 1] = x
        for y in range(h - 1, 0, -1):                 # x is a column of the window; x + 1 in `costs`
            row_bent, row = bent[y - 1][j], plain[y - 1][j]
            best, move = row_bent[x], -1
            if row[x + 1] < best:
                best, move = row[x + 1], 0
            if row_bent[x + 2] < best:
                move = 1
            x += move
            column[y - 1] = x
        path[:h, j] = column
    out, k = [], 0
    for mask, xs in parts:
        out.append([cols[k + i, path[:mask.shape[0], k + i]] for i in range(len(xs))])
        k += len(xs)
    return out
