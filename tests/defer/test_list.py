"""Many Deferreds at once: DeferredList, gatherResults, race."""

from __future__ import annotations

from typing import Any

from plait.defer import (
    CancelledError,
    Deferred,
    DeferredList,
    Failure,
    FailureGroup,
    FirstError,
    fail,
    gatherResults,
    race,
    succeed,
)


def _result(d: Deferred[Any]) -> Any:
    got: list[Any] = []
    d.addBoth(got.append)
    assert len(got) == 1, "Deferred has no result"
    return got[0]


def test_DeferredList_waits_for_all_and_keeps_order() -> None:
    """The result lists (success, value) in input order once every member fired."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b, succeed(3)])
    b.callback(2)
    assert not dl.called
    a.callback(1)
    assert _result(dl) == [(True, 1), (True, 2), (True, 3)]


def test_DeferredList_empty_fires_at_once() -> None:
    """An empty DeferredList fires with [] (unless fireOnOneCallback)."""
    assert _result(DeferredList([])) == []
    assert not DeferredList([], fireOnOneCallback=True).called


def test_DeferredList_failures_are_reported_and_left_unless_consumed() -> None:
    """Failures appear as (False, failure); without consumeErrors the member keeps it."""
    a = fail(ValueError())
    dl = DeferredList([a, succeed(1)])
    (ok, failure), second = _result(dl)
    assert ok is False and failure.check(ValueError) and second == (True, 1)
    assert isinstance(a.result, Failure)
    a.addErrback(lambda f: None)  # handle it here so it is not logged
    b: Deferred[int] = Deferred()
    dl2 = DeferredList([b], consumeErrors=True)
    b.errback(KeyError())
    assert _result(dl2)[0][1].check(KeyError)
    assert b.result is None
    c = fail(OSError())
    dl3 = DeferredList([c], consumeErrors=True)
    assert _result(dl3)[0][1].check(OSError) and c.result is None


def test_DeferredList_fireOnOneCallback() -> None:
    """fireOnOneCallback fires with (value, index) of the first success."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], fireOnOneCallback=True)
    b.callback(9)
    assert _result(dl) == (9, 1)
    a.callback(1)  # later results are fine
    assert dl.resultList == [(True, 1), (True, 9)]


def test_DeferredList_fireOnOneErrback() -> None:
    """fireOnOneErrback fails with FirstError(subFailure, index) at the first failure."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], fireOnOneErrback=True, consumeErrors=True)
    b.errback(KeyError("k"))
    f = _result(dl)
    assert f.check(FirstError)
    assert f.value.index == 1 and f.value.subFailure.check(KeyError)
    assert "FirstError[#1" in repr(f.value)
    assert f.value == FirstError(f.value.subFailure, 1)


def test_DeferredList_cancel_cancels_members() -> None:
    """Cancelling a DeferredList cancels every member; it then fires with their failures."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], consumeErrors=True)
    dl.cancel()
    result = _result(dl)
    assert [ok for ok, _ in result] == [False, False]
    assert all(f.check(CancelledError) for _, f in result)
    dl.cancel()  # already fired: nothing


def test_DeferredList_cancel_logs_canceller_errors(defer_log: list[dict[str, Any]]) -> None:
    """A member whose canceller raises is logged, and the others are still cancelled."""
    from plait.testing import flushLoggedErrors

    def broken(d: Deferred[Any]) -> None:
        raise RuntimeError("bad canceller")

    a: Deferred[int] = Deferred(broken)
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], consumeErrors=True)
    dl.cancel()
    assert b.called and not a.called
    assert len(flushLoggedErrors(RuntimeError)) == 1
    a.callback(1)
    assert len(_result(dl)) == 2


def test_gatherResults_success_and_first_error() -> None:
    """gatherResults gives the list of values, or FirstError with subFailure and index."""
    assert _result(gatherResults([succeed(1), succeed(2)])) == [1, 2]
    a: Deferred[int] = Deferred()
    g = gatherResults([succeed(1), a], consumeErrors=True)
    a.errback(ValueError("second"))
    f = _result(g)
    assert f.check(FirstError)
    assert f.value.index == 1 and f.value.subFailure.getErrorMessage() == "second"


def test_race_first_success_wins_and_others_are_cancelled() -> None:
    """race fires with (index, result) of the first success and cancels the rest."""
    cancelled: list[Any] = []
    a: Deferred[int] = Deferred(cancelled.append)
    b: Deferred[int] = Deferred()
    c: Deferred[int] = Deferred(cancelled.append)
    r = race([a, b, c])
    b.callback(5)
    assert _result(r) == (1, 5)
    assert cancelled == [a, c]
    assert a.result is None and c.result is None  # their CancelledErrors were consumed


def test_race_failures_before_success_are_ignored() -> None:
    """A failure does not end the race while another may still succeed."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    r = race([a, b])
    a.errback(ValueError())
    assert not r.called
    b.callback(2)
    assert _result(r) == (1, 2)


def test_race_all_fail_gives_FailureGroup() -> None:
    """When every member fails, race fails with FailureGroup of all failures in order."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    r = race([a, b])
    b.errback(KeyError())
    a.errback(ValueError())
    f = _result(r)
    assert f.check(FailureGroup)
    assert [x.type for x in f.value.failures] == [ValueError, KeyError]
    assert _result(race([])).check(FailureGroup)


def test_cancel_race_cancels_all() -> None:
    """Cancelling the race cancels every member."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    r = race([a, b])
    r.cancel()
    f = _result(r)
    assert f.check(FailureGroup)
    assert all(x.check(CancelledError) for x in f.value.failures)


def test_race_with_already_fired_member() -> None:
    """A member that already succeeded wins at once; later members are cancelled and consumed."""
    later: Deferred[int] = Deferred()
    r = race([succeed(1), later, succeed(2)])
    assert _result(r) == (0, 1)
    assert later.called and later.result is None
