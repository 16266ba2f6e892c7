"""Product quantization (Jégou et al. 2011), as FastText.zip uses it (src/productquantizer.cc).

A vector of `dim` floats is cut into dim/dsub sub-vectors; each sub-space has its own codebook
of k=256 centroids learnt by k-means, so a row is stored as dim/dsub bytes. This file only
trains codebooks and encodes/decodes; QuantMatrix (matrix.py) uses it behind the lookup interface.
"""
from __future__ import annotations

import torch


def nearest(x: torch.Tensor, c: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Index of the nearest centroid for each row: argmin_j |c_j|^2 - 2 x.c_j, by matmul in
    cache-sized chunks (torch.cdist is ~5x slower for these small dimensions)."""
    c2 = (c * c).sum(1)[None, :]
    return torch.cat([torch.addmm(c2, x[i:i + chunk], c.T, alpha=-2).min(1).indices
                      for i in range(0, len(x), chunk)])


def kmeans(x: torch.Tensor, k: int, niter: int, gen: torch.Generator) -> torch.Tensor:
    """Lloyd's k-means on x (n, d) -> centroids (k, d); empty clusters restart on a random point."""
    n = x.shape[0]
    c = x[torch.randperm(n, generator=gen)[:k]].clone()
    for _ in range(niter):
        assign = nearest(x, c)                                      # (n,)
        sums = torch.zeros_like(c).index_put_((assign,), x, accumulate=True)
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

    def train(self, x: torch.Tensor, niter: int = 20, seed: int = 0, max_points: int = 16384):
        gen = torch.Generator().manual_seed(seed)
        if x.shape[0] > max_points:        # fastText samples too (262,144 points, 25 iterations)
            x = x[torch.randperm(x.shape[0], generator=gen)[:max_points]]
        self.k = min(self.k, x.shape[0])
        xs = x.float().reshape(x.shape[0], self.nsubq, self.dsub)  # (n, nsubq, dsub)
        self.centroids = torch.stack([kmeans(xs[:, m], self.k, niter, gen) for m in range(self.nsubq)])
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        xs = x.float().reshape(x.shape[0], self.nsubq, self.dsub)  # (n, nsubq, dsub)
        codes = torch.stack([nearest(xs[:, m], self.centroids[m]) for m in range(self.nsubq)], 1)
        return codes.to(torch.uint8)                                # (n, nsubq)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        m = torch.arange(self.nsubq)
        return self.centroids[m, codes.long()].reshape(codes.shape[0], self.dim)  # (n, dim)
