"""Logger: the events it builds, namespaces, the descriptor, failures."""

from __future__ import annotations

from typing import Any

import pytest

from plait.log import (
    Logger,
    LogLevel,
    NoCurrentExceptionError,
    formatEvent,
    globalLogPublisher,
)

Events = list[dict[str, Any]]


@pytest.fixture
def events() -> Events:
    return []


def test_event_carries_the_contract_keys(events: Events) -> None:
    """An emitted event has every log_* key of the contract plus the caller's fields."""
    src = object()
    log = Logger(namespace="a.b", source=src, observer=events.append)
    log.info("Got {n} bytes", n=7)
    (event,) = events
    assert event["log_format"] == "Got {n} bytes"
    assert event["log_level"] is LogLevel.info
    assert event["log_namespace"] == "a.b"
    assert event["log_source"] is src
    assert event["log_logger"] is log
    assert isinstance(event["log_time"], float)
    assert event["n"] == 7


@pytest.mark.parametrize("level", list(LogLevel))
def test_each_level_method_emits_its_level(events: Events, level: LogLevel) -> None:
    """log.<level>() and emit(level) both produce events at that level."""
    log = Logger(observer=events.append)
    getattr(log, level.name)("x")
    log.emit(level, "y")
    assert [e["log_level"] for e in events] == [level, level]


def test_emit_with_a_bad_level_reports_an_error(events: Events) -> None:
    """A level that is not a LogLevel turns into an error event naming it."""
    log = Logger(observer=events.append)
    log.emit("loud", "hello")  # type: ignore[arg-type]
    (event,) = events
    assert event["log_level"] is LogLevel.error
    assert formatEvent(event) == "Got invalid log level 'loud'."


def test_namespace_defaults_to_calling_module(events: Events) -> None:
    """Logger() with no namespace takes the __name__ of the module that created it."""
    assert Logger(observer=events.append).namespace == __name__


def test_observer_defaults_to_global_publisher() -> None:
    """Logger() sends to globalLogPublisher unless given an observer."""
    assert Logger().observer is globalLogPublisher


class Thing:
    log = Logger()
    named = Logger(namespace="custom.ns")

    def hello(self) -> None:
        self.log.info("hello")


def test_descriptor_binds_source_and_class_namespace(events: Events) -> None:
    """Read through an instance, a class-attribute Logger has that instance as source."""
    thing = Thing()
    bound = thing.log
    assert bound.source is thing
    assert bound.namespace == f"{__name__}.Thing"
    assert Thing.log.source is Thing


def test_descriptor_keeps_an_explicit_namespace() -> None:
    """A class-attribute Logger given a namespace keeps it when bound."""
    assert Thing().named.namespace == "custom.ns"


def test_descriptor_events_reach_the_observer() -> None:
    """self.log.info() in a method reaches the class logger's observer with the instance."""
    seen: Events = []

    class Local:
        log = Logger(observer=seen.append)

        def go(self) -> None:
            self.log.info("go")

    obj = Local()
    obj.go()
    assert seen[0]["log_source"] is obj
    assert seen[0]["log_namespace"].endswith("Local")


def test_failure_captures_the_exception_being_handled(events: Events) -> None:
    """failure() in an except block stores the exception, its type and traceback."""
    log = Logger(observer=events.append)
    try:
        raise ValueError("bad input")
    except ValueError:
        log.failure("While parsing {what}", what="x")
    (event,) = events
    failure = event["log_failure"]
    assert event["log_level"] is LogLevel.critical
    assert isinstance(failure.value, ValueError)
    assert failure.type is ValueError
    assert failure.tb is not None
    text = failure.getTraceback()
    assert text.startswith("Traceback (most recent call last):")
    assert "ValueError: bad input" in text
    assert "test_failure_captures_the_exception_being_handled" in text


def test_failure_accepts_any_failure_like_object(events: Events) -> None:
    """An explicit failure (any object with getTraceback) is stored as given, at the level."""

    class Fake:
        value = KeyError("k")
        type = KeyError

        def getTraceback(self) -> str:
            return "fake traceback"

    fake = Fake()
    Logger(observer=events.append).failure("f", fake, level=LogLevel.error, x=1)
    assert events[0]["log_failure"] is fake
    assert events[0]["log_level"] is LogLevel.error
    assert events[0]["x"] == 1


def test_failure_outside_except_raises() -> None:
    """failure() with no failure and nothing being handled is a programming error."""
    with pytest.raises(NoCurrentExceptionError):
        Logger(observer=lambda e: None).failure("nothing")


def test_keyword_dict_is_the_event(events: Events) -> None:
    """The caller's fields are passed through unchanged (no copying or renaming)."""
    payload = {"a": 1}
    Logger(observer=events.append).debug(None, payload=payload)
    assert events[0]["payload"] is payload
    assert events[0]["log_format"] is None
    assert formatEvent(events[0]) == ""
