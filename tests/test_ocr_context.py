"""The recognizer's options: the context channel (a span seen in its surroundings) and batch norm."""
import dataclasses

import numpy as np
import pytest
import torch

from engine.ocr import checks, digit_inputs, graph, segment, train
from engine.ocr.spans import ContextField
from engine.ocr.model import LeNet, LeNetConfig, from_tensors, to_tensors


@pytest.fixture(scope="module")
def touching_field():
    bank = checks.DigitBank("train")
    return checks.make_field(np.random.default_rng(2), bank, text="4807", touching=True, noise=False)


def test_context_window_shows_the_span_bright_and_its_neighbours_dim():
    # two 32 px tall bars 20 px apart on a line: the window of the left one shows both
    ink = np.zeros((48, 120), bool)
    ink[8:40, 40:46] = True
    ink[8:40, 66:72] = True
    field = ContextField(ink, height=32.0, center_y=24.0)
    win = field.window(ink[8:40, 40:46], (40, 8, 46, 40))
    assert win.shape == (28, 28) and win.dtype == np.float32
    cols = win.max(axis=0)
    assert cols[12:16].max() == pytest.approx(1.0, abs=0.05)           # the span, centred
    right = cols[16:].max()
    assert 0.3 < right < 0.55                                          # the neighbour, at half
    assert win[:, :10].max() == 0                                     # nothing to the left
    # the same bar seen alone: no neighbour (the field shrinks to a whole number of pixels, so
    # a field of another width lands up to half a pixel elsewhere)
    alone = ContextField(ink[:, :56], 32.0, 24.0).window(ink[8:40, 40:46], (40, 8, 46, 40))
    assert alone[:, 16:].max() == 0 and np.abs(alone[:, :16] - win[:, :16]).max() < 0.2
    thin = ContextField(ink, 32.0, 24.0).window(ink[8:40, 40:41], (40, 8, 41, 40))   # 1 px wide
    assert thin.max() > 0.5


def test_candidates_with_context_match_without(touching_field):
    seg = segment.segment(touching_field.image)
    plain, both = graph.candidates(seg), graph.candidates(seg, context=True)
    assert plain.spans == both.spans and np.array_equal(plain.images, both.images)
    assert plain.context is None and both.context.shape == plain.images.shape
    assert both.inputs(True).shape == (len(plain.spans), 2, 28, 28)
    with pytest.raises(ValueError, match="without context"):
        plain.inputs(True)
    # a piece cut out of a touching pair: its neighbour's ink shows in its window
    cut = [i for i, (k, m) in enumerate(both.spans) if seg.segments[k].cut_left or seg.segments[m - 1].cut_right]
    assert cut and all(((both.context[i] > 0.2) & (both.context[i] < 0.6)).any() for i in cut)


def test_a_context_model_trains_and_decodes(touching_field):
    torch.manual_seed(0)
    model = LeNet(LeNetConfig(context=1, batchnorm=1))
    image, geo = digit_inputs.mnist_input(checks.DigitBank("train").by_class[3][0], np.random.default_rng(0), context=True)
    assert image.shape == (2, 28, 28) and image[1].max() > 0.9
    new, before, after = train.train_on_example(model.eval(), touching_field.image, "4807", lr=0.05)
    assert np.isfinite(before) and after < before
    reading = graph.decode(new, touching_field.image, n_alternatives=2)
    assert reading.logp.shape == (len(reading.cands.spans), 13) and reading.cands.context is not None


def test_batchnorm_statistics_stay_frozen_in_gtn_steps_and_survive_saving(touching_field):
    torch.manual_seed(0)
    model = LeNet(LeNetConfig(batchnorm=1))
    model.train()
    model(torch.rand(64, 28, 28), torch.rand(64, 5)).sum().backward()   # pre-training moves the stats
    stats = model.bn3.running_mean.clone()
    new, _, _ = train.train_on_example(model.eval(), touching_field.image, "4807")
    assert torch.equal(new.bn3.running_mean, stats)                     # a GTN step does not
    assert not torch.equal(new.bn3.weight, model.bn3.weight)            # but it trains the scale
    loaded = from_tensors(to_tensors(new, half=False), dataclasses.asdict(new.config))
    x, g = torch.rand(10, 28, 28), torch.rand(10, 5)
    with torch.no_grad():
        assert torch.allclose(loaded(x, g), new.eval()(x, g), atol=1e-5)
    # model files from before these options still load (no batch-norm or context tensors)
    old = {k: v for k, v in to_tensors(LeNet(), half=False).items()}
    assert from_tensors(old, {"c1": 20, "c3": 50, "f5": 256, "dropout": 0.25}).config.context == 0


def test_pretraining_digits_get_neighbours_in_their_context_window():
    x, _ = train.data.load("train")
    mask = x[0] > 100
    rng = np.random.default_rng(4)
    sides = 0
    for _ in range(20):
        line, at = digit_inputs.with_neighbours(mask, rng, x[1:50])
        assert np.array_equal(line[:, at:at + 28] & mask, mask)          # the digit itself is intact
        cols = np.nonzero(mask.any(0))[0]
        left, right = line[:, :at + cols[0] - 2].any(), line[:, at + cols[-1] + 3:].any()
        sides += left + right
    assert 20 <= sides < 40                                             # most sides have a neighbour
    image, _ = digit_inputs.mnist_input(x[0], np.random.default_rng(1), context=True, others=x[1:50])
    dim = (image[1] > 0.2) & (image[1] < 0.6)
    assert image.shape == (2, 28, 28) and dim.any()                     # neighbours at half ink
