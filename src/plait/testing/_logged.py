"""Failures logged while a test runs: collected by the pytest plugin, flushed by the test."""

from __future__ import annotations

from typing import Any

from ..log import LogEvent, LogLevel, STDLibLogObserver, globalLogPublisher

__all__ = ["LoggedErrors", "flushLoggedErrors"]

# The collectors of the tests running now, innermost last (pytester runs tests inside tests).
_collectors: list[LoggedErrors] = []


def _isError(event: LogEvent) -> bool:
    level = event.get("log_level", LogLevel.critical)
    try:
        return int(level) >= int(LogLevel.error)
    except (TypeError, ValueError):
        return True


def _matches(failure: Any, types: tuple[type[BaseException], ...]) -> bool:
    if not types:
        return True
    check = getattr(failure, "check", None)
    if check is not None:
        return check(*types) is not None
    return isinstance(getattr(failure, "value", None), types)


class LoggedErrors:
    """A log observer keeping the events that carry a failure at level error or critical.

    While it is the only observer of ``globalLogPublisher`` it also forwards every event to the
    stdlib ``logging`` module, as the publisher would without it, so captured logs still show
    plait's events. Only the innermost active collector records.
    """

    def __init__(self) -> None:
        self.events: list[LogEvent] = []
        self._stdlib = STDLibLogObserver()
        self._active = False

    def __call__(self, event: LogEvent) -> None:
        if (
            self._active
            and _collectors
            and _collectors[-1] is self
            and event.get("log_failure") is not None
            and _isError(event)
        ):
            self.events.append(event)
        if globalLogPublisher.observers == (self,):
            self._stdlib(event)

    def start(self) -> None:
        """Begin collecting (observe ``globalLogPublisher``)."""
        self._active = True
        _collectors.append(self)
        globalLogPublisher.addObserver(self)

    def stop(self) -> None:
        """Stop collecting; the events already collected stay in ``events``."""
        self._active = False
        globalLogPublisher.removeObserver(self)
        if self in _collectors:
            _collectors.remove(self)

    def flush(self, *types: type[BaseException]) -> list[Any]:
        """Remove and return the failures collected (only those of ``types``, if given)."""
        kept: list[LogEvent] = []
        flushed: list[Any] = []
        for event in self.events:
            failure = event["log_failure"]
            (flushed if _matches(failure, types) else kept).append(event)
        self.events = kept
        return [e["log_failure"] for e in flushed]


def flushLoggedErrors(*types: type[BaseException]) -> list[Any]:
    """Forget the failures logged so far in the running test, and return them.

    The plait pytest plugin fails a test that logs a failure (an event with ``log_failure`` at
    level error or critical, such as a Deferred garbage-collected with an unhandled failure)
    unless the test flushes it here. With ``types``, only failures of those exception types
    are flushed. Raises ``RuntimeError`` outside a test run by the plugin.
    """
    if not _collectors:
        raise RuntimeError("flushLoggedErrors works only inside a test run by the plait plugin")
    return _collectors[-1].flush(*types)
