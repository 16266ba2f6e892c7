"""The pair reader (engine/ocr/pairs.py): spans that may be two touching digits, their labels, their
arcs in the lattice, the model file and the training stage."""
import dataclasses
import itertools
import json

import numpy as np
import pytest
import torch

from engine import cli, lattice
from engine.ocr import checks, evaluate, graph, pairs, segment, train
from engine.ocr.model import LeNet, LeNetConfig, cutter_tensors, from_tensors, to_tensors


@pytest.fixture(scope="module")
def bank():
    return checks.DigitBank("test")


def touching_pair(bank, seed=3, text="47"):
    rng = np.random.default_rng(seed)
    for _ in range(50):
        f = checks.make_field(rng, bank, text=text, touching=True, noise=False)
        seg = segment.segment(f.image, f.owner)
        big = [g for g in seg.groups if g[2].shape[0] >= 0.5 * seg.height]
        if len(big) == 1:                       # the two digits are one component
            return f, seg
    raise AssertionError("no touching pair drawn")


def test_the_whole_touching_component_is_a_pair_span_labelled_with_both_digits(bank):
    f, seg = touching_pair(bank)
    spans = pairs.pair_spans(seg)
    whole = (0, len(seg.segments))
    assert whole in spans
    assert pairs.pair_target(seg, *whole, f.text) == 47
    for k, m in spans:                          # every pair span is 0.8-2 digit heights wide
        _, _, (x0, _, x1, _) = pairs.pair_input(seg, k, m)
        assert pairs.MIN_WIDTH * seg.height <= x1 - x0 <= pairs.MAX_WIDTH * seg.height
    if len(seg.segments) > 1:                   # one digit alone is not a pair
        assert pairs.pair_target(seg, 0, 1, f.text) == pairs.NOT_A_PAIR


def test_separate_digits_and_marks_make_no_pair_spans(bank):
    f = checks.make_field(np.random.default_rng(1), bank, text="4.07", touching=False, noise=False)
    seg = segment.segment(f.image, f.owner)
    for k, m in pairs.pair_spans(seg):
        assert not any(p.mark for p in seg.segments[k:m])
        assert all(seg.segments[j].cut_right for j in range(k, m - 1))     # one component's pieces


def tiny_candidates():
    """Three states, spans 0→1, 1→2, 0→2, with chosen log-probabilities."""
    cands = type("Spans", (), {})()                        # only the spans and states matter here
    cands.spans, cands.num_states = [(0, 1), (1, 2), (0, 2)], 3
    logp = torch.log_softmax(torch.randn(3, 13, generator=torch.Generator().manual_seed(0)), 1)
    return cands, logp


def test_pair_arcs_add_exactly_their_two_digit_paths():
    cands, logp = tiny_candidates()
    arcs = [(0, 2, 4, 7, -0.3), (0, 2, 1, 7, -2.0), (1, 2, 3, 3, -1.0)]
    g = graph.build_graph(cands, logp, arcs)
    assert g.num_states == 3 + len(arcs) and bool((g.dst > g.src).all())
    # brute force: every reading of the plain lattice, plus each pair chain
    readings = {}
    def add(text, score):
        readings[text] = np.logaddexp(readings.get(text, -np.inf), score)
    for a, b in itertools.product(range(12), range(12)):
        add(graph.CHARSET[a] + graph.CHARSET[b], float(logp[0, a] + logp[1, b]))
    for a in range(12):
        add(graph.CHARSET[a], float(logp[2, a]))
    add("47", -0.3)
    add("17", -2.0)
    for a in range(12):                          # 0→1 one character, then the pair arc 1→2
        add(graph.CHARSET[a] + "33", float(logp[0, a]) - 1.0)
    total = np.logaddexp.reduce(list(readings.values()))
    assert lattice.forward_value(g) == pytest.approx(total, abs=1e-5)
    for text in ("47", "17", "533", "12"):
        constrained = lattice.intersect(g, lattice.linear_chain(graph.text_labels(text)))
        assert lattice.forward_value(constrained) == pytest.approx(readings[text], abs=1e-5)
    best = max(readings, key=readings.get)
    _, path = lattice.viterbi(g)
    assert graph.path_text(g, path) == best


@pytest.fixture(scope="module")
def paired_model(bank):
    """A LeNet with an untrained pair reader whose net always answers "47" (a stand-in that says
    what the lattice must do with a confident pair reader)."""
    torch.manual_seed(0)
    model = LeNet(LeNetConfig(pair_reader=1, pair_offset=0.0)).eval()
    net = pairs.PairNet().eval()
    with torch.no_grad():
        net.out.weight.zero_()
        net.out.bias.fill_(-20.0)
        net.out.bias[47] = 20.0
    model.pair = pairs.Attached(net)
    return model


def test_a_confident_pair_reader_reads_touching_digits_through_its_arcs(bank, paired_model):
    f, _ = touching_pair(bank)
    reading = graph.decode(paired_model, f.image)
    assert reading.cands.pairs.spans
    assert reading.amount == "47"
    units = reading.units(reading.path)
    assert len(reading.path) == 2 and units == [("pair", units[0][1])]   # one pair span, two arcs
    assert evaluate.error_kind(reading, "47") == "recognition"
    view = graph.explain_truth(reading, "47")
    assert np.isfinite(view.loss) and len(view.span_grad) == len(reading.cands.spans)
    # without it the untrained recognizer reads something else, through its own spans only
    plain = graph.decode(_without_pairs(paired_model), f.image)
    assert plain.cands.pairs is None and all(u[0] == "span" for u in plain.units(plain.path))


def _without_pairs(model):
    import copy
    twin = copy.copy(model)
    twin.config = dataclasses.replace(model.config, pair_reader=0)
    return twin


def test_the_pair_reader_is_saved_and_loaded_with_its_calibration(bank, paired_model):
    assert not any("pair" in k for k in paired_model.state_dict())     # not the recognizer's
    tensors = {**to_tensors(paired_model, "gtn."), **cutter_tensors(paired_model)}
    assert any(k.startswith("pair.") for k in tensors)
    config = dataclasses.asdict(paired_model.config)
    loaded = from_tensors(tensors, config, "gtn.")
    assert loaded.pair_reader is not None and loaded.pair_reader.offset == 0.0
    f, _ = touching_pair(bank)
    assert graph.decode(loaded, f.image).amount == graph.decode(paired_model, f.image).amount
    with pytest.raises(KeyError, match="pair reader"):
        from_tensors({k: v for k, v in tensors.items() if not k.startswith("pair.")}, config, "gtn.")


def test_training_a_pair_reader_onto_the_shipped_model_lands_a_calibrated_model(seqlab_home):
    from safetensors.numpy import load_file
    from engine import paths
    out = paths.user_models() / "ocr"
    assert cli.main(["train", "ocr", "--init", "amounts", "--gtn-steps", "0", "--pair-reader", "1",
                     "--pair-fields", "40", "--pair-epochs", "1", "--pair-val", "12", "--pair-top", "3",
                     "--eval-amounts", "5", "--name", "paired"]) == 0
    card = json.loads((out / "paired.json").read_text())
    assert card["config"]["pair_reader"] == 1 and card["config"]["pair_top"] == 3 and card["config"]["pair_pieces"] == 6
    assert len(card["extra"]["pair_calibration"]["accuracy by scale offset"]) == 8
    assert all(f in card["train_command"] for f in ("--pair-reader 1", "--pair-fields 40", "--pair-top 3"))
    tensors = load_file(str(out / "paired.safetensors"))
    assert any(k.startswith("pair.") for k in tensors)
    # --init carries a model's pair reader over as it is, calibration included; --pair-top changes
    # only how many of its pairs go in the lattice
    assert cli.main(["train", "ocr", "--init", "paired", "--gtn-steps", "0", "--pair-top", "1",
                     "--pair-pieces", "2", "--eval-amounts", "5", "--name", "carried"]) == 0
    carried = json.loads((out / "carried.json").read_text())
    assert carried["config"] == {**card["config"], "pair_top": 1, "pair_pieces": 2}
    assert "--pair-top 1 --pair-pieces 2" in carried["train_command"]
    again = load_file(str(out / "carried.safetensors"))
    assert all(np.array_equal(tensors[k], again[k]) for k in tensors if k.startswith("pair."))


def test_the_tab_boxes_a_pair_read_together(qtbot, bank, paired_model):
    from PySide6.QtGui import QFont
    from desktop.tabs.ocr_drawing import segmentation_pixmap
    f, _ = touching_pair(bank)
    reading = graph.decode(paired_model, f.image)
    (kind, j), = reading.units(reading.path)
    assert kind == "pair"
    pix = segmentation_pixmap(reading.cands, {}, QFont(), [(reading.cands.pairs.boxes[j], "47")])
    img = pix.toImage()
    x0, y0, x1, y1 = reading.cands.pairs.boxes[j]
    assert img.pixelColor(x0 * 3 + 1, (y0 + y1) * 3 // 2).name() == "#9467bd"   # the purple box's left edge


def test_the_lattice_view_draws_a_highlighted_pair_arc(qtbot):
    from desktop.widgets.lattice_view import LatticeView
    view = LatticeView()
    qtbot.addWidget(view)
    view.resize(400, 320)
    thumb, wide = np.zeros((1, 28, 28), np.float32), np.ones((28, 56), np.float32)
    view.set_lattice(3, [(0, 1)], thumb, ["4 -0.1"], [((1, 2), wide, "73 -0.2", True), ((0, 2), wide, "14 -9", False)])

    def orange_pixels():
        img = view.grab().toImage()
        return sum(img.pixelColor(x, y).name() == "#ff7f0e" for x in range(0, 400, 2) for y in range(160, 320, 2))
    plain = orange_pixels()
    view.set_highlight({}, {0: "73"})
    assert orange_pixels() > plain + 20          # the pair arc and its box, in the path's colour


def test_gtn_training_can_go_on_in_the_lattice_as_it_decodes(bank):
    import copy
    from engine.ocr import task
    model = copy.deepcopy(task.load("amounts").gtn)       # (the loaded model is shared: a copy)
    f, _ = touching_pair(bank)
    cands = graph.model_candidates(model, f.image)
    assert cands.pairs.spans
    loss, _ = train.gtn_example_loss(model, f.image, f.text, with_pairs=True)
    without, _ = train.gtn_example_loss(model, f.image, f.text)
    arcs = pairs.pair_arcs(model.pair_reader, cands.pairs)
    expected, _ = graph.gtn_loss(graph.build_graph(cands, graph.score(model, cands), arcs), f.text)
    assert torch.allclose(loss, expected) and not torch.allclose(loss, without)
    loss.backward()                 # the recognizer learns; the pair reader, trained apart, does not
    assert model.c1.weight.grad is not None and model.c1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.pair.net.parameters())


def test_gtn_start_gtn_goes_on_from_the_init_models_gtn_recognizer(seqlab_home):
    from safetensors.numpy import load_file
    from engine import paths
    from engine.ocr import task
    out = paths.user_models() / "ocr"
    assert cli.main(["train", "ocr", "--init", "amounts", "--gtn-start", "gtn", "--gtn-steps", "1",
                     "--gtn-batch", "1", "--gtn-val", "3", "--gtn-eval-every", "1", "--eval-amounts", "3",
                     "--name", "further"]) == 0
    card = json.loads((out / "further.json").read_text())
    shipped = task.load("amounts").card
    assert "--gtn-start gtn" in card["train_command"]
    assert [h["step"] for h in card["extra"]["gtn_validation"]] == [0, 1]
    assert {k: card["config"][k] for k in shipped.config} == shipped.config   # its pair reader and calibration kept
    before = load_file(str(task.cards.find_model("ocr", "amounts").with_suffix(".safetensors")))
    after = load_file(str(out / "further.safetensors"))
    assert all(np.array_equal(before[k], after[k]) for k in before if not k.startswith("gtn."))
    assert cli.main(["train", "ocr", "--gtn-start", "gtn", "--gtn-steps", "1", "--name", "x"]) != 0


def test_pair_spans_no_best_path_can_take_are_not_read(bank):
    # a pair arc weighs at most the reader's offset: where no best path can take a pair span
    # (pair_pruning.py), decoding leaves it out — and the best path is the same as with all
    from engine.ocr import task
    model = task.load("amounts").gtn
    rng = np.random.default_rng(11)
    left_out = total = 0
    for _ in range(25):
        f = checks.make_field(rng, bank, touch_rate=1.0)
        every = graph.model_candidates(model, f.image)
        reading = graph.decode(model, f.image, posterior=False)
        assert set(reading.cands.pairs.spans) <= set(every.pairs.spans)
        # the tab's reading sums every path for the posterior: every pair span is read then
        assert graph.decode(model, f.image).cands.pairs.spans == every.pairs.spans
        left_out += len(every.pairs.spans) - len(reading.cands.pairs.spans)
        total += len(every.pairs.spans)
        with torch.no_grad():
            g = graph.build_graph(every, graph.score(model, every), pairs.pair_arcs(model.pair_reader, every.pairs))
        assert abs(float(lattice.viterbi(g)[0]) - float(lattice.viterbi(reading.graph)[0])) < 1e-6
    assert 0 < left_out < total
