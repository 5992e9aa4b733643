"""LogPublisher: fan-out, isolation of broken observers, threads, the no-observer default."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from plait.log import LogLevel, LogPublisher, formatEvent

Events = list[dict[str, Any]]


def _bad(event: dict[str, Any]) -> None:
    raise RuntimeError("bad observer")


def test_every_observer_gets_every_event() -> None:
    """Events reach all observers in the order they were added."""
    seen: list[tuple[str, str]] = []
    pub = LogPublisher(lambda e: seen.append(("a", e["log_format"])))
    pub.addObserver(lambda e: seen.append(("b", e["log_format"])))
    pub({"log_format": "x"})
    assert seen == [("a", "x"), ("b", "x")]


def test_add_is_idempotent_and_remove_forgets() -> None:
    """Adding twice delivers once; removing stops delivery; removing an absent one is fine."""
    events: Events = []
    pub = LogPublisher()
    pub.addObserver(events.append)
    pub.addObserver(events.append)
    pub({"n": 1})
    pub.removeObserver(events.append)
    pub.removeObserver(events.append)
    pub({"n": 2})
    assert events == [{"n": 1}]
    assert pub.observers == ()


def test_add_rejects_non_callables() -> None:
    """A non-callable observer is refused at once, not when the first event comes."""
    with pytest.raises(TypeError):
        LogPublisher().addObserver("not callable")  # type: ignore[arg-type]


def test_raising_observer_is_isolated_and_reported_once() -> None:
    """A broken observer does not stop the others; its error reaches them once."""
    good: Events = []
    pub = LogPublisher(_bad, good.append)
    pub({"log_format": "one"})
    pub({"log_format": "two"})
    assert [e["log_format"] for e in good][1:] == ["one", "two"]
    report = good[0]
    assert report["log_level"] is LogLevel.critical
    assert report["log_namespace"] == "plait.log"
    assert report["log_observer"] is _bad
    assert "raised while handling an event" in formatEvent(report)
    assert "RuntimeError: bad observer" in report["log_failure"].getTraceback()


def test_sole_raising_observer_is_reported_once_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With no other observer, the error goes to stderr, once, with its traceback."""
    pub = LogPublisher(_bad)
    for _ in range(3):
        pub({"log_format": "x"})
    err = capsys.readouterr().err
    assert err.count("raised while handling an event") == 1
    assert "RuntimeError: bad observer" in err


def test_observer_raising_while_reported_to_falls_back_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """If the observers told about an error fail too, the report lands on stderr."""
    pub = LogPublisher(_bad, _bad2)
    pub({"log_format": "x"})
    err = capsys.readouterr().err
    assert "RuntimeError: bad observer" in err


def _bad2(event: dict[str, Any]) -> None:
    raise ValueError("also bad")


def test_removed_and_readded_observer_is_reported_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Removing an observer forgets that it was reported."""
    pub = LogPublisher(_bad)
    pub({})
    pub.removeObserver(_bad)
    pub.addObserver(_bad)
    pub({})
    assert capsys.readouterr().err.count("raised while handling an event") == 2


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_pass_through(exc: type[BaseException]) -> None:
    """KeyboardInterrupt and SystemExit raised by an observer are not swallowed."""

    def observer(event: dict[str, Any]) -> None:
        raise exc()

    with pytest.raises(exc):
        LogPublisher(observer)({})


def test_fallback_only_when_no_observers() -> None:
    """The fallback observer gets events only while no observer is added."""
    fallback: Events = []
    events: Events = []
    pub = LogPublisher(fallback=fallback.append)
    pub({"n": 1})
    pub.addObserver(events.append)
    pub({"n": 2})
    assert fallback == [{"n": 1}]
    assert events == [{"n": 2}]


def test_publishing_from_threads_while_observers_change() -> None:
    """4 threads x 1000 events while observers come and go: every event counted once."""
    count = 0
    lock = threading.Lock()

    def counter(event: dict[str, Any]) -> None:
        nonlocal count
        with lock:
            count += 1

    transient: Events = []
    pub = LogPublisher(counter)
    start = threading.Barrier(5)

    def publish() -> None:
        start.wait(timeout=10)
        for i in range(1000):
            pub({"i": i})

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for t in threads:
        t.start()
    start.wait(timeout=10)
    for _ in range(200):
        pub.addObserver(transient.append)
        pub.removeObserver(transient.append)
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert count == 4000
    assert pub.observers == (counter,)


PROBE = """
from plait.log import Logger
log = Logger("probe.ns")
log.info("quiet {n}", n=1)
log.warn("visible {n}", n=2)
try:
    1 / 0
except ZeroDivisionError:
    log.failure("it broke")
"""


def test_unconfigured_program_sees_warnings_and_failures_on_stderr() -> None:
    """With no observer and no logging config, warnings and failures reach stderr."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout == ""
    assert "quiet" not in out.stderr
    assert out.stderr.startswith("visible 2\nit broke\nTraceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in out.stderr


def test_report_skips_observers_already_known_broken() -> None:
    """A second broken observer's report goes to the good ones, not the first broken one."""
    good: Events = []
    calls: list[str] = []

    def bad1(event: dict[str, Any]) -> None:
        calls.append(event.get("log_format") or "")
        raise RuntimeError("one")

    def bad2(event: dict[str, Any]) -> None:
        raise RuntimeError("two")

    pub = LogPublisher(bad1, bad2, good.append)
    pub({"log_format": "event"})
    assert calls == ["event"]
    assert [e["log_observer"] for e in good[:2]] == [bad1, bad2]
    assert good[2]["log_format"] == "event"
