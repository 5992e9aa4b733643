"""What reactors hosted on another event loop (asyncio, a GUI toolkit) share.

Such a reactor keeps plait's timer queue but lets the host loop wake it: one host timer is
armed for the earliest deadline, and the host calls back when a descriptor is ready.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from time import monotonic
from typing import ParamSpec

from ._posixbase import PosixReactorBase
from ._time import DelayedCall, TimerQueue

__all__ = ["HostedReactorBase"]

_P = ParamSpec("_P")
_INF = math.inf


class _ArmingTimerQueue(TimerQueue):
    """A ``TimerQueue`` that re-arms its reactor's timer when a call moves earlier."""

    __slots__ = ("_reactor",)

    def __init__(self, seconds: Callable[[], float], reactor: HostedReactorBase) -> None:
        super().__init__(seconds)
        self._reactor = reactor

    def _move(self, call: DelayedCall, when: float) -> None:
        super()._move(call, when)
        reactor = self._reactor
        if when < reactor._timerAt:
            reactor._armTimer(when)


class HostedReactorBase(PosixReactorBase):
    """A ``PosixReactorBase`` whose timers and readiness callbacks come from a host loop."""

    def __init__(self) -> None:
        self._timerAt = _INF  # the deadline the host timer is armed for (inf: none)
        self._inRun = False
        super().__init__()
        self._timers = _ArmingTimerQueue(monotonic, self)

    def _armTimer(self, when: float) -> None:
        """Arm the host loop's timer to run the due calls at ``when`` (monotonic seconds)."""
        raise NotImplementedError

    def _readReady(self, fd: int) -> None:
        selectable = self._readers.get(fd)
        if selectable is not None:
            try:
                why = selectable.doRead()
            except Exception:
                self._readFailed(selectable)
            else:
                if why is not None:
                    self._disconnectSelectable(selectable, why, True)
        # The waker (and the signal pipe) land here: serve what they were poked for.
        if self._threadCallQueue:
            self._runThreadCalls()
        if self._justStopped:
            self._justStopped = False
            self.fireSystemEvent("shutdown")

    def callLater(
        self, delay: float, callable: Callable[_P, object], *args: _P.args, **kw: _P.kwargs
    ) -> DelayedCall:
        """Call ``callable(*args, **kw)`` in ``delay`` seconds; an exception from it is logged."""
        call = self._timers.callLater(delay, callable, *args, **kw)
        if call.time < self._timerAt:
            self._armTimer(call.time)
        return call

    def startRunning(self, installSignalHandlers: bool = True) -> None:
        """Fire 'startup' and arm the timers; when the application runs the host loop itself,
        this is all it takes to start (``run`` runs the loop for you)."""
        super().startRunning(installSignalHandlers)
        deadline = self._timers.nextDeadline()
        if deadline is not None and self._started:
            self._armTimer(deadline)

    def _closeAttached(self) -> None:
        if not self._started and not self._closed:
            self.close()
