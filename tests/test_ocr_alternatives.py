"""Alternative segmentations in one lattice (engine/ocr/alternatives.py): states are the ink
consumed so far, shared spans are scored once, and the merged lattice holds every path of every
segmentation (and the mixtures of them)."""
import dataclasses

import numpy as np
import pytest
import torch

from engine import cards, lattice
from engine.ocr import checks, cutter, graph
from engine.ocr.alternatives import merged_candidates
from engine.ocr.model import LeNet, LeNetConfig, cutter_tensors, from_tensors, to_tensors
from engine.ocr.segment import HeuristicAbove, segment, segment_alternatives


def tiny_cutter(seed: int) -> cutter.Cutter:
    torch.manual_seed(seed)
    return cutter.Cutter(cutter.CutNet(4), gate=0.6)      # random weights: cuts unlike the heuristic's


@pytest.fixture(scope="module")
def fields():
    rng = np.random.default_rng(5)
    bank = checks.DigitBank("train")
    return [checks.make_field(rng, bank, touching=True) for _ in range(6)]


def test_one_segmentation_merges_to_its_own_candidates(fields):
    seg = segment(fields[0].image)
    one, merged = graph.candidates(seg), merged_candidates([seg])
    assert merged.spans == one.spans and np.array_equal(merged.images, one.images)


def test_a_segmentation_merged_with_itself_adds_nothing(fields):
    a, b = segment_alternatives(fields[0].image, [None, None])
    merged, one = merged_candidates([a, b]), graph.candidates(a)
    assert merged.spans == one.spans and merged.num_states == one.num_states
    assert np.array_equal(merged.images, one.images) and {o[0] for o in merged.origin} == {0}


def span_pixels(cands, i: int) -> np.ndarray:
    """Span i's ink as a mask over the whole normalized field."""
    seg, k, m = cands.segments_of(i)
    crop, (x0, y0, x1, y1) = seg.union(k, m)
    out = np.zeros(seg.ink.shape, bool)
    out[y0:y1, x0:x1] = crop
    return out


def test_every_merged_path_consumes_the_ink_once(fields):
    rng = np.random.default_rng(0)
    for f in fields[:3]:
        segs = segment_alternatives(f.image, [tiny_cutter(3), None])
        cands = merged_candidates(segs)
        assert all(a < b for a, b in cands.spans)                      # topological order
        out = {}
        for i, (a, b) in enumerate(cands.spans):
            out.setdefault(a, []).append(i)
        ink = [sum(int(p.mask.sum()) for p in s.segments) for s in segs]
        for _ in range(50):                  # random walks start → end: disjoint spans, all the ink
            state, used = 0, np.zeros(segs[0].ink.shape, bool)
            while state != cands.num_states - 1:
                i = out[state][rng.integers(len(out[state]))]
                pixels = span_pixels(cands, i)
                assert not (used & pixels).any()
                used |= pixels
                state = cands.spans[i][1]
            # all the ink, up to the slivers of < 4 px each segmentation drops (two at most here)
            assert min(ink) - 8 <= used.sum() <= max(ink)


def test_merged_lattice_holds_every_segmentations_paths(fields):
    model = LeNet(LeNetConfig(cutter=0)).eval()
    torch.manual_seed(1)
    more = 0
    for f in fields:
        segs = segment_alternatives(f.image, [tiny_cutter(3), None])
        with torch.no_grad():
            merged = graph.decode(model, f.image, segs=segs, n_alternatives=0, posterior=False)
            alone = [graph.decode(model, f.image, seg=s, n_alternatives=0, posterior=False) for s in segs]
        # Viterbi over the union is at least each segmentation's best path; the sum over all
        # paths grows when the segmentations differ (their paths, and mixtures of them)
        assert merged.score >= max(r.score for r in alone) - 1e-5
        more += lattice.forward_value(merged.graph) > max(lattice.forward_value(r.graph) for r in alone) + 1e-6
    assert more >= 1


def test_the_gtn_loss_flows_through_a_merged_lattice(fields):
    model = LeNet(LeNetConfig(cutter=0))
    f = fields[1]
    cands = merged_candidates(segment_alternatives(f.image, [tiny_cutter(4), None]))
    loss, constrained = graph.gtn_loss(graph.build_graph(cands, graph.score(model, cands)), f.text)
    if constrained.num_arcs:                 # some segmentation reads the truth
        loss.backward()
        assert torch.isfinite(loss) and model.c1.weight.grad.abs().sum() > 0


def test_the_second_cut_finder_and_the_heuristic_travel_in_the_model_file():
    config = LeNetConfig(cutter=4, alt_cutter=4, alt_cut_gate=0.6, alt_heuristic=1)
    model = LeNet(config)
    model.cutter, model.alt_cutter = tiny_cutter(1), tiny_cutter(2)
    tensors = {**to_tensors(model, "gtn.", half=False), **cutter_tensors(model)}
    assert any(k.startswith("cut2.") for k in tensors)
    loaded = from_tensors(tensors, dataclasses.asdict(config), "gtn.")
    finders = loaded.cut_finders()
    assert len(finders) == 3 and finders[1].gate == 0.6 and finders[2] == HeuristicAbove(1.5)
    assert torch.equal(finders[1].net.l1.weight, model.alt_cutter.net.l1.weight)
    # files from before these fields: one cut finder
    old = {k: v for k, v in dataclasses.asdict(config).items() if not k.startswith("alt_")}
    assert len(from_tensors(tensors, old, "gtn.").cut_finders()) == 1
    # a config that names a second cut finder the file lacks is refused
    without = {k: v for k, v in tensors.items() if not k.startswith("cut2.")}
    with pytest.raises(KeyError):
        from_tensors(without, dataclasses.asdict(config), "gtn.")


def test_a_file_naming_a_missing_second_cut_finder_gives_one_message(tmp_path):
    from engine.ocr import task
    config = LeNetConfig(cutter=4, alt_cutter=4)
    model = LeNet(config)
    model.cutter = tiny_cutter(1)
    tensors = {**to_tensors(model, "isolated."), **to_tensors(model, "gtn."), **cutter_tensors(model)}
    card = cards.ModelCard(task="ocr", name="broken", arch="lenet5-gtn", config=dataclasses.asdict(config))
    cards.save_model(tmp_path, tensors, card)
    with pytest.raises(cards.ModelLoadError, match="cut2"):
        task._load_cached(str(tmp_path / "broken"), "x")


def test_heuristic_above_a_width_cuts_only_the_wide_components_heuristically(fields):
    learned, differ = tiny_cutter(3), 0
    for f in fields[:3]:
        own, everywhere, wide_only, heuristic = segment_alternatives(
            f.image, [learned, HeuristicAbove(0.0), HeuristicAbove(1.5), None])
        boxes = lambda seg, groups: sorted(p.box for p in seg.segments
                                           if any(l <= p.x0 < l + m.shape[1] for l, _, m in groups))
        assert boxes(everywhere, own.groups) == boxes(heuristic, own.groups)   # width 0: all heuristic
        wide = [g for g in own.groups if g[2].shape[1] >= 1.5 * own.height]
        narrow = [g for g in own.groups if g[2].shape[1] < 1.5 * own.height]
        assert boxes(wide_only, wide) == boxes(heuristic, wide)      # wide: the heuristic's cuts
        assert boxes(wide_only, narrow) == boxes(own, narrow)        # narrow: the first finder's
        differ += boxes(own, wide) != boxes(heuristic, wide)
    assert differ                       # the two finders cut some wide component differently
