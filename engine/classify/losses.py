"""Output layers and their sparse SGD steps, behind one factory (fastText's src/loss.cc).

Each loss owns its output matrix ``W`` and knows two things:
  * ``probs(h)``: label probabilities for hidden vectors h (B, dim) -> (B, nlabels);
  * ``step(h, target, lr)``: one SGD step on W for a minibatch, returning (summed loss, grad_h),
    where grad_h (B, dim) is already multiplied by the learning rate, ready to be added to the
    input rows. Like fastText, the update is written out by hand (no autograd, no optimizer):
    only the rows a minibatch touches are read and written.
Targets: a LongTensor (B,) of label ids, or for one-vs-all a float multi-hot (B, nlabels).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.classify.label_tree import check_tree, huffman_tree, tree_paths


class Loss:
    name = ""
    multilabel = False

    def __init__(self, W: torch.Tensor):
        self.W = W                      # (nout, dim) output matrix, updated in place

    def probs(self, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def probs_np(self, h: np.ndarray) -> np.ndarray:
        """`probs` for one hidden vector in numpy: (dim,) -> (nlabels,) (single-text path)."""
        raise NotImplementedError

    def prepare(self, target: torch.Tensor) -> torch.Tensor:
        """The training targets in the form `step` wants (done once, not per batch)."""
        return target

    def step(self, h, target, lr: float, need_loss: bool = True):
        raise NotImplementedError

    def logit_direction(self, label: int) -> torch.Tensor:
        """A vector v with score(label) = v . h, for explanations (exact for a linear model)."""
        raise NotImplementedError


class SoftmaxLoss(Loss):
    """Full softmax over all labels: O(nlabels) per example."""
    name = "softmax"

    def probs(self, h):
        return torch.softmax(h @ self.W.T, dim=-1)

    def probs_np(self, h):
        z = self.W.numpy() @ h
        e = np.exp(z - z.max())
        return e / e.sum()

    def prepare(self, target):
        return F.one_hot(target, self.W.shape[0]).float()       # (n, C) one-hot rows

    def step(self, h, target, lr, need_loss=True):
        p = torch.softmax(torch.mm(h, self.W.t()), dim=1)       # (B, C)
        loss = -(torch.log(p.clamp(min=1e-30)) * target).sum() if need_loss else None
        G = p.sub_(target).mul_(-lr)                             # lr (y - p)
        grad_h = torch.mm(G, self.W)                             # before W moves (fastText order)
        self.W.addmm_(G.t(), h)                                  # W += lr (y - p) h^T
        return loss, grad_h

    def logit_direction(self, label):
        # softmax is shift-invariant: explain the centered logit  l_c - mean_j l_j
        return self.W[label] - self.W.mean(0)


class OneVsAllLoss(Loss):
    """One independent logistic regression per label (multi-label)."""
    name = "ova"
    multilabel = True

    def probs(self, h):
        return torch.sigmoid(h @ self.W.T)

    def probs_np(self, h):
        return 1.0 / (1.0 + np.exp(-(self.W.numpy() @ h)))

    def step(self, h, target, lr, need_loss=True):
        s = torch.mm(h, self.W.t())                              # (B, C)
        loss = F.binary_cross_entropy_with_logits(s, target, reduction="sum") if need_loss else None
        G = (target - torch.sigmoid(s)).mul_(lr)
        grad_h = G @ self.W
        self.W.addmm_(G.T, h)
        return loss, grad_h

    def logit_direction(self, label):
        return self.W[label]


def huffman_paths(counts: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Huffman tree over label frequencies (fastText's HierarchicalSoftmaxLoss::buildTree) as
    padded root->leaf paths (label_tree.tree_paths): nodes, codes, mask, each (C, D).
    Frequent labels get short paths, so the expected cost is O(log C) per example."""
    return tree_paths(*huffman_tree(counts))


DENSE_TARGETS_MAX = 25_000_000     # floats per dense target tensor (100 MB); beyond, gather paths


class PathTargets:
    """Each training example's root->leaf path, looked up once per training (`prepare`) instead
    of once per batch; sliced and indexed like the label tensor it replaces. Either padded paths
    (nodes, codes, mask: (n, D) each) or, for small trees, dense over all C-1 nodes (nodes None,
    codes = -code, mask = 1 on the path: (n, C-1) each)."""

    def __init__(self, nodes, codes, mask):
        self.nodes, self.codes, self.mask = nodes, codes, mask

    def __getitem__(self, idx) -> "PathTargets":
        nodes = None if self.nodes is None else self.nodes[idx]
        return PathTargets(nodes, self.codes[idx], self.mask[idx])

    def __len__(self):
        return len(self.codes)


class HierarchicalSoftmaxLoss(Loss):
    """Hierarchical softmax (Goodman 2001; Mikolov et al. 2013) over a binary tree of labels:
    p(label | h) = prod over its path of sigmoid(+-w_node . h). W has one row per internal node.
    The tree is Huffman's over label counts (fastText), or a given (parent, code) pair
    (label_tree.py: e.g. by label similarity), kept as `tree` so the model file can store it.

    One SGD step on a minibatch, with s = w_node . h on each path node and
    g = lr (code - sigmoid(s)):  grad_h = sum_path g w_node,  w_node += g h.
    Small trees (up to a few hundred labels) compute all node scores with one matmul, with
    per-example dense (C-1) code/path masks prepared once: two more small matmuls cost less in
    torch than gathering and scattering B*D rows. Large trees gather only the path rows:
    O(B log C) instead of O(B C)."""
    name = "hs"

    def __init__(self, W, counts, tree=None):
        super().__init__(W)
        self.tree = tree                                            # (parent, code), None = Huffman
        if tree is not None:
            check_tree(*tree, len(counts))
        self.nodes, self.codes, self.mask = tree_paths(*tree) if tree is not None else huffman_paths(counts)
        self.sign = (2 * self.codes - 1) * self.mask                # +1 / -1 on the path, 0 off it
        # measured crossover (bench_hs.output_layer_step_us, dim 100): dense 220 vs paths 304 us
        # at 250 labels, 615 vs 364 us at 1,000
        self.dense = W.shape[0] <= 32 * self.nodes.shape[1]

    def probs(self, h):
        s = (h @ self.W.T)[:, self.nodes]                           # (B, C, D)
        return (F.logsigmoid(s * self.sign) * self.mask).sum(-1).exp()

    def probs_np(self, h):
        s = (self.W.numpy() @ h)[self.nodes.numpy()] * self.sign.numpy()     # (C, D)
        return np.exp((-np.logaddexp(0, -s) * self.mask.numpy()).sum(1))    # log sigmoid(s) = -log(1 + e^-s)

    def prepare(self, target):
        if self.dense and len(target) * self.W.shape[0] <= DENSE_TARGETS_MAX:
            # per example, over all C-1 nodes: -code, and 1 on the path
            neg_codes = torch.zeros(len(target), self.W.shape[0]).scatter_(1, self.nodes[target], -self.codes[target])
            on_path = torch.zeros(len(target), self.W.shape[0]).scatter_(1, self.nodes[target], self.mask[target])
            return PathTargets(None, neg_codes, on_path)
        return PathTargets(self.nodes[target], self.codes[target], self.mask[target])

    def step(self, h, target, lr, need_loss=True):
        if not isinstance(target, PathTargets):
            target = self.prepare(target)
        if target.nodes is None:
            return self._step_dense(h, target, lr, need_loss)
        nodes, codes, mask = target.nodes, target.codes, target.mask    # (B, D) each
        B, D = nodes.shape
        Wn = self.W.index_select(0, nodes.view(-1)).view(B, D, -1)  # (B, D, dim) path rows
        s = torch.bmm(Wn, h.unsqueeze(2)).view(B, D)                 # (B, D) path scores
        loss = -(F.logsigmoid(s * (2 * codes - 1)) * mask).sum() if need_loss else None
        # (summed over the batch: averaging per node, as trainer.py does for frequent input
        # rows, starves the root and top nodes and loses ~30 points here)
        G = torch.sigmoid(s).sub_(codes).mul_(mask).mul_(-lr)      # lr (code - sigmoid(s)) on the path
        grad_h = torch.bmm(G.unsqueeze(1), Wn).view(B, -1)          # (B, dim), before W moves
        self.W.index_put_((nodes.view(-1),), (G.unsqueeze(2) * h.unsqueeze(1)).view(B * D, -1),
                          accumulate=True)
        return loss, grad_h

    def _step_dense(self, h, target, lr, need_loss):
        neg_codes, on_path = target.codes, target.mask              # (B, C-1) each
        s = torch.mm(h, self.W.t())                                 # (B, C-1) every node's score
        loss = -(F.logsigmoid(s * (-2 * neg_codes - 1)) * on_path).sum() if need_loss else None
        G = torch.addcmul(neg_codes, s.sigmoid_(), on_path)         # sigmoid(s) - code on the path, else 0
        grad_h = torch.addmm(h, G, self.W, beta=0, alpha=-lr)       # lr (code - sigmoid) W, before W moves
        self.W.addmm_(G.t(), h, alpha=-lr)
        return loss, grad_h

    def logit_direction(self, label):
        # log p is not linear in h; explain the summed signed path scores (linear in h)
        return (self.sign[label][:, None] * self.W[self.nodes[label]]).sum(0)


LOSSES = ("softmax", "hs", "ova")


def output_rows(name: str, nlabels: int) -> int:
    return nlabels - 1 if name == "hs" else nlabels


def create_loss(name: str, W: torch.Tensor, counts: list[int], tree=None) -> Loss:
    """The one switch that picks a loss (fastText's FastText::createLoss); `tree` (parent, code)
    replaces hierarchical softmax's Huffman tree."""
    if name == "softmax":
        return SoftmaxLoss(W)
    if name == "hs":
        return HierarchicalSoftmaxLoss(W, counts, tree)
    if name == "ova":
        return OneVsAllLoss(W)
    raise ValueError(f"unknown loss {name!r}; use one of {', '.join(LOSSES)}")
