"""Cancellation and timeouts of Deferreds."""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from plait.defer import AlreadyCalledError, CancelledError, Deferred, Failure, TimeoutError

from .conftest import FakeClock


def _failures(d: Deferred[Any]) -> list[Failure]:
    got: list[Failure] = []
    d.addErrback(got.append)
    return got


def test_cancel_without_canceller_fails_with_CancelledError() -> None:
    """cancel() on an unfired Deferred without canceller fails it with CancelledError."""
    d: Deferred[int] = Deferred()
    got = _failures(d)
    d.cancel()
    assert len(got) == 1 and got[0].check(CancelledError)


def test_late_result_after_cancel_without_canceller_is_ignored_once() -> None:
    """The operation's own late callback after a plain cancel is swallowed, once."""
    d: Deferred[int] = Deferred()
    got = _failures(d)
    d.cancel()
    d.callback(1)  # suppressed
    assert d.result is None and len(got) == 1
    with pytest.raises(AlreadyCalledError):
        d.callback(2)


def test_canceller_runs_and_may_fire_the_deferred() -> None:
    """A canceller that fires the Deferred gives it its result; no CancelledError follows."""
    calls: list[Deferred[Any]] = []

    def canceller(d: Deferred[Any]) -> None:
        calls.append(d)
        d.callback("aborted nicely")

    d: Deferred[str] = Deferred(canceller)
    got: list[Any] = []
    d.addBoth(got.append)
    d.cancel()
    assert calls == [d]
    assert got == ["aborted nicely"]


def test_canceller_that_does_not_fire_leads_to_CancelledError() -> None:
    """If the canceller leaves the Deferred unfired, it fails with CancelledError."""
    calls: list[Deferred[Any]] = []
    d: Deferred[int] = Deferred(calls.append)
    got = _failures(d)
    d.cancel()
    assert calls == [d]
    assert got[0].check(CancelledError)
    with pytest.raises(AlreadyCalledError):  # a canceller was given: no suppression
        d.callback(1)


def test_canceller_may_errback_with_its_own_error() -> None:
    """A canceller may fail the Deferred with an error of its choosing."""
    d: Deferred[int] = Deferred(lambda d: d.errback(ConnectionAbortedError()))
    got = _failures(d)
    d.cancel()
    assert got[0].check(ConnectionAbortedError)


def test_cancel_fired_deferred_does_nothing() -> None:
    """Cancelling a Deferred that already has a result (and is not waiting) does nothing."""
    calls: list[Any] = []
    d: Deferred[int] = Deferred(calls.append)
    d.callback(1)
    d.cancel()
    assert calls == [] and d.result == 1


def test_cancel_outer_cancels_inner_it_waits_on() -> None:
    """Cancelling a Deferred waiting on a returned Deferred cancels that inner one."""
    cancelled: list[Any] = []
    inner: Deferred[int] = Deferred(cancelled.append)
    outer: Deferred[int] = Deferred()
    outer.addCallback(lambda r: inner)
    outer.callback(0)
    got = _failures(outer)
    outer.cancel()
    assert cancelled == [inner]
    assert got[0].check(CancelledError)
    assert outer.paused == 0


def test_cancel_nested_waiting_chain_reaches_innermost() -> None:
    """Cancellation follows a chain of Deferreds each waiting on the next."""
    cancelled: list[Any] = []
    innermost: Deferred[int] = Deferred(cancelled.append)
    middle = Deferred[int]()
    middle.addCallback(lambda r: innermost)
    middle.callback(0)
    outer = Deferred[int]()
    outer.addCallback(lambda r: middle)
    outer.callback(0)
    got = _failures(outer)
    outer.cancel()
    assert cancelled == [innermost]
    assert got[0].check(CancelledError)


def test_canceller_exception_propagates() -> None:
    """An exception raised by the canceller comes out of cancel()."""

    def badCanceller(d: Deferred[Any]) -> None:
        raise RuntimeError("canceller broke")

    d: Deferred[int] = Deferred(badCanceller)
    with pytest.raises(RuntimeError):
        d.cancel()
    assert not d.called


def test_timeout_fires_TimeoutError(fake_clock: FakeClock) -> None:
    """addTimeout fails the Deferred with TimeoutError when the clock passes the timeout."""
    d: Deferred[int] = Deferred()
    assert d.addTimeout(10, fake_clock) is d
    got = _failures(d)
    fake_clock.advance(9.9)
    assert got == []
    fake_clock.advance(0.2)
    assert got[0].check(TimeoutError)
    assert isinstance(got[0].value, builtins.TimeoutError)
    assert fake_clock.calls == []


def test_result_before_timeout_cancels_the_delayed_call(fake_clock: FakeClock) -> None:
    """A result in time removes the pending timer and passes through unchanged."""
    d: Deferred[int] = Deferred()
    d.addTimeout(5, fake_clock)
    assert len(fake_clock.calls) == 1
    d.callback(3)
    assert fake_clock.calls == []
    assert d.result == 3
    fake_clock.advance(10)
    assert d.result == 3


def test_timeout_on_fired_deferred_leaves_no_call(fake_clock: FakeClock) -> None:
    """addTimeout on an already-fired Deferred cancels its timer at once."""
    d: Deferred[int] = Deferred()
    d.callback(1)
    d.addTimeout(5, fake_clock)
    assert fake_clock.calls == [] and d.result == 1


def test_timeout_uses_canceller_result(fake_clock: FakeClock) -> None:
    """If the canceller fires with a value on timeout, that value passes through."""
    d: Deferred[str] = Deferred(lambda d: d.callback("partial"))
    d.addTimeout(1, fake_clock)
    fake_clock.advance(1)
    assert d.result == "partial"


def test_onTimeoutCancel_replaces_the_conversion(fake_clock: FakeClock) -> None:
    """onTimeoutCancel(result, timeout) gives the result when the timeout hit."""
    d: Deferred[Any] = Deferred()
    seen: list[Any] = []

    def onTimeout(result: Any, timeout: float) -> str:
        seen.append((type(result), timeout))
        return "timed out"

    d.addTimeout(2, fake_clock, onTimeoutCancel=onTimeout)
    fake_clock.advance(2)
    assert seen == [(Failure, 2)]
    assert d.result == "timed out"


def test_cancel_before_timeout_gives_CancelledError(fake_clock: FakeClock) -> None:
    """A user cancel before the timeout is a CancelledError, not a TimeoutError."""
    d: Deferred[int] = Deferred()
    d.addTimeout(2, fake_clock)
    got = _failures(d)
    d.cancel()
    assert got[0].check(CancelledError) and not got[0].check(TimeoutError)
    assert fake_clock.calls == []


def test_timeout_with_plait_testing_clock() -> None:
    """addTimeout works with plait.testing.Clock (any IReactorTime) and cleans up after."""
    from plait.testing import Clock

    clock = Clock()
    late: Deferred[int] = Deferred()
    late.addTimeout(3, clock)
    got = _failures(late)
    clock.advance(3)
    assert got[0].check(TimeoutError)
    early: Deferred[int] = Deferred()
    early.addTimeout(3, clock)
    early.callback(1)
    assert clock.getDelayedCalls() == []
