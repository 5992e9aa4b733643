"""successResultOf, failureResultOf and assertNoResult."""

from __future__ import annotations

import gc

import pytest

from plait.defer import Deferred, Failure, fail, succeed
from plait.testing import assertNoResult, failureResultOf, flushLoggedErrors, successResultOf


def test_success_result_of_returns_the_result() -> None:
    """A fired Deferred's result is returned and consumed."""
    d = succeed(7)
    assert successResultOf(d) == 7
    assert d.result is None


def test_success_result_of_without_result() -> None:
    """An unfired Deferred makes successResultOf raise, saying so."""
    with pytest.raises(AssertionError, match="found no result instead"):
        successResultOf(Deferred())


def test_success_result_of_a_failure_shows_it_and_consumes_it() -> None:
    """A failed Deferred: AssertionError with the traceback; the failure is not logged."""
    d = fail(ValueError("bad value"))
    with pytest.raises(AssertionError, match="found failure result") as info:
        successResultOf(d)
    assert "ValueError: bad value" in str(info.value)
    del d
    gc.collect()
    assert flushLoggedErrors() == []


def test_failure_result_of_returns_the_failure() -> None:
    """failureResultOf returns the Failure, checking its type when asked."""
    f = failureResultOf(fail(KeyError("k")), KeyError, ValueError)
    assert isinstance(f, Failure) and f.check(KeyError)
    assert failureResultOf(fail(ZeroDivisionError())).check(ZeroDivisionError)


def test_failure_result_of_wrong_type() -> None:
    """An unexpected failure type raises AssertionError naming both types; it is consumed."""
    d = fail(KeyError("k"))
    with pytest.raises(AssertionError, match=r"builtins\.ValueError") as info:
        failureResultOf(d, ValueError)
    assert "KeyError" in str(info.value)
    del d
    gc.collect()
    assert flushLoggedErrors() == []


def test_failure_result_of_success_or_nothing() -> None:
    """A success or no result at all makes failureResultOf raise."""
    with pytest.raises(AssertionError, match="found success result"):
        failureResultOf(succeed("x"))
    with pytest.raises(AssertionError, match="found no result"):
        failureResultOf(Deferred())


def test_assert_no_result() -> None:
    """assertNoResult passes for an unfired Deferred and leaves it working."""
    d: Deferred[int] = Deferred()
    assertNoResult(d)
    d.callback(3)
    assert successResultOf(d) == 3


def test_assert_no_result_with_a_result_consumes_it() -> None:
    """assertNoResult raises for a fired Deferred, and swallows a failure it reports."""
    with pytest.raises(AssertionError, match="No result expected"):
        assertNoResult(succeed(1))
    d = fail(RuntimeError("x"))
    with pytest.raises(AssertionError, match="RuntimeError"):
        assertNoResult(d)
    del d
    gc.collect()
    assert flushLoggedErrors() == []


def test_assert_no_result_on_a_deferred_waiting_for_another() -> None:
    """A Deferred paused on an inner unfired Deferred has no result yet."""
    inner: Deferred[int] = Deferred()
    outer = succeed(None).addCallback(lambda _: inner)
    assertNoResult(outer)
    inner.callback(5)
    assert successResultOf(outer) == 5
