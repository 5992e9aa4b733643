"""``QtReactor``: plait's reactor on Qt's event loop (PySide6), one thread for both.

On Linux one ``QSocketNotifier`` watches the reactor's epoll set, served in bounded bursts;
elsewhere (``nestEpoll = False``) every watched descriptor gets a ``QSocketNotifier`` per
direction (read, write); see ``plait.reactor._gui``. The earliest plait deadline is one
single-shot precise ``QTimer``, so ``app.exec()`` sleeps until a socket, a plait timer or the
waker (``callFromThread``, ``stop``) needs it: no polling timer.

``QtReactor(app)`` uses the application's ``QCoreApplication`` (or ``QApplication``);
``QtReactor()`` uses the existing instance, or makes a ``QCoreApplication`` (no display
needed). ``reactor.run()`` runs ``app.exec()`` and ``stop()`` quits it; or the application
calls ``reactor.startRunning()`` and then ``app.exec()`` itself (see ``plait.reactor._gui``).

Needs the ``plait[qt]`` extra (``PySide6-Essentials``); importing this module does not import
PySide6, making a ``QtReactor`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

from ._gui import GUIReactorBase
from ._posixbase import READ, WRITE

__all__ = ["QtReactor"]


class QtReactor(GUIReactorBase):
    """A reactor running on Qt's event loop (see the module docstring).

    ``app`` is the application object; ``None`` takes ``QCoreApplication.instance()`` or
    makes a ``QCoreApplication``.
    """

    def __init__(self, app: Any = None) -> None:
        try:
            from PySide6 import QtCore
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("QtReactor needs PySide6: pip install 'plait[qt]'") from e
        self._QtCore: Any = QtCore
        if app is None:
            app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
        self._app: Any = app
        # fd -> [read notifier or None, write notifier or None]
        self._notifiers: dict[int, list[Any]] = {}
        timer = QtCore.QTimer()
        timer.setSingleShot(True)
        timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        timer.timeout.connect(self._runTimers)
        self._timer: Any = timer
        self._pollerNotifier: Any = None
        super().__init__()

    @property
    def app(self) -> Any:
        """The ``QCoreApplication`` whose loop the reactor runs on."""
        return self._app

    # -- descriptors ---------------------------------------------------------------------------

    def _watchPoller(self, fd: int) -> None:
        QSocketNotifier = self._QtCore.QSocketNotifier
        notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read)
        notifier.activated.connect(self._onPoller)
        self._pollerNotifier = notifier

    def _onPoller(self, *signalArgs: object) -> None:
        self._pollerReady()

    def _unwatchPoller(self, fd: int) -> None:
        notifier, self._pollerNotifier = self._pollerNotifier, None
        if notifier is not None:
            notifier.setEnabled(False)
            notifier.deleteLater()

    def _setFdInterest(self, fd: int, old: int, new: int) -> None:
        notifiers = self._notifiers.get(fd)
        if notifiers is None:
            if not new:
                return
            notifiers = self._notifiers[fd] = [None, None]
        for index, bit, kind, ready in (
            (0, READ, "Read", self._readReady),
            (1, WRITE, "Write", self._writeReady),
        ):
            notifier = notifiers[index]
            if new & bit:
                if notifier is None:
                    QSocketNotifier = self._QtCore.QSocketNotifier
                    notifier = QSocketNotifier(fd, getattr(QSocketNotifier.Type, kind))
                    notifier.activated.connect(partial(_dispatch, ready, fd))
                    notifiers[index] = notifier
                elif not notifier.isEnabled():
                    notifier.setEnabled(True)
            elif notifier is not None and notifier.isEnabled():
                notifier.setEnabled(False)
        if not new:
            self._dropNotifiers(fd)

    def _dropNotifiers(self, fd: int) -> None:
        for notifier in self._notifiers.pop(fd, ()):
            if notifier is not None:
                notifier.setEnabled(False)
                notifier.deleteLater()

    # -- timers --------------------------------------------------------------------------------

    def _startGUITimer(self, delay: float) -> None:
        # Whole milliseconds, rounded up: waking early would only arm the timer again.
        self._timer.start(math.ceil(delay * 1000.0))

    def _cancelGUITimer(self) -> None:
        self._timer.stop()

    def _callSoonGUI(self, f: Callable[[], object]) -> None:
        self._QtCore.QTimer.singleShot(0, f)

    # -- running -------------------------------------------------------------------------------

    def _runGUILoop(self) -> None:
        self._app.exec()

    def _quitGUILoop(self) -> None:
        self._app.quit()

    def doIteration(self, timeout: float | None) -> None:
        """Serve Qt's events, waiting at most ``timeout`` seconds for one (``iterate``)."""
        flags = self._QtCore.QEventLoop.ProcessEventsFlag
        if timeout == 0:
            self._app.processEvents(flags.AllEvents)
            return
        wake = None
        if timeout is not None:
            wake = self._QtCore.QTimer()
            wake.setSingleShot(True)
            wake.start(math.ceil(timeout * 1000.0))
        self._app.processEvents(flags.AllEvents | flags.WaitForMoreEvents)
        if wake is not None:
            wake.stop()

    def _closeBackend(self) -> None:
        super()._closeBackend()
        for fd in list(self._notifiers):
            self._dropNotifiers(fd)


def _dispatch(ready: Callable[[int], None], fd: int, *signalArgs: object) -> None:
    # ``activated`` passes (QSocketDescriptor, Type); the reactor wants the fd number only.
    ready(fd)
