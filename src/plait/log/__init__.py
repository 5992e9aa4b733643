"""Structured logging: events are dicts, observers are callables, text is made on demand.

Where things are:

- :class:`Logger` (``_logger``): ``log = Logger()``; ``log.info("Got {n} bytes", n=n)``;
  ``log.failure("While handling {r!r}", r=r)`` in an ``except`` block. The namespace defaults to
  the calling module; as a class attribute it binds ``log_source`` to the instance and its
  namespace defaults to ``"<module>.<qualname>"`` of the class.
- :class:`LogLevel` (``_levels``): ``debug < info < warn < error < critical``; the values are the
  stdlib ``logging`` numbers. ``LogLevel.levelWithName("warn")``.
- :class:`LogPublisher`, :data:`globalLogPublisher` (``_publisher``): fan events out to
  observers (copy-on-write, thread-safe); an observer that raises is isolated and reported once.
  With no observer added, the global publisher forwards events to stdlib ``logging``.
- :func:`formatEvent`, :func:`eventAsText`, :func:`formatTime` (``_format``): event to text,
  lazily (only when an observer asks) and never raising.
- :class:`FilteringLogObserver`, :class:`LogLevelFilterPredicate`, :class:`PredicateResult`
  (``_filter``): drop events, e.g. below a per-namespace minimum level.
- :class:`FileLogObserver`, :func:`textFileLogObserver` (``_file``): human-readable lines,
  ``2026-11-26T04:05:06+0000 [namespace#level] message`` plus any traceback.
- :func:`jsonFileLogObserver`, :func:`eventAsJSON`, :func:`eventFromJSON`,
  :func:`eventsFromJSONLogFile` (``_json``): one JSON object per record, and back.
- :class:`STDLibLogObserver` (``_stdlib``) and :class:`PlaitLogHandler` (``_handler``): bridges to
  and from the stdlib ``logging`` module; each marks what it forwards so that installing both
  cannot loop.

Every event has ``log_format``, ``log_level``, ``log_namespace``, ``log_source``, ``log_time``
and ``log_logger``; failure events add ``log_failure`` (any object with ``getTraceback()``, and
usually ``value`` and ``type``).

Errors (raised only by misuse, never by emitting or observing an event):

- :class:`InvalidLogLevelError` (``ValueError``): ``LogLevel.levelWithName`` of an unknown name.
- :class:`NoCurrentExceptionError` (``RuntimeError``): ``Logger.failure()`` with no failure
  outside an ``except`` block.
"""

from ._failure import FailureLike, NoCurrentExceptionError
from ._file import FileLogObserver, formatEventAsClassicLogText, textFileLogObserver
from ._filter import (
    FilteringLogObserver,
    ILogFilterPredicate,
    LogLevelFilterPredicate,
    PredicateResult,
)
from ._format import eventAsText, formatEvent, formatTime
from ._handler import PlaitLogHandler
from ._json import eventAsJSON, eventFromJSON, eventsFromJSONLogFile, jsonFileLogObserver
from ._levels import InvalidLogLevelError, LogLevel
from ._logger import Logger
from ._publisher import ILogObserver, LogEvent, LogPublisher, globalLogPublisher
from ._stdlib import STDLibLogObserver

__all__ = [
    "FailureLike",
    "FileLogObserver",
    "FilteringLogObserver",
    "ILogFilterPredicate",
    "ILogObserver",
    "InvalidLogLevelError",
    "LogEvent",
    "LogLevel",
    "LogLevelFilterPredicate",
    "LogPublisher",
    "Logger",
    "NoCurrentExceptionError",
    "PlaitLogHandler",
    "PredicateResult",
    "STDLibLogObserver",
    "eventAsJSON",
    "eventAsText",
    "eventFromJSON",
    "eventsFromJSONLogFile",
    "formatEvent",
    "formatEventAsClassicLogText",
    "formatTime",
    "globalLogPublisher",
    "jsonFileLogObserver",
    "textFileLogObserver",
]
