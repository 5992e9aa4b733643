"""Turning events into text, lazily and without ever raising.

An event's ``log_format`` is a PEP 3101 format string written by the programmer; its fields
name keys of the event itself (``"{req.method} {req.path}"``, ``"{items[0]}"``). It is applied
with ``str.format_map`` on the event only when an observer asks for text, so a debug event no
one renders costs no formatting. Untrusted text belongs in the event's values, never in
``log_format``.
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any

from ._failure import FailureLike

#: What :func:`formatTime` produces by default: ``2026-11-26T04:05:06+0000``.
timeFormatRFC3339 = "%Y-%m-%dT%H:%M:%S%z"

_parser = string.Formatter()


def safeRepr(value: object) -> str:
    """``repr(value)``, or a placeholder naming its class when that ``repr`` raises."""
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__qualname__} object at {id(value):#x}>"


def _safeEventRepr(event: object) -> str:
    try:
        return repr(event)
    except Exception:
        if not isinstance(event, dict):
            return safeRepr(event)
        items = ", ".join(f"{safeRepr(k)}: {safeRepr(v)}" for k, v in event.items())
        return "{" + items + "}"


def _unformattable(event: object, error: BaseException) -> str:
    try:
        reason = f"{type(error).__name__}: {error}"
    except Exception:
        reason = type(error).__name__
    return f"Unable to format event {_safeEventRepr(event)}: {reason}"


def _fieldKey(name: str, conversion: str | None, spec: str) -> str:
    return f"{name}!{conversion or ''}:{spec}"


def flattenFields(event: dict[str, Any]) -> dict[str, str]:
    """Pre-render each field of ``log_format``, keyed by its text, for serialisation.

    After a JSON round trip the event's values may be reprs, so :func:`formatEvent` uses these
    strings (stored as ``log_flattened``) instead. A field that fails to render is left out.
    """
    fmt = event.get("log_format")
    flat: dict[str, str] = {}
    if not isinstance(fmt, str):
        return flat
    try:
        fields = [(n, c, s or "") for _, n, s, c in _parser.parse(fmt) if n is not None]
    except ValueError:
        return flat
    for name, conversion, spec in fields:
        conv = f"!{conversion}" if conversion else ""
        try:
            flat[_fieldKey(name, conversion, spec)] = f"{{{name}{conv}:{spec}}}".format_map(event)
        except Exception:
            continue
    return flat


def _formatFlattened(fmt: str, flat: dict[str, str]) -> str:
    out: list[str] = []
    for literal, name, spec, conversion in _parser.parse(fmt):
        out.append(literal)
        if name is not None:
            out.append(flat[_fieldKey(name, conversion, spec or "")])
    return "".join(out)


def formatEvent(event: dict[str, Any]) -> str:
    """Render the event's ``log_format`` with the event's own keys as the fields.

    Returns ``""`` when the event has no format. Never raises: a format that does not apply
    (missing key, bad attribute, a value whose ``__format__`` raises, ...) gives
    ``"Unable to format event {repr of the event}: {the error}"`` instead.
    """
    try:
        fmt = event.get("log_format")
        if fmt is None:
            return ""
        flat = event.get("log_flattened")
        if flat is not None:
            return _formatFlattened(fmt, flat)
        text: str = fmt.format_map(event)
        return text
    except Exception as e:
        return _unformattable(event, e)


def formatTime(
    when: float | None, timeFormat: str | None = timeFormatRFC3339, default: str = "-"
) -> str:
    """Format a POSIX timestamp in local time with ``strftime``-style ``timeFormat``.

    Returns ``default`` when ``when`` or ``timeFormat`` is ``None`` or the time is unusable.
    """
    if when is None or timeFormat is None:
        return default
    try:
        return datetime.fromtimestamp(when).astimezone().strftime(timeFormat)
    except (TypeError, ValueError, OverflowError, OSError):
        return default


def failureText(failure: object) -> str:
    """The traceback of a ``log_failure`` value, or a note saying why it has none."""
    try:
        getTraceback = failure.getTraceback  # type: ignore[attr-defined]
        text = getTraceback()
        return text if isinstance(text, str) else str(text)
    except Exception as e:
        return f"(unable to obtain traceback from {safeRepr(failure)}: {type(e).__name__}: {e})"


def eventSystem(event: dict[str, Any]) -> str:
    """``log_system`` if the event has one, else ``"<namespace>#<level>"``."""
    system = event.get("log_system")
    if system is not None:
        return str(system)
    level = event.get("log_level")
    levelName = getattr(level, "name", None) or "-"
    return f"{event.get('log_namespace') or '-'}#{levelName}"


def eventAsText(
    event: dict[str, Any],
    includeTraceback: bool = True,
    includeTimestamp: bool = True,
    includeSystem: bool = True,
    timeFormat: str | None = timeFormatRFC3339,
) -> str:
    """One human-readable rendering of an event: ``<time> [<system>] <message>``.

    The failure's traceback (if ``log_failure`` is set and ``includeTraceback``) follows the
    message on the next lines. Never raises.
    """
    text = formatEvent(event)
    failure: FailureLike | None = event.get("log_failure")
    if includeTraceback and failure is not None:
        text = f"{text}\n{failureText(failure)}".rstrip("\n")
    prefix = []
    if includeTimestamp:
        prefix.append(formatTime(event.get("log_time"), timeFormat))
    if includeSystem:
        prefix.append(f"[{eventSystem(event)}]")
    if prefix:
        return " ".join(prefix) + " " + text
    return text
