"""``TkReactor``: plait's reactor on Tk's event loop (``tkinter``), one thread for both.

On Linux the reactor keeps its own ``epoll`` set and hands Tcl a single file handler, for
the epoll descriptor: when it turns readable, the ready descriptors are served in a short
bounded burst (until none is ready, at most ``burstSeconds``), then control goes back to Tk.
Elsewhere every watched descriptor becomes its own Tcl file handler (``createfilehandler``,
Unix only). Either way the earliest plait deadline is one Tk ``after`` timer, so
``root.mainloop()`` sleeps until a socket, a plait timer or the waker (``callFromThread``,
``stop``) needs it: no polling timer.

``TkReactor(root)`` uses the application's ``tkinter.Tk``; ``TkReactor()`` makes one (and
destroys it when the reactor closes). ``reactor.run()`` runs ``root.mainloop()`` and
``stop()`` quits it; or the application calls ``reactor.startRunning()`` and then
``root.mainloop()`` itself (see ``plait.reactor._gui``). Destroying the root window ends
``run()`` as ``stop()`` would.

Why the epoll set: Tcl 8.6's Unix notifier waits with ``select()`` in a helper thread, so each
Tcl file event costs two thread switches and descriptors must stay below ``FD_SETSIZE``
(1024; a higher one would make Tcl abort the process, so it is refused with ``ValueError``).
With one handler for the epoll descriptor, only that descriptor must be low, and a burst
serves many events per switch (see ``benchmarks/gui_pingpong.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._gui import GUIReactorBase
from ._posixbase import READ, WRITE

if TYPE_CHECKING:
    import tkinter

__all__ = ["TkReactor"]

# Tcl's TCL_READABLE / TCL_WRITABLE (tkinter.READABLE/WRITABLE) and TCL_DONT_WAIT.
_TCL_READABLE = 2
_TCL_WRITABLE = 4
_TCL_DONT_WAIT = 2
_FD_SETSIZE = 1024
_TCL_MASKS = (0, _TCL_READABLE, _TCL_WRITABLE, _TCL_READABLE | _TCL_WRITABLE)


class TkReactor(GUIReactorBase):
    """A reactor running on Tk's event loop (see the module docstring).

    ``root`` is the application's ``tkinter.Tk``; ``None`` makes a new one on the X display
    ``screenName`` (``None``: ``$DISPLAY``), owned and destroyed by the reactor.
    """

    def __init__(self, root: tkinter.Tk | None = None, screenName: str | None = None) -> None:
        import tkinter

        self._ownsRoot = root is None
        self._root: tkinter.Tk = tkinter.Tk(screenName=screenName) if root is None else root
        if self._ownsRoot:
            self._root.withdraw()
        self._tk: Any = self._root.tk
        self._afterID: str | None = None
        self._fileEvent = self._onFileEvent  # one bound method for every handler
        super().__init__()

    @property
    def root(self) -> tkinter.Tk:
        """The ``tkinter.Tk`` whose loop the reactor runs on."""
        return self._root

    # -- descriptors ---------------------------------------------------------------------------

    def _watchPoller(self, fd: int) -> None:
        self._tk.createfilehandler(fd, _TCL_READABLE, self._onPoller)

    def _onPoller(self, fd: int, mask: int) -> None:
        self._pollerReady()

    def _unwatchPoller(self, fd: int) -> None:
        if self._tk is not None:
            self._tk.deletefilehandler(fd)

    def _setFdInterest(self, fd: int, old: int, new: int) -> None:
        tk = self._tk
        if tk is None:
            return
        # One Tcl handler per descriptor, for both directions: replace it with the new mask.
        if new:
            if fd >= _FD_SETSIZE:
                # Tcl's notifier would abort the process on it.
                raise ValueError(f"descriptor {fd} is beyond FD_SETSIZE: Tk cannot watch it")
            tk.createfilehandler(fd, _TCL_MASKS[new], self._fileEvent)
        else:
            tk.deletefilehandler(fd)

    def _onFileEvent(self, fd: int, mask: int) -> None:
        if mask & _TCL_READABLE:
            self._readReady(fd)
        if mask & _TCL_WRITABLE and fd in self._writers:
            self._writeReady(fd)
        elif mask & _TCL_WRITABLE and fd not in self._readers:
            self._setFdInterest(fd, READ | WRITE, 0)

    # -- timers --------------------------------------------------------------------------------

    def _startGUITimer(self, delay: float) -> None:
        # Whole milliseconds, rounded up: waking early would only arm the timer again.
        self._afterID = self._root.after(math.ceil(delay * 1000.0), self._onTimer)

    def _onTimer(self) -> None:
        self._afterID = None
        self._runTimers()

    def _cancelGUITimer(self) -> None:
        afterID = self._afterID
        if afterID is not None:
            self._afterID = None
            try:
                self._root.after_cancel(afterID)
            except Exception:
                pass  # the root window is gone, and its timers with it

    def _callSoonGUI(self, f: Callable[[], object]) -> None:
        try:
            self._root.after_idle(f)
        except Exception:
            f()  # no Tk left to call it later

    # -- running -------------------------------------------------------------------------------

    def _runGUILoop(self) -> None:
        self._root.mainloop()

    def _quitGUILoop(self) -> None:
        try:
            self._root.quit()
        except Exception:
            pass  # destroyed: mainloop has returned already

    def _guiAlive(self) -> bool:
        try:
            return bool(self._root.winfo_exists())
        except Exception:
            return False

    def doIteration(self, timeout: float | None) -> None:
        """Serve Tk's events, waiting at most ``timeout`` seconds for one (``iterate``)."""
        tk = self._tk
        if not timeout:
            if timeout is not None:
                while tk.dooneevent(_TCL_DONT_WAIT):
                    pass
                return
            tk.dooneevent(0)
            return
        wake = self._root.after(math.ceil(timeout * 1000.0), _nothing)
        tk.dooneevent(0)
        self._root.after_cancel(wake)

    def _closeBackend(self) -> None:
        super()._closeBackend()
        if self._ownsRoot:
            try:
                self._root.destroy()
            except Exception:
                pass  # already destroyed
        # Let go of Tk now, on the loop thread: the reactor lives in reference cycles, and if
        # the garbage collector freed the last reference to a Tcl interpreter on another
        # thread (a thread pool worker, say), Tcl would abort the process.
        self._tk = None
        self._root = None  # type: ignore[assignment]


def _nothing() -> None:
    pass
