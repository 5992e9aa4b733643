"""deferLater on a fake clock."""

from __future__ import annotations

from plait.defer import CancelledError, Deferred
from plait.task import deferLater
from plait.testing import Clock, assertNoResult, failureResultOf, successResultOf


def test_fires_with_the_callable_result_after_the_delay() -> None:
    """The Deferred fires with callable(*args, **kw) once the delay has passed."""
    clock = Clock()
    d = deferLater(clock, 3.0, lambda a, b: (a, b), 1, b=2)
    clock.advance(2.9)
    assertNoResult(d)
    clock.advance(0.1)
    assert successResultOf(d) == (1, 2)


def test_without_callable_fires_with_none() -> None:
    """With no callable the Deferred fires with None."""
    clock = Clock()
    d = deferLater(clock, 1.0)
    clock.advance(1.0)
    assert successResultOf(d) is None


def test_exception_fails_the_deferred() -> None:
    """An exception from the callable fails the Deferred."""
    clock = Clock()

    def boom() -> None:
        raise ValueError("late")

    d = deferLater(clock, 1.0, boom)
    clock.advance(1.0)
    assert str(failureResultOf(d, ValueError).value) == "late"


def test_deferred_result_is_waited_for() -> None:
    """A Deferred returned by the callable is chained."""
    clock = Clock()
    inner: Deferred[str] = Deferred()
    d = deferLater(clock, 1.0, lambda: inner)
    clock.advance(1.0)
    assertNoResult(d)
    inner.callback("done")
    assert successResultOf(d) == "done"


def test_cancel_cancels_the_call() -> None:
    """Cancelling fails with CancelledError and the callable never runs."""
    clock = Clock()
    ran: list[int] = []
    d = deferLater(clock, 1.0, ran.append, 1)
    d.cancel()
    failureResultOf(d, CancelledError)
    assert clock.getDelayedCalls() == []
    clock.advance(2.0)
    assert ran == []


def test_cancel_after_firing_is_harmless() -> None:
    """Cancelling a fired Deferred changes nothing."""
    clock = Clock()
    d = deferLater(clock, 1.0, lambda: 5)
    clock.advance(1.0)
    d.cancel()
    assert successResultOf(d) == 5


def test_coroutine_function_is_awaited() -> None:
    """An async callable is run as a coroutine and its result awaited."""
    clock = Clock()
    gate: Deferred[int] = Deferred()

    async def work(x: int) -> int:
        return x + await gate

    d = deferLater(clock, 1.0, work, 1)
    clock.advance(1.0)
    assertNoResult(d)
    gate.callback(41)
    assert successResultOf(d) == 42
