"""formatEvent and friends: lazy PEP 3101 formatting that never raises."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plait.log import Logger, LogLevel, eventAsText, formatEvent, formatTime


class Exploding:
    """A value whose __format__, __str__ and __repr__ all raise."""

    touched = 0

    def __format__(self, spec: str) -> str:
        Exploding.touched += 1
        raise RuntimeError("format boom")

    def __repr__(self) -> str:
        raise RuntimeError("repr boom")


class Request:
    method = "GET"
    headers = {"host": "example.com"}


def test_fields_come_from_the_event() -> None:
    """Fields name event keys, with attribute, index, conversion and spec access."""
    event = {
        "log_format": "{req.method} {req.headers[host]} {items[1]} {name!r} {n:>4}",
        "req": Request(),
        "items": ["a", "b"],
        "name": "x",
        "n": 5,
    }
    assert formatEvent(event) == "GET example.com b 'x'    5"


def test_formatting_is_lazy() -> None:
    """A value is not formatted when logged, only when an observer formats the event."""
    events: list[dict[str, Any]] = []
    Exploding.touched = 0
    Logger(observer=events.append).debug("value {v}", v=Exploding())
    assert Exploding.touched == 0
    text = formatEvent(events[0])
    assert Exploding.touched == 1
    assert text.startswith("Unable to format event {")
    assert "RuntimeError: format boom" in text


def test_unformattable_event_never_raises_even_with_bad_repr() -> None:
    """A broken format with unrepresentable values still gives a clear text."""
    text = formatEvent({"log_format": "{missing}", "bad": Exploding()})
    assert text.startswith("Unable to format event {")
    assert "'log_format': '{missing}'" in text
    assert "<unrepresentable Exploding object" in text
    assert "KeyError" in text


def test_positional_fields_are_rejected() -> None:
    """'{}' has no event key to name: the text says so instead of raising."""
    assert formatEvent({"log_format": "{} {0}"}).startswith("Unable to format event")


def test_untrusted_values_are_not_reinterpreted() -> None:
    """Braces inside a value are printed as they are, not formatted again."""
    assert formatEvent({"log_format": "got {data}", "data": "{log_format}"}) == "got {log_format}"


def test_no_format_is_empty_text() -> None:
    """An event without log_format formats to the empty string."""
    assert formatEvent({"log_format": None}) == ""
    assert formatEvent({}) == ""


def test_non_dict_event_does_not_raise() -> None:
    """Even a non-dict 'event' gives an 'Unable to format' text."""
    assert formatEvent(42).startswith("Unable to format event 42")  # type: ignore[arg-type]


def test_format_time_uses_local_time_and_format() -> None:
    """formatTime renders in local time with the given format; None gives the default."""
    when = 1_700_000_000.5
    expected = datetime.fromtimestamp(when).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
    assert formatTime(when) == expected
    assert formatTime(when, "%Y") == expected[:4]
    assert formatTime(None) == "-"
    assert formatTime(when, None, default="?") == "?"


def test_event_as_text_has_time_system_message_traceback() -> None:
    """eventAsText gives '<time> [<ns>#<level>] <message>' then the failure's traceback."""

    class Fake:
        def getTraceback(self) -> str:
            return "Traceback:\nBoom\n"

    event = {
        "log_format": "hi {who}",
        "who": "there",
        "log_level": LogLevel.warn,
        "log_namespace": "app.x",
        "log_time": 0.0,
        "log_failure": Fake(),
    }
    stamp = formatTime(0.0)
    assert eventAsText(event) == f"{stamp} [app.x#warn] hi there\nTraceback:\nBoom"
    assert eventAsText(event, includeTraceback=False, includeTimestamp=False) == (
        "[app.x#warn] hi there"
    )
    event["log_system"] = "sys"
    assert eventAsText(event, includeTraceback=False, timeFormat=None) == "- [sys] hi there"


def test_event_as_text_survives_broken_get_traceback() -> None:
    """A log_failure whose getTraceback raises is described, not propagated."""

    class Broken:
        def getTraceback(self) -> str:
            raise OSError("nope")

    text = eventAsText({"log_format": "m", "log_failure": Broken()}, includeTimestamp=False)
    assert "unable to obtain traceback" in text
    assert "OSError: nope" in text
