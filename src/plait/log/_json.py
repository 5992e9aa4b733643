"""Events as JSON: one object per record, readable back into events."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

from ._failure import _RestoredFailure
from ._file import FileLogObserver
from ._format import failureText, flattenFields, safeRepr
from ._levels import LogLevel
from ._logger import Logger
from ._publisher import LogEvent

_log = Logger(namespace="plait.log")

#: RFC 7464 record separator (ASCII RS), written before each record when asked for.
RECORD_SEPARATOR = "\x1e"
_MAX_RECORD = 1 << 24


def _typeName(kind: object) -> str:
    if isinstance(kind, str):
        return kind
    if isinstance(kind, type):
        if kind.__module__ == "builtins":
            return kind.__qualname__
        return f"{kind.__module__}.{kind.__qualname__}"
    return safeRepr(kind)


def _failureAsJSON(failure: object) -> dict[str, str]:
    message = ""
    try:
        getMessage = getattr(failure, "getErrorMessage", None)
        if getMessage is not None:
            message = str(getMessage())
        else:
            message = str(getattr(failure, "value", ""))
    except Exception:
        message = "(unable to obtain the error message)"
    return {
        "type": _typeName(getattr(failure, "type", None)),
        "message": message,
        "traceback": failureText(failure),
    }


def _dumps(value: object) -> str:
    # ASCII output: any value (even a lone surrogate) can be written to any text file.
    return json.dumps(value, default=safeRepr, allow_nan=False)


def eventAsJSON(event: LogEvent) -> str:
    """Serialise an event as one line of JSON (no newline). Never raises for any event.

    Values JSON can hold are kept; any other value becomes its ``repr``. ``log_level`` becomes
    its name, ``log_failure`` an object with ``type`` (name), ``message`` and ``traceback``
    (text), and ``log_logger`` is left out. The fields of ``log_format`` are also stored
    pre-rendered (``log_flattened``) so that the event read back formats as the original did.
    """
    out: dict[str, Any] = {}
    for key, value in event.items():
        name = key if isinstance(key, str) else safeRepr(key)
        if name == "log_logger":
            continue
        if name == "log_level":
            out[name] = value.name if isinstance(value, LogLevel) else value
        elif name == "log_failure" and value is not None:
            out[name] = _failureAsJSON(value)
        else:
            out[name] = value
    flat = flattenFields(event)
    previous = event.get("log_flattened")
    if isinstance(previous, dict):
        flat = {**previous, **flat}
    out["log_flattened"] = flat
    try:
        return _dumps(out)
    except (TypeError, ValueError, RecursionError):
        pass
    parts = []
    for key, value in out.items():
        try:
            encoded = _dumps(value)
        except (TypeError, ValueError, RecursionError):
            encoded = _dumps(safeRepr(value))
        parts.append(f"{_dumps(key)}: {encoded}")
    return "{" + ", ".join(parts) + "}"


def eventFromJSON(eventText: str) -> LogEvent:
    """Read an event written by :func:`eventAsJSON`.

    ``log_level`` comes back as a :class:`LogLevel`; ``log_failure`` as an object with
    ``getTraceback()`` (the stored text), ``type`` (the class's name) and ``value`` (``None``).
    Raises ``ValueError`` when the text is not a JSON object.
    """
    event = json.loads(eventText)
    if not isinstance(event, dict):
        raise ValueError(f"Not a JSON object: {eventText[:80]!r}")
    level = event.get("log_level")
    if isinstance(level, str) and level in LogLevel.__members__:
        event["log_level"] = LogLevel[level]
    failure = event.get("log_failure")
    if isinstance(failure, dict):
        event["log_failure"] = _RestoredFailure(
            str(failure.get("type", "")),
            str(failure.get("message", "")),
            str(failure.get("traceback", "")),
        )
    return event


def jsonFileLogObserver(outFile: IO[str], recordSeparator: str = "") -> FileLogObserver:
    """An observer writing each event as one line of JSON to a text stream or file.

    Each record is ``recordSeparator + eventAsJSON(event) + "\\n"``. The default (no separator)
    is JSON Lines; pass ``"\\x1e"`` for an RFC 7464 JSON text sequence.
    """

    def format(event: LogEvent) -> str:
        return f"{recordSeparator}{eventAsJSON(event)}\n"

    return FileLogObserver(outFile, format)


def _chunks(inFile: IO[Any], bufferSize: int) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk = inFile.read(bufferSize)
        if not chunk:
            break
        yield decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def _records(chunks: Iterator[str], separator: str, maxRecord: int) -> Iterator[str | None]:
    """Split the stream on ``separator``, scanning each character once; None: oversized."""
    pending: list[str] = []
    size = 0
    oversized = False
    for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(separator, start)
            if end < 0:
                piece = chunk[start:]
                if not oversized:
                    size += len(piece)
                    if size > maxRecord:
                        oversized, pending = True, []
                    else:
                        pending.append(piece)
                break
            piece = chunk[start:end]
            if oversized or size + len(piece) > maxRecord:
                yield None
            else:
                pending.append(piece)
                yield "".join(pending)
            pending, size, oversized = [], 0, False
            start = end + len(separator)
    if oversized:
        yield None
    elif pending:
        yield "".join(pending)


def eventsFromJSONLogFile(
    inFile: IO[Any],
    recordSeparator: str | None = None,
    bufferSize: int = 4096,
    maxRecordSize: int = _MAX_RECORD,
) -> Iterator[LogEvent]:
    """Yield the events of a file written by :func:`jsonFileLogObserver` (text or binary).

    ``recordSeparator=None`` detects the format: records start with ``"\\x1e"`` if the file
    does, otherwise one record per line. A record that is not valid JSON, or longer than
    ``maxRecordSize`` characters, is skipped and reported as an error event from ``plait.log``.
    Memory use is bounded by ``maxRecordSize``.
    """
    chunks = _chunks(inFile, bufferSize)
    first = next(chunks, "")
    if recordSeparator is None:
        recordSeparator = RECORD_SEPARATOR if first.startswith(RECORD_SEPARATOR) else "\n"
    if not recordSeparator:
        raise ValueError("recordSeparator must not be empty")

    def allChunks() -> Iterator[str]:
        yield first
        yield from chunks

    for record in _records(allChunks(), recordSeparator, maxRecordSize):
        if record is None:
            _log.error(
                "Skipping a JSON log record longer than {maxRecordSize} characters",
                maxRecordSize=maxRecordSize,
            )
            continue
        text = record.strip()
        if not text:
            continue
        try:
            yield eventFromJSON(text)
        except (ValueError, RecursionError) as e:
            _log.error(
                "Unable to read JSON log record {record!r}: {error}",
                record=text[:200],
                error=str(e),
            )
