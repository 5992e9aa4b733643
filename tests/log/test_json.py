"""JSON serialisation of events, the JSON file observer and reading it back."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.log import (
    Logger,
    LogLevel,
    eventAsJSON,
    eventAsText,
    eventFromJSON,
    eventsFromJSONLogFile,
    formatEvent,
    globalLogPublisher,
    jsonFileLogObserver,
)

Events = list[dict[str, Any]]


class Request:
    def __init__(self, method: str) -> None:
        self.method = method

    def __repr__(self) -> str:
        return f"<Request {self.method}>"


def _logged(**kwargs: Any) -> dict[str, Any]:
    events: Events = []
    Logger("app.json", observer=events.append).info(**kwargs)
    return events[0]


def test_round_trip_keeps_fields_and_level() -> None:
    """JSON-able values, namespace, time and level survive a round trip."""
    event = _logged(format="n={n}", n=3, tags=["a", "b"], meta={"k": None})
    back = eventFromJSON(eventAsJSON(event))
    assert back["n"] == 3
    assert back["tags"] == ["a", "b"]
    assert back["meta"] == {"k": None}
    assert back["log_level"] is LogLevel.info
    assert back["log_namespace"] == "app.json"
    assert back["log_time"] == event["log_time"]
    assert "log_logger" not in back
    assert back["log_source"] is None


def test_source_object_is_stored_as_repr() -> None:
    """A log_source that JSON cannot hold is stored as its repr."""
    events: Events = []
    Logger("app", source=Request("PUT"), observer=events.append).info("x")
    assert eventFromJSON(eventAsJSON(events[0]))["log_source"] == "<Request PUT>"


def test_non_json_values_become_repr_and_format_still_works() -> None:
    """Other values are stored as repr; the read-back event formats like the original."""
    event = _logged(format="{req.method} {req!r} {n:>3}", req=Request("GET"), n=7)
    back = eventFromJSON(eventAsJSON(event))
    assert back["req"] == "<Request GET>"
    assert formatEvent(back) == formatEvent(event) == "GET <Request GET>   7"


def test_failure_round_trip_keeps_traceback_and_type() -> None:
    """A failure is stored as type name, message and traceback text, and read back."""
    events: Events = []
    try:
        raise ValueError("bad input")
    except ValueError:
        Logger("app", observer=events.append).failure("oops")
    stored = json.loads(eventAsJSON(events[0]))["log_failure"]
    assert stored["type"] == "ValueError"
    assert stored["message"] == "bad input"
    assert "ValueError: bad input" in stored["traceback"]
    back = eventFromJSON(eventAsJSON(events[0]))
    assert back["log_failure"].type == "ValueError"
    assert back["log_failure"].getTraceback() == events[0]["log_failure"].getTraceback()
    assert eventAsText(back) == eventAsText(events[0])


def test_unserialisable_structures_never_raise() -> None:
    """Circular data, NaN and odd keys are stored as repr rather than failing."""
    loop: list[Any] = []
    loop.append(loop)
    event = {"log_format": None, "loop": loop, "nan": float("nan"), (1, 2): "tuple key"}
    back = eventFromJSON(eventAsJSON(event))  # type: ignore[arg-type]
    assert back["loop"] == "[[...]]"
    assert back["nan"] == "nan"
    assert back["(1, 2)"] == "tuple key"


def test_event_from_json_rejects_non_objects() -> None:
    """Text that is not a JSON object is a ValueError."""
    with pytest.raises(ValueError):
        eventFromJSON("[1, 2]")
    with pytest.raises(ValueError):
        eventFromJSON("{broken")


@pytest.mark.parametrize("separator", ["", "\x1e"])
def test_file_observer_and_reader_round_trip(separator: str) -> None:
    """Events written one per line (with or without RS) read back in order."""
    out = io.StringIO()
    log = Logger("app", observer=jsonFileLogObserver(out, recordSeparator=separator))
    for i in range(3):
        log.info("event {i}", i=i)
    text = out.getvalue()
    assert text.count("\n") == 3
    assert all(line.startswith(separator + "{") for line in text.split("\n")[:-1])
    back = list(eventsFromJSONLogFile(io.StringIO(text), bufferSize=7))
    assert [formatEvent(e) for e in back] == ["event 0", "event 1", "event 2"]


def test_reader_handles_binary_files_with_split_characters() -> None:
    """A binary file is decoded as UTF-8 even when a character spans two reads."""
    out = io.StringIO()
    Logger("app", observer=jsonFileLogObserver(out)).info("{w}", w="h\u00e9llo \u2603")
    raw = io.BytesIO(out.getvalue().encode("utf-8"))
    (event,) = eventsFromJSONLogFile(raw, bufferSize=1)
    assert formatEvent(event) == "h\u00e9llo \u2603"


def test_reader_skips_and_reports_bad_and_oversized_records() -> None:
    """Invalid or too-long records are skipped and reported as error events."""
    reports: Events = []
    good = eventAsJSON({"log_format": "ok"})
    text = f'{good}\n{{not json\n{good[:-1]}, "pad": "{"x" * 100}"}}\n{good}\n'
    globalLogPublisher.addObserver(reports.append)
    try:
        events = list(eventsFromJSONLogFile(io.StringIO(text), maxRecordSize=60))
    finally:
        globalLogPublisher.removeObserver(reports.append)
    assert [formatEvent(e) for e in events] == ["ok", "ok"]
    assert [r["log_level"] for r in reports] == [LogLevel.error, LogLevel.error]
    assert "Unable to read JSON log record" in formatEvent(reports[0])
    assert "longer than 60 characters" in formatEvent(reports[1])


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    messages=st.lists(st.text(max_size=30), max_size=8),
    bufferSize=st.integers(min_value=1, max_value=64),
    separator=st.sampled_from(["", "\x1e"]),
    binary=st.booleans(),
)
def test_reading_back_does_not_depend_on_chunking(
    messages: list[str], bufferSize: int, separator: str, binary: bool
) -> None:
    """Any read size, either separator, text or bytes: the same events come back."""
    out = io.StringIO()
    log = Logger("app", observer=jsonFileLogObserver(out, recordSeparator=separator))
    for message in messages:
        log.info("{m}", m=message)
    data: io.IOBase = (
        io.BytesIO(out.getvalue().encode("utf-8")) if binary else io.StringIO(out.getvalue())
    )
    back = list(eventsFromJSONLogFile(data, bufferSize=bufferSize))  # type: ignore[arg-type]
    assert [e["m"] for e in back] == messages


def test_json_output_is_ascii_even_for_lone_surrogates() -> None:
    """Values that cannot be encoded (lone surrogates) are escaped, not fatal."""
    out = io.StringIO()
    Logger("app", observer=jsonFileLogObserver(out)).info("{s}", s="caf\u00e9 \udc80")
    assert out.getvalue().isascii()
    (event,) = eventsFromJSONLogFile(io.StringIO(out.getvalue()))
    assert event["s"] == "caf\u00e9 \udc80"
