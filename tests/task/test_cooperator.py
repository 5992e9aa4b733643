"""Cooperator and CooperativeTask: fairness, pausing, ending."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.defer import Deferred
from plait.task import (
    Cooperator,
    NotPaused,
    SchedulerStopped,
    TaskDone,
    TaskFinished,
    TaskStopped,
)
from plait.testing import Clock, assertNoResult, failureResultOf, successResultOf


class Handle:
    """What the fake scheduler returns."""

    def __init__(self, scheduler: FakeScheduler, f: Callable[[], None]) -> None:
        self.scheduler = scheduler
        self.f = f
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.scheduler.pending.remove(self)

    def active(self) -> bool:
        return not self.cancelled and self in self.scheduler.pending


class FakeScheduler:
    """Collects scheduled ticks; the test runs them one at a time."""

    def __init__(self) -> None:
        self.pending: list[Handle] = []

    def __call__(self, f: Callable[[], None]) -> Handle:
        handle = Handle(self, f)
        self.pending.append(handle)
        return handle

    def tick(self) -> None:
        assert len(self.pending) == 1, self.pending
        self.pending.pop().f()


def stepsPerTick(n: int) -> Callable[[], Callable[[], bool]]:
    """A termination predicate factory ending each tick after ``n`` steps."""

    def factory() -> Callable[[], bool]:
        counter = itertools.count(1)
        return lambda: next(counter) >= n

    return factory


def recorder(name: str, log: list[str], count: int | None = None) -> Iterator[None]:
    for _ in range(count) if count is not None else itertools.count():
        log.append(name)
        yield None


def make(n: int = 1) -> tuple[Cooperator, FakeScheduler]:
    scheduler = FakeScheduler()
    return Cooperator(scheduler=scheduler, terminationPredicateFactory=stepsPerTick(n)), scheduler


def test_tasks_take_turns_within_a_tick() -> None:
    """Within a tick, tasks are stepped round-robin until the slice ends."""
    coop, scheduler = make(6)
    log: list[str] = []
    coop.cooperate(recorder("a", log))
    coop.cooperate(recorder("b", log))
    scheduler.tick()
    assert log == ["a", "b"] * 3


def test_round_robin_continues_across_ticks() -> None:
    """The next tick starts with the task after the last one stepped."""
    coop, scheduler = make(2)
    log: list[str] = []
    for name in "abc":
        coop.cooperate(recorder(name, log))
    for _ in range(3):
        scheduler.tick()
    assert log == list("abcabc")


def test_an_endless_task_does_not_starve_the_loop() -> None:
    """A tick ends when its slice is used up, leaving the next tick scheduled."""
    coop, scheduler = make(4)
    log: list[str] = []
    coop.cooperate(recorder("a", log))
    scheduler.tick()
    assert len(log) == 4
    assert len(scheduler.pending) == 1


def test_when_done_fires_with_the_iterator() -> None:
    """whenDone fires with the exhausted iterator, even if asked for afterwards."""
    coop, scheduler = make(10)
    log: list[str] = []
    it = recorder("a", log, 3)
    task = coop.cooperate(it)
    d = task.whenDone()
    assertNoResult(d)
    scheduler.tick()
    assert successResultOf(d) is it
    assert successResultOf(task.whenDone()) is it
    assert scheduler.pending == []
    with pytest.raises(TaskDone):
        task.pause()


def test_coiterate_fires_when_exhausted() -> None:
    """coiterate's Deferred fires with the iterator once it is exhausted."""
    coop, scheduler = make(2)
    log: list[str] = []
    it = recorder("a", log, 3)
    d = coop.coiterate(it)
    scheduler.tick()
    assertNoResult(d)
    scheduler.tick()
    assert successResultOf(d) is it
    assert log == ["a"] * 3


def test_failing_iterator_fails_its_task_only() -> None:
    """An exception from one iterator fails that task; the others go on."""
    coop, scheduler = make(4)
    log: list[str] = []

    def bad() -> Iterator[None]:
        yield None
        raise KeyError("bad")

    d = coop.cooperate(bad()).whenDone()
    coop.cooperate(recorder("b", log))
    scheduler.tick()
    failureResultOf(d, KeyError)
    scheduler.tick()
    assert log == ["b"] * 6


def test_yielded_deferred_pauses_the_task_until_it_fires() -> None:
    """A task yielding a Deferred is skipped until the Deferred fires."""
    coop, scheduler = make(3)
    log: list[str] = []
    gate: Deferred[None] = Deferred()

    def waiter() -> Iterator[object]:
        log.append("w1")
        yield gate
        log.append("w2")

    d = coop.coiterate(waiter())
    coop.cooperate(recorder("b", log))
    scheduler.tick()
    assert log == ["w1", "b", "b"]
    gate.callback(None)
    scheduler.tick()
    assert log == ["w1", "b", "b", "b", "w2", "b"]
    successResultOf(d)


def test_yielded_deferred_failing_fails_the_task() -> None:
    """A yielded Deferred that fails fails the task with its failure."""
    coop, scheduler = make(3)
    gate: Deferred[None] = Deferred()

    def waiter() -> Iterator[object]:
        yield gate

    d = coop.coiterate(waiter())
    scheduler.tick()
    assert scheduler.pending == []
    gate.errback(OSError("gone"))
    failureResultOf(d, OSError)


def test_pause_and_resume_nest() -> None:
    """A task paused twice runs again only after two resumes."""
    coop, scheduler = make(2)
    log: list[str] = []
    task = coop.cooperate(recorder("a", log))
    task.pause()
    task.pause()
    assert scheduler.pending == []
    task.resume()
    assert scheduler.pending == []
    task.resume()
    scheduler.tick()
    assert log == ["a", "a"]
    with pytest.raises(NotPaused):
        task.resume()


def test_stop_ends_the_task() -> None:
    """stop() fails whenDone with TaskStopped; a stopped task cannot be stopped again."""
    coop, scheduler = make(2)
    log: list[str] = []
    task = coop.cooperate(recorder("a", log))
    d = task.whenDone()
    task.stop()
    failureResultOf(d, TaskStopped)
    failureResultOf(task.whenDone(), TaskStopped)
    assert scheduler.pending == []
    assert log == []
    with pytest.raises(TaskFinished):
        task.stop()


def test_stopping_the_cooperator_ends_all_tasks() -> None:
    """Cooperator.stop() ends every task with SchedulerStopped, and any later one too."""
    coop, scheduler = make(2)
    log: list[str] = []
    d1 = coop.cooperate(recorder("a", log)).whenDone()
    d2 = coop.cooperate(recorder("b", log)).whenDone()
    coop.stop()
    failureResultOf(d1, SchedulerStopped)
    failureResultOf(d2, SchedulerStopped)
    assert scheduler.pending == []
    assert not coop.running
    failureResultOf(coop.coiterate(recorder("c", log)), SchedulerStopped)
    assert log == []


def test_not_started_until_start() -> None:
    """A Cooperator made with started=False schedules nothing until start()."""
    scheduler = FakeScheduler()
    coop = Cooperator(scheduler=scheduler, started=False)
    log: list[str] = []
    d = coop.coiterate(recorder("a", log, 1))
    assert scheduler.pending == [] and not coop.running
    coop.start()
    scheduler.tick()
    successResultOf(d)


def test_runs_on_a_clock() -> None:
    """With a clock, each tick is scheduled with callLater, a tiny delay ahead."""
    clock = Clock()
    coop = Cooperator(clock, terminationPredicateFactory=stepsPerTick(2))
    log: list[str] = []
    d = coop.coiterate(recorder("a", log, 5))
    assert log == []
    clock.advance(0.01)
    assert log == ["a", "a"]
    clock.advance(0.01)
    clock.advance(0.01)
    assert successResultOf(d) is not None
    assert clock.getDelayedCalls() == []


def test_default_time_slice_ends_a_tick() -> None:
    """With the default slice an endless iterator still lets the tick end."""
    clock = Clock()
    coop = Cooperator(clock)
    log: list[str] = []
    task = coop.cooperate(recorder("a", log))
    clock.advance(1)
    assert log
    assert len(clock.getDelayedCalls()) == 1
    task.stop()
    assert clock.getDelayedCalls() == []


def test_needs_a_clock_or_scheduler() -> None:
    """There is no global reactor to fall back on."""
    with pytest.raises(TypeError, match="clock"):
        Cooperator()


@settings(max_examples=100, deadline=None)
@given(
    tasks=st.integers(min_value=1, max_value=6),
    perTick=st.integers(min_value=1, max_value=10),
    ticks=st.integers(min_value=1, max_value=20),
)
def test_endless_tasks_share_steps_evenly(tasks: int, perTick: int, ticks: int) -> None:
    """Endless tasks get equal turns: step counts never differ by more than one."""
    coop, scheduler = make(perTick)
    log: list[str] = []
    for i in range(tasks):
        coop.cooperate(recorder(str(i), log))
    for _ in range(ticks):
        scheduler.tick()
    counts = [log.count(str(i)) for i in range(tasks)]
    assert sum(counts) == perTick * ticks
    assert max(counts) - min(counts) <= 1


def test_task_paused_when_the_cooperator_stops_ends_on_resume() -> None:
    """A paused task outlives Cooperator.stop() only until it is resumed."""
    coop, scheduler = make(2)
    log: list[str] = []
    task = coop.cooperate(recorder("a", log))
    d = task.whenDone()
    task.pause()
    coop.stop()
    assertNoResult(d)
    task.resume()
    failureResultOf(d, SchedulerStopped)
    assert scheduler.pending == []


def test_stopping_the_cooperator_from_inside_a_step() -> None:
    """A step that stops the cooperator ends every task, including its own."""
    coop, scheduler = make(10)
    log: list[str] = []

    def stopper() -> Iterator[object]:
        coop.stop()
        yield Deferred()

    d1 = coop.coiterate(stopper())
    d2 = coop.coiterate(recorder("b", log))
    scheduler.tick()
    failureResultOf(d1, SchedulerStopped)
    failureResultOf(d2, SchedulerStopped)
    assert log == []
    assert scheduler.pending == []


def test_a_step_stopping_another_task() -> None:
    """A step may stop another task; the rest keep their turns."""
    coop, scheduler = make(6)
    log: list[str] = []
    victim = coop.cooperate(recorder("v", log))

    def killer() -> Iterator[None]:
        victim.stop()
        while True:
            log.append("k")
            yield None

    coop.cooperate(killer())
    coop.cooperate(recorder("c", log))
    scheduler.tick()
    assert log == ["v", "k", "c", "k", "c", "k"]
