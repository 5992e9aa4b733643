"""FilteringLogObserver and LogLevelFilterPredicate."""

from __future__ import annotations

from typing import Any

import pytest

from plait.log import (
    FilteringLogObserver,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    PredicateResult,
)

Events = list[dict[str, Any]]


def test_level_predicate_uses_nearest_namespace() -> None:
    """A namespace takes the level set for itself or its closest dotted ancestor."""
    pred = LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)
    pred.setLogLevelForNamespace("app", LogLevel.info)
    pred.setLogLevelForNamespace("app.db", LogLevel.error)
    assert pred.logLevelForNamespace("app.web.server") is LogLevel.info
    assert pred.logLevelForNamespace("app.db.pool") is LogLevel.error
    assert pred.logLevelForNamespace("application") is LogLevel.warn
    assert pred.logLevelForNamespace(None) is LogLevel.warn
    pred.setLogLevelForNamespace("", LogLevel.debug)
    assert pred.logLevelForNamespace("other") is LogLevel.debug


def test_level_changes_take_effect_after_lookups() -> None:
    """Setting or clearing levels after a namespace was looked up is honoured."""
    pred = LogLevelFilterPredicate()
    assert pred.logLevelForNamespace("a.b") is LogLevel.info
    pred.setLogLevelForNamespace("a", LogLevel.critical)
    assert pred.logLevelForNamespace("a.b") is LogLevel.critical
    pred.clearLogLevels()
    assert pred.logLevelForNamespace("a.b") is LogLevel.info


def test_level_predicate_verdicts() -> None:
    """Below the namespace's level: no; at or above: maybe; no level at all: no."""
    pred = LogLevelFilterPredicate(LogLevel.warn)
    assert pred({"log_level": LogLevel.info, "log_namespace": "x"}) is PredicateResult.no
    assert pred({"log_level": LogLevel.warn, "log_namespace": "x"}) is PredicateResult.maybe
    assert pred({"log_namespace": "x"}) is PredicateResult.no


def test_set_level_rejects_non_levels() -> None:
    """Only LogLevel members can be set as a namespace's level."""
    with pytest.raises(TypeError):
        LogLevelFilterPredicate().setLogLevelForNamespace("a", 30)  # type: ignore[arg-type]


def test_filtering_observer_per_namespace_levels() -> None:
    """Filtered events go to the negative observer; the rest to the observer."""
    kept: Events = []
    dropped: Events = []
    pred = LogLevelFilterPredicate(LogLevel.info)
    pred.setLogLevelForNamespace("noisy", LogLevel.error)
    observer = FilteringLogObserver(kept.append, [pred], negativeObserver=dropped.append)
    Logger("quiet", observer=observer).debug("d")
    Logger("quiet", observer=observer).info("i")
    Logger("noisy.part", observer=observer).warn("w")
    Logger("noisy.part", observer=observer).error("e")
    assert [e["log_format"] for e in kept] == ["i", "e"]
    assert [e["log_format"] for e in dropped] == ["d", "w"]


def test_first_yes_or_no_decides() -> None:
    """Predicates are asked in order; a yes short-circuits a later no, and vice versa."""
    kept: Events = []
    asked: list[str] = []

    def say(name: str, result: PredicateResult) -> Any:
        def predicate(event: dict[str, Any]) -> PredicateResult:
            asked.append(name)
            return result

        return predicate

    FilteringLogObserver(
        kept.append, [say("a", PredicateResult.yes), say("b", PredicateResult.no)]
    )({})
    assert kept == [{}] and asked == ["a"]
    FilteringLogObserver(
        kept.append, [say("c", PredicateResult.no), say("d", PredicateResult.yes)]
    )({})
    assert kept == [{}] and asked == ["a", "c"]
    FilteringLogObserver(kept.append, [say("e", PredicateResult.maybe)])({})
    assert kept == [{}, {}]
