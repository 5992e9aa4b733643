"""Statistics, ratios, target checks and number formatting for the benchmark harness.

Pure Python and stdlib only, so it can be imported (and unit-tested) without the benchmark's
virtualenv. Conventions:

- A *ratio* is always "how many times better plait is than the peer": plait/peer on rows where
  higher is better (ops/s, MB/s), peer/plait on rows where lower is better (KiB/connection).
  A ratio above 1.0 therefore always means plait wins.
- A *target* asks that ratio to reach a minimum (1.5 means "at least 1.5x the peer").
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Median, minimum and maximum of one implementation's samples."""

    median: float
    low: float
    high: float
    count: int


def summarize(samples: Sequence[float]) -> Summary:
    """Summarize samples; raises ValueError on an empty or non-finite sequence."""
    if not samples:
        raise ValueError("no samples")
    values = [float(s) for s in samples]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"non-finite sample in {values!r}")
    return Summary(statistics.median(values), min(values), max(values), len(values))


def ratio(plait: float, peer: float, higherIsBetter: bool = True) -> float | None:
    """How many times better plait is than the peer (>1 means plait wins); None if undefined."""
    if higherIsBetter:
        num, den = plait, peer
    else:
        num, den = peer, plait
    if den <= 0 or num < 0 or not (math.isfinite(num) and math.isfinite(den)):
        return None
    return num / den


def targetMet(measured: float | None, minimum: float) -> bool | None:
    """Whether a measured ratio reaches the target's minimum; None when nothing was measured."""
    if measured is None:
        return None
    # Ratios are printed to two decimals: do not report 1.499 as "1.50x, not met".
    return round(measured, 2) >= minimum


_SUFFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def formatValue(value: float) -> str:
    """Format a measurement with three significant digits and a k/M/G suffix for big values."""
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    for scale, suffix in _SUFFIXES:
        if magnitude >= scale * 0.9995:
            return f"{_threeDigits(value / scale)}{suffix}"
    return _threeDigits(value)


def _threeDigits(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 99.95:
        return f"{value:.0f}"
    if magnitude >= 9.995:
        return f"{value:.1f}"
    if magnitude >= 0.9995 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def formatRatio(value: float | None) -> str:
    """Format a ratio as '1.87x' (or '-' when it is undefined)."""
    return "-" if value is None else f"{value:.2f}x"
