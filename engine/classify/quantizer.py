"""Product quantization (Jégou et al. 2011), as FastText.zip uses it (src/productquantizer.cc).

A vector of `dim` floats is cut into dim/dsub sub-vectors; each sub-space has its own codebook
of k=256 centroids learnt by k-means, so a row is stored as dim/dsub bytes. This file only
trains codebooks and encodes/decodes; QuantMatrix (matrix.py) uses it behind the lookup interface.
"""
from __future__ import annotations

import torch


def kmeans(x: torch.Tensor, k: int, niter: int, gen: torch.Generator) -> torch.Tensor:
    """Lloyd's k-means on x (n, d) -> centroids (k, d); empty clusters restart on a random point."""
    n = x.shape[0]
    c = x[torch.randperm(n, generator=gen)[:k]].clone()
    for _ in range(niter):
        assign = torch.cdist(x, c).argmin(1)                        # (n,)
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        empty = counts == 0
        c = sums / counts.clamp(min=1)[:, None]
        if empty.any():
            c[empty] = x[torch.randint(n, (int(empty.sum()),), generator=gen)]
    return c


class ProductQuantizer:
    def __init__(self, dim: int, dsub: int, k: int = 256, centroids: torch.Tensor | None = None):
        if dsub < 1 or dim % dsub:
            raise ValueError(f"dsub must divide the dimension {dim} (got {dsub})")
        self.dim, self.dsub, self.k = dim, dsub, k
        self.nsubq = dim // dsub
        self.centroids = centroids                                  # (nsubq, k, dsub)

    def train(self, x: torch.Tensor, niter: int = 25, seed: int = 0, max_points: int = 65536):
        gen = torch.Generator().manual_seed(seed)
        if x.shape[0] > max_points:                                 # fastText samples too
            x = x[torch.randperm(x.shape[0], generator=gen)[:max_points]]
        self.k = min(self.k, x.shape[0])
        xs = x.float().reshape(x.shape[0], self.nsubq, self.dsub)  # (n, nsubq, dsub)
        self.centroids = torch.stack([kmeans(xs[:, m], self.k, niter, gen) for m in range(self.nsubq)])
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        xs = x.float().reshape(x.shape[0], self.nsubq, self.dsub).transpose(0, 1)  # (nsubq, n, dsub)
        codes = torch.cdist(xs, self.centroids).argmin(-1)          # (nsubq, n)
        return codes.T.to(torch.uint8).contiguous()                 # (n, nsubq)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        m = torch.arange(self.nsubq)
        return self.centroids[m, codes.long()].reshape(codes.shape[0], self.dim)  # (n, dim)
