"""Label trees for hierarchical softmax (engine/classify/label_tree.py): both trees are valid
binary trees, the similarity tree groups similar labels, and a model trained with it keeps it
through save / load / compress. Tiny synthetic data: fast, no Qt."""
import random

import numpy as np
import pytest
import torch

from engine import cards
from engine.classify import label_tree as lt
from engine.classify import pipeline
from engine.classify.compress import CompressConfig, compress
from engine.classify.losses import HierarchicalSoftmaxLoss, huffman_paths
from engine.classify.model import FastText

# two groups of four labels: each label has its own keyword, each group its own vocabulary
GROUPS = {"sport": ["ball", "goal", "team", "match", "score", "coach"],
          "food": ["salt", "oven", "sauce", "bread", "spice", "bake"]}
LABELS = {f"{g}{i}": (g, f"kw{g}{i}") for g in GROUPS for i in range(4)}


def grouped(n=800, seed=0):
    rng = random.Random(seed)
    texts, ys = [], []
    for _ in range(n):
        y = rng.choice(sorted(LABELS))
        group, key = LABELS[y]
        words = rng.sample(GROUPS[group], 4) + [key]
        rng.shuffle(words)
        texts.append(" ".join(words))
        ys.append([y])
    return texts, ys


def leaves_under(parent, node):
    kids = [i for i, p in enumerate(parent) if p == node]
    return {node} if not kids else set().union(*(leaves_under(parent, k) for k in kids))


def random_sim(C, seed):
    X = np.random.default_rng(seed).random((C, 5))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X @ X.T


@pytest.mark.parametrize("C", [2, 3, 7, 66])
@pytest.mark.parametrize("kind", ["huffman", "similarity"])
def test_tree_is_a_binary_tree_with_one_leaf_per_label(C, kind):
    counts = [1000 // (i + 1) + 1 for i in range(C)]
    tree = lt.huffman_tree(counts) if kind == "huffman" else lt.similarity_tree(random_sim(C, C), counts)
    lt.check_tree(*tree, C)
    nodes, codes, mask = lt.tree_paths(*tree)
    # every path starts at the root (row C-2), and each next node is a child of the previous
    parent = tree[0]
    for l in range(C):
        path = nodes[l][mask[l] > 0].tolist()
        assert path[0] == C - 2
        assert all(parent[b + C] == a + C for a, b in zip(path, path[1:]))
        assert parent[l] == path[-1] + C
    # distinct codes: every label is exactly one leaf
    assert len({tuple((nodes[l] * 2 + codes[l].long())[mask[l] > 0].tolist()) for l in range(C)}) == C
    # probabilities over all labels sum to 1 for any h
    W = torch.randn(C - 1, 6, generator=torch.Generator().manual_seed(C))
    loss = HierarchicalSoftmaxLoss(W, counts, tree)
    h = torch.randn(9, 6, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(loss.probs(h).sum(1), torch.ones(9), atol=1e-5)
    assert np.allclose(loss.probs_np(h[0].numpy()), loss.probs(h[:1])[0].numpy(), atol=1e-6)


def test_huffman_paths_are_the_huffman_tree():
    counts = [50, 40, 7, 7, 3, 1]
    assert all(torch.equal(a, b) for a, b in zip(huffman_paths(counts), lt.tree_paths(*lt.huffman_tree(counts))))


@pytest.mark.parametrize("parent, code", [([4, 4, 3, 4], [0, 1, 0, 1]),     # node 4 with three children
                                          ([3, 3, 4, 4], [0, 0, 0, 1]),     # node 3 with two left children
                                          ([3, 3, 4], [0, 1, 0])])           # too short
def test_bad_trees_are_refused(parent, code):
    with pytest.raises(ValueError):
        lt.check_tree(parent, code, 3)


def test_label_similarity_is_the_cosine_of_row_centroids():
    rows = torch.tensor([0, 1, 1, 2, 3, 0, 3, 3])
    offsets = torch.tensor([0, 3, 5, 8])
    target = torch.tensor([0, 1, 0])
    X = np.zeros((2, 4))
    for t, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
        for r in rows[a:b]:
            X[target[t], r] += 1.0 / (b - a)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    assert np.allclose(lt.label_similarity(rows, offsets, target, 2, 4), X @ X.T, atol=1e-6)


def test_similarity_tree_splits_the_groups_first():
    sim = np.full((8, 8), 0.1)
    sim[:4, :4] = sim[4:, 4:] = 0.8
    parent, _ = lt.similarity_tree(sim, [10] * 8)
    root_kids = [i for i, p in enumerate(parent) if p == 14]
    assert sorted(sorted(leaves_under(parent, k)) for k in root_kids) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def train_grouped(tmp, loss: str):
    """Train `loss` over a similarity tree on the grouped set through the pipeline (as the CLI
    does): (model path, card)."""
    texts, ys = grouped()
    f = tmp / "grouped.txt"
    f.write_text("\n".join(f"__label__{y[0]} {t}" for t, y in zip(texts, ys)), encoding="utf-8")
    gen = pipeline.train_model(pipeline.Options(data=str(f), name="grouped", loss=loss, hs_tree="similarity",
                                                epochs=5, bucket=2000, out=str(tmp / "m")))
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return tmp / "m" / "grouped", stop.value


@pytest.fixture(scope="module")
def similarity_model(tmp_path_factory):
    return train_grouped(tmp_path_factory.mktemp("hs"), "hs")


def test_similarity_tree_survives_save_and_load(similarity_model):
    path, card = similarity_model
    assert "--loss hs --hs-tree similarity" in card.train_command
    tensors, card = cards.load_model(path)
    model = FastText.from_tensors(tensors, card.config["model"], card.extra["dictionary"])
    d = model.dict
    # the loaded tree is a similarity tree: its root splits the two groups (Huffman's, over
    # about equal counts, would mix them)
    parent = tensors["output.tree_parent"].tolist()
    C = len(d.labels)
    groups = [sorted({d.labels[l][:-1] for l in leaves_under(parent, k)})
              for k, p in enumerate(parent) if p == 2 * C - 2]
    assert sorted(groups) == [["food"], ["sport"]]
    assert model.tree == (parent, tensors["output.tree_code"].tolist())
    assert torch.equal(model.loss.nodes, lt.tree_paths(*model.tree)[0])
    texts, ys = grouped(100, seed=1)
    probs = model.probs_texts(texts)
    assert float((probs.argmax(1) == torch.tensor([ls[0] for ls in d.label_ids(ys)])).float().mean()) > 0.9
    # the same weights over Huffman's tree give other probabilities: the tree is really used
    huffman = {k: v for k, v in tensors.items() if not k.startswith("output.tree")}
    as_huffman = FastText.from_tensors(huffman, {**card.config["model"], "hs_tree": "huffman"},
                                       card.extra["dictionary"])
    assert not torch.allclose(as_huffman.probs_texts(texts), probs, atol=1e-3)
    # a file that says "similarity" but lacks the tree is refused, not read with Huffman's
    with pytest.raises(ValueError, match="label tree"):
        FastText.from_tensors(huffman, card.config["model"], card.extra["dictionary"])
    # copies (the interactive lane's) and compressed models keep the tree
    assert model.copy().tree == model.tree
    small = compress(model, CompressConfig(dsub=2, cutoff=500, qnorm=True, retrain=False))
    assert small.tree == model.tree and "output.tree_parent" in small.tensors()


def test_old_model_files_without_hs_tree_load_with_huffman(similarity_model):
    path, card = similarity_model
    tensors, card = cards.load_model(path)
    old = {k: v for k, v in card.config["model"].items() if k != "hs_tree"}   # a card before the option
    huffman = {k: v for k, v in tensors.items() if not k.startswith("output.tree")}
    model = FastText.from_tensors(huffman, old, card.extra["dictionary"])
    assert model.tree is None
    assert torch.equal(model.loss.nodes, huffman_paths(model.dict.label_counts)[0])
