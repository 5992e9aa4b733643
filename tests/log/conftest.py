"""Fixtures for plait.log tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plait.log import globalLogPublisher


@pytest.fixture
def bare_global_publisher() -> Iterator[None]:
    """Run with no observer on globalLogPublisher (restoring whatever was there after)."""
    saved = globalLogPublisher.observers
    for observer in saved:
        globalLogPublisher.removeObserver(observer)
    try:
        yield
    finally:
        for observer in globalLogPublisher.observers:
            globalLogPublisher.removeObserver(observer)
        for observer in saved:
            globalLogPublisher.addObserver(observer)
