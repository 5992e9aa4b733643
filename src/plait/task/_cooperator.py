"""``Cooperator``: run many iterators a little at a time, without starving the event loop.

Each iterator is a task; one step of a task is one ``next()``. On each tick the cooperator
steps its tasks round-robin until the time slice is used up, then schedules the next tick
(through the scheduler, normally the clock's ``callLater``), so other events get their turn
in between. A task whose iterator yields a Deferred is paused until that Deferred fires.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from plait.defer import Deferred, Failure
from plait.task._clocks import ICallLater

__all__ = [
    "CooperativeTask",
    "Cooperator",
    "NotPaused",
    "SchedulerError",
    "SchedulerStopped",
    "TaskDone",
    "TaskFailed",
    "TaskFinished",
    "TaskStopped",
]

_I = TypeVar("_I", bound=Iterator[Any])

# The delay of the default scheduler: "as soon as the loop has looked at I/O again".
_EPSILON = 0.00000001
# The default time slice: how long one tick may step tasks before yielding to the loop.
_TIME_SLICE = 0.01


class SchedulerError(Exception):
    """The operation is not allowed in the task's or the cooperator's current state."""


class SchedulerStopped(SchedulerError):
    """The cooperator was stopped: its tasks end with this, and it takes no new ones."""


class TaskFinished(SchedulerError):
    """The task has finished (base of how: done, stopped or failed)."""


class TaskDone(TaskFinished):
    """The task's iterator was exhausted."""


class TaskStopped(TaskFinished):
    """The task was stopped with ``stop()``."""


class TaskFailed(TaskFinished):
    """The task's iterator raised an exception (or a Deferred it yielded failed)."""


class NotPaused(SchedulerError):
    """``resume()`` was called on a task that was not paused."""


class _Cancellable(Protocol):
    def cancel(self) -> None: ...

    def active(self) -> bool: ...


Scheduler = Callable[[Callable[[], None]], _Cancellable]


class _TimeSlice:
    """A termination predicate: true once ``limit`` seconds of real time have passed."""

    def __init__(self, limit: float) -> None:
        self._end = time.monotonic() + limit

    def __call__(self) -> bool:
        return time.monotonic() >= self._end


def _defaultTerminationPredicateFactory() -> Callable[[], bool]:
    return _TimeSlice(_TIME_SLICE)


class CooperativeTask:
    """One iterator run by a ``Cooperator``; returned by ``Cooperator.cooperate``.

    ``pause``/``resume`` nest (a task runs when paused as often as resumed); ``stop`` ends it
    for good. ``whenDone()`` gives a Deferred firing with the iterator once it is exhausted,
    or failing with ``TaskStopped``, ``SchedulerStopped`` or the iterator's exception.
    """

    def __init__(self, iterator: Iterator[Any], cooperator: Cooperator) -> None:
        self._iterator = iterator
        self._cooperator = cooperator
        self._deferreds: list[Deferred[Any]] = []
        self._pauseCount = 0
        self._completionState: TaskFinished | SchedulerStopped | None = None
        self._completionResult: object = None
        cooperator._addTask(self)

    def whenDone(self) -> Deferred[Any]:
        """A new Deferred for the end of this task (see the class docstring)."""
        d: Deferred[Any] = Deferred()
        if self._completionState is None:
            self._deferreds.append(d)
        else:
            self._deliver(d, self._completionResult)
        return d

    def pause(self) -> None:
        """Stop stepping this task until ``resume()`` (raises ``TaskFinished`` once done)."""
        self._checkFinish()
        self._pauseCount += 1
        if self._pauseCount == 1:
            self._cooperator._removeTask(self)

    def resume(self) -> None:
        """Undo one ``pause()``; raises ``NotPaused`` if the task is not paused."""
        if self._pauseCount == 0:
            raise NotPaused()
        self._pauseCount -= 1
        if self._pauseCount == 0 and self._completionState is None:
            self._cooperator._addTask(self)

    def stop(self) -> None:
        """End the task now: ``whenDone`` Deferreds fail with ``TaskStopped``."""
        self._checkFinish()
        self._completeWith(TaskStopped(), Failure(TaskStopped()))

    def _checkFinish(self) -> None:
        if self._completionState is not None:
            raise self._completionState

    def _completeWith(
        self, state: TaskFinished | SchedulerStopped, result: object, *, listed: bool = True
    ) -> None:
        if self._completionState is not None:
            return
        self._completionState = state
        self._completionResult = result
        if listed and not self._pauseCount:
            self._cooperator._removeTask(self)
        deferreds, self._deferreds = self._deferreds, []
        for d in deferreds:
            self._deliver(d, result)
        # A finished task holds no iterator (it may hold a lot).
        self._iterator = iter(())

    @staticmethod
    def _deliver(d: Deferred[Any], result: object) -> None:
        if isinstance(result, Failure):
            d.errback(result)
        else:
            d.callback(result)

    def _runnable(self) -> bool:
        return self._completionState is None and not self._pauseCount

    def _oneWorkUnit(self) -> None:
        try:
            result = next(self._iterator)
        except StopIteration:
            self._completeWith(TaskDone(), self._iterator)
        except Exception:
            self._completeWith(TaskFailed(), Failure())
        else:
            # The step may have stopped this task (or the cooperator): then the result is moot.
            if isinstance(result, Deferred) and self._completionState is None:
                self.pause()
                result.addCallbacks(self._yieldedFired, self._yieldedFailed)

    def _yieldedFired(self, result: object) -> None:
        if self._pauseCount:
            self.resume()

    def _yieldedFailed(self, failure: Failure) -> None:
        self._completeWith(TaskFailed(), failure)


class Cooperator:
    """Runs ``CooperativeTask``s round-robin, a time slice per tick.

    Give it ``clock`` (the reactor or any ``IReactorTime``): ticks are then scheduled with
    ``clock.callLater`` a tiny delay ahead, so the loop looks at I/O between ticks. Or give a
    ``scheduler``: a callable taking the tick function and returning something with
    ``cancel()``/``active()``. ``terminationPredicateFactory`` makes, per tick, a callable
    that says when the tick's time slice is used up (default: 10 ms of real time; a fake
    clock's time does not move within a tick, so it is not used for that).

    There is deliberately no module-level ``cooperate``/``coiterate``: they would need a
    global reactor. Make a ``Cooperator(clock)`` and call its methods.
    """

    def __init__(
        self,
        clock: ICallLater | None = None,
        *,
        scheduler: Scheduler | None = None,
        terminationPredicateFactory: Callable[[], Callable[[], bool]] | None = None,
        started: bool = True,
    ) -> None:
        if scheduler is None:
            if clock is None:
                raise TypeError("Cooperator needs a clock (an IReactorTime) or a scheduler")
            reactorTime = clock

            def scheduleOnClock(tick: Callable[[], None]) -> _Cancellable:
                return reactorTime.callLater(_EPSILON, tick)

            scheduler = scheduleOnClock
        self._scheduler: Scheduler = scheduler
        self._terminationPredicateFactory = (
            terminationPredicateFactory or _defaultTerminationPredicateFactory
        )
        # Runnable tasks in turn order; the task being stepped is out of it until its step ends,
        # so pausing or finishing inside a step costs O(1).
        self._tasks: deque[CooperativeTask] = deque()
        self._current: CooperativeTask | None = None
        self._delayedCall: _Cancellable | None = None
        self._started = started
        self._stopped = False

    @property
    def running(self) -> bool:
        """True when started and not stopped."""
        return self._started and not self._stopped

    def cooperate(self, iterator: Iterator[Any]) -> CooperativeTask:
        """Run ``iterator`` as a task; it starts on a coming tick."""
        return CooperativeTask(iterator, self)

    def coiterate(self, iterator: _I, doneDeferred: Deferred[_I] | None = None) -> Deferred[_I]:
        """Run ``iterator`` as a task; the Deferred fires with it once exhausted (or fails)."""
        d: Deferred[_I] = doneDeferred if doneDeferred is not None else Deferred()
        self.cooperate(iterator).whenDone().chainDeferred(d)
        return d

    def start(self) -> None:
        """Start ticking (for a Cooperator made with ``started=False``)."""
        self._stopped = False
        self._started = True
        self._reschedule()

    def stop(self) -> None:
        """Stop: every task ends with ``SchedulerStopped``, and so will any new one."""
        self._stopped = True
        tasks = list(self._tasks)
        self._tasks.clear()
        if self._current is not None:
            tasks.append(self._current)
        for task in tasks:
            task._completeWith(SchedulerStopped(), Failure(SchedulerStopped()), listed=False)
        self._cancelTick()

    def _addTask(self, task: CooperativeTask) -> None:
        if self._stopped:
            task._completeWith(SchedulerStopped(), Failure(SchedulerStopped()), listed=False)
            return
        if task is self._current:
            return  # paused and resumed within its own step: _tick puts it back
        self._tasks.append(task)
        self._reschedule()

    def _removeTask(self, task: CooperativeTask) -> None:
        if task is self._current:
            return  # _tick does not put it back
        self._tasks.remove(task)
        if not self._tasks:
            self._cancelTick()

    def _cancelTick(self) -> None:
        if self._delayedCall is not None:
            if self._delayedCall.active():
                self._delayedCall.cancel()
            self._delayedCall = None

    def _reschedule(self) -> None:
        if self._started and self._delayedCall is None and self._tasks:
            self._delayedCall = self._scheduler(self._tick)

    def _tick(self) -> None:
        """Step tasks round-robin until the time slice is used up or no task is left."""
        self._delayedCall = None
        done = self._terminationPredicateFactory()
        tasks = self._tasks
        while tasks and not self._stopped:
            task = self._current = tasks.popleft()
            try:
                task._oneWorkUnit()
            finally:
                self._current = None
            if task._runnable() and not self._stopped:
                tasks.append(task)
            if done():
                break
        self._reschedule()
