"""Text file observers."""

from __future__ import annotations

import io

from plait.log import FileLogObserver, Logger, LogLevel, formatTime, textFileLogObserver

WHEN = 1_795_665_906.0  # 2026-11-26T04:05:06Z


def test_text_line_has_time_system_and_message() -> None:
    """Each event is one '<time> [<namespace>#<level>] <message>' line."""
    out = io.StringIO()
    observer = textFileLogObserver(out)
    observer(
        {
            "log_format": "Got {n} bytes",
            "n": 5,
            "log_level": LogLevel.info,
            "log_namespace": "app.net",
            "log_time": WHEN,
        }
    )
    assert out.getvalue() == f"{formatTime(WHEN)} [app.net#info] Got 5 bytes\n"


def test_time_format_option() -> None:
    """timeFormat chooses the strftime format; None writes '-'."""
    out = io.StringIO()
    textFileLogObserver(out, timeFormat="%Y")({"log_format": "x", "log_time": WHEN})
    textFileLogObserver(out, timeFormat=None)({"log_format": "y", "log_time": WHEN})
    assert out.getvalue() == f"{formatTime(WHEN, '%Y')} [-#-] x\n- [-#-] y\n"


def test_failure_traceback_follows_the_message() -> None:
    """A failure's traceback is written after the message, tab-indented."""
    out = io.StringIO()
    log = Logger("app", observer=textFileLogObserver(out, timeFormat=None))
    try:
        raise ValueError("bad value")
    except ValueError:
        log.failure("Handling {thing}", thing="req")
    lines = out.getvalue().splitlines()
    assert lines[0] == "- [app#critical] Handling req"
    assert lines[1] == "\tTraceback (most recent call last):"
    assert lines[-1] == "\tValueError: bad value"
    assert all(line.startswith("\t") for line in lines[1:])


def test_multiline_messages_are_indented() -> None:
    """Continuation lines of a message start with a tab, so events start each line."""
    out = io.StringIO()
    textFileLogObserver(out, timeFormat=None)({"log_format": "a\nb"})
    assert out.getvalue() == "- [-#-] a\n\tb\n"


def test_unformattable_event_is_still_written() -> None:
    """A broken format is written as the 'Unable to format event' text."""
    out = io.StringIO()
    textFileLogObserver(out, timeFormat=None)({"log_format": "{nope}"})
    assert out.getvalue().startswith("- [-#-] Unable to format event {")


def test_file_observer_skips_none_and_flushes() -> None:
    """FileLogObserver writes what its formatter returns, skipping None, and flushes."""

    class Recorder(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1

    out = Recorder()
    observer = FileLogObserver(out, lambda e: None if e.get("skip") else "line\n")
    observer({"skip": True})
    observer({})
    assert out.getvalue() == "line\n"
    assert out.flushes == 1
