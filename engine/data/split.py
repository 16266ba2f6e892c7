"""Deterministic splits: by a hash of a stable id, never by an unseeded random draw."""
from __future__ import annotations

import hashlib


def bucket(key: str, buckets: int = 100) -> int:
    """A stable bucket in [0, buckets) for `key` (same on every machine and Python run)."""
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def hash_split(key: str, test_percent: int = 10, valid_percent: int = 0) -> str:
    """'test', 'valid' or 'train' for `key`, by its hash bucket out of 100."""
    b = bucket(key)
    if b < test_percent:
        return "test"
    if b < test_percent + valid_percent:
        return "valid"
    return "train"
