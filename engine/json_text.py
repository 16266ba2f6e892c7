"""JSON that other tools can read: Python's json writes NaN and Infinity, which are not JSON
(an empty test split's accuracy is NaN). Every card and every CLI --json line goes through here,
with non-finite numbers written as null."""
from __future__ import annotations

import json
import math


def finite(obj):
    """obj with every NaN / ±inf float (in dicts, lists, tuples) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def dumps(obj, **options) -> str:
    return json.dumps(finite(obj), allow_nan=False, **options)
