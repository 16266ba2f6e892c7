"""Where amount errors come from: `seqlab eval ocr --diagnose` (docs/MODELS.md, Check OCR).

Two measurements on generated amounts, whose ground truth says which character drew each pixel:

* **Oracle segmentation.** Give the recognizer the right cuts — the best path of the lattice
  intersected with the true amount — and read each of its spans by the CNN's top character.
  The amount accuracy this gives is what this CNN reads when the cuts are chosen right, and
  the character errors split by whether the span's sides are cuts through ink (touching digits)
  or gaps between components show which spans the CNN misreads.
* **Clean path (no model).** Does the over-segmentation offer, for every character, a span that
  is that character: ≥ 80% of the span's ink drawn by it, and ≥ 75% of its ink in the span?
  (pixels drawn by no character — blur, noise — are not counted, unlike the pre-training labels
  of graph.span_targets). An amount without such a path can only be read from spans that hold
  pieces of its neighbours, or lack pieces of itself.
* **Fragment marks.** The segmenter lets a small component low on the line stand alone as a
  '.' or ','. When it is a piece of a digit (a detached foot or tail), no path can read the
  amount: how many amounts hold such a mark, and how many of them are read right anyway.
* **True cuts.** Segment with the cuts a perfect cutter would make (segment.true_cuts: inside a
  component, only where two characters meet) and decode with the same model: what better cut
  placement alone would give, with no retraining. Also: the share of neighbouring digits whose
  ink, row by row, lies left and right of each other (then one column per row separates them).
* **Misreadings.** The wrong Viterbi readings: the character substitutions among those as long
  as the truth, and how many are not the form of a check amount.
* **One-digit fields** (held-out amounts only). Every test digit written alone as an amount by
  the generator (its slant, stroke width, blur, noise) and read by the whole pipeline, against
  the same digit read directly (evaluate.digit_accuracy): what the writing and the pipeline cost
  a digit before any neighbour touches it.
"""
from __future__ import annotations

import collections

import numpy as np

from engine.ocr import checks, data, evaluate, graph
from engine.ocr.grammar import AMOUNT_FORM
from engine.ocr.model import LeNet
from engine.ocr.segment import row_extents, segment

SIDES = {(0, 0): "gaps", (1, 0): "cut_left", (0, 1): "cut_right", (1, 1): "cut_both"}


def span_truth(cands: graph.Candidates, text: str) -> list:
    """Each span's character id when it is one character cleanly (see the module doc), else -1."""
    ink_of, per_span = graph.span_ink(cands, len(text))
    out = []
    for counts, _ in per_span:                   # the owned ink only: blur and noise not counted
        owned = counts.sum()
        c = int(counts.argmax())
        clean = owned > 0 and counts[c] >= 0.8 * owned and counts[c] >= 0.75 * ink_of[c]
        out.append(graph.CHARSET.index(text[c]) if clean else -1)
    return out


def clean_path_exists(cands: graph.Candidates, text: str) -> bool:
    """A left-to-right path of clean spans that reads `text` (dynamic programming over states)."""
    truth = graph.text_labels(text)
    reach = np.zeros((cands.num_states, len(truth) + 1), bool)
    reach[0, 0] = True
    for (k, m), label in sorted(zip(cands.spans, span_truth(cands, text))):
        for j in np.nonzero(reach[k, :-1])[0]:     # spans sorted by start: reach[k] is final here
            if label == truth[j]:
                reach[m, j + 1] = True
    return bool(reach[-1, -1])


def fragment_marks(seg, text: str) -> int:
    """Segments the segmenter took for a '.' or ',' whose ink is mostly a digit's (owner map)."""
    count = 0
    for p in seg.segments:
        if p.mark:
            h, w = p.mask.shape
            own = seg.owner[p.y0:p.y0 + h, p.x0:p.x0 + w][p.mask]
            own = own[own >= 0]
            count += bool(len(own)) and text[int(np.bincount(own).argmax())].isdigit()
    return count


def row_separable_pairs(seg, text: str) -> tuple[int, int]:
    """(neighbouring digit pairs whose ink never interleaves within a row, all such pairs)."""
    own = np.where(seg.ink, seg.owner, -1)
    ok = pairs = 0
    for i in range(len(text) - 1):
        if not (text[i].isdigit() and text[i + 1].isdigit()):
            continue
        last, first = row_extents(own, i)
        both = (last >= 0) & (first < own.shape[1])
        ok += bool((last[both] < first[both]).all())
        pairs += 1
    return ok, pairs



def misreadings(pairs: list, top: int = 10) -> dict:
    """(truth, reading) pairs of wrongly read amounts → the most frequent substitutions ("2>1": a
    2 read as 1) among the readings as long as the truth, and how many readings no check amount
    could be (AMOUNT_FORM). (How many are longer or shorter: `seqlab eval ocr`, wrong_length.)"""
    swaps: collections.Counter = collections.Counter()
    for truth, got in pairs:
        if len(got) == len(truth):
            swaps.update(f"{a}>{b}" for a, b in zip(truth, got) if a != b)
    return {"wrong": len(pairs), "same_length": sum(len(got) == len(truth) for truth, got in pairs),
            "substitutions": dict(swaps.most_common(top)),
            "not_an_amount_form": sum(not AMOUNT_FORM.fullmatch(got) for _, got in pairs)}


class _OneImage:
    """A digit bank of one image: checks.make_field writes that digit."""

    def __init__(self, img28: np.ndarray):
        self.img28 = img28

    def sample(self, digit: int, rng: np.random.Generator) -> np.ndarray:
        return self.img28


def one_digit_fields(model: LeNet, n: int = 0, seed: int = 5) -> dict:
    """Each held-out test digit (the first `n`; 0: all) as a one-digit amount field, read by the
    whole pipeline, against the same digits read directly; and how many misreads the two share."""
    x, y = data.load("test")
    x, y = (x[:n], y[:n]) if n else (x, y)
    direct_wrong = set(np.nonzero(evaluate.digit_predictions(model, x) != y)[0].tolist())
    rng = np.random.default_rng(seed)
    fields = [checks.make_field(rng, _OneImage(img), text=str(int(label)), touching=False)
              for img, label in zip(x, y)]
    field_wrong = {i for i, (f, reading) in enumerate(evaluate.readings(model, fields))
                   if reading is None or reading.amount != f.text}
    return {"n": len(y), "field_accuracy": round(1 - len(field_wrong) / len(y), 4),
            "direct_accuracy": round(1 - len(direct_wrong) / len(y), 4),
            "wrong_in_field": len(field_wrong), "wrong_direct": len(direct_wrong),
            "wrong_both": len(field_wrong & direct_wrong)}


def _rates(hits: np.ndarray, touching: np.ndarray) -> dict:
    return {"all": round(float(hits.mean()), 4), "touching": round(float(hits[touching].mean()), 4)
            if touching.any() else None, "not_touching": round(float(hits[~touching].mean()), 4)
            if (~touching).any() else None}


def diagnose(model: LeNet, fields: list, one_digit: bool = False) -> dict:
    """Viterbi vs oracle-segmentation accuracy, the oracle's character errors by span sides, the
    clean-path rate, and the same with true cuts, overall and on touching amounts; the wrong
    readings; with `one_digit`, the test digits as one-digit fields (one_digit_fields)."""
    n = len(fields)
    oracle = 0
    chars = {name: [0, 0] for name in SIDES.values()}           # [errors, spans]
    right, clean = np.zeros(n, bool), np.zeros(n, bool)          # heuristic or learned cuts
    right_cut, clean_cut = np.zeros(n, bool), np.zeros(n, bool)  # true cuts
    touching = np.array([f.touching for f in fields], bool)
    separable = [0, 0]
    fragments = np.zeros(n, bool)                                # a digit's piece taken for a mark
    wrong = []                                                   # (truth, reading) misread
    for i, f in enumerate(fields):
        cut = segment(f.image, f.owner, oracle_cuts=True)
        cut_reading = graph.decode(model, f.image, n_alternatives=0, seg=cut, posterior=False)
        right_cut[i] = cut_reading.amount == f.text
        clean_cut[i] = clean_path_exists(cut_reading.cands, f.text)
        if f.touching:
            separable = [a + b for a, b in zip(separable, row_separable_pairs(cut, f.text))]
        segs = graph.segmentations(model, f.image, f.owner)      # the model's cut finders'
        reading = graph.decode(model, f.image, n_alternatives=0, segs=segs, posterior=False)
        right[i] = reading.amount == f.text
        if not right[i]:
            wrong.append((f.text, reading.amount))
        fragments[i] = fragment_marks(segs[0], f.text) > 0
        clean[i] = clean_path_exists(reading.cands, f.text)
        spans = graph.truth_spans(reading, f.text)
        if not spans:
            continue
        read = reading.logp[spans, :len(graph.CHARSET)].argmax(1).tolist()
        truth = graph.text_labels(f.text)
        oracle += read == truth
        for s, got, want in zip(spans, read, truth):
            g = reading.cands.geometry[s]
            tally = chars[SIDES[(int(g[3]), int(g[4]))]]
            tally[0] += got != want
            tally[1] += 1
    n_touch = int(touching.sum())
    return {"n": n, "n_touching": n_touch, "viterbi_accuracy": round(right.sum() / n, 4),
            "oracle_segmentation_accuracy": round(oracle / n, 4),
            "oracle_char_error_by_span_sides": {k: {"errors": e, "spans": s, "rate": round(e / max(s, 1), 4)}
                                                for k, (e, s) in chars.items()},
            "clean_path_rate": round(clean.sum() / n, 4),
            "clean_path_rate_touching": round((clean & touching).sum() / max(n_touch, 1), 4),
            "viterbi_by_touching": _rates(right, touching),
            "true_cuts": {"viterbi_accuracy": _rates(right_cut, touching),
                          "clean_path_rate": _rates(clean_cut, touching)},
            "fragment_marks": {"amounts": int(fragments.sum()), "read_right": int((fragments & right).sum())},
            "digit_pairs_of_touching_amounts_row_separable": {"separable": separable[0], "pairs": separable[1]},
            "misreadings": misreadings(wrong),
            **({"one_digit_fields": one_digit_fields(model)} if one_digit else {})}
