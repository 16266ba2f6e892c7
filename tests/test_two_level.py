"""The two-level softmax (Goodman 2001; losses.TwoLevelSoftmaxLoss, `--loss hs2`): it is the
product of two softmaxes over the classes it is given, its hand-written SGD step is autograd's,
and a model keeps its classes through save / load / compress. Tiny synthetic data, no Qt."""
import numpy as np
import pytest
import torch

from engine import cards
from engine.classify import label_tree as lt
from engine.classify.compress import CompressConfig, compress
from engine.classify.losses import create_loss, output_rows
from engine.classify.model import FastText
from engine.classify.trainer import Encoded
from test_label_tree import grouped, random_sim, train_grouped


def loss_and_data(C, seed=0, B=16, dim=7):
    gen = torch.Generator().manual_seed(seed)
    counts = [1000 // (i + 1) + 1 for i in range(C)]
    classes = lt.tree_classes(*lt.similarity_tree(random_sim(C, seed), counts), counts)
    W = torch.randn(output_rows("hs2", C), dim, generator=gen) * 0.5
    h = torch.randn(B, dim, generator=gen) * 0.5
    return create_loss("hs2", W, counts, classes), h, torch.randint(0, C, (B,), generator=gen)


@pytest.mark.parametrize("C", [2, 3, 7, 66])
def test_probabilities_are_class_times_label_within_class(C):
    loss, h, _ = loss_and_data(C)
    p = loss.probs(h)
    assert torch.allclose(p.sum(1), torch.ones(len(h)), atol=1e-5)
    assert np.allclose(loss.probs_np(h[0].numpy()), p[0].numpy(), atol=1e-6)
    # reference, one class at a time: p(class) from the K class rows, then a softmax over the
    # rows of that class's labels only (a softmax over all labels would fail this)
    K, c = loss.K, loss.label_class
    z = h @ loss.W.T
    p_class = torch.softmax(z[:, :K], 1)
    for k in range(K):
        members = torch.nonzero(c == k).view(-1)
        within = torch.softmax(z[:, K + members], 1)
        assert torch.allclose(p[:, members], p_class[:, k:k + 1] * within, atol=1e-6)


@pytest.mark.parametrize("C", [3, 66])
@pytest.mark.parametrize("dense", [True, False])       # every row scored, or the class rows gathered
def test_step_is_sgd_on_the_negative_log_likelihood(C, dense):
    loss, h, target = loss_and_data(C, seed=C)
    loss.dense = dense
    W0 = loss.W.clone()
    Wa, ha = W0.clone().requires_grad_(), h.clone().requires_grad_()
    nll = -torch.log(create_loss("hs2", Wa, [1] * C, loss.tree).probs(ha)[torch.arange(len(h)), target]).sum()
    nll.backward()
    value, grad_h = loss.step(h, loss.prepare(target)[:len(h)], 0.1)
    assert abs(float(value) - nll.item()) < 1e-4 * nll.item()
    assert torch.allclose(grad_h, -0.1 * ha.grad, atol=1e-6)
    assert torch.allclose(loss.W, W0 - 0.1 * Wa.grad, atol=1e-6)


def test_classes_cut_the_tree_into_its_groups():
    sim = np.full((8, 8), 0.1)
    sim[:4, :4] = sim[4:, 4:] = 0.8
    tree = lt.similarity_tree(sim, [10] * 8)
    classes = lt.tree_classes(*tree, [10] * 8, 2)
    assert sorted(classes) == [0] * 4 + [1] * 4 and len(set(classes[:4])) == len(set(classes[4:])) == 1
    # sqrt(C) classes, every one used; the heaviest subtrees are split first
    counts = [1000 // (i + 1) + 1 for i in range(66)]
    classes = lt.tree_classes(*lt.huffman_tree(counts), counts)
    assert sorted(set(classes)) == list(range(lt.n_classes(66))) == list(range(8))
    assert classes[0] != classes[1]                   # the two most frequent labels part early


def test_bad_classes_are_refused():
    with pytest.raises(ValueError, match="two-level"):
        create_loss("hs2", torch.zeros(5 + 2, 3), [1] * 5, [0, 0, 1, 1, 3])     # class 2 unused
    with pytest.raises(ValueError, match="two-level"):
        create_loss("hs2", torch.zeros(5 + 2, 3), [1] * 5, [0, 1, 1, 0])        # 4 classes for 5 labels


@pytest.fixture(scope="module")
def two_level_model(tmp_path_factory):
    return train_grouped(tmp_path_factory.mktemp("hs2"), "hs2")


def test_classes_survive_save_and_load_and_are_used(two_level_model):
    path, card = two_level_model
    assert "--loss hs2 --hs-tree similarity" in card.train_command
    tensors, card = cards.load_model(path)
    model = FastText.from_tensors(tensors, card.config["model"], card.extra["dictionary"])
    d = model.dict
    # 8 labels -> 3 classes cut from the similarity tree: none mixes the two groups
    classes = tensors["output.label_class"].tolist()
    assert model.tree == classes and model.loss.K == 3 and tensors["output.weight"].shape[0] == 3 + 8
    assert all(len({d.labels[l][:-1] for l in range(8) if classes[l] == k}) == 1 for k in range(3))
    texts, ys = grouped(100, seed=1)
    probs = model.probs_texts(texts)
    assert float((probs.argmax(1) == torch.tensor([ls[0] for ls in d.label_ids(ys)])).float().mean()) > 0.9
    assert np.allclose(model.probs_one(texts[0]), probs[0].numpy(), atol=1e-6)
    # the same weights over other classes give other probabilities
    other = dict(tensors, **{"output.label_class": torch.tensor(classes[1:] + classes[:1])})
    moved = FastText.from_tensors(other, card.config["model"], card.extra["dictionary"])
    assert not torch.allclose(moved.probs_texts(texts), probs, atol=1e-3)
    with pytest.raises(ValueError, match="label classes"):
        FastText.from_tensors({k: v for k, v in tensors.items() if k != "output.label_class"},
                              card.config["model"], card.extra["dictionary"])
    # explanations: the contributions sum to the explained score, v . h
    label = int(probs[0].argmax())
    contrib = model.explain(texts[0], label)
    rows, offsets = d.encode(texts[:1])
    h = model.input.bag(torch.from_numpy(rows), torch.from_numpy(offsets[:-1]))[0]
    assert abs(sum(w for _, w in contrib) - float(model.loss.logit_direction(label) @ h)) < 1e-4


def test_compressed_two_level_model_keeps_its_classes(two_level_model):
    path, _ = two_level_model
    tensors, card = cards.load_model(path)
    model = FastText.from_tensors(tensors, card.config["model"], card.extra["dictionary"])
    texts, ys = grouped(300, seed=2)
    data = Encoded.make(model, texts, model.dict.label_ids(ys))
    small = compress(model, CompressConfig(dsub=2, cutoff=500, retrain=True, qout=True), data)
    assert small.tree == model.tree and small.output_q is not None
    again = FastText.from_tensors(small.tensors(), card.config["model"], card.extra["dictionary"])
    assert again.tree == model.tree
    assert torch.allclose(again.probs_texts(texts[:20]), small.probs_texts(texts[:20]), atol=1e-6)
    assert torch.allclose(small.probs_texts(texts[:20]).sum(1), torch.ones(20), atol=1e-5)
