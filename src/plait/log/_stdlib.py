"""plait events out to the stdlib ``logging`` module."""

from __future__ import annotations

import logging
from typing import Any

from ._format import failureText, formatEvent
from ._levels import LogLevel

#: Set on every ``logging.LogRecord`` made from a plait event (the event is its value), so that
#: :class:`~plait.log.PlaitLogHandler` does not send it back into plait.
RECORD_EVENT_ATTRIBUTE = "plait_event"
#: Set (to ``True``) in every plait event made from a stdlib record, so that
#: :class:`STDLibLogObserver` does not send it back into ``logging``.
FROM_STDLIB_KEY = "log_from_stdlib"


class _EventMessage:
    """A record's ``msg`` that formats the event only when a handler asks for the text."""

    __slots__ = ("event", "traceback")

    def __init__(self, event: dict[str, Any], traceback: bool) -> None:
        self.event = event
        self.traceback = traceback

    def __str__(self) -> str:
        text = formatEvent(self.event)
        if self.traceback:
            text = f"{text}\n{failureText(self.event['log_failure'])}".rstrip("\n")
        return text


class STDLibLogObserver:
    """An observer that hands each event to the stdlib logger named by its namespace.

    Events without a namespace go to the logger called ``name``. The level maps to the stdlib
    number (``warn`` -> ``WARNING``); ``log_time`` becomes the record's ``created``; a failure with
    a live exception becomes ``exc_info`` (otherwise its traceback text is appended to the
    message). Nothing is formatted unless the stdlib logger is enabled for the level and a handler
    renders the record. Events that came from ``logging`` (through
    :class:`~plait.log.PlaitLogHandler`) are dropped rather than sent back.
    """

    __slots__ = ("_loggers", "name")

    def __init__(self, name: str = "plait") -> None:
        self.name = name
        # namespace -> logger: logging.getLogger takes a global lock on every call.
        self._loggers: dict[str, logging.Logger] = {}

    def _logger(self, namespace: str) -> logging.Logger:
        logger = self._loggers.get(namespace)
        if logger is None:
            logger = logging.getLogger(namespace)
            if len(self._loggers) < 10_000:  # bounded: namespaces may come from data
                self._loggers[namespace] = logger
        return logger

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get(FROM_STDLIB_KEY):
            return
        logger = self._logger(event.get("log_namespace") or self.name)
        level = event.get("log_level")
        levelno = int(level) if isinstance(level, int) else LogLevel.info
        if not logger.isEnabledFor(levelno):
            return
        excInfo: Any = None
        textTraceback = False
        failure = event.get("log_failure")
        if failure is not None:
            value = getattr(failure, "value", None)
            tb = getattr(failure, "tb", None)
            if isinstance(value, BaseException):
                tb = tb or value.__traceback__
            if isinstance(value, BaseException) and tb is not None:
                excInfo = (type(value), value, tb)
            else:
                textTraceback = True
        record = logger.makeRecord(
            logger.name,
            levelno,
            "(plait.log)",
            0,
            _EventMessage(event, textTraceback),
            (),
            excInfo,
            None,
            {RECORD_EVENT_ATTRIBUTE: event},
        )
        when = event.get("log_time")
        if isinstance(when, float | int):
            record.created = float(when)
            record.msecs = (record.created - int(record.created)) * 1000
        logger.handle(record)
