"""Scheduling: ``IReactorTime``, ``DelayedCall`` and the ``TimerQueue`` behind ``callLater``.

One ``TimerQueue`` serves every reactor and ``plait.testing.Clock``, so fake time and real time
share their ordering rules:

- calls run in order of their due time; ties run in scheduling order (a ``reset``/``delay``
  counts as scheduling anew);
- a call scheduled (or rescheduled) while ``runUntil`` is running waits for the next run, so a
  ``callLater(0, ...)`` loop cannot starve I/O;
- an exception from a call goes to the owner's error handler and the run goes on.

The heap holds ``[time, seq, call]`` entries. Cancelling only marks an entry dead (the heap is
rebuilt once dead entries outnumber live ones), moving a call later leaves its entry in place
and re-files it when the entry surfaces, and moving it earlier files a new entry: every
operation is O(log n) amortised.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, Protocol, runtime_checkable

__all__ = [
    "AlreadyCalled",
    "AlreadyCancelled",
    "DelayedCall",
    "IDelayedCall",
    "IReactorTime",
    "TimerQueue",
]

_P = ParamSpec("_P")
_heappush = heapq.heappush
_heappop = heapq.heappop

# A heap entry: [time, seq, call]; call is None once the entry is dead (cancelled/superseded).
_Entry = list[Any]


class AlreadyCalled(ValueError):
    """The delayed call has already run, so it can no longer be changed or cancelled."""


class AlreadyCancelled(ValueError):
    """The delayed call has already been cancelled."""


@runtime_checkable
class IDelayedCall(Protocol):
    """A call scheduled to run later; returned by ``callLater``."""

    called: bool
    cancelled: bool

    def getTime(self) -> float:
        """The time (in the scheduler's ``seconds()``) at which the call is due."""
        ...

    def cancel(self) -> None:
        """Stop the call from running; raises ``AlreadyCalled``/``AlreadyCancelled``."""
        ...

    def delay(self, secondsLater: float) -> None:
        """Move the due time by ``secondsLater`` seconds."""
        ...

    def reset(self, secondsFromNow: float) -> None:
        """Make the call due ``secondsFromNow`` seconds from the current time."""
        ...

    def active(self) -> bool:
        """True while the call has neither run nor been cancelled."""
        ...


@runtime_checkable
class IReactorTime(Protocol):
    """Time and scheduling: what ``plait.task`` and protocols with timeouts need."""

    def seconds(self) -> float:
        """The current time in seconds (a monotonic clock on real reactors)."""
        ...

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> IDelayedCall:
        """Call ``callable(*args, **kw)`` ``delay`` seconds from now."""
        ...

    def getDelayedCalls(self) -> Sequence[IDelayedCall]:
        """Every call scheduled and still pending (implementations return a list)."""
        ...


def _checkDelay(delay: float) -> float:
    delay = float(delay)
    if not delay >= 0.0:  # also rejects NaN
        raise ValueError(f"delay must be a number >= 0, not {delay!r}")
    return delay


class DelayedCall:
    """A call scheduled on a ``TimerQueue``; see ``IDelayedCall``.

    ``func``, ``args`` and ``kw`` are what will be called; ``time`` is the due time.
    """

    __slots__ = ("_entry", "_queue", "_seq", "args", "called", "cancelled", "func", "kw", "time")

    def __init__(
        self,
        time: float,
        func: Callable[..., object],
        args: tuple[object, ...],
        kw: dict[str, object],
        queue: TimerQueue,
        seq: int,
    ) -> None:
        self.time = time
        self.func = func
        self.args = args
        self.kw = kw
        self.called = False
        self.cancelled = False
        self._queue = queue
        self._seq = seq
        # The heap entry that stands for this call (its key may be earlier than (time, _seq)).
        self._entry: _Entry | None = None

    def getTime(self) -> float:
        """The time at which the call is due."""
        return self.time

    def _checkActive(self) -> None:
        if self.cancelled:
            raise AlreadyCancelled(self)
        if self.called:
            raise AlreadyCalled(self)

    def cancel(self) -> None:
        """Stop the call from running.

        Raises ``AlreadyCancelled`` if cancelled before, ``AlreadyCalled`` if it has run.
        """
        self._checkActive()
        self.cancelled = True
        self._queue._cancel(self)
        # Drop references early: a cancelled timeout should not keep its protocol alive.
        self.args = ()
        self.kw = {}

    def reset(self, secondsFromNow: float) -> None:
        """Make the call due ``secondsFromNow`` seconds from now (the queue's ``seconds()``)."""
        self._checkActive()
        self._queue._move(self, self._queue.seconds() + _checkDelay(secondsFromNow))

    def delay(self, secondsLater: float) -> None:
        """Move the due time by ``secondsLater`` seconds (negative moves it earlier)."""
        self._checkActive()
        when = self.time + float(secondsLater)
        if math.isnan(when):
            raise ValueError(f"cannot delay by {secondsLater!r}")
        self._queue._move(self, when)

    def active(self) -> bool:
        """True while the call has neither run nor been cancelled."""
        return not (self.called or self.cancelled)

    def __repr__(self) -> str:
        func = self.func
        name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
        if name is None:
            name = repr(func)
        else:
            module = getattr(func, "__module__", None)
            if module and module != "builtins":
                name = f"{module}.{name}"
        parts = [repr(a) for a in self.args]
        parts.extend(f"{k}={v!r}" for k, v in self.kw.items())
        if self.called:
            state = "called"
        elif self.cancelled:
            state = "cancelled"
        else:
            state = f"due in {self.time - self._queue.seconds():.6g}s"
        return (
            f"<DelayedCall 0x{id(self):x} at {self.time:.6f} ({state}) {name}({', '.join(parts)})>"
        )


def _propagate(call: DelayedCall, error: Exception) -> None:
    raise error


class TimerQueue:
    """The pending delayed calls of one reactor or ``Clock``, in due-time order.

    ``seconds`` is the owner's clock; ``callLater`` schedules against it, ``runUntil(now)`` runs
    what is due, and ``nextDeadline()`` tells the owner how long it may sleep.
    """

    __slots__ = ("_aside", "_dead", "_heap", "_seq", "seconds")

    def __init__(self, seconds: Callable[[], float]) -> None:
        self.seconds = seconds
        self._heap: list[_Entry] = []
        self._dead = 0  # dead entries still in _heap
        self._seq = 0
        # Calls (re)scheduled while runUntil runs, held out of the heap until it ends.
        self._aside: list[DelayedCall] = []

    def __len__(self) -> int:
        """The number of pending (not cancelled, not run) calls."""
        pending = len(self._heap) - self._dead
        if self._aside:
            pending += sum(1 for c in self._aside if not c.cancelled)
        return pending

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> DelayedCall:
        """Schedule ``callable(*args, **kw)`` ``delay`` (>= 0) seconds from now."""
        if not delay >= 0.0:
            _checkDelay(delay)
        # callAt, inlined: this is the reactor's hot path.
        when = self.seconds() + delay
        seq = self._seq
        self._seq = seq + 1
        call = DelayedCall(when, callable, args, kw, self, seq)
        call._entry = entry = [when, seq, call]
        _heappush(self._heap, entry)
        return call

    def callAt(
        self, when: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> DelayedCall:
        """Schedule ``callable(*args, **kw)`` at time ``when`` (in ``seconds()`` units)."""
        seq = self._seq
        self._seq = seq + 1
        call = DelayedCall(when, callable, args, kw, self, seq)
        call._entry = entry = [when, seq, call]
        _heappush(self._heap, entry)
        return call

    def getDelayedCalls(self) -> list[DelayedCall]:
        """The pending calls, in no particular order."""
        calls = [e[2] for e in self._heap if e[2] is not None]
        calls.extend(c for c in self._aside if not c.cancelled)
        return calls

    def _cancel(self, call: DelayedCall) -> None:
        entry = call._entry
        if entry is not None:
            entry[2] = None
            call._entry = None
            self._dead += 1
            self._maybeCompact()

    def _move(self, call: DelayedCall, when: float) -> None:
        # A move counts as scheduling anew: it takes a fresh sequence number for tie-breaking.
        seq = self._seq
        self._seq = seq + 1
        call.time = when
        call._seq = seq
        entry = call._entry
        if entry is None:  # held aside by a running runUntil, which files it at the end
            return
        if entry[0] <= when:
            # Later (or equal): leave the entry; it is re-filed when it reaches the top.
            return
        entry[2] = None
        self._dead += 1
        entry = [when, seq, call]
        call._entry = entry
        heapq.heappush(self._heap, entry)
        self._maybeCompact()

    def _maybeCompact(self) -> None:
        if self._dead * 2 > len(self._heap):
            self._compact()

    def _compact(self) -> None:
        live: list[_Entry] = []
        for entry in self._heap:
            call = entry[2]
            if call is not None:
                entry = [call.time, call._seq, call]
                call._entry = entry
                live.append(entry)
        heapq.heapify(live)
        self._heap = live
        self._dead = 0

    def _settleTop(self) -> _Entry | None:
        """Drop dead entries and re-file moved ones at the top; return the top entry."""
        heap = self._heap
        while heap:
            entry = heap[0]
            call = entry[2]
            if call is None:
                heapq.heappop(heap)
                self._dead -= 1
            elif entry[1] != call._seq:
                entry = [call.time, call._seq, call]
                call._entry = entry
                heapq.heapreplace(heap, entry)
            else:
                return entry
        return None

    def nextDeadline(self) -> float | None:
        """The due time of the earliest pending call, or None if nothing is pending."""
        entry = self._settleTop()
        return None if entry is None else entry[0]

    def runUntil(
        self, now: float, onError: Callable[[DelayedCall, Exception], object] = _propagate
    ) -> int:
        """Run every call due at ``now`` (time <= now) that was pending when the run began.

        Calls scheduled or moved during the run wait for the next run. An ``Exception`` from a
        call goes to ``onError(call, exception)``; the default re-raises it, leaving the calls
        not yet run pending for the next run. Returns the number of calls run.
        """
        heap = self._heap
        limit = self._seq
        heappop = _heappop
        outerAside = self._aside
        aside: list[DelayedCall] = []
        self._aside = aside
        ran = 0
        try:
            while heap:
                entry = heap[0]
                if entry[0] > now:
                    break
                heappop(heap)
                call = entry[2]
                if call is None:
                    self._dead -= 1
                    continue
                seq = call._seq
                if seq >= limit:
                    # (Re)scheduled during this run: keep it out of the heap until the end.
                    call._entry = None
                    aside.append(call)
                    continue
                if entry[1] != seq:
                    # Moved later since it was filed: file it under its real time.
                    entry = [call.time, seq, call]
                    call._entry = entry
                    heapq.heappush(heap, entry)
                    continue
                call._entry = None
                call.called = True
                ran += 1
                try:
                    call.func(*call.args, **call.kw)
                except Exception as e:
                    onError(call, e)
                # A compaction inside the call may have replaced the heap.
                heap = self._heap
        finally:
            self._aside = outerAside
            heap = self._heap
            for call in aside:
                if not call.cancelled:
                    entry = [call.time, call._seq, call]
                    call._entry = entry
                    heapq.heappush(heap, entry)
        return ran
