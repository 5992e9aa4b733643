"""SIGINT/SIGTERM stop the reactor cleanly, installed only for the duration of ``run()``.

The handlers do no work themselves: they queue ``reactor.sigInt``/``sigTerm`` with
``callFromThread``. ``signal.set_wakeup_fd`` points at a pipe the loop watches, so a signal
arriving while the loop sleeps in ``poll`` wakes it at once even where a Python-level handler
would only run after the sleep.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..defer import Failure

__all__ = ["SignalHandling"]

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class _SignalReactor(Protocol):
    def callFromThread(self, callable: Callable[..., object], *a: object, **kw: object) -> None: ...

    def sigInt(self, signum: int) -> None: ...

    def sigTerm(self, signum: int) -> None: ...

    def sigBreak(self, signum: int) -> None: ...


class _SignalPipe:
    """The read end of the ``set_wakeup_fd`` pipe, as a reader the loop drains."""

    __slots__ = ("r", "w")

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        os.set_blocking(self.w, False)

    def fileno(self) -> int:
        return self.r

    def doRead(self) -> None:
        try:
            while os.read(self.r, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def connectionLost(self, reason: Failure) -> None:
        self.close()

    def logPrefix(self) -> str:
        return "SignalWakeup"

    def close(self) -> None:
        r, w = self.r, self.w
        self.r = self.w = -1
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)


class SignalHandling:
    """Install the reactor's signal handlers; ``uninstall`` puts the previous ones back.

    Does nothing off the main thread (Python only delivers signals there).
    """

    def __init__(
        self,
        reactor: _SignalReactor,
        addReader: Callable[[Any], object],
        removeReader: Callable[[Any], object],
    ) -> None:
        self._reactor = reactor
        self._addReader = addReader
        self._removeReader = removeReader
        self._previous: dict[int, _Handler] = {}
        self._previousWakeup: int | None = None
        self._pipe: _SignalPipe | None = None

    @property
    def installed(self) -> bool:
        """True between ``install`` and ``uninstall`` (on the main thread)."""
        return self._pipe is not None

    def install(self) -> None:
        """Route SIGINT, SIGTERM (and SIGBREAK on Windows) to the reactor."""
        if self._pipe is not None or threading.current_thread() is not threading.main_thread():
            return
        reactor = self._reactor
        handlers: dict[int, Callable[[int], None]] = {
            signal.SIGINT: reactor.sigInt,
            signal.SIGTERM: reactor.sigTerm,
        }
        sigbreak = getattr(signal, "SIGBREAK", None)
        if sigbreak is not None:  # pragma: no cover - Windows
            handlers[sigbreak] = reactor.sigBreak
        pipe = _SignalPipe()
        try:
            self._previousWakeup = signal.set_wakeup_fd(pipe.w, warn_on_full_buffer=False)
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            pipe.close()
            return
        self._pipe = pipe
        self._addReader(pipe)
        for signum, method in handlers.items():
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._makeHandler(method))

    def _makeHandler(
        self, method: Callable[[int], None]
    ) -> Callable[[int, FrameType | None], None]:
        callFromThread = self._reactor.callFromThread

        def handler(signum: int, frame: FrameType | None) -> None:
            callFromThread(method, signum)

        return handler

    def uninstall(self) -> None:
        """Restore the handlers and the wakeup fd found by ``install``."""
        pipe = self._pipe
        if pipe is None:
            return
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()
        signal.set_wakeup_fd(self._previousWakeup if self._previousWakeup is not None else -1)
        self._previousWakeup = None
        self._pipe = None
        self._removeReader(pipe)
        pipe.close()
