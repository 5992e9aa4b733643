"""Calibrated timing loops for in-process micro-benchmarks (ops/s)."""

from __future__ import annotations

import time
from collections.abc import Callable

# Calibration stops once a batch takes this long; it doubles as the warm-up.
_CALIBRATE_SECONDS = 0.1


OPS_PER_CPU_SECOND = "ops_per_cpu_s"  # the extra figure: ops per second of process CPU time

Record = Callable[[str, float], None]


def _timeBatch(op: Callable[[], object], n: int) -> float:
    perf = time.perf_counter
    start = perf()
    for _ in range(n):
        op()
    return perf() - start


def _timeBatchCpu(op: Callable[[], object], n: int) -> tuple[float, float]:
    """Wall and process-CPU seconds for n ops."""
    perf, cpu = time.perf_counter, time.process_time
    cpuStart = cpu()
    start = perf()
    for _ in range(n):
        op()
    return perf() - start, cpu() - cpuStart


def opsPerSecond(
    op: Callable[[], object], samples: int, seconds: float, record: Record | None = None
) -> list[float]:
    """Run `op` in batches sized to take about `seconds` each; return one ops/s per batch.

    The garbage collector stays enabled: collection cost is part of what a user pays. With
    `record`, also records ops per second of process CPU time for each batch: that figure does
    not drop when other processes take the CPU away, so it is steadier on a busy machine.
    """
    n = 1
    while True:
        elapsed = _timeBatch(op, n)
        if elapsed >= _CALIBRATE_SECONDS:
            break
        # Grow quickly while batches are far too short, then settle.
        n *= 10 if elapsed < _CALIBRATE_SECONDS / 20 else 2
    n = max(1, round(n * seconds / elapsed))
    rates = []
    for _ in range(samples):
        wall, cpu = _timeBatchCpu(op, n)
        rates.append(n / wall)
        if record is not None and cpu > 0:
            record(OPS_PER_CPU_SECOND, n / cpu)
    return rates


def batchedPerSecond(
    batch: Callable[[int], float], samples: int, seconds: float, record: Record | None = None
) -> list[float]:
    """Like `opsPerSecond` for a `batch(n) -> elapsed seconds` that times n ops itself."""
    n = 1
    while True:
        elapsed = batch(n)
        if elapsed >= _CALIBRATE_SECONDS:
            break
        n *= 10 if elapsed < _CALIBRATE_SECONDS / 20 else 2
    n = max(1, round(n * seconds / elapsed))
    rates = []
    for _ in range(samples):
        cpuStart = time.process_time()
        rates.append(n / batch(n))
        cpu = time.process_time() - cpuStart
        if record is not None and cpu > 0:
            record(OPS_PER_CPU_SECOND, n / cpu)
    return rates
