"""Observers and the publisher that fans events out to them."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Protocol

from ._failure import _CapturedFailure
from ._format import eventAsText
from ._levels import LogLevel
from ._stdlib import STDLibLogObserver

LogEvent = dict[str, Any]
"""An event: a dict with the ``log_*`` keys a :class:`~plait.log.Logger` sets plus the caller's."""


class ILogObserver(Protocol):
    """Anything called with each event: ``observer(event) -> None``."""

    def __call__(self, event: LogEvent, /) -> None:
        """Receive one event. Raising is tolerated (the publisher isolates it) but rude."""


class LogPublisher:
    """An observer that forwards each event to every observer added to it.

    Observers are held in a tuple replaced on every change, so publishing (from any thread)
    iterates a stable snapshot without taking a lock. An observer that raises does not stop
    the others from receiving the event; its first error is reported, as a critical event from
    ``plait.log``, to the other observers (or to ``sys.stderr`` when there are none), and later
    errors from the same observer are dropped. ``KeyboardInterrupt`` and ``SystemExit`` pass
    through.

    ``fallback``, when given, receives the events published while no observer is added
    (the global publisher forwards them to the stdlib ``logging`` module).
    """

    __slots__ = ("_fallback", "_lock", "_observers", "_reported")

    def __init__(self, *observers: ILogObserver, fallback: ILogObserver | None = None) -> None:
        self._observers: tuple[ILogObserver, ...] = observers
        self._reported: tuple[ILogObserver, ...] = ()
        self._fallback = fallback
        self._lock = threading.Lock()

    @property
    def observers(self) -> tuple[ILogObserver, ...]:
        """The observers currently added, in order."""
        return self._observers

    def addObserver(self, observer: ILogObserver) -> None:
        """Send future events to ``observer`` too (adding it twice has no effect)."""
        if not callable(observer):
            raise TypeError(f"Observer is not callable: {observer!r}")
        with self._lock:
            if observer not in self._observers:
                self._observers = (*self._observers, observer)

    def removeObserver(self, observer: ILogObserver) -> None:
        """Stop sending events to ``observer`` (removing an absent observer has no effect)."""
        with self._lock:
            self._observers = tuple(o for o in self._observers if o != observer)
            self._reported = tuple(o for o in self._reported if o != observer)

    def __call__(self, event: LogEvent) -> None:
        observers = self._observers
        if not observers:
            fallback = self._fallback
            if fallback is not None:
                try:
                    fallback(event)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException:
                    self._observerFailed(fallback)
            return
        for observer in observers:
            try:
                observer(event)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:
                self._observerFailed(observer)

    def _observerFailed(self, observer: ILogObserver) -> None:
        failure = _CapturedFailure.fromCurrentException()
        with self._lock:
            if any(o is observer for o in self._reported):
                return
            self._reported = (*self._reported, observer)
        report: LogEvent = {
            "log_format": (
                "Observer {log_observer!r} raised while handling an event; "
                "its later errors will not be reported"
            ),
            "log_level": LogLevel.critical,
            "log_namespace": "plait.log",
            "log_source": self,
            "log_logger": None,
            "log_time": time.time(),
            "log_failure": failure,
            "log_observer": observer,
        }
        # Tell the observers not known to be broken; stderr if there are none or one fails.
        reported = self._reported
        others = [o for o in self._observers if not any(o is r for r in reported)]
        toStderr = not others
        for other in others:
            try:
                other(dict(report))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException:
                toStderr = True
        if toStderr:
            _writeToStderr(report)


def _writeToStderr(event: LogEvent) -> None:
    stream = sys.stderr or sys.__stderr__
    if stream is None:
        return
    try:
        stream.write(eventAsText(event) + "\n")
        stream.flush()
    except Exception:
        # Nowhere left to report to; logging must never take the program down.
        pass


globalLogPublisher = LogPublisher(fallback=STDLibLogObserver())
"""The publisher every :class:`~plait.log.Logger` sends to unless told otherwise.

With no observer added, it forwards events to the stdlib ``logging`` module (logger = the
event's namespace), so an application that configures ``logging`` sees plait's events and an
unconfigured one still sees warnings, errors and failures on stderr.
"""
