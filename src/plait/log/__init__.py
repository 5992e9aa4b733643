"""Structured logging: events are dicts, observers are callables, text is made on demand.

Where things are:

- :class:`Logger` (``_logger``): ``log = Logger()``; ``log.info("Got {n} bytes", n=n)``;
  ``log.failure("While handling {r!r}", r=r)`` in an ``except`` block. The namespace defaults to
  the calling module; as a class attribute it binds ``log_source`` to the instance.
- :class:`LogLevel` (``_levels``): ``debug < info < warn < error < critical``; the values are the
  stdlib ``logging`` numbers. ``LogLevel.levelWithName("warn")``.
- :class:`LogPublisher`, :data:`globalLogPublisher` (``_publisher``): fan events out to
  observers; with no observer added, the global publisher forwards to stdlib ``logging``.
- :func:`formatEvent`, :func:`eventAsText`, :func:`formatTime` (``_format``): event to text,
  never raising.
- :class:`STDLibLogObserver` (``_stdlib``): plait events to stdlib loggers.

Every event has ``log_format``, ``log_level``, ``log_namespace``, ``log_source``, ``log_time``
and ``log_logger``; failure events add ``log_failure`` (any object with ``getTraceback()``).

Errors (both raised only by misuse, never by emitting an event):

- :class:`InvalidLogLevelError` (``ValueError``): ``LogLevel.levelWithName`` of an unknown name.
- :class:`NoCurrentExceptionError` (``RuntimeError``): ``Logger.failure()`` with no failure
  outside an ``except`` block.

An observer that raises never breaks logging: the publisher reports its first error and goes on.
"""

from ._failure import FailureLike, NoCurrentExceptionError
from ._format import eventAsText, formatEvent, formatTime
from ._levels import InvalidLogLevelError, LogLevel
from ._logger import Logger
from ._publisher import ILogObserver, LogEvent, LogPublisher, globalLogPublisher
from ._stdlib import STDLibLogObserver

__all__ = [
    "FailureLike",
    "ILogObserver",
    "InvalidLogLevelError",
    "LogEvent",
    "LogLevel",
    "LogPublisher",
    "Logger",
    "NoCurrentExceptionError",
    "STDLibLogObserver",
    "eventAsText",
    "formatEvent",
    "formatTime",
    "globalLogPublisher",
]
