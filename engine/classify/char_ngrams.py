"""Character n-gram hashes of many words at once (fastText's subwords, vectorized with numpy).

fastText hashes every character n-gram (minn..maxn characters) of "<word>" with 32-bit FNV-1a
over its UTF-8 bytes. Done one n-gram at a time in Python, the setup took 0.80 s of a 1.50 s
training on the sentiment set (21k words, ~26 n-grams each at 3-6; one-off timing). Here the
words are grouped by length, so one group's n-grams all start at the same positions: each
FNV-1a step is one numpy operation over the whole group. Words with non-ASCII characters (few
in the English sets) keep the per-n-gram path, since a character there is several bytes.
"""
from __future__ import annotations

import numpy as np

FNV_OFFSET = np.uint64(2166136261)
FNV_PRIME = np.uint64(16777619)
MASK32 = np.uint64(0xFFFFFFFF)


def fnv1a(word: str) -> int:
    """fastText's 32-bit FNV-1a over the UTF-8 bytes (each byte sign-extended like int8_t)."""
    h = 2166136261
    for b in word.encode("utf-8"):
        h ^= (b | 0xFFFFFF00) if b >= 128 else b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def ngrams_of(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of "<word>": n = minn..maxn, each n left to right."""
    w = f"<{word}>"
    return [w[i:i + n] for n in range(minn, maxn + 1) for i in range(len(w) - n + 1)]


def char_ngram_hashes(words: list[str], minn: int, maxn: int, skip: str = "") -> tuple[np.ndarray, np.ndarray]:
    """FNV-1a hashes of every word's character n-grams, in ngrams_of's order.
    -> (hashes: uint64 holding uint32, flat; offsets: int64 [len(words) + 1]).
    The word equal to `skip` (fastText's `</s>`) gets none."""
    counts = np.zeros(len(words), dtype=np.int64)
    blocks: list[tuple[np.ndarray, np.ndarray]] = []         # (word indices, their hashes row-wise)
    by_length: dict[int, list[int]] = {}
    others, other_hashes = [], []                            # multi-byte characters: one at a time
    for i, w in enumerate(words):
        if w == skip:
            continue
        if w.isascii():
            by_length.setdefault(len(w) + 2, []).append(i)
        else:
            others.append(i)
            other_hashes.append([fnv1a(g) for g in ngrams_of(w, minn, maxn)])
    for length, idx in by_length.items():
        text = "".join(f"<{words[i]}>" for i in idx).encode("ascii")
        chars = np.frombuffer(text, dtype=np.uint8).reshape(len(idx), length).astype(np.uint64)
        per_n = []
        for n in range(minn, min(maxn, length) + 1):
            starts = length - n + 1
            h = np.full((len(idx), starts), FNV_OFFSET, dtype=np.uint64)
            for k in range(n):                               # ASCII bytes: no sign extension
                h ^= chars[:, k:k + starts]
                h *= FNV_PRIME
                h &= MASK32
            per_n.append(h)
        if per_n:
            blocks.append((np.array(idx), np.concatenate(per_n, axis=1)))
    for idx, h in blocks:
        counts[idx] = h.shape[1]
    counts[others] = [len(h) for h in other_hashes]
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    hashes = np.empty(int(offsets[-1]), dtype=np.uint64)
    for idx, h in blocks:
        hashes[offsets[idx][:, None] + np.arange(h.shape[1])] = h
    if others:
        slots = gather_ranges(np.arange(len(hashes)), offsets[others], counts[others])
        hashes[slots] = np.fromiter((h for hs in other_hashes for h in hs), dtype=np.uint64, count=len(slots))
    return hashes, offsets


def gather_ranges(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """values[starts[0]:starts[0]+counts[0]], values[starts[1]:...], ... concatenated."""
    total = int(counts.sum())
    if total == 0:
        return values[:0]
    ends = np.cumsum(counts)
    # index of each output element: its range's start plus its offset inside the range
    return values[np.repeat(starts - (ends - counts), counts) + np.arange(total)]
