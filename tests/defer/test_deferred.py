"""Deferred callback chains: firing, callbacks/errbacks, arguments, chaining, pausing."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import (
    AlreadyCalledError,
    Deferred,
    Failure,
    fail,
    getDebugging,
    setDebugging,
    succeed,
)


def _recorder() -> tuple[list[Any], Any]:
    seen: list[Any] = []

    def record(result: Any) -> Any:
        seen.append(result)
        return result

    return seen, record


def test_callback_runs_callbacks_in_order_each_getting_previous_result() -> None:
    """Each callback receives the previous callback's return value."""
    d: Deferred[int] = Deferred()
    seen: list[Any] = []
    d.addCallback(lambda r: seen.append(("first", r)) or r + 1)
    d.addCallback(lambda r: seen.append(("second", r)) or r * 10)
    d.callback(1)
    assert seen == [("first", 1), ("second", 2)]
    assert d.result == 20
    assert d.called


def test_extra_positional_and_keyword_arguments_are_passed() -> None:
    """addCallback/addErrback/addBoth pass extra args and kwargs after the result."""
    d: Deferred[int] = Deferred()
    got: list[Any] = []
    d.addCallback(lambda r, a, b=0: got.append((r, a, b)) or r, 2, b=3)
    d.addCallback(lambda r, callback: got.append(callback) or r, callback="kw named callback")
    d.addBoth(lambda r, *a, **kw: got.append((r, a, kw)) or r, 7, x=8)
    d.callback(1)
    assert got == [(1, 2, 3), "kw named callback", (1, (7,), {"x": 8})]
    e: Deferred[int] = Deferred()
    e.addErrback(lambda f, a, b: got.append((f.type, a, b)), 4, b=5)
    e.errback(ValueError())
    assert got[-1] == (ValueError, 4, 5)


def test_addCallbacks_with_args_and_keywords() -> None:
    """addCallbacks passes callbackArgs/Keywords or errbackArgs/Keywords to the side that runs."""
    got: list[Any] = []
    d: Deferred[int] = Deferred()
    d.addCallbacks(
        lambda r, a, k: got.append(("cb", r, a, k)),
        lambda f, a, k: got.append(("eb", a, k)),
        callbackArgs=(1,),
        callbackKeywords={"k": 2},
        errbackArgs=(3,),
        errbackKeywords={"k": 4},
    )
    d.callback(0)
    e: Deferred[int] = Deferred()
    e.addCallbacks(
        lambda r, a, k: got.append(("cb", r, a, k)),
        lambda f, a, k: got.append(("eb", a, k)),
        callbackArgs=(1,),
        callbackKeywords={"k": 2},
        errbackArgs=(3,),
        errbackKeywords={"k": 4},
    )
    e.errback(ValueError())
    assert got == [("cb", 0, 1, 2), ("eb", 3, 4)]


def test_exception_in_callback_goes_to_next_errback_as_failure() -> None:
    """A raising callback skips later callbacks and reaches the next errback as a Failure."""
    d: Deferred[int] = Deferred()
    skipped: list[Any] = []
    caught: list[Failure] = []

    def boom(r: int) -> int:
        raise ZeroDivisionError("boom")

    d.addCallback(boom).addCallback(skipped.append).addErrback(caught.append)
    d.callback(1)
    assert skipped == []
    assert len(caught) == 1 and caught[0].check(ZeroDivisionError)
    assert caught[0].getErrorMessage() == "boom"
    assert "boom" in caught[0].getTraceback()


def test_callback_exception_does_not_reach_errback_of_same_addCallbacks() -> None:
    """In addCallbacks, an exception from the callback skips the errback added with it."""
    d: Deferred[int] = Deferred()
    got: list[str] = []

    def boom(r: int) -> None:
        raise ValueError

    d.addCallbacks(boom, lambda f: got.append("same"))
    d.addErrback(lambda f: got.append("next"))
    d.callback(1)
    assert got == ["next"]


def test_errback_returning_value_recovers_to_success_path() -> None:
    """An errback that returns a value sends that value to the next callback."""
    d: Deferred[int] = Deferred()
    got: list[Any] = []
    d.addErrback(lambda f: 42).addCallbacks(got.append, lambda f: got.append("eb"))
    d.errback(RuntimeError("x"))
    assert got == [42]


def test_errback_returning_failure_stays_on_failure_path() -> None:
    """Returning a Failure (or raising) from an errback keeps the chain on the failure side."""
    d: Deferred[int] = Deferred()
    got: list[Any] = []
    d.addErrback(lambda f: f).addCallback(got.append).addErrback(lambda f: got.append(f.type))
    d.errback(KeyError("k"))
    assert got == [KeyError]


def test_callback_with_failure_runs_errbacks() -> None:
    """callback(Failure) is the same as errback(Failure)."""
    d: Deferred[int] = Deferred()
    got: list[Any] = []
    d.addErrback(lambda f: got.append(f.type))
    d.callback(Failure(ValueError()))
    assert got == [ValueError]


def test_errback_without_argument_wraps_current_exception() -> None:
    """errback() inside an except block wraps the exception being handled."""
    d: Deferred[int] = Deferred()
    got: list[Failure] = []
    d.addErrback(got.append)
    try:
        raise OSError("disk")
    except OSError:
        d.errback()
    assert got[0].type is OSError and got[0].getErrorMessage() == "disk"


def test_errback_with_exception_instance() -> None:
    """errback(exc) wraps a plain exception instance in a Failure."""
    d = fail(IndexError("i"))
    got: list[Failure] = []
    d.addErrback(got.append)
    assert isinstance(got[0], Failure) and got[0].check(IndexError)


def test_callbacks_added_after_firing_run_at_once() -> None:
    """Callbacks added to a fired Deferred run immediately, in order."""
    d = succeed(1)
    seen, record = _recorder()
    d.addCallback(lambda r: r + 1).addCallback(record)
    assert seen == [2]
    d.addErrback(lambda f: pytest.fail("no failure"))
    d.addBoth(record)
    assert seen == [2, 2]


def test_callback_added_inside_callback_runs_after_it() -> None:
    """A callback added by a running callback of the same Deferred runs after it, in order."""
    d: Deferred[int] = Deferred()
    order: list[Any] = []

    def first(r: int) -> int:
        d.addCallback(lambda r2: order.append(("added", r2)))
        order.append(("first", r))
        return r + 1

    d.addCallback(first)
    d.callback(1)
    assert order == [("first", 1), ("added", 2)]
    f = succeed(5)

    def outer(r: int) -> int:
        f.addCallback(lambda r2: order.append(("nested", r2)))
        order.append(("outer", r))
        return r * 2

    f.addCallback(outer)  # fired: the nested add must still wait for `outer` to return
    assert order[2:] == [("outer", 5), ("nested", 10)]


def test_firing_twice_raises_AlreadyCalledError() -> None:
    """callback or errback on a fired Deferred raises AlreadyCalledError."""
    d: Deferred[int] = Deferred()
    d.callback(1)
    with pytest.raises(AlreadyCalledError):
        d.callback(2)
    with pytest.raises(AlreadyCalledError):
        d.errback(ValueError())
    assert d.result == 1


def test_debugging_adds_creation_and_firing_stacks() -> None:
    """With setDebugging(True), AlreadyCalledError names where it was created and fired."""
    assert getDebugging() is False
    setDebugging(True)
    try:
        assert getDebugging() is True

        def makeIt() -> Deferred[int]:
            return Deferred()

        def fireIt(d: Deferred[int]) -> None:
            d.callback(1)

        d = makeIt()
        fireIt(d)
        with pytest.raises(AlreadyCalledError) as info:
            d.callback(2)
    finally:
        setDebugging(False)
    message = str(info.value)
    assert "makeIt" in message and "fireIt" in message
    assert getDebugging() is False


def test_callback_refuses_a_deferred() -> None:
    """callback(Deferred) is a programming error."""
    with pytest.raises(AssertionError):
        Deferred().callback(Deferred())


def test_returned_deferred_pauses_chain_until_it_fires() -> None:
    """A callback returning an unfired Deferred pauses the outer chain until it fires."""
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    seen, record = _recorder()
    outer.addCallback(lambda r: inner).addCallback(record)
    outer.callback(1)
    assert seen == []
    assert outer.paused == 1
    assert "waiting on Deferred" in repr(outer)
    inner.callback(2)
    assert seen == [2]
    assert outer.paused == 0
    assert inner.result is None  # the result moved on to the outer chain


def test_returned_fired_deferred_result_is_taken_at_once() -> None:
    """A callback returning a fired Deferred continues with its result immediately."""
    d = succeed(1)
    inner = succeed("inner")
    seen, record = _recorder()
    d.addCallback(lambda r: inner).addCallback(record)
    assert seen == ["inner"]
    assert inner.result is None


def test_returned_failed_deferred_continues_on_failure_path() -> None:
    """A returned Deferred's failure continues down the outer errbacks, handled only once."""
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    got: list[Any] = []
    outer.addCallback(lambda r: inner).addErrback(lambda f: got.append(f.type))
    outer.callback(1)
    inner.errback(ValueError())
    assert got == [ValueError]
    assert inner.result is None


def test_returning_own_deferred_is_an_error() -> None:
    """A callback returning the Deferred it is attached to fails the chain with TypeError."""
    d: Deferred[int] = Deferred()
    got: list[Failure] = []
    d.addCallback(lambda r: d).addErrback(got.append)
    d.callback(1)
    assert got[0].check(TypeError)
    e = succeed(1)
    e.addCallback(lambda r: e).addErrback(got.append)
    assert got[1].check(TypeError)


def test_pause_and_unpause() -> None:
    """Paused Deferreds hold their callbacks until the last unpause."""
    d: Deferred[int] = Deferred()
    seen, record = _recorder()
    d.pause()
    d.pause()
    d.addCallback(record)
    d.callback(1)
    assert seen == []
    d.unpause()
    assert seen == []
    d.unpause()
    assert seen == [1]
    d.addCallback(record)  # after unpausing, new callbacks run at once again
    assert seen == [1, 1]


def test_unpause_before_firing_runs_nothing() -> None:
    """unpause on a Deferred without a result does not run callbacks."""
    d: Deferred[int] = Deferred()
    seen, record = _recorder()
    d.pause()
    d.addCallback(record)
    d.unpause()
    assert seen == []
    d.callback(3)
    assert seen == [3]


def test_paused_inner_deferred_keeps_outer_waiting() -> None:
    """A fired but paused inner Deferred is chained, and the outer resumes on unpause."""
    inner = succeed(5)
    inner.pause()
    outer = succeed(0)
    seen, record = _recorder()
    outer.addCallback(lambda r: inner).addCallback(record)
    assert seen == []
    inner.unpause()
    assert seen == [5]


def test_paused_outer_waits_for_unpause_after_inner_fires() -> None:
    """If the waiting Deferred is also paused by the user, it continues only on unpause."""
    inner: Deferred[int] = Deferred()
    outer = succeed(0)
    seen, record = _recorder()
    outer.addCallback(lambda r: inner).addCallback(record)
    outer.pause()
    inner.callback(9)
    assert seen == []
    outer.unpause()
    assert seen == [9]


def test_chainDeferred() -> None:
    """chainDeferred fires the other Deferred with this one's result or failure."""
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    seen, record = _recorder()
    b.addCallback(record)
    a.chainDeferred(b)
    a.callback(3)
    assert seen == [3]
    assert a.result is None
    c: Deferred[int] = Deferred()
    e: Deferred[int] = Deferred()
    got: list[Any] = []
    e.addErrback(lambda f: got.append(f.type))
    c.chainDeferred(e)
    c.errback(KeyError())
    assert got == [KeyError]


def test_repr_shows_state() -> None:
    """repr tells whether the Deferred has a result yet."""
    d: Deferred[int] = Deferred()
    assert repr(d).startswith("<Deferred at 0x") and "result" not in repr(d)
    d.callback(12)
    assert "current result: 12" in repr(d)


def test_result_attribute_missing_until_fired() -> None:
    """Like Twisted, ``result`` exists only once the Deferred has fired."""
    d: Deferred[int] = Deferred()
    assert not hasattr(d, "result")
    assert d.called is False
    d.callback(1)
    assert d.result == 1


def test_callbacks_added_with_failure_result_pass_through() -> None:
    """A callback added to a failed Deferred is skipped and the failure stays for an errback."""
    d = fail(ValueError("v"))
    d.addCallback(lambda r: pytest.fail("must not run"))
    got: list[Any] = []
    d.addErrback(lambda f: got.append(f.value.args))
    assert got == [("v",)]
    assert d.result is None


def test_addBoth_on_fired_success_and_failure() -> None:
    """addBoth on a fired Deferred runs with the result or the failure."""
    got: list[Any] = []
    succeed(1).addBoth(got.append)
    fail(ValueError()).addBoth(lambda r: got.append(type(r)))
    assert got == [1, Failure]


def test_fired_addCallback_raising_and_returning_deferreds() -> None:
    """addCallback on a fired Deferred handles raising and Deferred-returning callbacks."""
    got: list[Any] = []
    d = succeed(1)
    d.addCallback(lambda r: 1 / 0).addErrback(lambda f: got.append(f.type))
    inner: Deferred[str] = Deferred()
    e = succeed(1)
    e.addCallback(lambda r: inner).addCallback(got.append)
    inner.callback("later")
    assert got == [ZeroDivisionError, "later"]


def test_addCallbacks_without_errback_passes_failure_on() -> None:
    """addCallbacks with no errback lets a failure through to later errbacks."""
    d: Deferred[int] = Deferred()
    got: list[Any] = []
    d.addCallbacks(lambda r: got.append("cb"))
    d.addErrback(lambda f: got.append(f.type))
    d.errback(ValueError())
    assert got == [ValueError]


def test_callbacks_added_to_paused_fired_deferred_wait() -> None:
    """Callbacks added to a fired but paused Deferred run only when it is unpaused."""
    d = succeed(1)
    d.pause()
    seen, record = _recorder()
    d.addCallback(record)
    d.addErrback(lambda f: pytest.fail("no failure"))
    d.addBoth(record)
    assert seen == []
    d.unpause()
    assert seen == [1, 1]


def test_generator_yielding_deferred_that_is_running_callbacks() -> None:
    """A generator started from a callback that yields that same Deferred resumes after it."""
    from collections.abc import Generator

    from plait.defer import inlineCallbacks

    d: Deferred[int] = Deferred()
    out: list[Any] = []

    @inlineCallbacks
    def waiter() -> Generator[Any, Any, None]:
        value = yield d
        out.append(("resumed", value))

    def cb(r: int) -> int:
        waiter()
        out.append(("cb", r))
        return r + 1

    d.addCallback(cb)
    d.callback(1)
    assert out == [("cb", 1), ("resumed", 2)]
    assert d.result is None  # the generator consumed it


def test_chainDeferred_to_fired_deferred_fails_source() -> None:
    """Chaining into an already-fired Deferred is an AlreadyCalledError in the source chain."""
    target = succeed(1)
    source: Deferred[int] = Deferred()
    got: list[Any] = []
    source.chainDeferred(target)
    source.addErrback(lambda f: got.append(f.type))
    source.callback(2)
    assert got == [AlreadyCalledError] and target.result == 1


def test_chainDeferred_into_cancelled_deferred_is_suppressed() -> None:
    """A late result chained into a Deferred cancelled without canceller is dropped once."""
    target: Deferred[int] = Deferred()
    target.addErrback(lambda f: None)
    target.cancel()
    source: Deferred[int] = Deferred()
    source.chainDeferred(target)
    source.callback(3)
    assert source.result is None and target.result is None
