"""Clock: fake time on the shared TimerQueue."""

from __future__ import annotations

import pytest

from plait.reactor import AlreadyCalled, IReactorTime
from plait.testing import Clock


def test_time_starts_at_zero_and_moves_only_on_advance() -> None:
    """seconds() is 0 until advance() moves it; rightNow is the same value."""
    clock = Clock()
    assert clock.seconds() == 0.0
    clock.advance(2.5)
    assert clock.seconds() == 2.5 == clock.rightNow


def test_call_later_runs_when_due() -> None:
    """A call runs on the advance that reaches its time, with its arguments."""
    clock = Clock()
    seen: list[object] = []
    call = clock.callLater(3, seen.append, "x")
    clock.advance(2)
    assert seen == [] and clock.getDelayedCalls() == [call]
    clock.advance(1)
    assert seen == ["x"] and clock.getDelayedCalls() == []
    with pytest.raises(AlreadyCalled):
        call.cancel()


def test_pending_calls_are_listed_earliest_first() -> None:
    """getDelayedCalls and calls list pending calls by due time."""
    clock = Clock()
    late = clock.callLater(5, lambda: None)
    early = clock.callLater(1, lambda: None)
    assert clock.getDelayedCalls() == [early, late]
    assert clock.calls == [early, late]


def test_zero_delay_calls_made_while_advancing_also_run() -> None:
    """As in Twisted, a call scheduled for now during advance() runs in that advance."""
    clock = Clock()
    seen: list[int] = []
    clock.callLater(1, lambda: clock.callLater(0, seen.append, 2))
    clock.advance(1)
    assert seen == [2]


def test_an_endless_zero_delay_loop_is_reported() -> None:
    """A call that always reschedules itself for now makes advance() fail, not hang."""
    clock = Clock()

    def again() -> None:
        clock.callLater(0, again)

    clock.callLater(0, again)
    with pytest.raises(RuntimeError, match="gave up"):
        clock.advance(0)


def test_exceptions_propagate_and_later_calls_stay_pending() -> None:
    """An exception from a call leaves advance(); the calls not yet run run next time."""
    clock = Clock()
    seen: list[str] = []

    def boom() -> None:
        raise ValueError("boom")

    clock.callLater(1, boom)
    clock.callLater(2, seen.append, "later")
    with pytest.raises(ValueError, match="boom"):
        clock.advance(2)
    assert seen == []
    clock.advance(0)
    assert seen == ["later"]


def test_pump_advances_by_each_amount() -> None:
    """pump([a, b]) is advance(a) then advance(b)."""
    clock = Clock()
    times: list[float] = []
    for delay in (1, 2, 3):
        clock.callLater(delay, lambda: times.append(clock.seconds()))
    clock.pump([1.5, 1.5])
    assert times == [1.5, 3.0, 3.0]


def test_advance_refuses_going_back() -> None:
    """advance() with a negative amount raises ValueError."""
    with pytest.raises(ValueError):
        Clock().advance(-1)


def test_clock_is_an_ireactortime(clock: Clock) -> None:
    """Clock satisfies IReactorTime (and the clock fixture gives a fresh one)."""
    assert isinstance(clock, IReactorTime)
    assert clock.seconds() == 0.0 and clock.getDelayedCalls() == []


def test_reset_and_delay_use_fake_time() -> None:
    """reset() counts from the Clock's current time."""
    clock = Clock()
    seen: list[str] = []
    call = clock.callLater(5, seen.append, "x")
    clock.advance(4)
    call.reset(5)
    assert call.getTime() == 9
    clock.advance(4)
    assert seen == []
    clock.advance(1)
    assert seen == ["x"]


def test_documented_example_with_defer_later() -> None:
    """The plait.testing docstring's Clock example works as written."""
    import plait.task
    from plait.testing import successResultOf

    clock = Clock()
    d = plait.task.deferLater(clock, 5, lambda: "done")
    clock.advance(5)
    assert successResultOf(d) == "done"
