"""LogLevel: names, ordering, stdlib numbers."""

from __future__ import annotations

import logging

import pytest

from plait.log import InvalidLogLevelError, LogLevel


def test_levels_are_ordered() -> None:
    """debug < info < warn < error < critical."""
    assert list(LogLevel) == sorted(LogLevel)
    assert [lv.name for lv in LogLevel] == ["debug", "info", "warn", "error", "critical"]


def test_level_with_name() -> None:
    """levelWithName maps each name to its member and rejects unknown names."""
    for level in LogLevel:
        assert LogLevel.levelWithName(level.name) is level
    with pytest.raises(InvalidLogLevelError):
        LogLevel.levelWithName("loud")
    with pytest.raises(ValueError):
        LogLevel.levelWithName("WARN")


def test_values_are_stdlib_numbers() -> None:
    """Each level's value is the matching stdlib logging number, and back."""
    assert int(LogLevel.warn) == logging.WARNING
    assert LogLevel.fromStdlib(logging.WARNING) is LogLevel.warn
    assert LogLevel.fromStdlib(5) is LogLevel.debug
    assert LogLevel.fromStdlib(25) is LogLevel.info
    assert LogLevel.fromStdlib(100) is LogLevel.critical
