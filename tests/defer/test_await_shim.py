"""``await d``: the future-like object a Deferred yields, driven by plait and by a fake Task."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Generator
from typing import Any

import pytest

from plait.defer import CancelledError, Deferred, ensureDeferred
from plait.defer._awaiting import _AwaitingDeferred


class FakeLoop:
    """Records call_soon (and call_soon_threadsafe) calls instead of running a loop."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., object], tuple[Any, ...], Any]] = []
        self.threadsafe = 0

    def call_soon(self, fn: Callable[..., object], *args: Any, context: Any = None) -> None:
        self.calls.append((fn, args, context))

    def call_soon_threadsafe(
        self, fn: Callable[..., object], *args: Any, context: Any = None
    ) -> None:
        self.threadsafe += 1
        self.call_soon(fn, *args, context=context)

    def runAll(self) -> None:
        calls, self.calls = self.calls, []
        for fn, args, _ in calls:
            fn(*args)


def startAwait(d: Deferred[Any]) -> tuple[Generator[Any, Any, Any], Any]:
    """Start ``d.__await__()`` and return it with what it yielded first."""
    gen = d.__await__()
    return gen, gen.send(None)


def takeAsTask(waiter: Any, loop: FakeLoop) -> list[Any]:
    """Do what asyncio's Task does with a yielded future; returns the woken-with list."""
    woken: list[Any] = []
    assert waiter._asyncio_future_blocking is True
    waiter._loop = loop
    waiter._thread = threading.get_ident()
    waiter._asyncio_future_blocking = False
    waiter.add_done_callback(woken.append, context=contextvars.copy_context())
    return woken


def test_fired_deferred_returns_without_yielding() -> None:
    """Awaiting a Deferred that has a result returns it at once (no waiter yielded)."""
    d: Deferred[int] = Deferred()
    d.callback(3)
    with pytest.raises(StopIteration) as info:
        d.__await__().send(None)
    assert info.value.value == 3


def test_unfired_deferred_yields_a_future_like_waiter() -> None:
    """An unfired Deferred yields an _AwaitingDeferred for it, looking like a future."""
    d: Deferred[int] = Deferred()
    _, waiter = startAwait(d)
    assert isinstance(waiter, _AwaitingDeferred)
    assert waiter.deferred is d
    assert waiter._asyncio_future_blocking is True
    assert not waiter.done()


def test_task_protocol_delivers_the_result() -> None:
    """A Task-like driver is woken through the loop and the awaiter returns the result."""
    loop = FakeLoop()
    d: Deferred[int] = Deferred()
    gen, waiter = startAwait(d)
    woken = takeAsTask(waiter, loop)
    d.callback(9)
    assert woken == []  # scheduled, not called inside callback()
    loop.runAll()
    assert woken == [waiter]
    assert waiter.done() and waiter.result() == 9 and waiter.exception() is None
    with pytest.raises(StopIteration) as info:
        gen.send(None)
    assert info.value.value == 9
    assert d.result is None  # consumed by the awaiter


def test_task_protocol_raises_the_failure() -> None:
    """result() raises the Deferred's exception, which the Task throws into the awaiter."""
    loop = FakeLoop()
    d: Deferred[int] = Deferred()
    gen, waiter = startAwait(d)
    takeAsTask(waiter, loop)
    d.errback(KeyError("k"))
    assert isinstance(waiter.exception(), KeyError)
    with pytest.raises(KeyError) as info:
        waiter.result()
    with pytest.raises(KeyError):
        gen.throw(info.value)
    assert d.result is None  # consumed: no unhandled-error report


def test_plait_cancelled_error_becomes_asyncio_cancelled_error() -> None:
    """A Deferred failing with plait's CancelledError looks cancelled to asyncio."""
    loop = FakeLoop()
    d: Deferred[int] = Deferred()
    _, waiter = startAwait(d)
    takeAsTask(waiter, loop)
    d.errback(CancelledError())
    assert waiter.cancelled()
    with pytest.raises(asyncio.CancelledError):
        waiter.result()
    with pytest.raises(asyncio.CancelledError):
        waiter.exception()


def test_cancel_cancels_the_deferred_with_the_message() -> None:
    """Task.cancel(msg) reaches the Deferred's canceller; result() raises with msg."""
    loop = FakeLoop()
    seen: list[Deferred[int]] = []
    d: Deferred[int] = Deferred(seen.append)
    _, waiter = startAwait(d)
    takeAsTask(waiter, loop)
    assert waiter.cancel("stop") is True
    assert seen == [d]
    with pytest.raises(asyncio.CancelledError, match="stop"):
        waiter.result()
    assert waiter.cancel() is False  # already done


def test_canceller_that_gives_a_result_wins() -> None:
    """A canceller that fires the Deferred with a value resumes the Task with that value."""
    loop = FakeLoop()
    d: Deferred[str] = Deferred(lambda d: d.callback("partial"))
    _, waiter = startAwait(d)
    takeAsTask(waiter, loop)
    assert waiter.cancel() is True
    assert waiter.result() == "partial"


def test_callback_added_after_firing_is_scheduled() -> None:
    """add_done_callback on a fired waiter schedules the callback at once."""
    loop = FakeLoop()
    d: Deferred[int] = Deferred()
    _, waiter = startAwait(d)
    takeAsTask(waiter, loop)
    d.callback(1)
    later: list[Any] = []
    waiter.add_done_callback(later.append)
    loop.runAll()
    assert later == [waiter]


def test_remove_done_callback() -> None:
    """A removed done callback is not called."""
    loop = FakeLoop()
    d: Deferred[int] = Deferred()
    _, waiter = startAwait(d)
    woken = takeAsTask(waiter, loop)
    assert waiter.remove_done_callback(woken.append) == 1
    d.callback(1)
    loop.runAll()
    assert woken == []


def test_result_before_firing_is_invalid() -> None:
    """result() on an unfired waiter raises InvalidStateError, as a pending future does."""
    d: Deferred[int] = Deferred()
    _, waiter = startAwait(d)
    with pytest.raises(asyncio.InvalidStateError):
        waiter.result()


def test_plait_driver_awaits_unfired_deferreds() -> None:
    """ensureDeferred waits on the waiter's Deferred: results, None and failures arrive."""

    async def main(a: Deferred[int], b: Deferred[None], c: Deferred[int]) -> tuple[Any, ...]:
        x = await a
        y = await b
        try:
            await c
        except ValueError as e:
            return x, y, str(e)
        return x, y, None

    a: Deferred[int] = Deferred()
    b: Deferred[None] = Deferred()
    c: Deferred[int] = Deferred()
    results: list[Any] = []
    ensureDeferred(main(a, b, c)).addCallback(results.append)
    a.callback(1)
    b.callback(None)
    c.errback(ValueError("bad"))
    assert results == [(1, None, "bad")]


def test_plait_driver_keeps_plait_cancelled_error() -> None:
    """Under plait's driver, cancelling raises plait's CancelledError in the coroutine."""
    caught: list[BaseException] = []

    async def main(d: Deferred[int]) -> None:
        try:
            await d
        except BaseException as e:
            caught.append(e)
            raise

    inner: Deferred[int] = Deferred()
    outer = ensureDeferred(main(inner))
    outer.cancel()
    outer.addErrback(lambda f: f.trap(CancelledError))
    assert len(caught) == 1 and type(caught[0]) is CancelledError


def test_paused_deferred_is_awaited_until_unpaused() -> None:
    """A fired but paused Deferred is waited on, and its result arrives once unpaused."""

    async def main(d: Deferred[int]) -> int:
        return await d

    d: Deferred[int] = Deferred()
    d.callback(5)
    d.pause()
    results: list[int] = []
    ensureDeferred(main(d)).addCallback(results.append)
    assert results == []
    d.unpause()
    assert results == [5]


def test_fired_on_another_thread_wakes_the_loop_threadsafe() -> None:
    """A Deferred fired off the loop's thread schedules the wake-up with call_soon_threadsafe."""
    loop = FakeLoop()
    d: Deferred[int] = Deferred()
    _, waiter = startAwait(d)
    takeAsTask(waiter, loop)
    thread = threading.Thread(target=d.callback, args=(4,))
    thread.start()
    thread.join(5)
    assert loop.threadsafe == 1
    loop.runAll()
    assert waiter.result() == 4


def test_fired_on_the_loop_thread_uses_call_soon() -> None:
    """On the loop's own thread the wake-up is a plain call_soon."""
    loop = FakeLoop()
    d: Deferred[int] = Deferred()
    _, waiter = startAwait(d)
    takeAsTask(waiter, loop)
    d.callback(4)
    assert loop.threadsafe == 0 and len(loop.calls) == 1
