"""DelayedCall and TimerQueue: the scheduling core shared by the reactors and ``Clock``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.reactor import (
    AlreadyCalled,
    AlreadyCancelled,
    DelayedCall,
    IDelayedCall,
    IReactorTime,
    TimerQueue,
)


class FakeTime:
    """A settable clock for driving a TimerQueue directly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.queue = TimerQueue(self.seconds)

    def seconds(self) -> float:
        return self.now

    def advance(self, amount: float) -> int:
        self.now += amount
        return self.queue.runUntil(self.now)


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


def test_call_runs_when_due(ft: FakeTime) -> None:
    """A call runs once its time arrives, with its arguments, and not before."""
    seen: list[tuple[object, ...]] = []
    call = ft.queue.callLater(2, lambda *a, **k: seen.append((a, k)), 1, x=2)
    assert call.getTime() == 2.0
    ft.advance(1.5)
    assert seen == []
    assert call.active()
    ft.advance(0.5)
    assert seen == [((1,), {"x": 2})]
    assert call.called and not call.active() and not call.cancelled


def test_cancel_prevents_the_call(ft: FakeTime) -> None:
    """A cancelled call never runs and is no longer pending."""
    seen: list[int] = []
    call = ft.queue.callLater(1, seen.append, 1)
    call.cancel()
    assert call.cancelled and not call.active()
    assert ft.queue.getDelayedCalls() == []
    assert len(ft.queue) == 0
    ft.advance(5)
    assert seen == []


def test_cancel_twice_raises_already_cancelled(ft: FakeTime) -> None:
    """Cancelling a cancelled call raises AlreadyCancelled (a ValueError)."""
    call = ft.queue.callLater(1, lambda: None)
    call.cancel()
    with pytest.raises(AlreadyCancelled):
        call.cancel()
    assert issubclass(AlreadyCancelled, ValueError)


def test_changing_a_called_call_raises_already_called(ft: FakeTime) -> None:
    """cancel, reset and delay on a call that ran raise AlreadyCalled (a ValueError)."""
    call = ft.queue.callLater(1, lambda: None)
    ft.advance(1)
    for change in (call.cancel, lambda: call.reset(1), lambda: call.delay(1)):
        with pytest.raises(AlreadyCalled):
            change()
    assert issubclass(AlreadyCalled, ValueError)


def test_reset_and_delay_of_a_cancelled_call_raise(ft: FakeTime) -> None:
    """reset and delay on a cancelled call raise AlreadyCancelled."""
    call = ft.queue.callLater(1, lambda: None)
    call.cancel()
    with pytest.raises(AlreadyCancelled):
        call.reset(1)
    with pytest.raises(AlreadyCancelled):
        call.delay(1)


def test_a_call_cannot_cancel_itself(ft: FakeTime) -> None:
    """Inside its own run a call counts as called already."""
    errors: list[Exception] = []
    holder: list[DelayedCall] = []
    holder.append(ft.queue.callLater(1, lambda: holder[0].cancel()))
    ft.now = 1
    ft.queue.runUntil(1, lambda call, e: errors.append(e))
    assert [type(e) for e in errors] == [AlreadyCalled]


def test_reset_moves_later_and_earlier(ft: FakeTime) -> None:
    """reset(n) makes the call due n seconds from the current time, either way."""
    seen: list[str] = []
    call = ft.queue.callLater(5, seen.append, "x")
    ft.advance(1)
    call.reset(10)
    assert call.getTime() == 11
    ft.advance(5)
    assert seen == []
    call.reset(1)
    assert call.getTime() == 7
    assert ft.queue.nextDeadline() == 7
    ft.advance(1)
    assert seen == ["x"]


def test_delay_shifts_the_due_time(ft: FakeTime) -> None:
    """delay(n) adds n seconds to the due time; a negative n moves it earlier."""
    seen: list[str] = []
    call = ft.queue.callLater(5, seen.append, "x")
    call.delay(3)
    assert call.getTime() == 8
    ft.advance(7)
    assert seen == []
    call.delay(-2)
    assert call.getTime() == 6
    ft.advance(0)
    assert seen == ["x"]


def test_negative_or_nan_delay_is_rejected(ft: FakeTime) -> None:
    """callLater and reset refuse a negative or NaN delay."""
    with pytest.raises(ValueError):
        ft.queue.callLater(-1, lambda: None)
    with pytest.raises(ValueError):
        ft.queue.callLater(float("nan"), lambda: None)
    call = ft.queue.callLater(1, lambda: None)
    with pytest.raises(ValueError):
        call.reset(-0.5)
    assert call.getTime() == 1


def test_call_at_schedules_at_an_absolute_time(ft: FakeTime) -> None:
    """callAt(when) makes a call due at ``when``, ordered with callLater calls."""
    seen: list[str] = []
    ft.now = 10
    ft.queue.callLater(1, seen.append, "later")
    call = ft.queue.callAt(11, seen.append, "at")
    assert call.getTime() == 11
    ft.advance(1)
    assert seen == ["later", "at"]


def test_delay_by_nan_is_rejected(ft: FakeTime) -> None:
    """delay(nan) raises ValueError and leaves the due time alone."""
    call = ft.queue.callLater(1, lambda: None)
    with pytest.raises(ValueError):
        call.delay(float("nan"))
    assert call.getTime() == 1 and ft.queue.nextDeadline() == 1


def test_calls_run_in_time_order_with_ties_in_scheduling_order(ft: FakeTime) -> None:
    """Calls run by due time; equal times run in the order they were scheduled."""
    seen: list[str] = []
    ft.queue.callLater(2, seen.append, "c")
    ft.queue.callLater(1, seen.append, "a")
    ft.queue.callLater(2, seen.append, "d")
    ft.queue.callLater(1, seen.append, "b")
    ft.queue.callLater(0, seen.append, "first")
    ft.advance(10)
    assert seen == ["first", "a", "b", "c", "d"]


def test_a_reset_counts_as_scheduling_anew_for_ties(ft: FakeTime) -> None:
    """A call reset to time t runs after calls already due at t."""
    seen: list[str] = []
    a = ft.queue.callLater(1, seen.append, "a")
    ft.queue.callLater(3, seen.append, "b")
    a.reset(3)
    ft.advance(3)
    assert seen == ["b", "a"]


def test_call_later_zero_during_a_run_waits_for_the_next_run(ft: FakeTime) -> None:
    """A call scheduled with delay 0 while the queue runs does not run in that same run."""
    seen: list[int] = []

    def again(n: int) -> None:
        seen.append(n)
        ft.queue.callLater(0, again, n + 1)

    ft.queue.callLater(0, again, 0)
    assert ft.queue.runUntil(0) == 1
    assert seen == [0]
    assert ft.queue.runUntil(0) == 1
    assert seen == [0, 1]
    assert len(ft.queue) == 1


def test_a_call_moved_earlier_during_a_run_waits_for_the_next_run(ft: FakeTime) -> None:
    """A call reset to now by a running call runs in the next run, not the current one."""
    seen: list[str] = []
    later = ft.queue.callLater(10, seen.append, "later")
    ft.queue.callLater(1, lambda: later.reset(0))
    ft.advance(1)
    assert seen == []
    assert later.getTime() == 1
    ft.advance(0)
    assert seen == ["later"]


def test_a_call_can_cancel_a_later_due_call_in_the_same_run(ft: FakeTime) -> None:
    """A call cancelled by an earlier call of the same run does not run."""
    seen: list[str] = []
    b = ft.queue.callLater(2, seen.append, "b")
    ft.queue.callLater(1, b.cancel)
    ft.advance(5)
    assert seen == []


def test_errors_go_to_the_handler_and_the_run_goes_on(ft: FakeTime) -> None:
    """An exception from a call is handed to onError and later calls still run."""
    seen: list[str] = []
    errors: list[tuple[DelayedCall, Exception]] = []

    def boom() -> None:
        raise RuntimeError("boom")

    bad = ft.queue.callLater(1, boom)
    ft.queue.callLater(2, seen.append, "after")
    ft.now = 3
    assert ft.queue.runUntil(3, lambda c, e: errors.append((c, e))) == 2
    assert seen == ["after"]
    assert errors[0][0] is bad and isinstance(errors[0][1], RuntimeError)


def test_default_handler_propagates_and_leaves_the_rest_pending(ft: FakeTime) -> None:
    """Without a handler the error propagates; calls not yet run stay pending."""
    seen: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    ft.queue.callLater(1, boom)
    ft.queue.callLater(2, seen.append, "after")
    with pytest.raises(RuntimeError):
        ft.advance(3)
    assert seen == []
    assert len(ft.queue) == 1
    ft.advance(0)
    assert seen == ["after"]


def test_calls_held_aside_survive_an_error(ft: FakeTime) -> None:
    """A call scheduled during a run that then raises is still pending afterwards."""
    seen: list[str] = []

    def scheduleThenFail() -> None:
        ft.queue.callLater(0, seen.append, "next")
        raise RuntimeError("boom")

    ft.queue.callLater(0, scheduleThenFail)
    with pytest.raises(RuntimeError):
        ft.advance(0)
    assert len(ft.queue) == 1
    ft.advance(0)
    assert seen == ["next"]


def test_pending_calls_are_visible_during_a_run(ft: FakeTime) -> None:
    """getDelayedCalls and len() include calls scheduled by the running call."""
    observed: list[int] = []

    def schedule() -> None:
        ft.queue.callLater(0, lambda: None)
        observed.append(len(ft.queue.getDelayedCalls()))
        observed.append(len(ft.queue))

    ft.queue.callLater(0, schedule)
    ft.advance(0)
    assert observed == [1, 1]


def test_next_deadline(ft: FakeTime) -> None:
    """nextDeadline is the earliest pending due time, skipping cancelled and moved calls."""
    assert ft.queue.nextDeadline() is None
    a = ft.queue.callLater(1, lambda: None)
    b = ft.queue.callLater(2, lambda: None)
    assert ft.queue.nextDeadline() == 1
    a.delay(5)
    assert ft.queue.nextDeadline() == 2
    b.cancel()
    assert ft.queue.nextDeadline() == 6
    a.cancel()
    assert ft.queue.nextDeadline() is None


def test_compaction_keeps_pending_calls(ft: FakeTime) -> None:
    """Cancelling most calls compacts the heap and the rest still run in order."""
    seen: list[int] = []
    calls = [ft.queue.callLater(i, seen.append, i) for i in range(100)]
    for c in calls:
        if c.getTime() % 10:
            c.cancel()
    assert len(ft.queue._heap) < 50  # compacted, not merely marked
    assert len(ft.queue) == 10
    ft.advance(200)
    assert seen == list(range(0, 100, 10))


def test_cancel_releases_arguments(ft: FakeTime) -> None:
    """A cancelled call drops its arguments so it does not keep them alive."""
    big = object()
    call = ft.queue.callLater(1, print, big)
    call.cancel()
    assert call.args == () and call.kw == {}


def test_repr_names_the_function(ft: FakeTime) -> None:
    """repr() shows the function's qualified name, its arguments and the state."""

    def tick(n: int, *, label: str) -> None:
        pass

    call = ft.queue.callLater(1.5, tick, 3, label="x")
    text = repr(call)
    assert "test_repr_names_the_function.<locals>.tick(3, label='x')" in text
    assert "due in 1.5s" in text
    ft.advance(2)
    assert "(called)" in repr(call)


def test_delayed_call_satisfies_the_interface(ft: FakeTime) -> None:
    """DelayedCall is an IDelayedCall; a class with the time methods is an IReactorTime."""
    assert isinstance(ft.queue.callLater(1, lambda: None), IDelayedCall)

    class Timed:
        def seconds(self) -> float:
            return ft.now

        def callLater(self, delay: float, f: object, *a: object, **k: object) -> DelayedCall:
            raise NotImplementedError

        def getDelayedCalls(self) -> list[IDelayedCall]:
            return []

    assert isinstance(Timed(), IReactorTime)


# --- model-based check: TimerQueue against a naive sorted-list scheduler --------------------


@dataclass
class ModelCall:
    ident: int
    time: float
    seq: int
    action: tuple[object, ...]
    state: str = "pending"  # pending, called, cancelled


@dataclass
class Model:
    """The specification, written the slow obvious way."""

    now: float = 0.0
    seq: int = 0
    calls: list[ModelCall] = field(default_factory=list)
    fired: list[int] = field(default_factory=list)

    def schedule(self, delay: float, action: tuple[object, ...]) -> int:
        ident = len(self.calls)
        self.calls.append(ModelCall(ident, self.now + delay, self.seq, action))
        self.seq += 1
        return ident

    def move(self, ident: int, when: float) -> bool:
        c = self.calls[ident]
        if c.state != "pending":
            return False
        c.time, c.seq = when, self.seq
        self.seq += 1
        return True

    def cancel(self, ident: int) -> bool:
        c = self.calls[ident]
        if c.state != "pending":
            return False
        c.state = "cancelled"
        return True

    def run(self, amount: float) -> None:
        self.now += amount
        limit = self.seq
        while True:
            due = [
                c
                for c in self.calls
                if c.state == "pending" and c.time <= self.now and c.seq < limit
            ]
            if not due:
                return
            c = min(due, key=lambda c: (c.time, c.seq))
            c.state = "called"
            self.fired.append(c.ident)
            self.perform(c.action)

    def perform(self, action: tuple[object, ...]) -> None:
        kind = action[0]
        if kind == "schedule":
            self.schedule(float(action[1]), ("none",))
        elif kind == "cancel":
            ident = int(action[1]) % max(len(self.calls), 1)
            self.cancel(ident)
        elif kind == "reset":
            ident = int(action[1]) % max(len(self.calls), 1)
            self.move(ident, self.now + float(action[2]))


class Real:
    """The same operations on a TimerQueue."""

    def __init__(self) -> None:
        self.time = FakeTime()
        self.calls: list[DelayedCall] = []
        self.fired: list[int] = []

    def schedule(self, delay: float, action: tuple[object, ...]) -> int:
        ident = len(self.calls)
        self.calls.append(self.time.queue.callLater(delay, self.fire, ident, action))
        return ident

    def fire(self, ident: int, action: tuple[object, ...]) -> None:
        self.fired.append(ident)
        kind = action[0]
        if kind == "schedule":
            self.schedule(float(action[1]), ("none",))
        elif kind == "cancel":
            self.cancel(int(action[1]) % max(len(self.calls), 1))
        elif kind == "reset":
            ident = int(action[1]) % max(len(self.calls), 1)
            self.reset(ident, float(action[2]))

    def cancel(self, ident: int) -> bool:
        try:
            self.calls[ident].cancel()
        except (AlreadyCalled, AlreadyCancelled):
            return False
        return True

    def reset(self, ident: int, delay: float) -> bool:
        try:
            self.calls[ident].reset(delay)
        except (AlreadyCalled, AlreadyCancelled):
            return False
        return True

    def delay(self, ident: int, by: float) -> bool:
        try:
            self.calls[ident].delay(by)
        except (AlreadyCalled, AlreadyCancelled):
            return False
        return True


delays = st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 3.5, 7.0])
actions = st.one_of(
    st.just(("none",)),
    st.tuples(st.just("schedule"), delays),
    st.tuples(st.just("cancel"), st.integers(0, 60)),
    st.tuples(st.just("reset"), st.integers(0, 60), delays),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("schedule"), delays, actions),
        st.tuples(st.just("cancel"), st.integers(0, 60)),
        st.tuples(st.just("reset"), st.integers(0, 60), delays),
        st.tuples(st.just("delay"), st.integers(0, 60), st.sampled_from([-2.0, -0.5, 0.0, 1.0])),
        st.tuples(st.just("advance"), st.sampled_from([0.0, 0.5, 1.0, 2.0, 10.0])),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_timer_queue_matches_the_naive_model(ops: list[tuple[object, ...]]) -> None:
    """Over random schedule/cancel/reset/delay/advance sequences the queue acts like the model."""
    model, real = Model(), Real()
    for op in ops:
        kind = op[0]
        if kind == "schedule":
            model.schedule(op[1], op[2])
            real.schedule(op[1], op[2])
        elif kind in ("cancel", "reset", "delay"):
            if not model.calls:
                continue
            ident = int(op[1]) % len(model.calls)
            if kind == "cancel":
                assert model.cancel(ident) == real.cancel(ident)
            elif kind == "reset":
                assert model.move(ident, model.now + op[2]) == real.reset(ident, op[2])
            else:
                c = model.calls[ident]
                assert model.move(ident, c.time + op[2]) == real.delay(ident, op[2])
        else:
            model.run(op[1])
            real.time.advance(op[1])
        assert real.fired == model.fired
        pending = sorted(c.ident for c in model.calls if c.state == "pending")
        assert sorted(real.calls.index(c) for c in real.time.queue.getDelayedCalls()) == pending
        assert len(real.time.queue) == len(pending)
        expected = min((c.time for c in model.calls if c.state == "pending"), default=None)
        assert real.time.queue.nextDeadline() == expected
        for m, r in zip(model.calls, real.calls, strict=True):
            assert r.getTime() == m.time
            assert (r.called, r.cancelled) == (m.state == "called", m.state == "cancelled")
