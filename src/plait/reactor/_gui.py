"""``GUIReactorBase``: a reactor whose waiting is done by a GUI toolkit's event loop (§3).

The toolkit's loop is the only loop: plait registers each watched descriptor with the
toolkit's own file-descriptor watcher and arms one toolkit timer for the earliest plait
deadline, so the process sleeps in the toolkit until a descriptor is ready, a plait timer is
due or the waker is poked (``callFromThread``, ``stop``). Nothing polls periodically.

How descriptors reach the toolkit (``nestEpoll``):

- on Linux the reactor keeps its own ``epoll`` set and gives the toolkit a single watcher, for
  the epoll descriptor: when it turns readable, the ready descriptors are served in a short
  bounded burst (again while more turn ready at once, for at most ``burstSeconds``), then the
  toolkit has its loop back. One toolkit wake-up serves many events (a busy connection costs
  about what it costs on ``EPollReactor``) and only the epoll descriptor must suit the
  toolkit's watcher (Tcl 8.6's select()-based notifier: below ``FD_SETSIZE``);
- elsewhere (or with ``nestEpoll = False``) each descriptor gets its own toolkit watcher.

A subclass provides ``_watchPoller(fd)``/``_unwatchPoller(fd)`` (a read watcher calling
``_pollerReady()``), ``_setFdInterest`` (per-descriptor mode: watch ``fd`` for a
``READ``/``WRITE`` mask, calling ``_readReady(fd)``/``_writeReady(fd)``),
``_startGUITimer(delay)``/``_cancelGUITimer()`` (one single-shot timer calling
``_runTimers``), ``_runGUILoop()``, ``_quitGUILoop()`` and ``_callSoonGUI(f)``.

Two ways to run, as with ``AsyncioReactor``:

- ``reactor.run()`` runs the toolkit's loop until ``stop()`` has fired 'shutdown' and quits it;
- the application runs the toolkit's loop itself: call ``reactor.startRunning()`` first;
  ``stop()`` then fires 'shutdown' and releases the reactor's descriptors but leaves the
  application's loop running (it belongs to the application).
"""

from __future__ import annotations

import math
import select
from collections.abc import Callable
from time import monotonic
from typing import Any, cast

from ._hosted import HostedReactorBase

if hasattr(select, "epoll"):
    from ._epoll import EPollReactor

__all__ = ["GUIReactorBase"]

_INF = math.inf


class GUIReactorBase(HostedReactorBase):
    """A reactor driven by a GUI toolkit's event loop (see the module docstring)."""

    #: Watch descriptors through one epoll set (Linux); False: a toolkit watcher per descriptor.
    nestEpoll: bool = hasattr(select, "epoll")
    #: The longest burst of epoll events served before the toolkit gets its loop back.
    burstSeconds: float = 0.005

    def __init__(self) -> None:
        self._poller: Any = select.epoll() if self.nestEpoll else None
        super().__init__()
        if self._poller is not None:
            self._watchPoller(self._poller.fileno())

    # -- what a toolkit provides ---------------------------------------------------------------

    def _watchPoller(self, fd: int) -> None:
        """Call ``_pollerReady()`` whenever the epoll descriptor ``fd`` is readable."""
        raise NotImplementedError

    def _unwatchPoller(self, fd: int) -> None:
        """Stop watching the epoll descriptor."""
        raise NotImplementedError

    def _setFdInterest(self, fd: int, old: int, new: int) -> None:
        """Per-descriptor mode: watch ``fd`` for ``new`` (was ``old``); 0 = none."""
        raise NotImplementedError

    def _startGUITimer(self, delay: float) -> None:
        """Arm the toolkit's single-shot timer to call ``_runTimers`` in ``delay`` seconds."""
        raise NotImplementedError

    def _cancelGUITimer(self) -> None:
        """Disarm the toolkit's timer (no error if it is not armed)."""
        raise NotImplementedError

    def _runGUILoop(self) -> None:
        """Run the toolkit's loop until ``_quitGUILoop`` (or the toolkit ends it)."""
        raise NotImplementedError

    def _quitGUILoop(self) -> None:
        """Make ``_runGUILoop`` return once the current callback is done."""
        raise NotImplementedError

    # -- dispatch (called by the toolkit) ------------------------------------------------------

    def _setInterest(self, fd: int, old: int, new: int) -> None:
        if self._poller is not None:
            # EPollReactor's bookkeeping only touches _poller: share it rather than copy it.
            EPollReactor._setInterest(cast(Any, self), fd, old, new)
        else:
            self._setFdInterest(fd, old, new)

    def _pollerReady(self) -> None:
        # Serve what is ready, again while more turns ready at once (a busy connection), for
        # at most burstSeconds: then back to the toolkit, which calls again if need be.
        poller = self._poller
        doIteration = EPollReactor.doIteration
        until = monotonic() + self.burstSeconds
        while True:
            doIteration(cast(Any, self), 0.0)  # dispatch through the shared error boundary
            if self._threadCallQueue:
                self._runThreadCalls()
            if self._justStopped:
                self._justStopped = False
                self.fireSystemEvent("shutdown")
            if not self._started or poller.closed or monotonic() >= until:
                return
            if not poller.poll(0.0, 1):
                return

    def _writeReady(self, fd: int) -> None:
        selectable = self._writers.get(fd)
        if selectable is None:
            return
        try:
            why = selectable.doWrite()
        except Exception:
            self._writeFailed(selectable)
            return
        if why is not None:
            self._disconnectSelectable(selectable, why, False)

    # -- time ----------------------------------------------------------------------------------

    def _armTimer(self, when: float) -> None:
        if not self._started:
            return  # armed by startRunning
        self._cancelGUITimer()
        self._timerAt = when
        self._startGUITimer(max(0.0, when - monotonic()))

    def _runTimers(self) -> None:
        self._timerAt = _INF
        timers = self._timers
        timers.runUntil(monotonic(), self._delayedCallFailed)
        deadline = timers.nextDeadline()
        if deadline is not None and deadline < self._timerAt and self._started:
            self._armTimer(deadline)

    def _disarmTimer(self) -> None:
        self._cancelGUITimer()
        self._timerAt = _INF

    # -- running -------------------------------------------------------------------------------

    def run(self, installSignalHandlers: bool = True) -> None:
        """Run the toolkit's loop until ``stop()`` has fired 'shutdown', then close the
        reactor."""
        self._inRun = True
        try:
            super().run(installSignalHandlers)
        finally:
            self._inRun = False

    def mainLoop(self) -> None:
        """Run the toolkit's loop until the reactor stops or crashes."""
        while self._started:
            self._runGUILoop()
            if self._started and not self._guiAlive():
                # The application ended the toolkit (its window was destroyed): stop plait
                # too, serving 'shutdown' here since no toolkit loop is left to serve it.
                if not self._stopped:
                    self.stop()
                self._justStopped = False
                self.fireSystemEvent("shutdown")
                if self._started:
                    self.crash()

    def _guiAlive(self) -> bool:
        """Whether the toolkit's loop can still run (false once its main window is gone)."""
        return True

    def doIteration(self, timeout: float | None) -> None:
        """Run the toolkit's loop once, waiting at most ``timeout`` seconds (``iterate``)."""
        raise NotImplementedError

    def crash(self) -> None:
        """Leave the loop (if ``run`` is running it) without firing 'shutdown'."""
        super().crash()
        self._disarmTimer()
        if self._inRun:
            self._quitGUILoop()
        elif self._startedBefore and not self._closed:
            # The application runs the loop: release our descriptors once shutdown is done.
            self._callSoonGUI(self._closeAttached)

    def _callSoonGUI(self, f: Callable[[], object]) -> None:
        """Call ``f`` from the toolkit's loop soon (after the current callback)."""
        raise NotImplementedError

    def _closeBackend(self) -> None:
        self._disarmTimer()
        super()._closeBackend()
        poller = self._poller
        if poller is not None and not poller.closed:
            self._unwatchPoller(poller.fileno())
            poller.close()
