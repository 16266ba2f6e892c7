"""fastText for classification (Joulin et al. 2016): embed the features of a text (words and
hashed n-grams), average them into one hidden vector h, and score labels with a linear layer.

    h = mean_{r in rows(text)} E[r]                 (dim,)    nn.EmbeddingBag, mode="mean"
    p(label | text) = loss.probs(h)                 softmax / hierarchical softmax (binary or
                                                    two-level) / one-vs-all

Word order is lost in the average, partially remedied by the n-gram rows. Because the model is
linear in the rows, the score of a label splits exactly into one term per feature:
    score_c = v_c . h = sum_r (v_c . E[r]) / n      -> `explain()`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from engine.classify.dictionary import Dictionary
from engine.classify.losses import create_loss, output_rows
from engine.classify.matrix import DenseMatrix, Matrix, QuantMatrix, matrix_from_tensors

MAX_CHARS = 20_000        # longer texts are truncated (with a notice) before prediction


@dataclass
class FastTextConfig:
    dim: int = 10                 # size of the word / n-gram vectors (and of h)
    word_ngrams: int = 2          # longest word n-gram; 1 = plain bag of words
    bucket: int = 200_000         # hashed rows shared by all n-grams
    minn: int = 0                 # shortest character n-gram (0 = none, fastText's supervised default)
    maxn: int = 0                 # longest character n-gram
    loss: str = "softmax"         # softmax | hs (hierarchical softmax) | hs2 (two-level softmax over
                                  # classes of similar labels, Goodman 2001) | ova (one-vs-all, multi-label)
    hs_tree: str = "huffman"      # hs's label tree, cut into classes for hs2: huffman (label counts,
                                  # fastText's) | similarity (label_tree.py; from the training texts,
                                  # saved with the model)
    min_count: int = 1            # words seen fewer times are dropped from the vocabulary
    lower: bool = True            # lowercase and split punctuation first


class FastText:
    def __init__(self, config: FastTextConfig, dictionary: Dictionary, input: Matrix, W: torch.Tensor,
                 output_q: QuantMatrix | None = None, tree=None):
        self.config = config
        self.dict = dictionary
        self.input = input                                          # (nrows, dim) lookup
        self.loss = create_loss(config.loss, W, dictionary.label_counts, tree)
        # FastText.zip's qout: the output matrix stored as PQ codes; the loss computes with
        # W = their decoded rows, so only saving and sizes know about it
        self.output_q = output_q

    @classmethod
    def create(cls, config: FastTextConfig, dictionary: Dictionary, seed: int = 0) -> "FastText":
        """fastText's init: input uniform(-1/dim, 1/dim), output zeros."""
        gen = torch.Generator().manual_seed(seed)
        E = torch.empty(dictionary.nrows, config.dim).uniform_(-1 / config.dim, 1 / config.dim, generator=gen)
        W = torch.zeros(output_rows(config.loss, len(dictionary.labels)), config.dim)
        return cls(config, dictionary, DenseMatrix(E), W)

    @property
    def labels(self) -> list[str]:
        return self.dict.labels

    @property
    def tree(self):
        """The label tree the loss factorizes over, as the model file stores it: hierarchical
        softmax's (parent, code) when not Huffman's (which the counts give); for the two-level
        softmax, always, each label's class (its parent in a two-level tree). Else None."""
        return getattr(self.loss, "tree", None)

    def set_tree(self, tree) -> None:
        """The loss over another label tree (label_tree.build_tree; for hs2 its tree_classes),
        before training (`create` starts with Huffman's: the similarity tree needs the encoded
        texts)."""
        self.loss = create_loss(self.config.loss, self.loss.W, self.dict.label_counts, tree)

    # -- inference ----------------------------------------------------------------------------
    @torch.no_grad()
    def probs_rows(self, rows: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Label probabilities for encoded texts: rows (N,), offsets (B,) -> (B, nlabels)."""
        return self.loss.probs(self.input.bag(rows, offsets))

    def probs_texts(self, texts: list[str]) -> torch.Tensor:
        rows, offsets = self.dict.encode(texts)
        return self.probs_rows(torch.from_numpy(rows), torch.from_numpy(offsets[:-1]))

    def probs_one(self, text: str) -> np.ndarray:
        """Label probabilities of one text, in numpy (nlabels,): the same numbers as
        `probs_texts([text])[0]` (a test checks), without torch's per-op overhead, which is
        most of the cost for a 20-word text."""
        rows = np.asarray(self.dict.features(text[:MAX_CHARS], names=False)[0], dtype=np.int64)
        return self.loss.probs_np(self.input.mean_np(rows))

    def predict(self, text: str, k: int = 1) -> list[tuple[str, float]]:
        """Top-k (label, probability) for one text."""
        p = self.probs_one(text)
        top = np.argsort(-p, kind="stable")[:max(1, k)]
        return [(self.labels[i], float(p[i])) for i in top]

    @torch.no_grad()
    def explain(self, text: str, label: int | None = None) -> list[tuple[str, float]]:
        """(n-gram, contribution to the label's score) for every word and word n-gram of the text,
        in text order; a word's character n-grams are added to the word. The contributions sum
        exactly to the score (see the module docstring)."""
        rows, names = self.dict.features(text[:MAX_CHARS])
        if not rows:
            return []
        if label is None:
            label = self.predict(text)[0][0]
            label = self.labels.index(label)
        vecs = self.input.rows_np(np.asarray(rows, dtype=np.int64))  # (n, dim)
        kept = np.ones(len(rows), dtype=bool)
        if self.input.kept is not None:                             # pruned rows are not in the bag
            kept = np.abs(vecs).sum(1) > 0
        if not kept.any():
            return []
        contrib = vecs @ self.loss.logit_direction(label).numpy() / np.float32(kept.sum())
        # one entry per word: rows named '' are more character n-grams of the word before them
        group = np.cumsum([n != "" for n in names]) - 1
        weight = np.bincount(group, weights=contrib.astype(np.float64))
        has_rows = np.bincount(group, weights=kept) > 0
        return [(n, w) for n, w, k in zip((n for n in names if n), weight.tolist(), has_rows) if k]

    # -- weights ------------------------------------------------------------------------------
    def tensors(self) -> dict:
        out = self.output_q.tensors("output") if self.output_q else {"output.weight": self.loss.W}
        if self.config.loss == "hs2":
            out["output.label_class"] = torch.as_tensor(self.tree, dtype=torch.long)
        elif self.tree is not None:                                 # a Huffman tree is rebuilt from counts
            out["output.tree_parent"], out["output.tree_code"] = (torch.as_tensor(a, dtype=torch.long)
                                                                  for a in self.tree)
        return {**self.input.tensors(), **out}

    @classmethod
    def from_tensors(cls, tensors: dict, config: dict, dictionary: dict | Dictionary) -> "FastText":
        cfg = FastTextConfig(**config)
        d = dictionary if isinstance(dictionary, Dictionary) else Dictionary.from_dict(dictionary)
        tree = None
        if cfg.loss == "hs2":
            if "output.label_class" not in tensors:
                raise ValueError("the file lacks its label classes")
            tree = tensors["output.label_class"].tolist()
        elif "output.tree_parent" in tensors:                       # files before hs_tree have none
            tree = (tensors["output.tree_parent"].tolist(), tensors["output.tree_code"].tolist())
        elif cfg.loss == "hs" and cfg.hs_tree != "huffman":
            raise ValueError(f"the file lacks its {cfg.hs_tree} label tree")
        input_matrix = matrix_from_tensors(tensors, cfg.dim)
        output_q = None if "output.weight" in tensors else matrix_from_tensors(tensors, cfg.dim, "output")
        W = tensors["output.weight"].float() if output_q is None else output_q.dense()
        check_shapes(cfg, d, input_matrix, W)
        return cls(cfg, d, input_matrix, W, output_q, tree)

    def copy(self) -> "FastText":
        """A frozen copy for the interactive lane (training keeps mutating the original). The
        dictionary is shared, not rebuilt: nothing changes one once built (pruning makes a new
        one), and rebuilding a 121k-word one took most of a training checkpoint's 75 ms."""
        t = {k: v.clone() for k, v in self.tensors().items()}
        return FastText.from_tensors(t, asdict(self.config), self.dict)

    def nbytes(self) -> int:
        out = self.output_q.nbytes() if self.output_q else self.loss.W.numel() * 4
        tree = 8 * len(torch.as_tensor(self.tree).view(-1)) if self.tree is not None else 0   # int64
        return self.input.nbytes() + out + tree


def check_shapes(cfg: FastTextConfig, d: Dictionary, input_matrix: Matrix, W: torch.Tensor) -> None:
    """Weights that fit the card's dictionary and loss, or a ValueError: a card edited or copied
    from another model once predicted labels the weights never learnt, or failed with an index
    error deep inside a prediction."""
    kept, stored = input_matrix.kept, input_matrix.stored_rows()
    if kept is None and stored != d.nrows:
        raise ValueError(f"the card's dictionary has {d.nrows:,} rows and the weights {stored:,}")
    if kept is not None and (len(kept) != stored or (stored and int(kept.max()) >= d.nrows)):
        raise ValueError(f"the weights' kept rows do not fit the card's dictionary ({d.nrows:,} rows)")
    expected = output_rows(cfg.loss, len(d.labels))
    if W.shape[0] != expected:
        raise ValueError(f"the card names {len(d.labels)} labels ({cfg.loss}: {expected} output rows) "
                         f"and the weights have {W.shape[0]} output rows")
