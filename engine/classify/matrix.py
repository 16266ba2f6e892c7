"""The input matrix behind one lookup interface (fastText's Matrix / DenseMatrix / QuantMatrix):
the model asks for the mean of some rows per text and never knows how rows are stored.

Both kinds may be *pruned* (FastText.zip's cutoff): only the rows in ``kept`` (sorted original
row ids) are stored, and looking up a dropped row simply leaves it out of the bag.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.classify.quantizer import ProductQuantizer


class Matrix:
    kept: torch.Tensor | None = None      # sorted original row ids kept after a cutoff, or None

    def remap(self, rows: torch.Tensor, offsets: torch.Tensor):
        """Original row ids -> stored ones, dropping pruned rows (offsets shrink to match)."""
        if self.kept is None:
            return rows, offsets
        pos = torch.searchsorted(self.kept, rows).clamp(max=len(self.kept) - 1)
        hit = self.kept[pos] == rows
        csum = torch.cat([torch.zeros(1, dtype=torch.long), hit.long().cumsum(0)])
        return pos[hit], csum[offsets]

    def bag(self, rows: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Mean of the rows of each bag: rows (N,), offsets (B,) start of each bag -> (B, dim)."""
        raise NotImplementedError

    @staticmethod
    def _mean(weight, rows, offsets):
        # sum / count: embedding_bag's "sum" mode is several times faster than its "mean" on CPU
        total = torch.embedding_bag(weight, rows, offsets, False, 0)[0]          # (B, dim)
        ends = torch.cat([offsets[1:], torch.tensor([len(rows)])])
        return total / (ends - offsets).clamp(min=1)[:, None]

    def rows(self, rows: torch.Tensor) -> torch.Tensor:
        """The (decoded) vectors of some original row ids; dropped rows come back as zeros."""
        raise NotImplementedError

    def stored_rows(self) -> int:
        """How many rows are stored (the kept ones after a cutoff)."""
        raise NotImplementedError

    # -- numpy, for one text at a time: a few numpy calls cost less than torch's per-op overhead
    def rows_np(self, rows: np.ndarray) -> np.ndarray:
        """`rows` in numpy: (n,) original row ids -> (n, dim) float32, dropped rows zero."""
        pos, found = self._positions_np(rows)
        return self._stored_np(pos) * found[:, None]

    def mean_np(self, rows: np.ndarray) -> np.ndarray:
        """h for one text: the mean of its (kept) rows, as `bag` computes it -> (dim,)."""
        pos, found = self._positions_np(rows)
        pos = pos[found]
        if len(pos) == 0:
            return np.zeros(self.dim, dtype=np.float32)
        return self._stored_np(pos).sum(0) / np.float32(len(pos))

    def _positions_np(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored positions of original row ids, and which of them were kept (after a cutoff)."""
        if self.kept is None:
            return rows, np.ones(len(rows), dtype=bool)
        kept = self.kept.numpy()
        pos = np.minimum(np.searchsorted(kept, rows), len(kept) - 1)
        return pos, kept[pos] == rows

    def _stored_np(self, pos: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors().values())

    def tensors(self, prefix: str = "input") -> dict:
        raise NotImplementedError


class DenseMatrix(Matrix):
    def __init__(self, weight: torch.Tensor, kept: torch.Tensor | None = None):
        self.weight = weight                                        # (nrows, dim) float
        self.kept = kept
        self.dim = weight.shape[1]

    def bag(self, rows, offsets):
        rows, offsets = self.remap(rows, offsets)
        return self._mean(self.weight, rows, offsets)

    def stored_rows(self) -> int:
        return self.weight.shape[0]

    def rows(self, rows):
        if self.kept is None:
            return self.weight[rows].float()
        pos = torch.searchsorted(self.kept, rows).clamp(max=len(self.kept) - 1)
        return self.weight[pos].float() * (self.kept[pos] == rows)[:, None]

    def _stored_np(self, pos):
        return self.weight.numpy()[pos]            # .numpy() shares memory: no copy per call

    def tensors(self, prefix="input"):
        t = {f"{prefix}.weight": self.weight}
        if self.kept is not None:
            t[f"{prefix}.kept"] = self.kept.to(torch.int32)
        return t


class QuantMatrix(Matrix):
    """Rows stored as product-quantization codes (+ optionally a quantized norm per row)."""

    def __init__(self, pq: ProductQuantizer, codes: torch.Tensor, norm_pq: ProductQuantizer | None = None,
                 norm_codes: torch.Tensor | None = None, kept: torch.Tensor | None = None):
        self.pq, self.codes = pq, codes                             # codes (nrows, nsubq) uint8
        self.norm_pq, self.norm_codes = norm_pq, norm_codes         # (nrows, 1) uint8 or None
        self.kept = kept
        self.dim = pq.dim

    @classmethod
    def quantize(cls, weight: torch.Tensor, dsub: int, qnorm: bool = False, kept=None, seed: int = 0):
        weight = weight.float()
        norm_pq = norm_codes = None
        if qnorm:                                                   # unit directions + 1-d PQ of norms
            norms = weight.norm(dim=1, keepdim=True).clamp(min=1e-8)
            weight = weight / norms
            norm_pq = ProductQuantizer(1, 1).train(norms, seed=seed)
            norm_codes = norm_pq.encode(norms)
        pq = ProductQuantizer(weight.shape[1], dsub).train(weight, seed=seed)
        return cls(pq, pq.encode(weight), norm_pq, norm_codes, kept)

    def _decode_stored(self, pos: torch.Tensor) -> torch.Tensor:
        x = self.pq.decode(self.codes[pos])
        if self.norm_pq is not None:
            x = x * self.norm_pq.decode(self.norm_codes[pos])
        return x

    def _stored_np(self, pos):
        codes = self.codes.numpy()[pos].astype(np.int64)               # (n, nsubq)
        cents = self.pq.centroids.numpy()                                # (nsubq, k, dsub)
        x = cents[np.arange(self.pq.nsubq), codes].reshape(len(pos), self.dim)
        if self.norm_pq is not None:
            x = x * self.norm_pq.centroids.numpy()[0, self.norm_codes.numpy()[pos, 0].astype(np.int64)]
        return x

    def bag(self, rows, offsets):
        rows, offsets = self.remap(rows, offsets)
        vectors = self._decode_stored(rows)                         # (N, dim) only the rows used
        return self._mean(vectors, torch.arange(len(rows)), offsets)

    def stored_rows(self) -> int:
        return self.codes.shape[0]

    def rows(self, rows):
        if self.kept is None:
            return self._decode_stored(rows)
        pos = torch.searchsorted(self.kept, rows).clamp(max=len(self.kept) - 1)
        return self._decode_stored(pos) * (self.kept[pos] == rows)[:, None]

    def dense(self) -> torch.Tensor:
        """Every stored row decoded: (nstored, dim) (the quantized output layer computes with it)."""
        return self._decode_stored(torch.arange(self.codes.shape[0]))

    def tensors(self, prefix="input"):
        t = {f"{prefix}.codes": self.codes, f"{prefix}.centroids": self.pq.centroids}
        if self.norm_pq is not None:
            t[f"{prefix}.norm_codes"] = self.norm_codes
            t[f"{prefix}.norm_centroids"] = self.norm_pq.centroids
        if self.kept is not None:
            t[f"{prefix}.kept"] = self.kept.to(torch.int32)
        return t


def matrix_from_tensors(t: dict, dim: int, prefix: str = "input") -> Matrix:
    kept = t[f"{prefix}.kept"].long() if f"{prefix}.kept" in t else None
    if f"{prefix}.weight" in t:
        return DenseMatrix(t[f"{prefix}.weight"].float(), kept)
    cents = t[f"{prefix}.centroids"].float()
    pq = ProductQuantizer(dim, cents.shape[2], cents.shape[1], cents)
    norm_pq = None
    if f"{prefix}.norm_centroids" in t:
        nc = t[f"{prefix}.norm_centroids"].float()
        norm_pq = ProductQuantizer(1, 1, nc.shape[1], nc)
    return QuantMatrix(pq, t[f"{prefix}.codes"], norm_pq, t.get(f"{prefix}.norm_codes"), kept)
