"""Timing helpers for `seqlab bench`: medians and p95 of repeated calls, measured the same way
for our model and the reference in the same run."""
from __future__ import annotations

import statistics
import time
from typing import Callable, Iterable


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation, like numpy's default."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize_ms(seconds: list[float]) -> dict:
    """{'n', 'p50_ms', 'p95_ms', 'mean_ms'} from a list of durations in seconds."""
    ms = [s * 1000.0 for s in seconds]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3) if ms else float("nan"),
            "p95_ms": round(percentile(ms, 95), 3), "mean_ms": round(statistics.fmean(ms), 3) if ms else float("nan")}


def time_each(fn: Callable, inputs: Iterable, warmup: int = 3) -> dict:
    """Call fn(x) for each input (after `warmup` untimed calls) and summarize the latencies."""
    inputs = list(inputs)
    for x in inputs[:warmup]:
        fn(x)
    times = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return summarize_ms(times)
