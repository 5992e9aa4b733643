"""Observers that write events to a file-like object as text."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from ._format import eventSystem, failureText, formatEvent, formatTime, timeFormatRFC3339
from ._publisher import LogEvent


class FileLogObserver:
    """Writes ``formatEvent(event)`` for each event to ``outFile`` and flushes it.

    ``formatEvent`` is any callable returning the text to write (including its line end) or
    ``None`` to write nothing for that event.
    """

    __slots__ = ("_file", "_formatEvent")

    def __init__(self, outFile: IO[Any], formatEvent: Callable[[LogEvent], str | None]) -> None:
        self._file = outFile
        self._formatEvent = formatEvent

    def __call__(self, event: LogEvent) -> None:
        text = self._formatEvent(event)
        if text:
            self._file.write(text)
            self._file.flush()


def formatEventAsClassicLogText(event: LogEvent, timeFormat: str | None = timeFormatRFC3339) -> str:
    """``<time> [<namespace>#<level>] <message>`` and a newline, then any traceback.

    Continuation lines (of a multi-line message or the traceback) are indented with a tab so that
    every event starts at the beginning of a line.
    """
    text = formatEvent(event)
    failure = event.get("log_failure")
    if failure is not None:
        text = f"{text}\n{failureText(failure)}".rstrip("\n")
    text = text.replace("\n", "\n\t")
    return f"{formatTime(event.get('log_time'), timeFormat)} [{eventSystem(event)}] {text}\n"


def textFileLogObserver(
    outFile: IO[str], timeFormat: str | None = timeFormatRFC3339
) -> FileLogObserver:
    """An observer writing human-readable lines to a text stream or file.

    Each event becomes ``2026-11-26T04:05:06+0000 [namespace#level] message`` (local time,
    ``timeFormat`` for ``strftime``; ``None`` writes ``-``), followed by the failure's traceback,
    tab-indented, when the event has one.
    """

    def format(event: LogEvent) -> str:
        return formatEventAsClassicLogText(event, timeFormat)

    return FileLogObserver(outFile, format)
