"""callLater on real reactors: ordering, cancel, reset, and errors in delayed calls."""

from __future__ import annotations

import time

import pytest

from plait.reactor import AlreadyCancelled, PosixReactorBase
from plait.testing import flushLoggedErrors

from .conftest import runReactor


def test_order_and_timing(reactor: PosixReactorBase) -> None:
    """Calls run in due-time order, ties in scheduling order, never early."""
    order: list[str] = []
    start = reactor.seconds()
    times: dict[str, float] = {}

    def record(name: str) -> None:
        order.append(name)
        times[name] = reactor.seconds() - start

    reactor.callLater(0.03, record, "c")
    reactor.callLater(0.01, record, "a")
    reactor.callLater(0.01, record, "b")
    reactor.callLater(0, record, "zero")
    reactor.callLater(0.05, reactor.stop)
    runReactor(reactor)
    assert order == ["zero", "a", "b", "c"]
    assert times["a"] >= 0.01 and times["c"] >= 0.03


def test_cancel_and_reset(reactor: PosixReactorBase) -> None:
    """A cancelled call never runs; a reset call runs at its new time."""
    order: list[str] = []
    cancelled = reactor.callLater(0.01, order.append, "cancelled")
    moved = reactor.callLater(0.01, order.append, "moved")
    reactor.callLater(0.02, order.append, "fixed")
    cancelled.cancel()
    with pytest.raises(AlreadyCancelled):
        cancelled.cancel()
    moved.reset(0.03)
    reactor.callLater(0.05, reactor.stop)
    assert len(reactor.getDelayedCalls()) == 3
    runReactor(reactor)
    assert order == ["fixed", "moved"]
    assert moved.called and not moved.active()


def test_error_in_delayed_call_is_logged(reactor: PosixReactorBase) -> None:
    """An exception in a delayed call is logged; later calls still run."""
    order: list[str] = []

    def boom() -> None:
        raise ZeroDivisionError("timer")

    reactor.callLater(0, boom)
    reactor.callLater(0.01, order.append, "after")
    reactor.callLater(0.02, reactor.stop)
    runReactor(reactor)
    assert order == ["after"]
    errors = flushLoggedErrors(ZeroDivisionError)
    assert len(errors) == 1
    text = errors[0].getTraceback()
    assert "in boom" in text and "timer" in text


def test_sleeps_when_idle(reactor: PosixReactorBase) -> None:
    """With only a distant timer pending the loop sleeps instead of spinning."""
    iterations = [0]
    original = reactor.doIteration

    def counting(timeout: float | None) -> None:
        iterations[0] += 1
        original(timeout)

    reactor.doIteration = counting  # type: ignore[method-assign]
    start = time.monotonic()
    reactor.callLater(0.1, reactor.stop)
    runReactor(reactor)
    assert time.monotonic() - start >= 0.1
    assert iterations[0] < 20


def test_call_later_zero_loop_does_not_starve_io(reactor: PosixReactorBase) -> None:
    """A callLater(0) chain yields to thread calls on every iteration."""
    counter = [0]

    def spin() -> None:
        counter[0] += 1
        if counter[0] < 100_000:
            reactor.callLater(0, spin)

    def fromThread() -> None:
        reactor.stop()

    reactor.callLater(0, spin)
    reactor.callLater(0, reactor.callFromThread, fromThread)
    runReactor(reactor)
    assert counter[0] < 100


def test_far_future_timer(reactor: PosixReactorBase) -> None:
    """A timer years away does not make the poller reject its timeout (nothing is logged)."""
    far = reactor.callLater(1e10, lambda: None)
    reactor.callLater(0.02, reactor.stop)
    runReactor(reactor)
    assert far.active()
    assert flushLoggedErrors() == []
