"""Bridges with the stdlib logging module, both ways, and the global no-observer default."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from plait.log import (
    Logger,
    LogLevel,
    LogPublisher,
    PlaitLogHandler,
    STDLibLogObserver,
    formatEvent,
    globalLogPublisher,
)

Events = list[dict[str, Any]]


class ListHandler(logging.Handler):
    """A stdlib handler that keeps its records and their rendered text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        return [self.format(r) for r in self.records]


@pytest.fixture
def stdlib_logger() -> Iterator[tuple[logging.Logger, ListHandler]]:
    """A stdlib logger 'plaittest' at DEBUG with a ListHandler, not propagating."""
    logger = logging.getLogger("plaittest")
    handler = ListHandler()
    saved = logger.handlers[:]
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler
    logger.handlers = saved
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


class Lazy:
    formatted = 0

    def __format__(self, spec: str) -> str:
        Lazy.formatted += 1
        return "lazy"


def test_observer_sends_to_logger_named_by_namespace(
    stdlib_logger: tuple[logging.Logger, ListHandler],
) -> None:
    """Events go to the stdlib logger of their namespace at the mapped level."""
    _, handler = stdlib_logger
    log = Logger("plaittest.sub", observer=STDLibLogObserver())
    log.warn("got {n}", n=3)
    log.debug("detail")
    (warn, debug) = handler.records
    assert warn.name == "plaittest.sub"
    assert warn.levelno == logging.WARNING
    assert debug.levelno == logging.DEBUG
    assert handler.texts()[0] == "plaittest.sub WARNING got 3"


def test_observer_uses_event_time(stdlib_logger: tuple[logging.Logger, ListHandler]) -> None:
    """The record's creation time is the event's log_time."""
    _, handler = stdlib_logger
    STDLibLogObserver()(
        {"log_namespace": "plaittest", "log_level": LogLevel.info, "log_time": 12.5}
    )
    assert handler.records[0].created == 12.5
    assert handler.records[0].msecs == 500.0


def test_observer_without_namespace_uses_its_name(
    stdlib_logger: tuple[logging.Logger, ListHandler],
) -> None:
    """An event with no namespace goes to the logger given as name."""
    _, handler = stdlib_logger
    STDLibLogObserver(name="plaittest")({"log_format": "x", "log_level": LogLevel.error})
    assert [r.name for r in handler.records] == ["plaittest"]


def test_observer_is_lazy_when_level_disabled(
    stdlib_logger: tuple[logging.Logger, ListHandler],
) -> None:
    """A disabled level formats nothing; an enabled one formats only when rendered."""
    logger, handler = stdlib_logger
    # pytest >= 9.2 attaches its capture handler (which formats every record) to
    # non-propagating loggers when the test body starts; keep only ours.
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    log = Logger("plaittest", observer=STDLibLogObserver())
    Lazy.formatted = 0
    log.debug("{v}", v=Lazy())
    assert handler.records == []
    log.info("{v}", v=Lazy())
    assert Lazy.formatted == 0
    assert handler.texts() == ["plaittest INFO lazy"]
    assert Lazy.formatted == 1


def test_observer_passes_failure_as_exc_info(
    stdlib_logger: tuple[logging.Logger, ListHandler],
) -> None:
    """A failure's exception becomes the record's exc_info; its traceback is rendered."""
    _, handler = stdlib_logger
    log = Logger("plaittest", observer=STDLibLogObserver())
    try:
        raise KeyError("missing")
    except KeyError:
        log.failure("lookup failed")
    (record,) = handler.records
    assert record.levelno == logging.CRITICAL
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)
    text = handler.texts()[0]
    assert text.startswith("plaittest CRITICAL lookup failed\nTraceback")
    assert "KeyError: 'missing'" in text


def test_observer_appends_text_traceback_without_exception(
    stdlib_logger: tuple[logging.Logger, ListHandler],
) -> None:
    """A failure with only getTraceback() has its text appended to the message."""
    _, handler = stdlib_logger

    class TextOnly:
        value = None
        type = None

        def getTraceback(self) -> str:
            return "Traceback: somewhere\nOops: it broke\n"

    Logger("plaittest", observer=STDLibLogObserver()).failure("f", TextOnly())
    assert handler.records[0].exc_info is None
    assert handler.texts() == ["plaittest CRITICAL f\nTraceback: somewhere\nOops: it broke"]


def test_handler_turns_records_into_events() -> None:
    """PlaitLogHandler publishes a record as an event with mapped level, name and time."""
    events: Events = []
    logger = logging.getLogger("plaittest.in")
    handler = PlaitLogHandler(LogPublisher(events.append))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.warning("Got %d {not a field}", 5)
        try:
            raise OSError("disk")
        except OSError:
            logger.exception("saving failed")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    warn, exc = events
    assert formatEvent(warn) == "Got 5 {not a field}"
    assert warn["log_level"] is LogLevel.warn
    assert warn["log_namespace"] == "plaittest.in"
    assert warn["log_time"] == warn["log_record"].created
    assert exc["log_level"] is LogLevel.error
    assert isinstance(exc["log_failure"].value, OSError)
    assert "OSError: disk" in exc["log_failure"].getTraceback()


def test_handler_reports_its_own_errors_through_logging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A record whose message cannot be built goes to logging's handleError, not up."""
    handler = PlaitLogHandler(LogPublisher())
    record = logging.LogRecord("x", logging.INFO, "f", 1, "%d", ("not a number",), None)
    handler.emit(record)
    assert "TypeError" in capsys.readouterr().err


def test_both_bridges_installed_do_not_loop(
    stdlib_logger: tuple[logging.Logger, ListHandler],
) -> None:
    """plait -> stdlib -> plait and stdlib -> plait -> stdlib each cross once."""
    logger, handler = stdlib_logger
    events: Events = []
    pub = LogPublisher(events.append, STDLibLogObserver())
    plaitHandler = PlaitLogHandler(pub)
    logger.addHandler(plaitHandler)
    try:
        Logger("plaittest", observer=pub).info("from plait")
        logger.info("from stdlib")
    finally:
        logger.removeHandler(plaitHandler)
    assert [formatEvent(e) for e in events] == ["from plait", "from stdlib"]
    assert [r.getMessage() for r in handler.records] == ["from plait", "from stdlib"]


@pytest.mark.usefixtures("bare_global_publisher")
def test_global_publisher_without_observers_forwards_to_stdlib(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With no observer, a Logger's events appear in stdlib logging (seen by caplog)."""
    caplog.set_level(logging.INFO, logger="plaittest.global")
    log = Logger("plaittest.global")
    log.info("hello {who}", who="world")
    log.debug("hidden")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("plaittest.global", logging.INFO, "hello world")
    ]


@pytest.mark.usefixtures("bare_global_publisher")
def test_global_publisher_with_observer_stops_forwarding(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Once an observer is added, events go to it instead of stdlib."""
    caplog.set_level(logging.INFO, logger="plaittest.global")
    events: Events = []
    globalLogPublisher.addObserver(events.append)
    Logger("plaittest.global").info("mine")
    assert caplog.records == []
    assert formatEvent(events[0]) == "mine"


@pytest.mark.usefixtures("bare_global_publisher")
def test_global_handler_with_no_observers_does_not_loop(
    stdlib_logger: tuple[logging.Logger, ListHandler],
) -> None:
    """A PlaitLogHandler on the global publisher with no observers cannot recurse."""
    logger, handler = stdlib_logger
    plaitHandler = PlaitLogHandler()
    logger.addHandler(plaitHandler)
    try:
        Logger("plaittest").info("from plait")
        logger.info("from stdlib")
    finally:
        logger.removeHandler(plaitHandler)
    assert [r.getMessage() for r in handler.records] == ["from plait", "from stdlib"]
