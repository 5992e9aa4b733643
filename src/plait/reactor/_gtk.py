"""``GtkReactor``: plait's reactor on GLib's main loop (GTK's loop; PyGObject), one thread.

On Linux one GLib fd watch (``GLib.unix_fd_add_full``) serves the reactor's epoll set in
bounded bursts; elsewhere (``nestEpoll = False``) each watched descriptor gets its own watch
(see ``plait.reactor._gui``). The earliest plait deadline is one ``GLib.timeout_add``
source, so the loop sleeps until a socket, a plait timer or the waker (``callFromThread``,
``stop``) needs it: no polling timer.

The watches live on GLib's default main context, the one ``Gtk.main()``,
``Gtk.Application.run()`` and ``GLib.MainLoop().run()`` all iterate: ``reactor.run()`` runs a
``GLib.MainLoop`` and ``stop()`` quits it; or the application calls
``reactor.startRunning()`` and runs its own GTK loop (see ``plait.reactor._gui``).

Needs PyGObject (``gi``); importing this module does not import it, making a ``GtkReactor``
does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._gui import GUIReactorBase
from ._posixbase import READ, WRITE

__all__ = ["GtkReactor"]


class GtkReactor(GUIReactorBase):
    """A reactor running on GLib's default main context (see the module docstring)."""

    def __init__(self) -> None:
        try:
            from gi.repository import GLib
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("GtkReactor needs PyGObject (the gi package)") from e
        self._GLib: Any = GLib
        self._context: Any = GLib.MainContext.default()
        self._mainLoop: Any = GLib.MainLoop.new(self._context, False)
        self._timerSource: int | None = None
        self._pollerSource: int | None = None
        self._sources: dict[int, int] = {}  # per-descriptor mode: fd -> GLib source id
        glibIO = GLib.IOCondition
        self._conditions = (
            0,
            glibIO.IN | glibIO.HUP | glibIO.ERR,
            glibIO.OUT | glibIO.ERR,
            glibIO.IN | glibIO.OUT | glibIO.HUP | glibIO.ERR,
        )
        self._IN_HUP = glibIO.IN | glibIO.HUP | glibIO.ERR
        self._OUT = glibIO.OUT
        super().__init__()

    # -- descriptors ---------------------------------------------------------------------------

    def _watchPoller(self, fd: int) -> None:
        GLib = self._GLib
        self._pollerSource = GLib.unix_fd_add_full(
            GLib.PRIORITY_DEFAULT, fd, GLib.IOCondition.IN, self._onPoller
        )

    def _onPoller(self, fd: int, condition: Any) -> bool:
        self._pollerReady()
        return True  # keep watching

    def _unwatchPoller(self, fd: int) -> None:
        source, self._pollerSource = self._pollerSource, None
        if source is not None:
            self._GLib.source_remove(source)

    def _setFdInterest(self, fd: int, old: int, new: int) -> None:
        GLib = self._GLib
        source = self._sources.pop(fd, None)
        if source is not None:
            GLib.source_remove(source)
        if new:
            self._sources[fd] = GLib.unix_fd_add_full(
                GLib.PRIORITY_DEFAULT, fd, self._conditions[new], self._onFdEvent
            )

    def _onFdEvent(self, fd: int, condition: Any) -> bool:
        if condition & self._IN_HUP and fd in self._readers:
            self._readReady(fd)
        if condition & self._OUT or (condition & self._IN_HUP and fd not in self._readers):
            if fd in self._writers:
                self._writeReady(fd)
            elif fd not in self._readers and fd in self._sources:
                self._setFdInterest(fd, READ | WRITE, 0)
        # Keep the watch; if dispatching replaced or removed it, GLib ignores this answer.
        return True

    # -- timers --------------------------------------------------------------------------------

    def _startGUITimer(self, delay: float) -> None:
        # Whole milliseconds, rounded up: waking early would only arm the timer again.
        self._timerSource = self._GLib.timeout_add(math.ceil(delay * 1000.0), self._onTimer)

    def _onTimer(self) -> bool:
        self._timerSource = None
        self._runTimers()
        return False  # one shot

    def _cancelGUITimer(self) -> None:
        source, self._timerSource = self._timerSource, None
        if source is not None:
            self._GLib.source_remove(source)

    def _callSoonGUI(self, f: Callable[[], object]) -> None:
        def once() -> bool:
            f()
            return False

        self._GLib.idle_add(once)

    # -- running -------------------------------------------------------------------------------

    def _runGUILoop(self) -> None:
        self._mainLoop.run()

    def _quitGUILoop(self) -> None:
        self._mainLoop.quit()

    def doIteration(self, timeout: float | None) -> None:
        """Serve GLib's events, waiting at most ``timeout`` seconds for one (``iterate``)."""
        context = self._context
        if timeout == 0:
            while context.iteration(False):
                pass
            return
        wake = None
        if timeout is not None:
            wake = self._GLib.timeout_add(math.ceil(timeout * 1000.0), lambda: False)
        context.iteration(True)
        if wake is not None and self._context.find_source_by_id(wake) is not None:
            self._GLib.source_remove(wake)

    def _closeBackend(self) -> None:
        super()._closeBackend()
        for fd in list(self._sources):
            self._GLib.source_remove(self._sources.pop(fd))
