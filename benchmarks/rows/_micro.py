"""Calibrated timing loops for in-process micro-benchmarks (ops/s)."""

from __future__ import annotations

import time
from collections.abc import Callable

# Calibration stops once a batch takes this long; it doubles as the warm-up.
_CALIBRATE_SECONDS = 0.1


def _timeBatch(op: Callable[[], object], n: int) -> float:
    perf = time.perf_counter
    start = perf()
    for _ in range(n):
        op()
    return perf() - start


def opsPerSecond(op: Callable[[], object], samples: int, seconds: float) -> list[float]:
    """Run `op` in batches sized to take about `seconds` each; return one ops/s per batch.

    The garbage collector stays enabled: collection cost is part of what a user pays.
    """
    n = 1
    while True:
        elapsed = _timeBatch(op, n)
        if elapsed >= _CALIBRATE_SECONDS:
            break
        # Grow quickly while batches are far too short, then settle.
        n *= 10 if elapsed < _CALIBRATE_SECONDS / 20 else 2
    n = max(1, round(n * seconds / elapsed))
    return [n / _timeBatch(op, n) for _ in range(samples)]


def batchedPerSecond(batch: Callable[[int], float], samples: int, seconds: float) -> list[float]:
    """Like `opsPerSecond` for a `batch(n) -> elapsed seconds` that times n ops itself."""
    n = 1
    while True:
        elapsed = batch(n)
        if elapsed >= _CALIBRATE_SECONDS:
            break
        n *= 10 if elapsed < _CALIBRATE_SECONDS / 20 else 2
    n = max(1, round(n * seconds / elapsed))
    return [n / batch(n) for _ in range(samples)]
