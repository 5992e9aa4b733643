"""``LoopingCall``: call a function every ``interval`` seconds on an ``IReactorTime``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from plait.defer import Deferred, Failure, maybeDeferred
from plait.reactor._time import IDelayedCall
from plait.task._clocks import ITimeSource

__all__ = ["LoopingCall"]

# Times within this fraction of an interval of a boundary count as on it (float rounding).
_BOUNDARY_FUZZ = 1e-9


class LoopingCall:
    """Call ``f(*a, **kw)`` repeatedly, every ``interval`` seconds.

    Set ``clock`` (the reactor, or any ``IReactorTime``) before ``start``; there is no global
    reactor to fall back on. Calls are aligned to ``starttime + n * interval``: a slow call
    or a late reactor skips the missed slots instead of bunching calls up. When ``f`` returns
    a Deferred, the next call waits until it fires. The Deferred ``start`` returns fires with
    this LoopingCall once ``stop()`` has taken effect, or fails with what ``f`` raised (which
    also stops the loop).
    """

    call: IDelayedCall | None = None
    running: bool = False
    interval: float | None = None
    starttime: float | None = None
    clock: ITimeSource | None = None

    def __init__(self, f: Callable[..., object], *a: Any, **kw: Any) -> None:
        self.f = f
        self.a = a
        self.kw = kw
        self._deferred: Deferred[LoopingCall] | None = None
        self._runAtStart = False
        self._lastCountTime: float | None = None

    @classmethod
    def withCount(cls, countCallable: Callable[[int], object]) -> LoopingCall:
        """A LoopingCall calling ``countCallable(n)``: ``n`` is how many intervals passed
        since the previous call (1 normally, more when slots were skipped).

        With an interval of 0 every call gets 1.
        """
        lc: LoopingCall

        def counter() -> object:
            clock = lc._clockOrRaise()
            now = clock.seconds()
            if not lc.interval:
                lc._lastCountTime = now
                return countCallable(1)
            assert lc.starttime is not None
            last = lc._lastCountTime
            if last is None:
                last = lc.starttime - (lc.interval if lc._runAtStart else 0.0)
            count = lc._intervalOf(now) - lc._intervalOf(last)
            if count <= 0:
                return None
            lc._lastCountTime = now
            return countCallable(count)

        lc = cls(counter)
        return lc

    @property
    def deferred(self) -> Deferred[LoopingCall] | None:
        """The Deferred ``start`` returned, while running."""
        return self._deferred

    def _clockOrRaise(self) -> ITimeSource:
        if self.clock is None:
            raise RuntimeError(
                "LoopingCall.clock is not set: assign the reactor (any IReactorTime) before start"
            )
        return self.clock

    def start(self, interval: float, now: bool = True) -> Deferred[LoopingCall]:
        """Start calling every ``interval`` seconds, the first time now (or after one
        interval if ``now`` is False).

        Returns a Deferred firing with this LoopingCall when stopped, or failing with the
        exception ``f`` raised.
        """
        if self.running:
            raise RuntimeError("tried to start an already running LoopingCall")
        if self._deferred is not None:
            raise RuntimeError(
                "tried to start a LoopingCall still finishing its last call: "
                "wait for the Deferred from the previous start()"
            )
        if not interval >= 0:
            raise ValueError(f"interval must be >= 0, not {interval!r}")
        clock = self._clockOrRaise()
        self.running = True
        deferred: Deferred[LoopingCall] = Deferred()
        self._deferred = deferred
        self.starttime = clock.seconds()
        self.interval = interval
        self._runAtStart = now
        self._lastCountTime = None
        if now:
            self()
        else:
            self._scheduleFrom(self.starttime)
        return deferred

    def stop(self) -> None:
        """Stop looping. The ``start`` Deferred fires now, or, if ``f`` is running (or its
        Deferred has not fired), once it has finished."""
        if not self.running:
            raise RuntimeError("tried to stop a LoopingCall that was not running")
        self.running = False
        if self.call is not None:
            self.call.cancel()
            self.call = None
            self._fire()

    def reset(self) -> None:
        """Start the interval over from now: the next call is one interval from now."""
        if not self.running:
            raise RuntimeError("tried to reset a LoopingCall that was not running")
        clock = self._clockOrRaise()
        self.starttime = clock.seconds()
        # withCount counts from the new start: the next call sees one interval.
        self._lastCountTime = None
        self._runAtStart = False
        if self.call is not None:
            self.call.cancel()
            self.call = None
            self._scheduleFrom(self.starttime)
        # else f is running: the next call is scheduled from the new start when it finishes.

    def __call__(self) -> None:
        """Run one iteration (the clock calls this)."""
        self.call = None
        d = maybeDeferred(self.f, *self.a, **self.kw)
        d.addCallbacks(self._iterationDone, self._iterationFailed)

    def _iterationDone(self, result: object) -> None:
        if self.running:
            self._scheduleFrom(self._clockOrRaise().seconds())
        else:
            self._fire()

    def _iterationFailed(self, failure: Failure) -> None:
        self.running = False
        self.call = None
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            deferred.errback(failure)

    def _fire(self) -> None:
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            deferred.callback(self)

    def _intervalOf(self, when: float) -> int:
        """The number of the interval ``when`` falls in (0 from ``starttime`` on)."""
        assert self.starttime is not None and self.interval
        n = (when - self.starttime) / self.interval
        nearest = round(n)
        if abs(n - nearest) < _BOUNDARY_FUZZ:
            return nearest
        return math.floor(n)

    def _scheduleFrom(self, when: float) -> None:
        """Schedule the next call at the first interval boundary after ``when``."""
        clock = self._clockOrRaise()
        assert self.starttime is not None
        if not self.interval:
            delay = 0.0
        else:
            boundary = self.starttime + (self._intervalOf(when) + 1) * self.interval
            # Aim a hair early: a clock advanced by sums of the interval may land a rounding
            # error short of the exact boundary, and _intervalOf counts this as on it.
            early = self.interval * _BOUNDARY_FUZZ / 2
            delay = max(boundary - when - early, 0.0)
        self.call = clock.callLater(delay, self)

    def __repr__(self) -> str:
        name = getattr(self.f, "__qualname__", None) or repr(self.f)
        return f"LoopingCall<{self.interval!r}>({name}, *{self.a!r}, **{self.kw!r})"
