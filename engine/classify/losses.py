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

from engine.classify.label_tree import check_tree, huffman_tree, n_classes, tree_classes, tree_paths


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


class ClassTargets:
    """The two-level softmax's per-example targets, prepared once per training and sliced like
    the label tensor they replace: y_class (n, K) one-hot class; rows (n, M) the W rows of the
    labels of the example's class (padded to the largest class M); y_label (n, M) one-hot label
    among them; pad (n, M) 0, or -inf on padding (so it gets probability 0)."""

    def __init__(self, y_class, rows, y_label, pad):
        self.y_class, self.rows, self.y_label, self.pad = y_class, rows, y_label, pad

    def __getitem__(self, idx) -> "ClassTargets":
        return ClassTargets(self.y_class[idx], self.rows[idx], self.y_label[idx], self.pad[idx])

    def __len__(self):
        return len(self.rows)


class DenseClassTargets:
    """The two-level softmax's targets for small label sets, over all K + C output rows: y (n,
    K + C) 1 on the example's class row and on its label's row; pad (n, C) 0 on the labels of
    the example's class, -inf elsewhere (the within-class softmax sees only those)."""

    def __init__(self, y, pad):
        self.y, self.pad = y, pad

    def __getitem__(self, idx) -> "DenseClassTargets":
        return DenseClassTargets(self.y[idx], self.pad[idx])

    def __len__(self):
        return len(self.y)


class TwoLevelSoftmaxLoss(Loss):
    """The original hierarchical softmax (Goodman 2001, "Classes for fast maximum entropy
    training"): labels are grouped into K ~ sqrt(C) classes, and
        p(label | h) = p(class | h) * p(label | class, h),
    each factor a softmax: over the K class rows, then over the rows of the class's labels only.
    W is (K + C, dim): K class rows, then one row per label. A training example costs
    O(K + class size) instead of O(C). The classes are a label tree cut into K subtrees
    (label_tree.tree_classes): Huffman's by default (classes of about equal frequency), or the
    similarity tree's (classes of similar labels), kept as `tree` so the model file can store
    them. Each decision keeps softmax's one score per choice, instead of HierarchicalSoftmaxLoss's
    chain of binary decisions, each shared by many unrelated labels.

    SGD step, with z = W_class h, s = W_members h, p_c = softmax(z), p_l = softmax(s):
    G_c = lr (y_c - p_c), G_l = lr (y_l - p_l); grad_h = G_c W_class + G_l W_members;
    W_class += G_c^T h, W_members += G_l^T h (only the rows of the example's class).
    Like HierarchicalSoftmaxLoss, small label sets score every row with one matmul (masking the
    other classes' labels): in torch that costs less than gathering each example's class rows."""
    name = "hs2"

    def __init__(self, W, counts, label_class=None):
        super().__init__(W)
        if label_class is None:
            label_class = tree_classes(*huffman_tree(counts), counts)
        self.tree = [int(c) for c in label_class]                           # saved with the model
        self.label_class = torch.tensor(self.tree, dtype=torch.long)        # (C,) class of each label
        C = len(self.label_class)
        self.K = K = W.shape[0] - C
        if len(counts) != C or K < 1 or sorted(set(self.tree)) != list(range(K)):
            raise ValueError(f"two-level softmax: {W.shape[0]} output rows do not fit {C} labels "
                             f"in classes 0..{K - 1}, each used")
        members = [torch.nonzero(self.label_class == k).view(-1) for k in range(K)]
        M = max(len(m) for m in members)
        # (K, M) each: the W rows of each class's labels (padded with its first), -inf on padding
        self.members = torch.stack([K + torch.cat([m, m[:1].expand(M - len(m))]) for m in members])
        self.pad = torch.stack([F.pad(torch.zeros(len(m)), (0, M - len(m)), value=float("-inf"))
                                for m in members])
        self.pos = torch.empty(C, dtype=torch.long)                         # label's place in its class
        for m in members:
            self.pos[m] = torch.arange(len(m))
        # every row's score by one matmul, unless the dense targets would not fit in memory:
        # measured (one step, batch 64, dim 100, Zipf counts) 146 vs 293 us gathering the
        # class rows at 66 labels, 690 vs 4,861 at 1,000, 11,981 vs 37,745 at 10,000
        self.dense = True

    def _log_probs(self, z):
        """(B, K + C) scores -> (B, C) log p(label) = log p(class) + log p(label | class)."""
        K, c = self.K, self.label_class
        log_class = torch.log_softmax(z[:, :K], dim=1)                      # (B, K)
        s = z[:, K:]                                                        # (B, C)
        norm = torch.logsumexp(z[:, self.members] + self.pad, dim=2)        # (B, K) per class
        return log_class[:, c] + s - norm[:, c]

    def probs(self, h):
        return self._log_probs(h @ self.W.T).exp()

    def probs_np(self, h):
        z = self.W.numpy() @ h                                              # (K + C,)
        K, c = self.K, self.label_class.numpy()
        zc = z[:K] - z[:K].max()
        log_class = zc - np.log(np.exp(zc).sum())
        zm = z[self.members.numpy()] + self.pad.numpy()                     # (K, M)
        top = zm.max(1)
        norm = top + np.log(np.exp(zm - top[:, None]).sum(1))
        return np.exp(log_class[c] + z[K:] - norm[c])

    def prepare(self, target):
        c = self.label_class[target]
        K, C = self.K, len(self.label_class)
        if self.dense and len(target) * (K + C) <= DENSE_TARGETS_MAX:
            y = torch.zeros(len(target), K + C)
            y[torch.arange(len(target)), c] = 1
            y[torch.arange(len(target)), K + target] = 1
            pad = torch.where(self.label_class[None, :] == c[:, None], 0.0, float("-inf"))
            return DenseClassTargets(y, pad)
        return ClassTargets(F.one_hot(c, self.K).float(), self.members[c],
                            F.one_hot(self.pos[target], self.members.shape[1]).float(), self.pad[c])

    def step(self, h, target, lr, need_loss=True):
        if not isinstance(target, (ClassTargets, DenseClassTargets)):
            target = self.prepare(target)
        if isinstance(target, DenseClassTargets):
            return self._step_dense(h, target, lr, need_loss)
        B, M = target.rows.shape
        Wc = self.W[:self.K]                                                # (K, dim) view
        Wm = self.W.index_select(0, target.rows.view(-1)).view(B, M, -1)   # (B, M, dim) class's labels
        p_c = torch.softmax(torch.mm(h, Wc.t()), dim=1)                     # (B, K)
        # (a multiply-sum: bmm as B matrix-vector products was 5x slower here)
        p_l = torch.softmax((Wm * h.unsqueeze(1)).sum(2) + target.pad, dim=1)  # (B, M)
        loss = None
        if need_loss:
            loss = -(torch.log(p_c.clamp(min=1e-30)) * target.y_class).sum() \
                   - (torch.log(p_l.clamp(min=1e-30)) * target.y_label).sum()
        G_c = p_c.sub_(target.y_class).mul_(-lr)                            # lr (y - p); 0 on padding
        G_l = p_l.sub_(target.y_label).mul_(-lr)
        grad_h = torch.mm(G_c, Wc).add_(torch.bmm(G_l.unsqueeze(1), Wm).view(B, -1))  # before W moves
        Wc.addmm_(G_c.t(), h)
        self.W.index_add_(0, target.rows.view(-1), (G_l.unsqueeze(2) * h.unsqueeze(1)).view(B * M, -1))
        return loss, grad_h

    def _step_dense(self, h, target, lr, need_loss):
        K = self.K
        z = torch.mm(h, self.W.t())                                         # (B, K + C) every row's score
        p = torch.cat([torch.softmax(z[:, :K], dim=1),                      # p(class), then p(label | class)
                       torch.softmax(z[:, K:] + target.pad, dim=1)], dim=1)  # (0 outside the class)
        loss = -(torch.log(p.clamp(min=1e-30)) * target.y).sum() if need_loss else None
        G = p.sub_(target.y).mul_(-lr)                                      # lr (y - p) on both softmaxes
        grad_h = torch.mm(G, self.W)                                        # before W moves
        self.W.addmm_(G.t(), h)
        return loss, grad_h

    def logit_direction(self, label):
        # log p is not linear in h; explain the sum of the two centered logits (as softmax's):
        # the class's against all classes, the label's against its class's labels
        k = int(self.label_class[label])
        Wc, members = self.W[:self.K], self.members[k][self.pad[k] == 0]
        return (Wc[k] - Wc.mean(0)) + (self.W[self.K + label] - self.W[members].mean(0))


LOSSES = ("softmax", "hs", "hs2", "ova")


def output_rows(name: str, nlabels: int) -> int:
    if name == "hs":
        return nlabels - 1
    if name == "hs2":
        return n_classes(nlabels) + nlabels
    return nlabels


def create_loss(name: str, W: torch.Tensor, counts: list[int], tree=None) -> Loss:
    """The one switch that picks a loss (fastText's FastText::createLoss); `tree` replaces the
    Huffman tree: (parent, code) for hs, each label's class (label_tree.tree_classes) for hs2."""
    if name == "softmax":
        return SoftmaxLoss(W)
    if name == "hs":
        return HierarchicalSoftmaxLoss(W, counts, tree)
    if name == "hs2":
        return TwoLevelSoftmaxLoss(W, counts, tree)
    if name == "ova":
        return OneVsAllLoss(W)
    raise ValueError(f"unknown loss {name!r}; use one of {', '.join(LOSSES)}")
