"""LoopingCall on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.defer import Deferred
from plait.task import LoopingCall
from plait.testing import Clock, assertNoResult, failureResultOf, successResultOf


def looping(clock: Clock, f: object = None) -> tuple[LoopingCall, list[float]]:
    """A LoopingCall recording the clock time of each call."""
    times: list[float] = []

    def record() -> object:
        times.append(clock.seconds())
        return f() if callable(f) else None

    lc = LoopingCall(record)
    lc.clock = clock
    return lc, times


def test_calls_now_and_every_interval() -> None:
    """start() calls at once, then on every interval boundary."""
    clock = Clock()
    lc, times = looping(clock)
    lc.start(1.0)
    assert times == [0.0]
    clock.advance(0.5)
    assert times == [0.0]
    clock.advance(0.5)
    clock.advance(1.0)
    assert times == [0.0, 1.0, 2.0]
    assert lc.running and lc.interval == 1.0


def test_not_now_waits_one_interval() -> None:
    """start(now=False) makes the first call one interval later."""
    clock = Clock()
    lc, times = looping(clock)
    lc.start(2.0, now=False)
    assert times == []
    clock.advance(2.0)
    assert times == [2.0]


def test_stop_fires_the_start_deferred_and_cancels_the_next_call() -> None:
    """stop() fires the start Deferred with the LoopingCall; nothing stays scheduled."""
    clock = Clock()
    lc, times = looping(clock)
    d = lc.start(1.0)
    assertNoResult(d)
    lc.stop()
    assert successResultOf(d) is lc
    assert clock.getDelayedCalls() == []
    clock.advance(10)
    assert times == [0.0]
    assert not lc.running


def test_skipped_intervals_are_not_bunched() -> None:
    """A late clock skips the missed slots and realigns to the interval grid."""
    clock = Clock()
    lc, times = looping(clock)
    lc.start(1.0)
    clock.advance(3.5)
    assert times == [0.0, 3.5]
    clock.advance(0.5)
    assert times == [0.0, 3.5, 4.0]


def test_with_count_counts_skipped_intervals() -> None:
    """withCount passes how many intervals elapsed since the previous call."""
    clock = Clock()
    counts: list[int] = []
    lc = LoopingCall.withCount(counts.append)
    lc.clock = clock
    lc.start(1.0)
    assert counts == [1]
    clock.advance(1.0)
    assert counts == [1, 1]
    clock.advance(3.5)
    assert counts == [1, 1, 3]
    clock.advance(0.5)
    assert counts == [1, 1, 3, 1]
    clock.advance(7.0)
    assert counts == [1, 1, 3, 1, 7]


def test_with_count_not_now() -> None:
    """With now=False the first call (one interval in) also counts 1."""
    clock = Clock()
    counts: list[int] = []
    lc = LoopingCall.withCount(counts.append)
    lc.clock = clock
    lc.start(0.1, now=False)
    for _ in range(10):
        clock.advance(0.1)
    assert counts == [1] * 10


def test_with_count_after_reset_counts_from_the_new_start() -> None:
    """After reset(), the next call counts one interval."""
    clock = Clock()
    counts: list[int] = []
    lc = LoopingCall.withCount(counts.append)
    lc.clock = clock
    lc.start(1.0)
    clock.advance(0.7)
    lc.reset()
    clock.advance(1.0)
    assert counts == [1, 1]


def test_deferred_result_delays_the_next_call() -> None:
    """When f returns a Deferred, the next call waits until it fires."""
    clock = Clock()
    pending: list[Deferred[None]] = []

    def slow() -> Deferred[None]:
        d: Deferred[None] = Deferred()
        pending.append(d)
        return d

    lc, times = looping(clock, slow)
    lc.start(1.0)
    clock.advance(5.0)
    assert times == [0.0]
    assert clock.getDelayedCalls() == []
    pending[0].callback(None)
    clock.advance(0.99)
    assert times == [0.0]
    clock.advance(0.01)
    assert times == [0.0, 6.0]


def test_stop_inside_f_fires_after_f_returns() -> None:
    """stop() called from inside f ends the loop once f has returned."""
    clock = Clock()
    lc: LoopingCall

    def stopSoon() -> None:
        if len(times) == 3:
            lc.stop()

    lc, times = looping(clock, stopSoon)
    d = lc.start(1.0)
    clock.advance(1.0)
    clock.advance(1.0)
    assert successResultOf(d) is lc
    clock.advance(10.0)
    assert times == [0.0, 1.0, 2.0]


def test_stop_while_f_deferred_pending_waits_for_it() -> None:
    """Stopping while f's Deferred is pending fires the start Deferred once it fires."""
    clock = Clock()
    pending: Deferred[None] = Deferred()
    lc, _ = looping(clock, lambda: pending)
    d = lc.start(1.0)
    lc.stop()
    assertNoResult(d)
    pending.callback(None)
    assert successResultOf(d) is lc
    assert clock.getDelayedCalls() == []


def test_exception_fails_the_start_deferred_and_stops() -> None:
    """An exception from f fails the start Deferred and nothing more is scheduled."""
    clock = Clock()

    def boom() -> None:
        if len(times) == 2:
            raise ZeroDivisionError("boom")

    lc, times = looping(clock, boom)
    d = lc.start(1.0)
    clock.advance(1.0)
    failure = failureResultOf(d, ZeroDivisionError)
    assert str(failure.value) == "boom"
    assert not lc.running
    assert clock.getDelayedCalls() == []


def test_failed_deferred_fails_the_start_deferred() -> None:
    """A Deferred from f that fails stops the loop with that failure."""
    clock = Clock()
    pending: Deferred[None] = Deferred()
    lc, _ = looping(clock, lambda: pending)
    d = lc.start(1.0)
    pending.errback(KeyError("k"))
    failureResultOf(d, KeyError)
    assert not lc.running


def test_reset_restarts_the_interval() -> None:
    """reset() makes the next call one full interval from now."""
    clock = Clock()
    lc, times = looping(clock)
    lc.start(1.0)
    clock.advance(0.5)
    lc.reset()
    clock.advance(0.9)
    assert times == [0.0]
    clock.advance(0.1)
    assert times == [0.0, 1.5]


def test_interval_zero_calls_repeatedly() -> None:
    """An interval of 0 calls again as soon as the clock runs."""
    clock = Clock()
    lc: LoopingCall

    def stopAtFive() -> None:
        if len(times) == 5:
            lc.stop()

    lc, times = looping(clock, stopAtFive)
    d = lc.start(0)
    clock.advance(0)
    assert times == [0.0] * 5
    assert successResultOf(d) is lc


def test_arguments_are_passed() -> None:
    """Positional and keyword arguments reach f on each call."""
    clock = Clock()
    got: list[tuple[int, str]] = []
    lc = LoopingCall(lambda a, b: got.append((a, b)), 1, b="x")
    lc.clock = clock
    lc.start(1.0)
    clock.advance(1.0)
    assert got == [(1, "x"), (1, "x")]
    assert "LoopingCall<1.0>" in repr(lc)


def test_misuse_is_reported() -> None:
    """Starting without a clock, twice, or with a negative interval, and stopping or
    resetting when not running, raise."""
    lc = LoopingCall(lambda: None)
    with pytest.raises(RuntimeError, match="clock is not set"):
        lc.start(1.0)
    lc.clock = Clock()
    with pytest.raises(ValueError):
        lc.start(-1)
    with pytest.raises(RuntimeError):
        lc.stop()
    with pytest.raises(RuntimeError):
        lc.reset()
    lc.start(1.0)
    with pytest.raises(RuntimeError):
        lc.start(1.0)


def test_restart_after_stop() -> None:
    """A stopped LoopingCall can be started again."""
    clock = Clock()
    lc, times = looping(clock)
    lc.start(1.0)
    lc.stop()
    clock.advance(0.5)
    d = lc.start(2.0)
    clock.advance(2.0)
    assert times == [0.0, 0.5, 2.5]
    lc.stop()
    assert successResultOf(d) is lc


@settings(max_examples=200, deadline=None)
@given(
    interval=st.sampled_from([0.1, 0.25, 1.0, 3.0]),
    now=st.booleans(),
    steps=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=30),
)
def test_with_count_accounts_for_every_interval(
    interval: float, now: bool, steps: list[int]
) -> None:
    """However the clock jumps, the counts add up to the intervals elapsed."""
    clock = Clock()
    counts: list[int] = []
    lc = LoopingCall.withCount(counts.append)
    lc.clock = clock
    lc.start(interval, now=now)
    elapsed = 0
    for tenths in steps:
        # Advance by whole multiples of a tenth of the interval (exact on the grid).
        clock.advance(interval * tenths / 10)
        elapsed += tenths
    assert all(c >= 1 for c in counts)
    assert sum(counts) == elapsed // 10 + (1 if now else 0)
    assert len(clock.getDelayedCalls()) == 1


def test_coroutine_function_is_awaited_before_the_next_call() -> None:
    """An async f is run as a coroutine; the next call waits for it to finish."""
    clock = Clock()
    gate: Deferred[None] = Deferred()
    times: list[float] = []

    async def f() -> None:
        times.append(clock.seconds())
        if len(times) == 1:
            await gate

    lc = LoopingCall(f)
    lc.clock = clock
    lc.start(1.0)
    clock.advance(3.0)
    assert times == [0.0]
    gate.callback(None)
    clock.advance(1.0)
    assert times == [0.0, 4.0]


def test_restart_while_the_last_call_is_pending_is_refused() -> None:
    """start() after stop() waits until the stopped loop's last call has finished."""
    clock = Clock()
    pending: Deferred[None] = Deferred()
    lc, times = looping(clock, lambda: pending)
    first = lc.start(1.0)
    lc.stop()
    with pytest.raises(RuntimeError, match="still finishing"):
        lc.start(1.0)
    pending.callback(None)
    assert successResultOf(first) is lc
    lc.start(1.0)
    assert times == [0.0, 0.0]
