"""Several over-segmentations of one field in one lattice: the recognizer chooses among their cuts.

One cut finder misses where two touching digits meet in about one touching amount in ten
(docs/OCR_NOTEBOOK.md, stops 16-17), and different cut finders miss different ones. So the
lattice takes the cuts of several (the learned cut finder, a second one taught differently, the
heuristic projection minima), and Viterbi picks, component by component, the cuts whose spans
the recognizer reads best — the 1998 paper's idea of over-segmenting and letting the recognizer
decide, with alternative cuts that may cross each other.

Crossing cuts do not make one left-to-right sequence of segments, so the lattice's states are
not "cut k" but *the ink consumed so far*: a state is the set of ink pixels left of a boundary,
and two segmentations that agree on that set (at every gap between components, and wherever
their cuts agree) share the state. A path start → end consumes every piece of ink once, and may
take the cuts of one segmentation in one component and another's in the next. The set is
identified by the sum of a fixed random 64-bit number per pixel (and its pixel count): equal sets
give equal keys, and two different sets collide with probability ~2^-64. Spans between the same
two states are the same ink: the CNN scores each once.
"""
from __future__ import annotations

import numpy as np

from engine.ocr.spans import MAX_SPAN, MAX_SPAN_WIDTH, Candidates, ContextField, candidates, span_inputs
from engine.ocr.segment import Segmentation


_KEYS = np.zeros((0, 0), np.uint64)


def pixel_keys(shape: tuple) -> np.ndarray:
    """A fixed random uint64 per pixel (y, x), for a field of `shape`: a read-only corner of one
    table, drawn again only for a bigger field (drawing them per field cost ~0.2 ms per amount)."""
    global _KEYS
    h, w = shape
    if h > _KEYS.shape[0] or w > _KEYS.shape[1]:
        keys = np.random.default_rng(0).integers(0, 2 ** 63, size=(max(h, 128), max(w, 2048)), dtype=np.uint64)
        keys.flags.writeable = False
        _KEYS = keys
    return _KEYS[:h, :w]


def boundary_keys(seg: Segmentation, keys: np.ndarray) -> list:
    """The key (pixel count, pixel-key sum) of the ink left of each boundary 0..S of `seg`."""
    out, count, total = [(0, 0)], 0, np.uint64(0)
    with np.errstate(over="ignore"):                          # the sums wrap around, on purpose
        for p in seg.segments:
            h, w = p.mask.shape
            count += int(p.mask.sum())
            total = total + keys[p.y0:p.y0 + h, p.x0:p.x0 + w][p.mask].sum(dtype=np.uint64)
            out.append((count, int(total)))
    return out


def merged_candidates(segs: list, context: bool = False, max_width: float = MAX_SPAN_WIDTH,
                      max_pieces: int = MAX_SPAN) -> Candidates:
    """The spans of every segmentation of `segs` (all of the same normalized field, as
    segment.segment_alternatives makes them) in one lattice; one segmentation: candidates()
    (`max_width`, `max_pieces`: spans.candidates)."""
    if len(segs) == 1:
        return candidates(segs[0], context, max_width, max_pieces)
    first = segs[0]
    keys = pixel_keys(first.ink.shape)
    field = ContextField(first.ink, first.height, first.center_y) if context else None
    bounds = [boundary_keys(seg, keys) for seg in segs]
    # every segmentation ends in the one final state, even when the pieces of < 4 px it dropped
    # make its ink differ from another's by a sliver; the other states in topological order:
    # every span adds ink, so by pixel count
    order = sorted({b for bs in bounds for b in bs[:-1]})
    state = {b: i for i, b in enumerate(order)}
    spans, origin, images, geometry, boxes, windows, seen = [], [], [], [], [], [], set()
    for a, (seg, bs) in enumerate(zip(segs, bounds)):
        S = len(seg.segments)
        for k in range(S):
            for m in range(k + 1, min(S, k + max_pieces) + 1):
                if (bs[k], bs[m]) in seen:        # the same ink, already a span of an earlier
                    continue                      # segmentation: scored once
                got = span_inputs(seg, k, m, field, max_width)
                if got is None:
                    break
                seen.add((bs[k], bs[m]))
                spans.append((state[bs[k]], state[bs[m]] if m < S else len(order)))
                origin.append((a, k, m))
                images.append(got[0])
                geometry.append(got[1])
                boxes.append(got[2])
                windows.append(got[3])
    boundary_states = [[state[b] for b in bs[:-1]] + [len(order)] for bs in bounds]
    return Candidates(first, spans, np.stack(images), np.asarray(geometry, np.float32), boxes,
                      np.stack(windows) if context else None, segs=list(segs), origin=origin,
                      states=len(order) + 1, boundary_states=boundary_states)
