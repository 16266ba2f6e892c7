"""The recognition graph: from segments to a lattice of readings, its decoding and its GTN loss.

State k of the lattice is the cut before segment k (k = 0..S). An arc k→m (m - k ≤ 3) says
"segments k..m-1 together are one character"; each such span becomes one 28x28 image scored by
the CNN, and yields 12 parallel arcs, one per character (0-9 . ,), weighted by its
log-probability. A path start→end is one segmentation *and* one reading of it; its score is the
sum of its arcs' log-probabilities (the NOT_A_CHAR class soaks up probability from bad spans,
which is what makes paths through them score low).
With alternative segmentations (engine/ocr/alternatives.py) a state is the ink consumed so far,
and an arc is a span of one of the segmentations; everything below works on either lattice.

    decode:  Viterbi → the best path → the amount; n-best paths → distinct alternative amounts
    GTN loss (Bottou et al. 1997; LeCun et al. 1998 sec. VI):
        loss = -(forward(graph ∩ truth) - forward(graph)) = -log P(truth | image)
    where "graph ∩ truth" keeps every path (every segmentation) that reads the true amount.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Optional

import numpy as np
import torch

from engine import lattice
from engine.ocr import grammar, pair_pruning, pairs as pair_reading
from engine.ocr.checks import CHARSET
from engine.ocr.model import NOT_A_CHAR, LeNet
from engine.ocr.alternatives import merged_candidates
from engine.ocr.amount_box import amount_field
from engine.ocr.segment import Segmentation, segment, segment_alternatives
from engine.ocr.spans import Candidates, candidates


def segmentations(model: LeNet, image: np.ndarray, owner: Optional[np.ndarray] = None) -> list:
    """The field's segmentations by each of the model's cut finders (model.cut_finders())."""
    finders = model.cut_finders()
    if len(finders) == 1:
        return [segment(image, owner, cutter=finders[0])]
    return segment_alternatives(image, finders, owner)


def span_options(model: LeNet) -> dict:
    """How the model's lattice makes spans (candidates / merged_candidates keywords)."""
    c = model.config
    return {"context": bool(c.context), "max_width": c.span_width, "max_pieces": c.span_pieces}


def model_candidates(model: LeNet, image: np.ndarray, owner: Optional[np.ndarray] = None,
                     with_pairs: Optional[bool] = None) -> Candidates:
    """The spans of the field's segmentations, merged into one lattice when there are several;
    `with_pairs` (default: when the model has a pair reader) also the spans that may be two
    touching digits (engine/ocr/pairs.py)."""
    cands = merged_candidates(segmentations(model, image, owner), **span_options(model))
    if with_pairs or (with_pairs is None and model.pair_reader is not None):
        add_pair_spans(cands, model.pair_reader)
    return cands


def add_pair_spans(cands: Candidates, reader: Optional[pair_reading.PairReader] = None,
                   logp: Optional[torch.Tensor] = None) -> Candidates:
    """The pair spans of `cands`' segmentations (of up to `reader.pieces` pieces; no reader: the most).

    With `logp`, the recognizer's scores of the spans, only those a best path might take
    (engine/ocr/pair_pruning.py: a pair arc weighs at most `reader.offset`)."""
    pieces = reader.pieces if reader is not None else pair_reading.MAX_PIECES
    prune = logp is not None and reader is not None and reader.scale > 0
    cands.pairs = pair_reading.find_pair_spans(
        cands.segs or [cands.seg], cands.state_of_boundaries(), pieces,
        pair_pruning.worth_reading(cands, logp, reader.offset) if prune else None)
    return cands


def score(model: LeNet, cands: Candidates) -> torch.Tensor:
    """(N, 13) log-probabilities of every span (differentiable w.r.t. the model)."""
    dev = next(model.parameters()).device
    return model(torch.from_numpy(cands.inputs(model.config.context)).to(dev), torch.from_numpy(cands.geometry).to(dev))


def build_graph(cands: Candidates, logp: torch.Tensor, pair_arcs: list = ()) -> lattice.Acceptor:
    """12 arcs per span (one per character); arc a = span a // 12, label a % 12.

    `pair_arcs` [(src, dst, first digit, second digit, weight)] (pairs.pair_arcs) each become two
    arcs after those, src → a new state → dst (arcs 12N + 2j and 12N + 2j + 1), the weight on the
    first; the states are then renumbered so that every arc still goes forwards."""
    n_lab = len(CHARSET)
    spans = torch.tensor(cands.spans, dtype=torch.long).reshape(-1, 2)          # (N, 2)
    src = spans[:, 0].repeat_interleave(n_lab)
    dst = spans[:, 1].repeat_interleave(n_lab)
    label = torch.arange(n_lab).repeat(len(cands.spans))
    weight = logp[:, :n_lab].reshape(-1).cpu()                                  # (N*12,)
    if not pair_arcs:
        return lattice.Acceptor(cands.num_states, src, dst, label, weight)
    n = cands.num_states
    a, b, first, second, w = (torch.tensor(c) for c in zip(*pair_arcs))
    mid = n + torch.arange(len(pair_arcs))
    # a new state sorts right after its source state: (state, 0) for the old, (src, 1 + j) new
    keys = torch.cat([torch.arange(n) * (len(pair_arcs) + 1), a * (len(pair_arcs) + 1) + 1 + torch.arange(len(pair_arcs))])
    rank = torch.empty_like(keys)
    rank[torch.argsort(keys)] = torch.arange(len(keys))
    src = rank[torch.cat([src, torch.stack([a, mid], 1).reshape(-1)])]
    dst = rank[torch.cat([dst, torch.stack([mid, b], 1).reshape(-1)])]
    label = torch.cat([label, torch.stack([first, second], 1).reshape(-1)])
    weight = torch.cat([weight, torch.stack([w.to(weight.dtype), torch.zeros(len(pair_arcs), dtype=weight.dtype)], 1).reshape(-1)])
    return lattice.Acceptor(len(keys), src, dst, label, weight, finals=(int(rank[n - 1]),))


def arc_unit(cands: Candidates, arc: int, top: int) -> tuple:
    """What an arc reads: ("span", i) for span i's arcs, ("pair", j) for pair span j's (its `top`
    two-arc paths after the spans' arcs)."""
    n = len(cands.spans) * len(CHARSET)
    return ("span", arc // len(CHARSET)) if arc < n else ("pair", (arc - n) // (2 * top))


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
    pair_top: int = 0                     # pair arcs per pair span (pairs.PairReader.top; 0: none)
    pair_arcs: list = dataclasses.field(default_factory=list)   # pairs.pair_arcs: `pair_top` per
                                          # pair span, best first (the graph's arcs after the spans')
    skipped: list = dataclasses.field(default_factory=list)     # spans (marks) the reading leaves
                                          # out (grammar.py; only with the model's amount_form)

    def units(self, path: list) -> list:
        """The spans a path reads, in order: ("span", i) or ("pair", j) (graph.arc_unit; a pair's
        two arcs are one unit)."""
        out = []
        for a in path:
            u = arc_unit(self.cands, a, self.pair_top)
            if not out or out[-1] != u:
                out.append(u)
        return out

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


def mark_steps(cands: Candidates, graph: lattice.Acceptor) -> list:
    """[(span, (src, dst))] for the spans that are one small mark: the lattice step each takes
    (its arcs' states in `graph`, renumbered when pair arcs were added)."""
    out = []
    for i in range(len(cands.spans)):
        seg, k, m = cands.segments_of(i)
        if m - k == 1 and seg.segments[k].mark:
            a = i * len(CHARSET)
            out.append((i, (int(graph.src[a]), int(graph.dst[a]))))
    return out


def path_text(graph: lattice.Acceptor, path: list) -> str:
    return "".join(CHARSET[k] for k in lattice.path_labels(graph, path))


def decode(model: LeNet, image: np.ndarray, n_alternatives: int = 5,
           seg: Optional[Segmentation] = None, posterior: bool = True,
           segs: Optional[list] = None, prune_pairs: bool = True, wider_alternatives: bool = False) -> Reading:
    """Read an amount field (or a whole check): segment, score every span, Viterbi, n-best.

    `seg`: read that segmentation only; `segs`: those, merged (default: the model's cut
    finders' segmentations of the field, merged).
    `posterior` also sums all segmentations of the best amount (the tab shows it; the CLI does not
    need it and saves a few ms). Without it, and with `prune_pairs`, the pair CNN reads only the
    pair spans a best path might take (pair_pruning.py): the same best path, while the alternatives
    (and the truth's path) may lack a pair span; the posterior needs every path.
    `wider_alternatives`: search more paths until `n_alternatives` texts are found
    (distinct_readings; the tab does)."""
    t0 = time.perf_counter()
    options = span_options(model)
    reader = model.pair_reader
    cands = (candidates(seg, **options) if seg is not None else merged_candidates(segs, **options) if segs
             else model_candidates(model, amount_field(image), with_pairs=False))
    with torch.no_grad():
        logp = score(model, cands)
        pruned = prune_pairs and not posterior and reader is not None and cands.pairs is None
        if reader is not None and cands.pairs is None:
            add_pair_spans(cands, reader, logp if pruned else None)   # pruned: those the best path might take
        arcs, graph, best_score, path = _graph_and_best_path(cands, logp, reader)
        amount, skipped = path_text(graph, path), []
        if model.config.amount_form and not grammar.is_amount(amount):
            # rare (~1% of amounts): the best path that spells an amount, a mark may be left out.
            # It may take a pair span no best path can (pair_pruning.py): all of them, read
            if pruned:
                add_pair_spans(cands, reader)
                arcs, graph, best_score, path = _graph_and_best_path(cands, logp, reader)
                amount = path_text(graph, path)
            steps = mark_steps(cands, graph)
            form_score, form_path, left_out = grammar.best_amount_path(graph, [s for _, s in steps])
            if form_path:
                amount, best_score, path = path_text(graph, form_path), form_score, form_path
                skipped = [steps[j][0] for j in left_out]
        alternatives = distinct_readings(graph, amount, n_alternatives, wider_alternatives)
        p_amount = float("nan")
        if posterior and not skipped:           # (a reading that leaves ink out is no path of the graph)
            constrained = lattice.intersect(graph, lattice.linear_chain(text_labels(amount)))
            p_amount = float(np.exp(lattice.forward_value(constrained) - lattice.forward_value(graph)))
    return Reading(amount, float(best_score), p_amount, path, alternatives, cands, logp, graph,
                   (time.perf_counter() - t0) * 1000, reader.top if reader is not None else 0, arcs, skipped)


def _graph_and_best_path(cands: Candidates, logp: torch.Tensor, reader) -> tuple:
    """(pair arcs, recognition graph, best path's score, its arcs) with the pair spans of `cands`."""
    arcs = pair_reading.pair_arcs(reader, cands.pairs) if reader is not None else []
    graph = build_graph(cands, logp, arcs)
    return (arcs, graph, *lattice.viterbi(graph))


def distinct_readings(graph: lattice.Acceptor, amount: str, n: int, wider: bool = False) -> list:
    """[(text, score, path)]: up to n best readings other than `amount`, each the best path that
    spells it, among the 5n best paths. Many paths spell the same text (another segmentation, a
    pair read whole): 1 bench amount in 20 has fewer than 5 other texts in its 25 best paths, and
    a long amount may have none. `wider`: look at 4x more paths while fewer than n texts are found,
    up to 80n (1.5-3.5 ms more for those bench amounts, ~50 ms for 30 digits)."""
    if n < 1:
        return []
    found: dict = {}
    paths = 5 * n
    while True:
        for s, p in lattice.nbest(graph, paths):
            t = path_text(graph, p)
            if t != amount and t not in found:
                found[t] = (t, s, p)
        if len(found) >= n or not wider or paths >= 80 * n:
            break
        paths *= 4
    return sorted(found.values(), key=lambda a: -a[1])[:n]


def span_ink(cands: Candidates, n_chars: int) -> tuple[np.ndarray, list]:
    """Who drew each span's ink, from the generator's owner map: the ink of each character in
    the field (n_chars,), and per span (pixels drawn by each character (n_chars,), ink pixels in
    the span, blur and noise drawn by no one included)."""
    owner = cands.seg.owner
    ink_of = np.bincount(owner[cands.seg.ink & (owner >= 0)].ravel(), minlength=n_chars)
    per_span = []
    for i, (x0, y0, x1, y1) in enumerate(cands.boxes):
        seg, k, m = cands.segments_of(i)
        crop, _ = seg.union(k, m)
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


def truth_path(graph: lattice.Acceptor, text: str) -> list[int]:
    """Arc indices (in `graph`) of its best path that reads `text`; empty when none does."""
    constrained = lattice.intersect(graph, lattice.linear_chain(text_labels(text)))
    if constrained.num_arcs == 0:
        return []
    _, path = lattice.viterbi(constrained)
    return constrained.arc_map[path].tolist() if path is not None else []


def truth_spans(reading: Reading, text: str) -> list[int]:
    """Span indices of the best path that reads `text` one character per span — the cuts the
    truth prefers among the recognizer's spans, pair spans left out (empty when no segmentation
    of the ink reads it)."""
    graph = build_graph(reading.cands, reading.logp) if reading.pair_top else reading.graph
    return [a // len(CHARSET) for a in truth_path(graph, text)]


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
    loss, constrained = gtn_loss(lattice.Acceptor(g.num_states, g.src, g.dst, g.label, w, g.finals), text)
    n_lab, n_spans = len(CHARSET), len(reading.cands.spans)
    if constrained.num_arcs == 0 or not torch.isfinite(loss):
        return TruthView(text, float("inf"), [], {}, np.zeros(len(reading.cands.spans)), {})
    loss.backward()
    span_grad = w.grad[:n_spans * n_lab].view(-1, n_lab).sum(1).numpy()   # (N,); pair arcs left out
    labels: dict[int, set] = {}
    for a in set(constrained.arc_map.tolist()):
        if a < n_spans * n_lab:
            labels.setdefault(a // n_lab, set()).add(a)
    truth_grad = {k: float(w.grad[sorted(v)].sum()) for k, v in labels.items()}
    return TruthView(text, loss.item(), sorted(labels),
                     {k: "/".join(sorted(CHARSET[a % n_lab] for a in v)) for k, v in labels.items()},
                     span_grad, truth_grad)
