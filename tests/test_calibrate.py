"""Temperature scaling of the output layer (calibrate.py, `seqlab train classify --calibrate`):
it minimizes the validation NLL over one scale, never changes softmax's top-1, can change
hierarchical softmax's, and the CLI records it so the card's command reproduces the model.
Tiny synthetic data with label noise (so that many epochs make the model over-confident)."""
import dataclasses
import random

import pytest
import torch

from engine import cards
from engine.classify import pipeline
from engine.classify.calibrate import GRID, calibrate, fit_scale, validation_nll
from engine.classify.compress import CompressConfig, compress
from engine.classify.losses import create_loss
from engine.classify.model import FastText
from engine.classify.trainer import Encoded
from test_classify_engine import _drain, fit, synthetic


def noisy(n, seed):
    texts, ys = synthetic(n, seed=seed)
    rng = random.Random(seed + 100)
    return texts, [[rng.choice(["pos", "neg", "mid"])] if rng.random() < 0.3 else y for y in ys]


@pytest.fixture(scope="module", params=["softmax", "hs", "hs2"])
def overfit(request):
    texts, ys = noisy(600, 0)
    model, _, _ = fit(texts, ys, loss=request.param, epochs=40, lr=1.0)
    vt, vy = noisy(300, 1)
    return model, Encoded.make(model, vt, model.dict.label_ids(vy))


def test_scale_minimizes_the_validation_nll_and_is_applied_to_w(overfit):
    model, valid = overfit
    W0 = model.loss.W.clone()
    h = model.input.bag(valid.rows, valid.offsets[:-1])
    info = calibrate(model.copy(), valid)           # (a copy: the fixture's model stays as trained)
    a = info["scale"]
    assert a < 1                                     # 40 epochs on 30% noisy labels: over-confident
    assert info["valid_nll_after"] < info["valid_nll_before"]
    best_on_grid = min(validation_nll(model, h, valid.target, g) for g in GRID)
    assert validation_nll(model, h, valid.target, a) <= best_on_grid + 1e-6
    scaled = model.copy()
    scaled.loss.W.mul_(a)
    assert torch.allclose(scaled.loss.probs(h), model.loss.probs(h * a), atol=1e-6)
    assert torch.equal(model.loss.W, W0)


def test_scaling_never_changes_softmax_top1():
    texts, ys = noisy(600, 0)
    model, _, _ = fit(texts, ys, loss="softmax", epochs=40, lr=1.0)
    vt, vy = noisy(300, 1)
    before = model.probs_texts(vt).argmax(1)
    calibrate(model, Encoded.make(model, vt, model.dict.label_ids(vy)))
    assert torch.equal(model.probs_texts(vt).argmax(1), before)


def test_scaling_can_change_hierarchical_softmax_top1():
    # labels 0 and 1 under node 3 (W row 0), label 2 and node 3 under the root 4 (W row 1):
    # p(2) = sigmoid(s_root), p(0) = sigmoid(-s_root) sigmoid(s_3), p(1) = sigmoid(-s_root) sigmoid(-s_3)
    parent, code = [3, 3, 4, 4], [1, 0, 1, 0]
    W = torch.tensor([[0.2], [-0.5]])                # s_3 = 0.2 (label 0), s_root = -0.5 (node 3 favoured)
    loss = create_loss("hs", W, [1, 1, 1], (parent, code))
    p1, p3 = loss.probs(torch.tensor([[1.0]])), loss.probs(torch.tensor([[3.0]]))
    assert torch.allclose(p1.sum(1), torch.ones(1)) and torch.allclose(p3.sum(1), torch.ones(1))
    assert int(p1.argmax()) == 2 and int(p3.argmax()) == 0     # 0.38 > 0.34, then 0.53 > 0.18


def test_one_vs_all_and_compressed_models_are_refused(overfit):
    model, valid = overfit
    texts, ys = synthetic(200)
    ova, enc, _ = fit(texts, ys, loss="ova", epochs=2)
    with pytest.raises(ValueError, match="single-label"):
        fit_scale(ova, enc)
    small = compress(model, CompressConfig(dsub=2, cutoff=0, qnorm=False, retrain=False, qout=True))
    with pytest.raises(ValueError, match="before compressing"):
        calibrate(small, valid)


def test_cli_training_records_the_calibration_and_reproduces_it(tmp_path):
    texts, ys = noisy(1000, 0)
    f = tmp_path / "noisy.txt"
    f.write_text("\n".join(f"__label__{y[0]} {t}" for t, y in zip(texts, ys)), encoding="utf-8")
    opt = pipeline.Options(data=str(f), name="noisy", loss="hs", epochs=30, lr=1.0, bucket=2000,
                           calibrate=True, out=str(tmp_path / "m"))
    card = list(_drain(pipeline.train_model(opt)))[-1]
    cal = card.metrics["calibration"]
    assert 0 < cal["scale"] < 1 and cal["valid_nll_after"] < cal["valid_nll_before"]
    assert "accuracy_before" in cal and "--calibrate" in card.train_command
    tensors, card2 = cards.load_model(tmp_path / "m" / "noisy")
    model = FastText.from_tensors(tensors, card2.config["model"], card2.extra["dictionary"])
    ds = pipeline.datasets.load(str(f))
    assert pipeline.evaluate_split(model, ds.test)["accuracy"] == card.metrics["accuracy"]


@pytest.mark.parametrize("loss, lines, message", [
    ("ova", 300, "single-label loss"),
    ("softmax", 3, "no validation texts"),        # 3 lines: none lands in the valid split
])
def test_cli_refuses_calibration_before_training(tmp_path, loss, lines, message):
    texts, ys = synthetic(lines)
    f = tmp_path / "few.txt"
    f.write_text("\n".join(f"__label__{y[0]} {t}" for t, y in zip(texts, ys)), encoding="utf-8")
    gen = pipeline.train_model(pipeline.Options(data=str(f), loss=loss, calibrate=True, out=str(tmp_path / "m")))
    with pytest.raises(ValueError, match=message):
        next(gen)                                   # the first step, before any epoch
    assert not (tmp_path / "m").exists()


def test_compressing_with_retraining_can_recalibrate():
    texts, ys = noisy(600, 0)
    model, train_set, _ = fit(texts, ys, epochs=40, lr=1.0)
    vt, vy = noisy(300, 1)
    valid = Encoded.make(model, vt, model.dict.label_ids(vy))
    calibrated = model.copy()
    calibrate(calibrated, valid)
    cfg = CompressConfig(dsub=2, cutoff=0, qnorm=False, retrain=True, epochs=5, lr=0.5)
    plain = compress(calibrated, cfg, train_set)
    again = compress(calibrated, dataclasses.replace(cfg, calibrate=True), train_set, valid=valid)
    h = again.input.bag(valid.rows, valid.offsets[:-1])
    assert fit_scale(plain, valid)["scale"] < 0.9          # retraining made it over-confident again
    assert abs(fit_scale(again, valid)["scale"] - 1) < 0.02
    assert validation_nll(again, h, valid.target, 1.0) < validation_nll(plain, h, valid.target, 1.0)
    with pytest.raises(ValueError, match="validation texts"):
        compress(calibrated, dataclasses.replace(cfg, calibrate=True), train_set)
