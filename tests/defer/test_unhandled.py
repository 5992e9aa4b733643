"""A Deferred garbage-collected with an unhandled failure is reported."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from plait.defer import Deferred, Failure, fail, setDebugging, succeed
from plait.log import LogLevel
from plait.testing import flushLoggedErrors


@pytest.fixture
def unraisable() -> Iterator[list[Any]]:
    """Reports passed to sys.unraisablehook while the test runs (the hook is restored)."""
    reports: list[Any] = []
    saved = sys.unraisablehook
    sys.unraisablehook = reports.append
    try:
        yield reports
    finally:
        sys.unraisablehook = saved


def _dropUnhandled() -> None:
    def whereItBroke() -> None:
        raise ValueError("nobody handled me")

    d: Deferred[int] = Deferred()
    d.addCallback(lambda _: whereItBroke())
    d.callback(1)


def test_unhandled_failure_is_logged_with_traceback(
    defer_log: list[dict[str, Any]], unraisable: list[Any]
) -> None:
    """The failure is logged critically with its traceback when the Deferred is collected."""
    _dropUnhandled()
    gc.collect()
    assert len(defer_log) == 1
    event = defer_log[0]
    assert event["log_format"].startswith("Unhandled error in Deferred:")
    assert event["log_level"] is LogLevel.critical
    failure = event["log_failure"]
    assert isinstance(failure.value, ValueError)
    assert "whereItBroke" in failure.getTraceback()
    assert len(flushLoggedErrors(ValueError)) == 1


def test_unhandled_failure_goes_to_unraisablehook(
    defer_log: list[dict[str, Any]], unraisable: list[Any]
) -> None:
    """sys.unraisablehook gets exc_type/value/traceback, err_msg and object."""
    _dropUnhandled()
    gc.collect()
    assert len(unraisable) == 1
    report = unraisable[0]
    assert report.exc_type is ValueError
    assert isinstance(report.exc_value, ValueError)
    assert report.exc_traceback is report.exc_value.__traceback__
    assert report.err_msg.startswith("Unhandled error in Deferred")
    assert repr(report.object).startswith("<Deferred at 0x")
    assert len(flushLoggedErrors(ValueError)) == 1


def test_handled_failures_are_not_reported(
    defer_log: list[dict[str, Any]], unraisable: list[Any]
) -> None:
    """Failures consumed by an errback (now or later, sync or chained) are not reported."""

    def handleAll() -> None:
        d = fail(ValueError())
        d.addErrback(lambda f: None)
        e: Deferred[int] = Deferred()
        e.errback(KeyError())
        e.addErrback(lambda f: None)
        outer = succeed(0)
        inner = fail(OSError())
        outer.addCallback(lambda _: inner).addErrback(lambda f: None)
        g: Deferred[int] = Deferred()
        g.addErrback(lambda f: f.trap(KeyError))
        g.errback(KeyError())

    handleAll()
    gc.collect()
    assert defer_log == [] and unraisable == []


def test_failure_recovered_then_failing_again_is_reported_once(
    defer_log: list[dict[str, Any]], unraisable: list[Any]
) -> None:
    """Only the failure left at the end of the chain is reported."""
    d = fail(ValueError("first"))
    d.addErrback(lambda f: None)
    d.addCallback(lambda _: 1 / 0)
    del d
    gc.collect()
    assert [e["log_failure"].type for e in defer_log] == [ZeroDivisionError]
    assert len(unraisable) == 1
    assert len(flushLoggedErrors()) == 1


def test_successful_deferreds_are_not_reported(
    defer_log: list[dict[str, Any]], unraisable: list[Any]
) -> None:
    """Nothing is reported for results that are not failures."""
    d = succeed(1)
    d.addCallback(lambda r: r)
    del d
    gc.collect()
    assert defer_log == [] and unraisable == []


def test_debug_mode_adds_creation_stack_to_the_log(
    defer_log: list[dict[str, Any]], unraisable: list[Any]
) -> None:
    """With debugging on, the log event carries where the Deferred was created."""
    setDebugging(True)
    try:

        def createdHere() -> Deferred[int]:
            return Deferred()

        d = createdHere()
        d.errback(Failure(RuntimeError("dbg")))
        del d
        gc.collect()
    finally:
        setDebugging(False)
    assert len(defer_log) == 1
    assert "createdHere" in defer_log[0]["debugInfo"]
    assert len(flushLoggedErrors(RuntimeError)) == 1
