"""The recognition graph: from segments to a lattice of readings, its decoding and its GTN loss.

State k of the lattice is the cut before segment k (k = 0..S). An arc k→m (m - k ≤ 3) says
"segments k..m-1 together are one character"; each such span becomes one 28x28 image scored by
the CNN, and yields 12 parallel arcs, one per character (0-9 . ,), weighted by its
log-probability. A path start→end is one segmentation *and* one reading of it; its score is the
sum of its arcs' log-probabilities (the NOT_A_CHAR class soaks up probability from bad spans,
which is what makes paths through them score low).

    decode:  Viterbi → the best path → the amount; n-best paths → distinct alternative amounts
    GTN loss (Bottou et al. 1997; LeCun et al. 1998 sec. VI):
        loss = -(forward(graph ∩ truth) - forward(graph)) = -log P(truth | image)
    where "graph ∩ truth" keeps every path (every segmentation) that reads the true amount.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Optional

import cv2
import numpy as np
import torch

from engine import lattice
from engine.ocr.checks import CHARSET
from engine.ocr.model import NOT_A_CHAR, LeNet
from engine.ocr.segment import Segmentation, amount_field, segment

MAX_SPAN = 4                 # a character is made of at most 4 consecutive segments (a round
                             # digit like "0" can be cut in 4: more cost little, fewer lose it)
MAX_SPAN_WIDTH = 1.6         # × digit height: no character is wider
CONTEXT_SIDE = 2.0           # × digit height: the square a span is seen in for the context channel


def normalize(crop: np.ndarray) -> np.ndarray:
    """MNIST-style: fit the ink in 20x20 keeping its aspect, centre of mass at the centre of 28x28."""
    crop = crop.astype(np.float32)
    h, w = crop.shape
    s = 20.0 / max(h, w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    total = small.sum()
    if total <= 0:
        return np.zeros((28, 28), np.float32)
    cy = (small.sum(axis=1) * np.arange(nh)).sum() / total
    cx = (small.sum(axis=0) * np.arange(nw)).sum() / total
    m = np.float32([[1, 0, 14 - cx], [0, 1, 14 - cy]])
    return cv2.warpAffine(small, m, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)


class ContextField:
    """Context windows of the spans of one field, 28x28 each: a square of CONTEXT_SIDE digit
    heights centred on the span (horizontally) and on the writing line, the span's ink at 1 and
    all other ink at 0.5. The size-normalized span image cannot tell a whole "1" from the left
    stroke of a "4" cut off its neighbour; this window shows whether the ink goes on past the
    span's edges. The field is shrunk once to the windows' scale (a per-span resize of the
    window cost ~5 ms per amount); each window is then a slice plus its span's own small resize."""

    def __init__(self, ink: np.ndarray, height: float, center_y: float):
        self.scale = s = 28.0 / (CONTEXT_SIDE * height)
        h, w = ink.shape
        small = cv2.resize(ink.astype(np.float32), (max(1, round(w * s)), max(1, round(h * s))),
                           interpolation=cv2.INTER_AREA)
        self.small = np.pad(small, 28) * np.float32(0.5)          # 28 px margins: no bounds checks
        self.top = int(round(center_y * s)) + 14                   # window top in `small` (28 - 14)

    def window(self, crop: np.ndarray, box: tuple) -> np.ndarray:
        s, (x0, y0, x1, _) = self.scale, box
        left = int(round((x0 + x1) / 2 * s)) + 14
        win = self.small[self.top:self.top + 28, left:left + 28].copy()
        span = cv2.resize(crop.astype(np.float32), (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))),
                          interpolation=cv2.INTER_AREA) * np.float32(0.5)
        px, py = int(round(x0 * s)) + 28 - left, int(round(y0 * s)) + 28 - self.top
        ax0, ay0 = max(px, 0), max(py, 0)
        ax1, ay1 = min(px + span.shape[1], 28), min(py + span.shape[0], 28)
        if ax1 > ax0 and ay1 > ay0:
            win[ay0:ay1, ax0:ax1] += span[ay0 - py:ay1 - py, ax0 - px:ax1 - px]
        return np.minimum(win, 1.0, out=win)


@dataclasses.dataclass
class Candidates:
    """The spans of a segmentation that may be characters, with their CNN inputs."""
    seg: Segmentation
    spans: list                   # [(k, m)]: segments k..m-1
    images: np.ndarray            # (N, 28, 28) float32 in [0, 1]
    geometry: np.ndarray          # (N, NUM_GEOMETRY) float32
    boxes: list                   # [(x0, y0, x1, y1)] of each span in the normalized field
    context: Optional[np.ndarray] = None   # (N, 28, 28) context windows, when asked for

    def inputs(self, context: bool) -> np.ndarray:
        """The CNN's images: (N, 28, 28), or (N, 2, 28, 28) with the context channel."""
        if not context:
            return self.images
        if self.context is None:
            raise ValueError("these candidates were built without context windows")
        return np.stack([self.images, self.context], axis=1)

    @property
    def num_states(self) -> int:
        return len(self.seg.segments) + 1


def candidates(seg: Segmentation, context: bool = False) -> Candidates:
    """Every span of 1..MAX_SPAN segments that may be a character, ready for the CNN (`context`:
    with context windows too)."""
    S, H = len(seg.segments), seg.height
    spans, images, geometry, boxes, windows = [], [], [], [], []
    field = ContextField(seg.ink, H, seg.center_y) if context else None
    for k in range(S):
        for m in range(k + 1, min(S, k + MAX_SPAN) + 1):
            if m - k > 1 and any(p.mark for p in seg.segments[k:m]):
                break                                     # a '.' or ',' stands alone
            crop, (x0, y0, x1, y1) = seg.union(k, m)
            if m - k > 1 and x1 - x0 > MAX_SPAN_WIDTH * H:
                break
            spans.append((k, m))
            images.append(normalize(crop))
            geometry.append(((y1 - y0) / H, ((y0 + y1) / 2 - seg.center_y) / H, (x1 - x0) / H,
                             float(seg.segments[k].cut_left), float(seg.segments[m - 1].cut_right)))
            boxes.append((x0, y0, x1, y1))
            if context:
                windows.append(field.window(crop, (x0, y0, x1, y1)))
    return Candidates(seg, spans, np.stack(images), np.asarray(geometry, np.float32), boxes,
                      np.stack(windows) if context else None)


def score(model: LeNet, cands: Candidates) -> torch.Tensor:
    """(N, 13) log-probabilities of every span (differentiable w.r.t. the model)."""
    dev = next(model.parameters()).device
    return model(torch.from_numpy(cands.inputs(model.config.context)).to(dev), torch.from_numpy(cands.geometry).to(dev))


def build_graph(cands: Candidates, logp: torch.Tensor) -> lattice.Acceptor:
    """12 arcs per span (one per character); arc a = span a // 12, label a % 12."""
    n_lab = len(CHARSET)
    spans = torch.tensor(cands.spans, dtype=torch.long).reshape(-1, 2)          # (N, 2)
    src = spans[:, 0].repeat_interleave(n_lab)
    dst = spans[:, 1].repeat_interleave(n_lab)
    label = torch.arange(n_lab).repeat(len(cands.spans))
    weight = logp[:, :n_lab].reshape(-1).cpu()                                  # (N*12,)
    return lattice.Acceptor(cands.num_states, src, dst, label, weight)


def text_labels(text: str) -> list[int]:
    bad = [c for c in text if c not in CHARSET]
    if bad:
        raise ValueError(f"an amount uses only the characters {CHARSET!r}, not {bad[0]!r}")
    return [CHARSET.index(c) for c in text]


def gtn_loss(graph: lattice.Acceptor, text: str) -> tuple[torch.Tensor, lattice.Acceptor]:
    """-log P(text | image) summed over all segmentations, and the constrained graph."""
    constrained = lattice.intersect(graph, lattice.linear_chain(text_labels(text)))
    return -(lattice.forward_score(constrained) - lattice.forward_score(graph)), constrained


@dataclasses.dataclass
class Reading:
    amount: str
    score: float                          # Viterbi path score (sum of log-probabilities)
    posterior: float                      # P(amount | image), summed over its segmentations (or nan)
    path: list                            # arc indices of the best path in `graph`
    alternatives: list                    # [(amount, score, path)], best first, amount excluded
    cands: Candidates
    logp: torch.Tensor                    # (N, 13)
    graph: lattice.Acceptor
    ms: float

    @property
    def doubtful(self) -> bool:
        """Under e^-2 per character on average: not a handwritten amount, or a very bad one."""
        return self.score < -2.0 * max(len(self.amount), 1)

    def to_json(self) -> dict:
        out = {"amount": self.amount, "score": round(self.score, 3),
               "alternatives": [{"amount": a, "score": round(s, 3)} for a, s, _ in self.alternatives],
               "segments": len(self.cands.seg.segments), "ms": round(self.ms, 2)}
        if self.doubtful:
            out["warning"] = "low confidence: this may not be a handwritten amount"
        return out


def path_text(graph: lattice.Acceptor, path: list) -> str:
    return "".join(CHARSET[k] for k in lattice.path_labels(graph, path))


def decode(model: LeNet, image: np.ndarray, n_alternatives: int = 5,
           seg: Optional[Segmentation] = None, posterior: bool = True) -> Reading:
    """Read an amount field (or a whole check): segment, score every span, Viterbi, n-best.

    `posterior` also sums all segmentations of the best amount (the tab shows it; the CLI does not
    need it and saves a few ms)."""
    t0 = time.perf_counter()
    seg = seg if seg is not None else segment(amount_field(image), cutter=model.cutter)
    cands = candidates(seg, context=bool(model.config.context))
    with torch.no_grad():
        logp = score(model, cands)
        graph = build_graph(cands, logp)
        best_score, path = lattice.viterbi(graph)
        amount = path_text(graph, path)
        alternatives, seen = [], {amount}
        for s, p in lattice.nbest(graph, 5 * n_alternatives):
            t = path_text(graph, p)
            if t not in seen and len(alternatives) < n_alternatives:
                seen.add(t)
                alternatives.append((t, s, p))
        p_amount = float("nan")
        if posterior:
            constrained = lattice.intersect(graph, lattice.linear_chain(text_labels(amount)))
            p_amount = float(np.exp(lattice.forward_value(constrained) - lattice.forward_value(graph)))
    return Reading(amount, float(best_score), p_amount, path, alternatives, cands, logp, graph,
                   (time.perf_counter() - t0) * 1000)


def span_ink(cands: Candidates, n_chars: int) -> tuple[np.ndarray, list]:
    """Who drew each span's ink, from the generator's owner map: the ink of each character in
    the field (n_chars,), and per span (pixels drawn by each character (n_chars,), ink pixels in
    the span, blur and noise drawn by no one included)."""
    owner = cands.seg.owner
    ink_of = np.bincount(owner[cands.seg.ink & (owner >= 0)].ravel(), minlength=n_chars)
    per_span = []
    for (k, m), (x0, y0, x1, y1) in zip(cands.spans, cands.boxes):
        crop, _ = cands.seg.union(k, m)
        own = owner[y0:y1, x0:x1][crop]
        per_span.append((np.bincount(own[own >= 0], minlength=n_chars), int(crop.sum())))
    return ink_of, per_span


def span_targets(cands: Candidates, text: str) -> list[int]:
    """Ground-truth label of each span from the generator's owner map (heuristic pre-training):
    a span is character c when ≥ 80% of its ink is c's, it holds ≥ 75% of c's ink and < 40% of
    any other character's ink, else NOT_A_CHAR."""
    ink_of, per_span = span_ink(cands, len(text))
    targets = []
    for counts, pixels in per_span:
        if counts.sum() == 0:
            targets.append(NOT_A_CHAR)
            continue
        c = int(counts.argmax())
        others = np.delete(counts / np.maximum(ink_of, 1), c)
        # c alone: most of c's ink, little else — and no other character (a small '.' next to
        # an '8' included) swallowed: the span must not hold 40% of anyone else's ink
        ok = (counts[c] >= 0.8 * pixels and counts[c] >= 0.75 * ink_of[c]
              and (others < 0.4).all())
        targets.append(CHARSET.index(text[c]) if ok else NOT_A_CHAR)
    return targets


def truth_spans(reading: Reading, text: str) -> list[int]:
    """Span indices of the best path that reads `text` (the cuts the truth prefers; empty when
    no segmentation of the ink reads it)."""
    constrained = lattice.intersect(reading.graph, lattice.linear_chain(text_labels(text)))
    if constrained.num_arcs == 0:
        return []
    _, path = lattice.viterbi(constrained)
    return [a // len(CHARSET) for a in constrained.arc_map[path].tolist()]


@dataclasses.dataclass
class TruthView:
    """What the typed true amount does to the lattice (the tab's constrained-graph view)."""
    text: str
    loss: float                   # -log P(text | image); inf when no path reads it
    spans: list                   # spans on some path that reads `text`
    span_labels: dict             # span -> the character(s) it reads on those paths
    span_grad: np.ndarray         # (N,) d loss / d w summed over the span's arcs = P(span) - P(span | text)
    truth_grad: dict              # span -> d loss / d w of its arc(s) that read the truth (constrained spans)


def explain_truth(reading: Reading, text: str) -> TruthView:
    g = reading.graph
    w = g.weight.detach().clone().requires_grad_(True)
    loss, constrained = gtn_loss(lattice.Acceptor(g.num_states, g.src, g.dst, g.label, w), text)
    n_lab = len(CHARSET)
    if constrained.num_arcs == 0 or not torch.isfinite(loss):
        return TruthView(text, float("inf"), [], {}, np.zeros(len(reading.cands.spans)), {})
    loss.backward()
    span_grad = w.grad.view(-1, n_lab).sum(1).numpy()                 # (N,)
    labels: dict[int, set] = {}
    for a in set(constrained.arc_map.tolist()):
        labels.setdefault(a // n_lab, set()).add(a)
    truth_grad = {k: float(w.grad[sorted(v)].sum()) for k, v in labels.items()}
    return TruthView(text, loss.item(), sorted(labels),
                     {k: "/".join(sorted(CHARSET[a % n_lab] for a in v)) for k, v in labels.items()},
                     span_grad, truth_grad)
