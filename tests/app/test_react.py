"""``react`` on a MemoryReactor: exit statuses, argv, logging of failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plait.app import react
from plait.defer import Deferred, fail, succeed
from plait.log import LogLevel, formatEvent, globalLogPublisher
from plait.testing import MemoryReactor, flushLoggedErrors


@pytest.fixture
def logged() -> Iterator[list[dict[str, Any]]]:
    """Events published to the global log publisher during the test."""
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def _exitCode(main: Any, argv: tuple[str, ...] = (), reactor: Any = None) -> Any:
    with pytest.raises(SystemExit) as raised:
        react(main, argv, _reactor=reactor if reactor is not None else MemoryReactor())
    return raised.value.code


def test_success_exits_zero_after_running_and_stopping() -> None:
    """A main whose Deferred succeeds: the reactor runs, is stopped, and the status is 0."""
    reactor = MemoryReactor()
    assert _exitCode(lambda r: succeed("done"), reactor=reactor) == 0
    assert reactor.hasRun
    assert reactor.hasStopped


def test_main_gets_the_reactor_and_argv() -> None:
    """main is called with the reactor and then each argv item."""
    reactor = MemoryReactor()
    seen: list[Any] = []
    _exitCode(lambda *a: seen.extend(a), ("x", "y"), reactor=reactor)
    assert seen == [reactor, "x", "y"]


def test_plain_value_counts_as_success() -> None:
    """A main that returns a plain value (not a Deferred) exits with status 0."""
    assert _exitCode(lambda r: 42) == 0


def test_failure_exits_one_and_logs_the_traceback(logged: list[dict[str, Any]]) -> None:
    """A main whose Deferred fails exits 1; the failure is logged at critical level."""
    assert _exitCode(lambda r: fail(ZeroDivisionError("boom"))) == 1
    (failure,) = flushLoggedErrors(ZeroDivisionError)
    assert "ZeroDivisionError: boom" in failure.getTraceback()
    (event,) = [e for e in logged if "log_failure" in e]
    assert event["log_level"] == LogLevel.critical
    assert "main function" in formatEvent(event)


def test_exception_raised_by_main_exits_one() -> None:
    """An exception raised by main itself is logged and exits 1."""

    def main(reactor: Any) -> Any:
        raise KeyError("nope")

    assert _exitCode(main) == 1
    assert len(flushLoggedErrors(KeyError)) == 1


@pytest.mark.parametrize("code", [0, 3, "bye", None])
def test_system_exit_code_passes_through(code: Any, logged: list[dict[str, Any]]) -> None:
    """A SystemExit from main (raised or as the failure) exits with its code, unlogged."""

    def raising(reactor: Any) -> Any:
        raise SystemExit(code)

    assert _exitCode(raising) == code
    assert _exitCode(lambda r: fail(SystemExit(code))) == code
    assert [e for e in logged if "log_failure" in e] == []


def test_coroutine_main_is_run() -> None:
    """An async main is run as a coroutine; its result decides the status."""
    ran: list[Any] = []

    async def main(reactor: Any, arg: str) -> None:
        ran.append(await succeed(arg))

    assert _exitCode(main, ("hello",)) == 0
    assert ran == ["hello"]


def test_failing_coroutine_exits_one() -> None:
    """An async main that raises exits 1 with the failure logged."""

    async def main(reactor: Any) -> None:
        await succeed(None)
        raise ValueError("async boom")

    assert _exitCode(main) == 1
    assert len(flushLoggedErrors(ValueError)) == 1


def test_reactor_stopped_first_exits_zero() -> None:
    """If the reactor stops before main's Deferred fires, the status is 0 and no stop repeats."""
    reactor = MemoryReactor()
    never: Deferred[None] = Deferred()
    assert _exitCode(lambda r: never, reactor=reactor) == 0
    assert reactor.hasStopped
    never.callback(None)  # firing late must not try to stop the reactor again
    assert reactor.firedEvents.count("shutdown") == 1
