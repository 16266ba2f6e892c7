"""`seqlab bench ocr`: decode latency of 6-digit amounts, stage by stage and side by side.

The target (issue 5): decode p95 ≤ 20 ms for 6 digits, one thread (the decode of `seqlab predict
ocr`; the tab's fuller reading is timed too, without a target). Besides the whole decode, it
times the decoding thread's CPU (on a shared host, wall time also measures the other tenants),
each stage alone on the same amounts, and the same amounts decoded with fewer parts of the
lattice (own cuts only; + the heuristic cuts; + the pair reader = shipped), in the same minutes.
"""
from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import torch

from engine import bench as timing
from engine.ocr import checks, graph, pairs


def six_digit_amount(rng: np.random.Generator) -> str:
    """Six random digits, the first not 0: an amount has no leading zero (until stop 24 the bench's
    had one in 10, which a model with amount_form reads a second time)."""
    digits = rng.integers(0, 10, 6)
    if digits[0] == 0:
        digits[0] = 1 + digits[1] % 9
    return "".join(str(int(d)) for d in digits)


def bench(r, n: int) -> dict:
    """The bench's JSON for the recognizers `r` (task.Recognizers) on `n` amounts."""
    rng = np.random.default_rng(7)
    bank = checks.DigitBank("test")
    fields = [checks.make_field(rng, bank, text=six_digit_amount(rng), touch_rate=0.3).image
              for _ in range(max(n, 4))]
    options = graph.span_options(r.gtn)
    segs = [graph.segmentations(r.gtn, f) for f in fields]       # one per cut finder
    cands = [graph.merged_candidates(s, **options) for s in segs]
    with torch.no_grad():
        logps = [graph.score(r.gtn, c) for c in cands]
    graphs = [graph.build_graph(c, lp) for c, lp in zip(cands, logps)]

    def lattice_only(g):
        graph.lattice.viterbi(g)
        graph.lattice.nbest(g, 25)

    def cnn_only(c):
        with torch.no_grad():
            graph.score(r.gtn, c)

    def pair_stage(c_logp):           # which pair spans, their inputs, the pair net, their arcs
        c, logp = c_logp
        c.pairs = None
        graph.add_pair_spans(c, r.gtn.pair_reader, logp)
        pairs.pair_arcs(r.gtn.pair_reader, c.pairs)
    # CPU time of the decoding thread too: on a shared machine, wall time mostly measures the
    # other processes; thread CPU time is what one decode costs
    cpu = []
    for f in fields:
        t0 = time.thread_time()
        graph.decode(r.gtn, f, posterior=False)
        cpu.append(time.thread_time() - t0)
    # side by side, field by field: the same recognizer with its own cut finder's segmentation
    # only, with the heuristic cuts as a second one (engine/ocr/alternatives.py), and with the
    # pair reader too (engine/ocr/pairs.py): what each costs, in the same minutes
    own = r.gtn.with_heuristic_cuts(False)                   # a copy: r.gtn keeps its finders
    own.config, own.alt_cutter = dataclasses.replace(own.config, alt_cutter=0, pair_reader=0), None
    variants = {"own_cuts_only": own, "with_heuristic_cuts": own.with_heuristic_cuts(True)}
    if r.gtn.pair_reader is not None:
        variants["with_heuristic_cuts_and_pair_reader"] = r.gtn
    pair: dict = {k: [] for k in variants}
    for f in fields:
        for key, model in variants.items():
            t0 = time.perf_counter()
            graph.decode(model, f, posterior=False)
            pair[key].append(time.perf_counter() - t0)
    return {
        "task": "ocr", "amount_digits": 6, "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2), "cpu_cores": os.cpu_count(),
        "decode": timing.time_each(lambda f: graph.decode(r.gtn, f, posterior=False), fields),
        # the tab's fuller reading: every pair span, P(amount | image), five distinct alternatives
        "tab_decode": timing.time_each(lambda f: graph.decode(r.gtn, f, wider_alternatives=True), fields),
        "decode_thread_cpu": timing.summarize_ms(cpu),
        "decode_side_by_side": {k: timing.summarize_ms(v) for k, v in pair.items()},
        "stages": {"segment": timing.time_each(lambda f: graph.segmentations(r.gtn, f), fields),
                   "spans_to_cnn_inputs": timing.time_each(lambda s: graph.merged_candidates(s, **options), segs),
                   "cnn": timing.time_each(cnn_only, cands),
                   "viterbi_and_nbest": timing.time_each(lattice_only, graphs),
                   **({"pair_reader": timing.time_each(pair_stage, list(zip(cands, logps)))} if r.gtn.pair_reader else {})},
        "segmentations": len(r.gtn.cut_finders()),
        "mean_segments": float(np.mean([len(s[0].segments) for s in segs])),
        "mean_spans": float(np.mean([len(c.spans) for c in cands])),
        "mean_pair_spans": (float(np.mean([len(graph.add_pair_spans(c, r.gtn.pair_reader).pairs.spans) for c in cands]))
                            if r.gtn.pair_reader else 0.0),
        # of those, the ones the best path might take: what the pair CNN reads (graph.add_pair_spans)
        "mean_pair_spans_read": (float(np.mean([len(graph.add_pair_spans(c, r.gtn.pair_reader, lp).pairs.spans)
                                                for c, lp in zip(cands, logps)])) if r.gtn.pair_reader else 0.0),
    }
