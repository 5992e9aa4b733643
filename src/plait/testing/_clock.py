"""``Clock``: an ``IReactorTime`` whose time moves only when a test says so."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ParamSpec

from ..reactor._time import DelayedCall, TimerQueue

__all__ = ["Clock"]

_P = ParamSpec("_P")

# How many back-to-back runs one advance() makes before deciding a callLater(0) loop never ends.
_MAX_RUNS_PER_ADVANCE = 100_000


class Clock:
    """A deterministic ``IReactorTime`` for tests: time starts at 0 and moves by ``advance``.

    It schedules on the same ``TimerQueue`` as the real reactors, so ordering (by time, ties in
    scheduling order) is the same. Unlike a reactor, ``advance`` keeps running until nothing is
    due, so calls scheduled with delay 0 by a running call also run (as Twisted's ``Clock``
    does). An exception raised by a call propagates out of ``advance``; the calls not yet run
    stay pending.
    """

    def __init__(self) -> None:
        #: The current time; ``seconds()`` returns it (Twisted's attribute name).
        self.rightNow = 0.0
        self._timers = TimerQueue(self.seconds)

    def seconds(self) -> float:
        """The current fake time."""
        return self.rightNow

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> DelayedCall:
        """Schedule ``callable(*args, **kw)`` ``delay`` seconds after the current fake time."""
        return self._timers.callLater(delay, callable, *args, **kw)

    def getDelayedCalls(self) -> list[DelayedCall]:
        """The pending calls, earliest first."""
        return sorted(self._timers.getDelayedCalls(), key=lambda c: (c.time, c._seq))

    @property
    def calls(self) -> list[DelayedCall]:
        """The pending calls, earliest first (the attribute Twisted's ``Clock`` has)."""
        return self.getDelayedCalls()

    def advance(self, amount: float) -> None:
        """Move time forward by ``amount`` seconds and run every call that is then due."""
        if not amount >= 0:
            raise ValueError(f"cannot advance a Clock by {amount!r}")
        self.rightNow += amount
        timers = self._timers
        for _ in range(_MAX_RUNS_PER_ADVANCE):
            deadline = timers.nextDeadline()
            if deadline is None or deadline > self.rightNow:
                return
            timers.runUntil(self.rightNow)
        raise RuntimeError(
            f"Clock.advance gave up after {_MAX_RUNS_PER_ADVANCE} runs: calls keep scheduling "
            "new calls that are due at once"
        )

    def pump(self, timings: Iterable[float]) -> None:
        """``advance`` by each amount in ``timings`` in turn."""
        for amount in timings:
            self.advance(amount)
