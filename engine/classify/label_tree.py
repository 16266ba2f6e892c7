"""Label trees for hierarchical softmax: which labels share the decisions on their paths.

Hierarchical softmax scores a label as  p(label | h) = prod over its root->leaf path of
sigmoid(+-w_node . h): one linear yes/no decision per internal node. fastText builds the tree by
Huffman over label *frequencies* (frequent labels get short paths, so training is fast), which
puts unrelated labels under one node: on the Bible set its root must split Mark and Genesis (one
side) from Matthew and Exodus (the other) with one linear decision over h. A tree built from label
*similarity* (for words: Morin & Bengio 2005 took WordNet's, Mnih & Hinton 2009 clustered learned
word vectors) groups labels whose texts use the same words, so the upper decisions are the easy
ones (its root: Samuel, Kings, Chronicles, Isaiah... vs the New Testament, Psalms, Proverbs...;
on SOTU, the presidents before 1900 vs after).

A tree over C labels has 2C-1 nodes: leaves 0..C-1 (the label ids), internal nodes C..2C-2 in
order of creation, root 2C-2. It is two arrays over the 2C-2 non-root nodes: `parent` and
`code` (1 = the parent's right/'true' branch). Internal node C+k is row k of the output matrix.
"""
from __future__ import annotations

import heapq
import warnings

import numpy as np
import torch


def tree_paths(parent, code) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(parent, code) -> per label its root->leaf path as padded tensors of shape (C, D):
    nodes (internal node index 0..C-2), codes (1 = right branch), mask (1 on the path)."""
    parent, code = [int(p) for p in parent], [int(c) for c in code]
    C = (len(parent) + 2) // 2
    paths = []
    for leaf in range(C):
        path, i = [], leaf
        while i != 2 * C - 2:                                    # up to the root
            path.append((parent[i] - C, code[i]))
            i = parent[i]
        paths.append(path[::-1])
    D = max(len(p) for p in paths)
    nodes = torch.zeros(C, D, dtype=torch.long)
    codes = torch.zeros(C, D)
    mask = torch.zeros(C, D)
    for l, p in enumerate(paths):
        for d, (n, c) in enumerate(p):
            nodes[l, d], codes[l, d], mask[l, d] = n, c, 1.0
    return nodes, codes, mask


def check_tree(parent, code, C: int) -> None:
    """ValueError unless (parent, code) is a binary tree over C leaves in the form above (a
    model file's tree is checked before use)."""
    parent, code = [int(p) for p in parent], [int(c) for c in code]
    if C < 2 or len(parent) != 2 * C - 2 or len(code) != 2 * C - 2:
        raise ValueError(f"a label tree over {C} labels needs {2 * C - 2} parent/code entries")
    children = {}
    for i, (p, c) in enumerate(zip(parent, code)):
        if not (max(C, i + 1) <= p <= 2 * C - 2) or c not in (0, 1):   # parents come after children
            raise ValueError(f"label tree: bad parent/code at node {i}")
        children.setdefault(p, set()).add(c)
    if any(children.get(n) != {0, 1} for n in range(C, 2 * C - 1)):
        raise ValueError("label tree: every internal node needs exactly one left and one right child")


def huffman_tree(counts: list[int]) -> tuple[list[int], list[int]]:
    """Huffman tree over label frequencies (fastText's HierarchicalSoftmaxLoss::buildTree)."""
    C = len(counts)
    if C < 2:
        raise ValueError("hierarchical softmax needs at least 2 labels")
    parent, code = [0] * (2 * C - 2), [0] * (2 * C - 2)
    heap = [(c, i) for i, c in enumerate(counts)]               # (count, node)
    heapq.heapify(heap)
    for node in range(C, 2 * C - 1):
        c0, a = heapq.heappop(heap)
        c1, b = heapq.heappop(heap)
        parent[a], parent[b], code[b] = node, node, 1
        heapq.heappush(heap, (c0 + c1, node))
    return parent, code


# -- similarity tree ---------------------------------------------------------------------------
def label_similarity(rows, offsets, target, nlabels: int, nrows: int) -> np.ndarray:
    """(C, C) cosine similarity of the labels' profiles: per label the centroid of its training
    texts' bags of input rows (words and hashed n-grams; each text's rows count 1/len, so long
    texts do not dominate). rows/offsets/target as in trainer.Encoded (offsets end with N;
    target = label ids, -1 for none). The (C, nrows) profiles P stay sparse: S = P P^T.
    (Dense blocks of P took 10.1 s for 1,189 labels, mostly multiplying zeros; this takes
    0.6 s there, 0.21 s for the Bible's 66 books, 0.46-0.58 s for SOTU's 43 presidents.)"""
    rows, offsets, target = (torch.as_tensor(t) for t in (rows, offsets, target))
    lens = offsets[1:] - offsets[:-1]
    label = torch.repeat_interleave(target, lens)                      # (N,) label of each row
    weight = torch.repeat_interleave(1.0 / lens.clamp(min=1).double(), lens)
    keep = label >= 0
    P = torch.sparse_coo_tensor(torch.stack([label[keep], rows[keep]]), weight[keep], (nlabels, nrows),
                                check_invariants=False).coalesce()      # sums a row's weights per label
    lab = P.indices()[0]
    norm = torch.zeros(nlabels, dtype=torch.float64).index_add_(0, lab, P.values() ** 2)
    P = torch.sparse_coo_tensor(P.indices(), P.values() / norm.clamp(min=1e-24).sqrt()[lab],
                                (nlabels, nrows), is_coalesced=True, check_invariants=False)
    with warnings.catch_warnings():      # "sparse CSR support is in beta", from inside torch
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse.mm(P, P.t()).to_dense().numpy()


def similarity_tree(sim: np.ndarray, counts: list[int]) -> tuple[list[int], list[int]]:
    """Binary tree by recursive spectral bisection (normalized cut, Shi & Malik 2000) of the
    label similarity graph: order a set of labels by the Fiedler vector of its normalized
    Laplacian (similar labels end up next to each other) and cut it where the training counts
    are halved, so that, as in a Huffman tree, frequent labels stay shallow.
    (Agglomerative average linkage on the same similarity gave about the same accuracy on the
    Bible and SOTU sets, but chains: trees twice as deep. docs/BENCHMARKS.md.)"""
    C = len(counts)
    if C < 2:
        raise ValueError("hierarchical softmax needs at least 2 labels")
    A = np.maximum(np.asarray(sim, dtype=np.float64), 0.0)
    parent, code = [0] * (2 * C - 2), [0] * (2 * C - 2)
    next_node = [C]

    def build(items: list[int]) -> int:             # returns the node id of the subtree's root
        if len(items) == 1:
            return items[0]
        order = np.arange(len(items))
        if len(items) > 2:
            a = A[np.ix_(items, items)]
            np.fill_diagonal(a, 0.0)
            d = 1.0 / np.sqrt(np.maximum(a.sum(1), 1e-12))
            _, vecs = np.linalg.eigh(np.eye(len(items)) - d[:, None] * a * d[None, :])  # ascending
            f = vecs[:, 1] * d                                      # Fiedler vector
            f = -f if f[np.argmax(np.abs(f))] < 0 else f            # eigh's sign is arbitrary
            order = np.argsort(f, kind="stable")
        w = np.cumsum(np.asarray(counts, dtype=np.float64)[items][order])
        k = int(np.clip(np.argmin(np.abs(w[:-1] - w[-1] / 2)) + 1, 1, len(items) - 1))
        left = build([items[i] for i in order[:k]])
        right = build([items[i] for i in order[k:]])
        node = next_node[0]                                         # post-order: root last
        next_node[0] += 1
        parent[left], parent[right], code[right] = node, node, 1
        return node

    build(list(range(C)))
    return parent, code


def build_tree(kind: str, counts: list[int], data=None, nrows: int = 0) -> tuple[list[int], list[int]]:
    """The one switch: "huffman" (label counts) or "similarity" (needs the encoded training
    set `data`: trainer.Encoded with label-id targets, and the input matrix's row count)."""
    if kind == "huffman":
        return huffman_tree(counts)
    if kind == "similarity":
        if data is None:
            raise ValueError("a similarity tree needs the training texts")
        return similarity_tree(label_similarity(data.rows, data.offsets, data.target, len(counts), nrows),
                               counts)
    raise ValueError(f"unknown label tree {kind!r}; use huffman or similarity")


TREES = ("huffman", "similarity")


# -- two-level classes (Goodman 2001) ----------------------------------------------------------
def n_classes(C: int) -> int:
    """Goodman's choice: about sqrt(C) classes of about sqrt(C) labels, so that the class softmax
    and the within-class softmax each cost O(sqrt C) per example."""
    return max(1, min(C, round(C ** 0.5)))


def tree_classes(parent, code, counts: list[int], k: int | None = None) -> list[int]:
    """Goodman's classes from a label tree: cut it into k (default n_classes) subtrees by
    splitting, from the root, the heaviest subtree (most training examples; a single label
    cannot be split) into its two children until there are k. Each label's class is its
    subtree's place in the tree's left-to-right order. Both trees here halve the counts at each
    split, so this is their cut at depth log2(k) when k is a power of 2: classes of about equal
    frequency (as Mikolov et al. 2011's frequency binning), of similar labels on the similarity tree."""
    C = len(counts)
    k = n_classes(C) if k is None else k
    children = {}
    for i, (p, c) in enumerate(zip(parent, code)):
        children.setdefault(int(p), [None, None])[int(c)] = i
    weight = list(counts) + [0] * (C - 1)
    for node in range(C, 2 * C - 1):                               # children come before parents
        weight[node] = sum(weight[ch] for ch in children[node])
    frontier = [2 * C - 2]
    while len(frontier) < k:
        splittable = [i for i, n in enumerate(frontier) if n >= C]
        if not splittable:
            break
        i = max(splittable, key=lambda i: weight[frontier[i]])      # first of the heaviest
        frontier[i:i + 1] = children[frontier[i]]
    label_class = [0] * C
    for cls, node in enumerate(frontier):
        stack = [node]
        while stack:
            n = stack.pop()
            if n < C:
                label_class[n] = cls
            else:
                stack += children[n]
    return label_class
