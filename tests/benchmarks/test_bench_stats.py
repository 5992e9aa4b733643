"""The benchmark harness's statistics and ratio code (benchmarks/stats.py, loaded by path)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "stats.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plait_bench_stats", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building classes
    spec.loader.exec_module(module)
    return module


stats = _load()


def test_summarizeMedianMinMax() -> None:
    """summarize gives the median, the extremes and the count."""
    s = stats.summarize([5.0, 1.0, 3.0, 9.0])
    assert (s.median, s.low, s.high, s.count) == (4.0, 1.0, 9.0, 4)


def test_summarizeOdd() -> None:
    """With an odd count the median is the middle sample."""
    assert stats.summarize([3, 100, 1]).median == 3


def test_summarizeRejectsEmptyAndNonFinite() -> None:
    """No samples, or a NaN/inf sample, is an error rather than a number."""
    with pytest.raises(ValueError):
        stats.summarize([])
    with pytest.raises(ValueError):
        stats.summarize([1.0, float("nan")])
    with pytest.raises(ValueError):
        stats.summarize([float("inf")])


def test_ratioHigherIsBetter() -> None:
    """Where higher is better the ratio is plait/peer."""
    assert stats.ratio(300.0, 200.0) == 1.5
    assert stats.ratio(100.0, 200.0, higherIsBetter=True) == 0.5


def test_ratioLowerIsBetter() -> None:
    """Where lower is better the ratio is peer/plait, so above 1 still means plait wins."""
    assert stats.ratio(2.0, 6.0, higherIsBetter=False) == 3.0
    assert stats.ratio(6.0, 2.0, higherIsBetter=False) == pytest.approx(1 / 3)


def test_ratioUndefined() -> None:
    """A zero denominator gives no ratio instead of a division error."""
    assert stats.ratio(1.0, 0.0) is None
    assert stats.ratio(0.0, 1.0, higherIsBetter=False) is None


def test_targetMet() -> None:
    """A target is met at or above its minimum (to the printed two decimals)."""
    assert stats.targetMet(1.5, 1.5) is True
    assert stats.targetMet(1.499, 1.5) is True
    assert stats.targetMet(1.49, 1.5) is False
    assert stats.targetMet(None, 1.5) is None


def test_formatValue() -> None:
    """Values print with three significant digits and a k/M/G suffix."""
    assert stats.formatValue(1_236_000_000) == "1.24G"
    assert stats.formatValue(83_700) == "83.7k"
    assert stats.formatValue(302_000) == "302k"
    assert stats.formatValue(999_999) == "1.00M"
    assert stats.formatValue(445.2) == "445"
    assert stats.formatValue(2.5) == "2.50"
    assert stats.formatValue(0.01234) == "0.0123"


def test_formatRatio() -> None:
    """Ratios print as '1.87x', undefined ones as '-'."""
    assert stats.formatRatio(1.8666) == "1.87x"
    assert stats.formatRatio(None) == "-"
