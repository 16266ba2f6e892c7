"""Decoding-time convolution helpers shared by the recognizer (model.py) and the pair reader
(pairs.py): the frozen batch norm folded into its convolution, and 2x2 max pooling as the max of
four strided views (torch's CPU max_pool2d is slower than that on these small maps:
docs/BENCHMARKS.md, OCR decode latency). Both give the training path's numbers up to float rounding.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(conv: nn.Conv2d, bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """bn(conv(x)) in one pass when the batch norm is frozen: its scale and shift folded into the
    convolution's weight and bias (y = s·(conv(x) - mean) + beta, s = gamma / sqrt(var + eps));
    equal to the two passes up to float rounding (~1e-6)."""
    if not isinstance(bn, nn.BatchNorm2d) or bn.training:
        return bn(conv(x))
    weight, bias = _folded(conv, bn)
    return F.conv2d(x, weight, bias, conv.stride, conv.padding)


def _folded(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple:
    """The folded (weight, bias), kept on `conv` until any of the six tensors it comes from
    changes: an in-place update (an optimizer step, load_state_dict) bumps a tensor's version, a
    new tensor (.to(), a copy) has another address. Folding on every call cost ~80 µs × 5 per
    decoded amount."""
    sources = (conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var)
    key = tuple((t.data_ptr(), t._version) if t is not None else None for t in sources)
    cached = conv.__dict__.get("_folded_cache")
    if cached is None or cached[0] != key:
        with torch.no_grad():
            s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            cached = (key, conv.weight * s[:, None, None, None], (bias - bn.running_mean) * s + bn.bias)
        conv.__dict__["_folded_cache"] = cached
    return cached[1], cached[2]


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """F.max_pool2d(x, 2) as the max of the four 2x2 offsets (an odd last row or column is
    dropped, as max_pool2d drops it)."""
    x = x[:, :, :x.shape[2] // 2 * 2, :x.shape[3] // 2 * 2]
    return torch.maximum(torch.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
                         torch.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))
