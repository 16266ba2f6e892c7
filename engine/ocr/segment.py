"""Heuristic over-segmentation: ink → ordered primitive segments (LeCun et al. 1998, sec. VI).

    1. binarize (Otsu) and estimate the digit height H from the connected components;
    2. rescale so that H = 32 px, and undo the writer's slant (shear by the ink's x/y covariance),
       so that near-vertical cuts separate neighbouring digits;
    3. connected components (8-neighbours), specks dropped, components stacked above each other
       merged (a "5" whose bar is detached);
    4. inside every component wider than a narrow digit, candidate cuts at the minima of the
       vertical ink projection — liberal on purpose: cutting a digit into pieces costs nothing
       (the lattice regroups up to 4 pieces), missing the cut between touching digits is fatal;
    5. each cut starts at its column and bends, row by row, around strokes (cheapest path by
       dynamic programming, engine/ocr/cut_paths.py): touching digits overlap, and a straight cut
       would slice one of them.
The result lists the pieces left to right as boolean masks over the normalized field.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Optional

import cv2
import numpy as np

from engine.ocr import strokes
from engine.ocr.cut_paths import cut_paths

TARGET_HEIGHT = 32.0          # px, digit height after rescaling
MAX_SEGMENTS = 120            # beyond this the input is not an amount (bounded time)
MAX_PIXELS = 40_000_000       # refuse larger images before doing any work


class NoInk(ValueError):
    """Nothing to read."""


@dataclasses.dataclass
class Piece:
    """One primitive segment: a bool mask cropped to its ink, and where it sits in the field."""
    x0: int
    y0: int
    mask: np.ndarray              # (h, w) bool
    mark: bool = False            # a whole small component ('.', ','): a character on its own
    cut_left: bool = False        # its left side is a cut through ink (not a gap between components)
    cut_right: bool = False       # likewise its right side

    @functools.cached_property
    def mean_x(self) -> float:
        """Mean column of its ink, from its left edge (segments are ordered by x0 + this)."""
        return float(np.nonzero(self.mask)[1].mean())

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x0 + self.mask.shape[1], self.y0 + self.mask.shape[0]


@dataclasses.dataclass
class Segmentation:
    ink: np.ndarray               # (H, W) bool, the normalized (rescaled, deslanted) field
    segments: list                # [Piece], left to right
    cuts: list                    # cuts made inside components: (rows, 2) arrays of (x, y)
    height: float                 # digit height in the normalized field (≈ TARGET_HEIGHT)
    center_y: float               # vertical centre of the writing line
    owner: Optional[np.ndarray] = None   # ground-truth owner map, transformed alike (generated data)
    groups: list = dataclasses.field(default_factory=list)   # [(left, top, mask)]: the components
                                  # (stacked ones merged) before cutting — what the cut finder learns on

    def union(self, k: int, m: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """The ink of segments k..m-1 as one cropped mask, and its box (x0, y0, x1, y1)."""
        boxes = [p.box for p in self.segments[k:m]]
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        ids = self.segment_ids
        if ids is not None:                   # one slice, not one paste per segment
            window = ids[y0:y1, x0:x1]
            return (window >= k) & (window < m), (x0, y0, x1, y1)
        crop = np.zeros((y1 - y0, x1 - x0), bool)
        for p in self.segments[k:m]:
            h, w = p.mask.shape
            crop[p.y0 - y0:p.y0 - y0 + h, p.x0 - x0:p.x0 - x0 + w] |= p.mask
        return crop, (x0, y0, x1, y1)


    @functools.cached_property
    def segment_ids(self) -> Optional[np.ndarray]:
        """(H, W) int16: the index of the segment each ink pixel belongs to, -1 where none; None
        when two segments share a pixel (union() then pastes their masks one by one)."""
        ids = np.full(self.ink.shape, -1, np.int16)
        for i, p in enumerate(self.segments):
            x0, y0, x1, y1 = p.box
            region = ids[y0:y1, x0:x1]
            if region.shape != p.mask.shape or (region[p.mask] >= 0).any():
                return None
            region[p.mask] = i
        return ids


def to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def binarize(gray: np.ndarray) -> np.ndarray:
    """Ink mask of dark ink on light paper (Otsu); all False when the page is blank."""
    if gray.size == 0 or float(gray.max()) - float(gray.min()) < 40:
        return np.zeros(gray.shape, bool)
    thr, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = gray < thr
    if not ink.any():        # a two-tone image (pure black on white): Otsu's threshold is the
        ink = gray < (float(gray.min()) + float(gray.max())) / 2   # dark tone itself
    return ink


def _components(ink: np.ndarray):
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    return n, labels, stats


def estimate_height(ink: np.ndarray, components: Optional[tuple] = None) -> float:
    """Digit height: the median height of the big components (`components`: _components(ink),
    when the caller has them already)."""
    n, _, stats = components if components is not None else _components(ink)
    if n <= 1:
        raise NoInk("draw an amount")
    areas, heights = stats[1:, cv2.CC_STAT_AREA], stats[1:, cv2.CC_STAT_HEIGHT]
    big = heights[areas >= 0.15 * areas.max()]
    return float(np.median(big))


def deslant(ink: np.ndarray, owner: Optional[np.ndarray] = None):
    """Shear so that the strokes become vertical: x' = x + s·(y - ȳ), s = -cov(x,y)/var(y).

    The covariance is pooled *within* connected components (each pixel minus its component's
    mean): across the whole field, digits at different heights and a low comma would tilt it."""
    n, labels, _ = _components(ink)
    ys, xs = np.nonzero(ink)
    lab = labels[ys, xs]
    count = np.bincount(lab, minlength=n).astype(np.float64)
    dy = ys - (np.bincount(lab, ys, minlength=n) / np.maximum(count, 1))[lab]
    dx = xs - (np.bincount(lab, xs, minlength=n) / np.maximum(count, 1))[lab]
    var = (dy * dy).sum()
    s = float(np.clip(-(dx * dy).sum() / var, -0.6, 0.6)) if var > len(ys) else 0.0
    yc = ys.mean()
    h, w = ink.shape
    pad = int(np.ceil(abs(s) * h)) + 2
    m = np.float32([[1, s, -s * yc + pad], [0, 1, 0]])
    out = cv2.warpAffine(ink.astype(np.uint8) * 255, m, (w + 2 * pad, h), flags=cv2.INTER_LINEAR) > 127
    if owner is not None:
        owner = cv2.warpAffine(owner.astype(np.float32), m, (w + 2 * pad, h), flags=cv2.INTER_NEAREST,
                               borderValue=-1).astype(np.int16)
    return out, owner, s


def _cuts(mask: np.ndarray, H: float) -> list[int]:
    """Cut columns inside one component: minima of its smoothed vertical projection."""
    proj = mask.sum(axis=0).astype(np.float32)
    w = len(proj)
    if w < 0.6 * H:
        return []
    p = np.convolve(proj, [0.25, 0.5, 0.25], mode="same")
    lo, hi = int(0.15 * H), w - int(0.15 * H)
    cands = [x for x in range(max(lo, 1), min(hi, w - 1))
             if p[x] <= p[x - 1] and p[x] <= p[x + 1] and p[x] < 0.8 * p.max()]
    chosen: list[int] = []
    for x in sorted(cands, key=lambda x: p[x]):
        if all(abs(x - c) >= 0.25 * H for c in chosen):
            chosen.append(x)
    if not chosen and w > 1.25 * H:                     # no valley at all: cut evenly
        n = int(round(w / (0.5 * H)))
        chosen = [int(w * k / n) for k in range(1, n)]
    return sorted(chosen)


def row_extents(own: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of an owner map (character index per pixel, -1 none): the last column of character
    c's ink (-1 where it has none) and the first column of character c + 1's (the map's width
    where it has none). Where both have ink and last < first, a cut between them separates them."""
    cols = np.arange(own.shape[1])
    return np.where(own == c, cols, -1).max(1), np.where(own == c + 1, cols, own.shape[1]).min(1)


def true_cuts(parts: list, boxes: list, owner: np.ndarray) -> list[list[np.ndarray]]:
    """The cuts a perfect segmenter would make (diagnosis only: needs the generator's owner map).

    Inside each component (mask at box (left, top)), one cut per pair of neighbouring characters
    that both drew in it: per row, just right of the left character's ink (rows where it has
    none: interpolated). Generated touching digits never interleave within a row (each digit
    slides left only until its ink first touches, and deslanting shears rows without reordering
    them), so such a cut separates them exactly."""
    out = []
    for (mask, _), (left, top) in zip(parts, boxes):
        h, w = mask.shape
        own = np.where(mask, owner[top:top + h, left:left + w], -1)
        chars = set(own[own >= 0].tolist())
        paths = []
        for c in sorted(chars):
            if c + 1 not in chars:
                continue
            last, first = row_extents(own, c)
            col = np.where(last >= 0, last + 1.0, np.where(first < w, first, np.nan))
            rows = np.nonzero(~np.isnan(col))[0]
            col = np.interp(np.arange(h), rows, col[rows]).round().astype(np.int64)
            paths.append(np.clip(col, 1, w - 1))
        out.append(paths)
    return out


def segment(image: np.ndarray, owner: Optional[np.ndarray] = None, oracle_cuts: bool = False,
            cutter=None) -> Segmentation:
    """Over-segment an amount field (dark ink on light paper; gray or BGR).

    `cutter` (engine.ocr.cutter.Cutter): learned cuts instead of the projection-minimum ones.
    `oracle_cuts` (with `owner`): cut components only where characters meet (true_cuts), to
    measure what a perfect cutter would give (`seqlab eval ocr --diagnose`)."""
    return cut(prepare(image, owner), cutter, oracle_cuts)


def segment_alternatives(image: np.ndarray, cutters: list, owner: Optional[np.ndarray] = None) -> list:
    """One Segmentation per cut finder of `cutters` (a Cutter, None for the heuristic cuts, or a
    HeuristicAbove after the first), all of the same normalized field: everything before the cuts
    is done once, and so is every component that two cut finders cut alike."""
    prepared = prepare(image, owner)
    return [cut(prepared, c) for c in cutters]


@dataclasses.dataclass(frozen=True)
class HeuristicAbove:
    """A cut finder for segment_alternatives: the heuristic cuts in every component at least
    `width` digit heights wide, elsewhere the cuts of the field's first cut finder (so that only
    the components that may hold several characters get alternative cuts, and extra spans)."""
    width: float


@dataclasses.dataclass
class Prepared:
    """The field up to its components, before any cut: what alternative cut finders share."""
    ink: np.ndarray
    owner: Optional[np.ndarray]
    height: float
    center_y: float
    groups: list                  # [[component label]]: stacked components merged, left to right
    small: set                    # component labels that are marks ('.', ',')
    boxes: list                   # [(left, top)] of each group
    subs: list                    # [(h, w) bool mask] of each group
    starts: list                  # [[x]]: the heuristic cut columns inside each group
    plans: list = dataclasses.field(default_factory=list)  # the first cut finder's plans
    made: dict = dataclasses.field(default_factory=dict)   # (group, plan's cost map) -> (pieces,
                                  # cuts), once made: shared by the cut finders that cut a group alike


def prepare(image: np.ndarray, owner: Optional[np.ndarray] = None) -> Prepared:
    """Binarize, rescale, deslant and find the components of an amount field (segment's steps 1-3,
    and the heuristic cut columns of step 4)."""
    gray = to_gray(image)
    if gray.size > MAX_PIXELS:
        raise ValueError(f"image too large ({gray.shape[1]}x{gray.shape[0]}); crop the amount field")
    ink = binarize(gray)
    if ink.sum() < 8:
        raise NoInk("draw an amount")
    if ink.mean() > 0.45:
        raise ValueError("this does not look like dark ink on light paper (too much ink)")
    # crop to the ink first (cheap for big images), then rescale to the target digit height
    ys, xs = np.nonzero(ink)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    ink = ink[y0:y1, x0:x1]
    owner = owner[y0:y1, x0:x1] if owner is not None else None
    scale = TARGET_HEIGHT / max(estimate_height(ink), 4.0)
    thick = strokes.keep_strokes(ink, scale)        # a thin pen would not survive the shrinking
    if thick is not ink:
        ink, scale = thick, TARGET_HEIGHT / max(estimate_height(thick), 4.0)
    new_w, new_h = max(1, int(round(ink.shape[1] * scale))), max(1, int(round(ink.shape[0] * scale)))
    if new_w > 60 * TARGET_HEIGHT or new_h > 8 * TARGET_HEIGHT:
        raise ValueError("too much writing for an amount (more than ~60 characters or lines of text)")
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    ink = cv2.resize(ink.astype(np.float32), (new_w, new_h), interpolation=interp) > 0.4
    if owner is not None:
        owner = cv2.resize(owner.astype(np.float32), (new_w, new_h), interpolation=cv2.INTER_NEAREST).astype(np.int16)
    ink = np.pad(ink, 4)
    owner = np.pad(owner, 4, constant_values=-1) if owner is not None else None
    if ink.sum() < 8:
        raise NoInk("draw an amount")
    ink, owner, _ = deslant(ink, owner)

    n, labels, stats = _components(ink)
    H = estimate_height(ink, (n, labels, stats))
    if strokes.looks_filled(ink, H):
        raise ValueError("these are filled shapes, not pen strokes: is it a photo? "
                         "(drawing: use a thinner pen)")
    comps = [c for c in range(1, n) if stats[c, cv2.CC_STAT_AREA] >= 6]      # specks of dust out
    if not comps:
        raise NoInk("draw an amount")
    big = [c for c in comps if stats[c, cv2.CC_STAT_HEIGHT] >= 0.5 * H]
    center_y = float(np.median([stats[c, cv2.CC_STAT_TOP] + stats[c, cv2.CC_STAT_HEIGHT] / 2
                                for c in (big or comps)]))
    # a small mark ('.', ',') is never merged with, nor grouped with, anything else: deslanting
    # can slide a low comma under the next digit, and a digit + dot looks like the digit alone
    # (small: ≤ 0.55 H tall, ≤ 0.4 H wide, centred in the lower part of the line, like a mark)
    small = {c for c in comps if stats[c, cv2.CC_STAT_HEIGHT] <= 0.55 * H and stats[c, cv2.CC_STAT_WIDTH] <= 0.4 * H
             and stats[c, cv2.CC_STAT_AREA] >= 10
             and stats[c, cv2.CC_STAT_TOP] + stats[c, cv2.CC_STAT_HEIGHT] / 2 >= center_y + 0.2 * H}
    # merge components stacked above each other (mostly overlapping columns)
    comps.sort(key=lambda c: stats[c, cv2.CC_STAT_LEFT])
    groups: list[list[int]] = []
    for c in comps:
        l, w = stats[c, cv2.CC_STAT_LEFT], stats[c, cv2.CC_STAT_WIDTH]
        if groups and c not in small and not (set(groups[-1]) & small):
            gl = min(stats[g, cv2.CC_STAT_LEFT] for g in groups[-1])
            gr = max(stats[g, cv2.CC_STAT_LEFT] + stats[g, cv2.CC_STAT_WIDTH] for g in groups[-1])
            overlap = min(gr, l + w) - max(gl, l)
            if overlap >= 0.6 * min(w, gr - gl):
                groups[-1].append(c)
                continue
        groups.append([c])

    boxes, subs = [], []
    for g in groups:
        l = min(stats[c, cv2.CC_STAT_LEFT] for c in g)
        r = max(stats[c, cv2.CC_STAT_LEFT] + stats[c, cv2.CC_STAT_WIDTH] for c in g)
        t = min(stats[c, cv2.CC_STAT_TOP] for c in g)
        b = max(stats[c, cv2.CC_STAT_TOP] + stats[c, cv2.CC_STAT_HEIGHT] for c in g)
        boxes.append((l, t))
        box = labels[t:b, l:r]                                            # (b - t, r - l)
        subs.append(box == g[0] if len(g) == 1 else np.isin(box, g))      # (== : 10x faster than isin)
    starts = [_cuts(sub, H) for sub in subs]
    if sum(len(x) + 1 for x in starts) > 4 * MAX_SEGMENTS:               # bounded time for scribbles
        raise ValueError(f"too much ink: more than {MAX_SEGMENTS} pieces — is this an amount?")
    return Prepared(ink, owner, H, center_y, groups, small, boxes, subs, starts)


def cut(prepared: Prepared, cutter=None, oracle_cuts: bool = False) -> Segmentation:
    """Cut the components of a prepared field (segment's steps 4-5) into the ordered pieces."""
    ink, owner, H = prepared.ink, prepared.owner, prepared.height
    subs, starts = prepared.subs, prepared.starts
    if oracle_cuts and owner is not None:
        all_paths = true_cuts(list(zip(subs, starts)), prepared.boxes, owner)
    else:
        if isinstance(cutter, HeuristicAbove):        # after another cut finder: reuse its plans
            base = prepared.plans or [(xs, None) for xs in starts]
            plans = [(xs, None) if sub.shape[1] >= cutter.width * H else plan
                     for sub, xs, plan in zip(subs, starts, base)]
        else:
            plans = cutter.plan(subs, H, starts) if cutter is not None else [(xs, None) for xs in starts]
        prepared.plans = prepared.plans or plans
        # a group cut with the same plan (the heuristic's, or the first cut finder's reused) is cut
        # alike: its paths and pieces are made once per field
        keys = [(i, id(cost)) for i, (_, cost) in enumerate(plans)]
        todo = [i for i, key in enumerate(keys) if key not in prepared.made]
        all_paths = [None] * len(subs)
        for i, paths in zip(todo, cut_paths([(subs[i], plans[i][0]) for i in todo], H,
                                            [plans[i][1] for i in todo])):
            all_paths[i] = paths
    segments, cuts = [], []
    for i, paths in enumerate(all_paths):
        if paths is None:
            pieces, polylines, _ = prepared.made[keys[i]]
        else:
            pieces, polylines = _pieces(prepared, i, paths)
            if not oracle_cuts:       # the cost map is kept with them, so that its id stays its own
                prepared.made[keys[i]] = pieces, polylines, plans[i][1]
        segments += pieces
        cuts += polylines
        if len(segments) > MAX_SEGMENTS:
            raise ValueError(f"too much ink: more than {MAX_SEGMENTS} pieces — is this an amount?")
    segments.sort(key=lambda p: p.x0 + p.mean_x)
    return Segmentation(ink, segments, cuts, H, prepared.center_y, owner,
                        [(l, t, sub) for (l, t), sub in zip(prepared.boxes, subs)])


def _pieces(prepared: Prepared, i: int, paths: list) -> tuple[list, list]:
    """The pieces of component i between its cut `paths`, and the cuts as (rows, 2) points (x, y)."""
    g, (l, t), sub = prepared.groups[i], prepared.boxes[i], prepared.subs[i]
    h_sub, w_sub = sub.shape
    edges = [np.zeros(h_sub, np.int64)] + paths + [np.full(h_sub, w_sub)]
    col = np.arange(w_sub)[None, :]
    pieces = []
    for j, (a, e) in enumerate(zip(edges[:-1], edges[1:])):
        piece = sub & (col >= a[:, None]) & (col < e[:, None])
        if piece.sum() >= 4:
            rows, cols = np.nonzero(piece.any(axis=1))[0], np.nonzero(piece.any(axis=0))[0]
            pieces.append(Piece(l + int(cols[0]), t + int(rows[0]), piece[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1],
                                mark=len(g) == 1 and g[0] in prepared.small,
                                cut_left=j > 0, cut_right=j < len(paths)))
    return pieces, [np.stack([l + p, t + np.arange(h_sub)], axis=1) for p in paths]
