"""Coroutines and generators on Deferreds: ensureDeferred, inlineCallbacks, maybeDeferred."""

from __future__ import annotations

import contextvars
from collections.abc import Generator
from typing import Any

import pytest

from plait.defer import (
    CancelledError,
    Deferred,
    Failure,
    NotACoroutineError,
    ensureDeferred,
    fail,
    inlineCallbacks,
    maybeDeferred,
    returnValue,
    succeed,
)


def _result(d: Deferred[Any]) -> Any:
    got: list[Any] = []
    d.addBoth(got.append)
    assert len(got) == 1, "Deferred has no result"
    return got[0]


def test_ensureDeferred_runs_coroutine_awaiting_deferreds() -> None:
    """await on a Deferred gives its result once it fires; the coroutine's value fires ours."""
    waiting: Deferred[int] = Deferred()

    async def work() -> int:
        a = await succeed(1)
        b = await waiting
        return a + b

    d = ensureDeferred(work())
    assert not d.called
    waiting.callback(41)
    assert _result(d) == 42
    assert waiting.result is None  # awaiting consumes the result


def test_fromCoroutine_is_ensureDeferred() -> None:
    """Deferred.fromCoroutine runs a coroutine like ensureDeferred."""

    async def work() -> str:
        return "done"

    assert _result(Deferred.fromCoroutine(work())) == "done"


def test_ensureDeferred_passes_deferreds_through_and_rejects_others() -> None:
    """ensureDeferred(Deferred) returns it; other objects raise NotACoroutineError."""
    d: Deferred[int] = Deferred()
    assert ensureDeferred(d) is d
    with pytest.raises(NotACoroutineError):
        ensureDeferred(42)  # type: ignore[call-overload]
    with pytest.raises(NotACoroutineError):
        Deferred.fromCoroutine(42)  # type: ignore[arg-type]


def test_await_failed_deferred_raises_and_marks_it_handled() -> None:
    """await raises a failed Deferred's exception inside the coroutine, which may catch it."""
    later: Deferred[int] = Deferred()

    async def work() -> list[str]:
        caught = []
        try:
            await fail(KeyError("now"))
        except KeyError as e:
            caught.append(str(e))
        try:
            await later
        except ValueError as e:
            caught.append(str(e))
        return caught

    d = ensureDeferred(work())
    later.errback(ValueError("later"))
    assert _result(d) == ["'now'", "later"]


def test_coroutine_exception_fails_the_deferred() -> None:
    """An exception escaping the coroutine fails its Deferred."""

    async def work() -> None:
        raise OSError("nope")

    f = _result(ensureDeferred(work()))
    assert isinstance(f, Failure) and f.check(OSError)


def _tracebackNames(f: Failure) -> str:
    return f.getTraceback()


def test_traceback_of_three_deep_async_chain_names_every_coroutine() -> None:
    """A failure raised 3 coroutines deep (each awaiting ensureDeferred) names all three."""
    trigger: Deferred[None] = Deferred()

    async def levelThreeRaises() -> None:
        await trigger
        raise ValueError("deep")

    async def levelTwo() -> None:
        await ensureDeferred(levelThreeRaises())

    async def levelOne() -> None:
        await ensureDeferred(levelTwo())

    d = ensureDeferred(levelOne())
    trigger.callback(None)
    text = _result(d).getTraceback()
    for name in ("levelOne", "levelTwo", "levelThreeRaises"):
        assert name in text
    assert text.index("levelOne") < text.index("levelTwo") < text.index("levelThreeRaises")


def test_traceback_of_async_chain_failing_synchronously() -> None:
    """Frames are kept when the inner coroutine fails before the outer one awaits it."""

    async def innerFailsAtOnce() -> None:
        raise KeyError("sync")

    async def middleAwaits() -> None:
        await ensureDeferred(innerFailsAtOnce())

    async def outerAwaits() -> None:
        await ensureDeferred(middleAwaits())

    text = _result(ensureDeferred(outerAwaits())).getTraceback()
    for name in ("outerAwaits", "middleAwaits", "innerFailsAtOnce"):
        assert name in text


def test_traceback_of_three_deep_inlineCallbacks_chain() -> None:
    """A failure 3 inlineCallbacks generators deep names all three generators."""
    trigger: Deferred[None] = Deferred()

    @inlineCallbacks
    def genThree() -> Generator[Any, Any, None]:
        yield trigger
        raise ValueError("deep gen")

    @inlineCallbacks
    def genTwo() -> Generator[Any, Any, None]:
        yield genThree()

    @inlineCallbacks
    def genOne() -> Generator[Any, Any, None]:
        yield genTwo()

    d = genOne()
    trigger.callback(None)
    text = _result(d).getTraceback()
    for name in ("genOne", "genTwo", "genThree"):
        assert name in text


def test_inlineCallbacks_return_and_returnValue() -> None:
    """A plain return gives the result; returnValue still works; plain yields come back."""

    @inlineCallbacks
    def modern() -> Generator[Any, Any, int]:
        x = yield succeed(2)
        y = yield 3  # not a Deferred: sent straight back
        return x * y

    @inlineCallbacks
    def legacy() -> Generator[Any, Any, None]:
        x = yield succeed("old")
        returnValue(x + " style")

    assert _result(modern()) == 6
    assert _result(legacy()) == "old style"


def test_inlineCallbacks_waits_on_unfired_and_catches_failures() -> None:
    """A yielded Deferred suspends the generator; its failure is raised at the yield."""
    first: Deferred[int] = Deferred()
    second: Deferred[int] = Deferred()

    @inlineCallbacks
    def work() -> Generator[Any, Any, tuple[int, str]]:
        a = yield first
        try:
            yield second
        except ZeroDivisionError:
            return (a, "recovered")
        return (a, "no")

    d = work()
    first.callback(5)
    assert not d.called
    second.errback(ZeroDivisionError())
    assert _result(d) == (5, "recovered")


def test_inlineCallbacks_requires_a_generator() -> None:
    """Decorating a non-generator function is reported when it is called."""

    def notGen() -> int:
        return 1

    with pytest.raises(TypeError):
        inlineCallbacks(notGen)()  # type: ignore[arg-type]

    def callsReturnValue() -> None:
        returnValue(1)

    with pytest.raises(TypeError):
        inlineCallbacks(callsReturnValue)()  # type: ignore[arg-type]


def test_inlineCallbacks_exception_fails_deferred() -> None:
    """An exception from the generator fails its Deferred."""

    @inlineCallbacks
    def work() -> Generator[Any, Any, None]:
        yield succeed(1)
        raise RuntimeError("gen broke")

    assert _result(work()).check(RuntimeError)


def test_cancel_ensureDeferred_cancels_awaited_and_throws_into_coroutine() -> None:
    """Cancelling the coroutine's Deferred cancels what it awaits; CancelledError is raised in."""
    cancelled: list[Any] = []
    awaited: Deferred[int] = Deferred(cancelled.append)
    seen: list[str] = []

    async def work() -> int:
        try:
            return await awaited
        except CancelledError:
            seen.append("cancelled inside")
            raise

    d = ensureDeferred(work())
    d.cancel()
    assert cancelled == [awaited]
    assert seen == ["cancelled inside"]
    assert _result(d).check(CancelledError)


def test_cancelled_coroutine_may_recover_and_give_a_result() -> None:
    """A coroutine that handles the CancelledError decides its Deferred's result."""
    awaited: Deferred[int] = Deferred()
    more: Deferred[str] = Deferred()

    async def work() -> str:
        try:
            await awaited
        except CancelledError:
            return await more
        return "not cancelled"

    d = ensureDeferred(work())
    d.cancel()
    assert not d.called or isinstance(d.result, Deferred)
    more.callback("cleaned up")
    assert _result(d) == "cleaned up"


def test_cancel_twice_while_recovering() -> None:
    """A second cancel while the coroutine handles the first cancels its new wait."""
    first: Deferred[int] = Deferred()
    second: Deferred[int] = Deferred()
    events: list[str] = []

    async def work() -> str:
        try:
            await first
        except CancelledError:
            events.append("first")
        try:
            await second
        except CancelledError:
            events.append("second")
        return "both"

    d = ensureDeferred(work())
    d.cancel()
    d.cancel()
    assert events == ["first", "second"]
    assert _result(d) == "both"


def test_cancel_inlineCallbacks() -> None:
    """Cancelling an inlineCallbacks Deferred throws CancelledError in at the current yield."""
    awaited: Deferred[int] = Deferred()

    @inlineCallbacks
    def work() -> Generator[Any, Any, str]:
        try:
            yield awaited
        except CancelledError:
            return "saw cancel"
        return "no"

    d = work()
    d.cancel()
    assert _result(d) == "saw cancel"


def test_cancel_finished_coroutine_does_nothing() -> None:
    """Cancelling the Deferred of a finished coroutine changes nothing."""

    async def work() -> int:
        return 1

    d = ensureDeferred(work())
    d.cancel()
    assert d.result == 1


def test_contextvars_persist_across_awaits_and_do_not_leak() -> None:
    """A coroutine runs in its own context copy, kept across awaits; the caller's is untouched."""
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")
    waiting: Deferred[None] = Deferred()

    async def work() -> str:
        var.set("inside")
        await waiting
        return var.get()

    d = ensureDeferred(work())
    assert var.get() == "outside"
    waiting.callback(None)
    assert _result(d) == "inside"


def test_maybeDeferred_variants() -> None:
    """maybeDeferred wraps values, Deferreds, Failures, exceptions and coroutines."""
    d: Deferred[int] = Deferred()

    async def coro(x: int) -> int:
        return x + 1

    def raises() -> None:
        raise ValueError("raised")

    assert _result(maybeDeferred(lambda x, y=0: x + y, 1, y=2)) == 3
    assert maybeDeferred(lambda: d) is d
    assert _result(maybeDeferred(lambda: Failure(KeyError()))).check(KeyError)
    f = _result(maybeDeferred(raises))
    assert f.check(ValueError) and "raises" in f.getTraceback()
    assert _result(maybeDeferred(coro, 1)) == 2


def test_await_paused_deferred_waits_for_unpause() -> None:
    """Awaiting a fired but paused Deferred waits until it is unpaused."""
    d = succeed(3)
    d.pause()

    async def work() -> int:
        return await d

    result = ensureDeferred(work())
    assert not result.called
    d.unpause()
    assert _result(result) == 3


def test_many_coroutines_waiting_on_one_deferred_chain() -> None:
    """Two coroutines awaiting the same Deferred: the first consumes it, the second gets None."""
    d: Deferred[str] = Deferred()

    async def work() -> Any:
        return await d

    a = ensureDeferred(work())
    b = ensureDeferred(work())
    d.callback("x")
    assert (_result(a), _result(b)) == ("x", None)


def test_coroutine_returning_failure_fails_its_deferred() -> None:
    """A coroutine that returns a Failure (at once or after waiting) fails its Deferred."""
    waiting: Deferred[None] = Deferred()

    async def atOnce() -> Failure:
        return Failure(KeyError("at once"))

    async def afterWaiting() -> Failure:
        await waiting
        return Failure(KeyError("later"))

    assert _result(ensureDeferred(atOnce())).check(KeyError)
    d = ensureDeferred(afterWaiting())
    waiting.callback(None)
    assert _result(d).getErrorMessage() == "'later'"


def test_coroutine_deferred_repr_and_debug_info() -> None:
    """The coroutine's Deferred has a readable repr and records creation in debug mode."""
    from plait.defer import setDebugging

    async def work() -> int:
        return 1

    setDebugging(True)
    try:
        d = ensureDeferred(work())
    finally:
        setDebugging(False)
    assert "current result: 1" in repr(d)
    with pytest.raises(Exception, match="test_coroutine_deferred_repr_and_debug_info"):
        d.callback(2)
