"""Filtering events before they reach an observer."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from typing import Protocol

from ._levels import LogLevel
from ._publisher import ILogObserver, LogEvent


class PredicateResult(enum.Enum):
    """A filter predicate's verdict on an event."""

    #: Deliver the event (later predicates are not asked).
    yes = "yes"
    #: Drop the event (send it to the negative observer).
    no = "no"
    #: No opinion: ask the next predicate; the event is delivered if all say maybe.
    maybe = "maybe"


class ILogFilterPredicate(Protocol):
    """A callable judging an event: ``predicate(event) -> PredicateResult``."""

    def __call__(self, event: LogEvent, /) -> PredicateResult:
        """Judge one event."""


# Enum attribute lookups are slow on the class; these run per event.
_yes = PredicateResult.yes
_no = PredicateResult.no
_maybe = PredicateResult.maybe


def _dropEvent(event: LogEvent) -> None:
    pass


class FilteringLogObserver:
    """Forwards an event to ``observer`` unless a predicate rejects it.

    The predicates are asked in order: the first ``yes`` delivers, the first ``no`` sends the
    event to ``negativeObserver`` (by default: nowhere), and all-``maybe`` delivers.
    """

    __slots__ = ("_negativeObserver", "_observer", "_predicates")

    def __init__(
        self,
        observer: ILogObserver,
        predicates: Iterable[ILogFilterPredicate],
        negativeObserver: ILogObserver = _dropEvent,
    ) -> None:
        self._observer = observer
        self._predicates = tuple(predicates)
        self._negativeObserver = negativeObserver

    def __call__(self, event: LogEvent) -> None:
        for predicate in self._predicates:
            result = predicate(event)
            if result is _yes:
                break
            if result is _no:
                self._negativeObserver(event)
                return
        self._observer(event)


class LogLevelFilterPredicate:
    """Rejects events below the minimum level set for their namespace.

    A namespace's level is the one set for it or for its nearest dotted ancestor
    (``"plait.web"`` covers ``"plait.web.server"``), falling back to ``defaultLogLevel``.
    Events at or above it get ``maybe``; events below it (or without a :class:`LogLevel`)
    get ``no``.
    """

    __slots__ = ("_cache", "_levels", "_lock", "defaultLogLevel")

    def __init__(self, defaultLogLevel: LogLevel = LogLevel.info) -> None:
        self.defaultLogLevel = defaultLogLevel
        self._levels: dict[str, LogLevel] = {}
        # Resolved namespace -> level; replaced (never mutated) whenever a level changes.
        self._cache: dict[str, LogLevel] = {}
        self._lock = threading.Lock()

    def logLevelForNamespace(self, namespace: str | None) -> LogLevel:
        """The minimum level applied to events of ``namespace``."""
        if not namespace:
            return self._levels.get("", self.defaultLogLevel)
        cache = self._cache
        level = cache.get(namespace)
        if level is not None:
            return level
        name = namespace
        while True:
            level = self._levels.get(name)
            if level is not None or "." not in name:
                break
            name = name.rpartition(".")[0]
        if level is None:
            level = self._levels.get("", self.defaultLogLevel)
        if len(cache) < 10_000:  # bounded: namespaces can come from stdlib logger names
            cache[namespace] = level
        return level

    def setLogLevelForNamespace(self, namespace: str, level: LogLevel) -> None:
        """Set the minimum level for ``namespace`` and its descendants (``""``: the default)."""
        if level.__class__ is not LogLevel:
            raise TypeError(f"Not a LogLevel: {level!r}")
        with self._lock:
            self._levels[namespace] = level
            self._cache = {}

    def clearLogLevels(self) -> None:
        """Forget every namespace's level: all use ``defaultLogLevel`` again."""
        with self._lock:
            self._levels = {}
            self._cache = {}

    def __call__(self, event: LogEvent) -> PredicateResult:
        level = event.get("log_level")
        if level.__class__ is not LogLevel:
            return _no
        namespace = event.get("log_namespace")
        minimum = self._cache.get(namespace) if namespace.__class__ is str else None
        if minimum is None:
            minimum = self.logLevelForNamespace(namespace)
        return _no if level < minimum else _maybe
