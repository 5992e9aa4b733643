"""Static typing of plait.defer: mypy --strict must accept this file (scripts/check).

Each ``assert_type`` pins what mypy infers; the tests also run (assert_type is a no-op at run
time) so the examples stay honest.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, assert_type

from plait.defer import (
    Deferred,
    DeferredList,
    DeferredLock,
    DeferredQueue,
    DeferredSemaphore,
    Failure,
    ensureDeferred,
    fail,
    gatherResults,
    inlineCallbacks,
    maybeDeferred,
    race,
    succeed,
)


def _scale(x: int, factor: int, *, offset: int = 0) -> float:
    return x * factor + offset


def _later(x: str) -> Deferred[bytes]:
    return succeed(x.encode())


def test_addCallback_follows_the_chain() -> None:
    """addCallback changes the result type to the callback's return type."""
    d: Deferred[int] = Deferred()
    assert_type(d.addCallback(str), Deferred[str])
    e = Deferred[int]().addCallback(str).addCallback(len)
    assert_type(e, Deferred[int])
    assert_type(succeed(2).addCallback(_scale, 3, offset=1), Deferred[float])
    assert_type(succeed("x").addCallback(_later), Deferred[bytes])


def test_addErrback_and_addBoth() -> None:
    """addErrback unions in the errback's type; addBoth takes the callback's type."""

    def recover(f: Failure) -> None:
        f.trap(ValueError)

    def both(r: int | Failure) -> str:
        return "done"

    def tagged(f: Failure, tag: str) -> str:
        return tag

    d = succeed(1)
    assert_type(d.addErrback(recover), Deferred[int | None])
    assert_type(succeed(1).addErrback(tagged, "t"), Deferred[int | str])
    assert_type(succeed(1).addBoth(both), Deferred[str])


def test_addCallbacks_and_constructors() -> None:
    """addCallbacks, succeed, fail and maybeDeferred have useful types."""
    assert_type(succeed(1).addCallbacks(str, lambda f: "failed"), Deferred[str])
    assert_type(succeed(b"x"), Deferred[bytes])
    failed = fail(ValueError())
    assert_type(failed, Deferred[Any])
    failed.addErrback(lambda f: None)
    assert_type(maybeDeferred(len, "abc"), Deferred[int])
    assert_type(maybeDeferred(_later, "x"), Deferred[bytes])


async def _coro(x: int) -> str:
    y = await succeed(x)
    assert_type(y, int)
    return str(y)


def test_coroutines() -> None:
    """ensureDeferred/fromCoroutine/inlineCallbacks carry the return type."""
    assert_type(ensureDeferred(_coro(1)), Deferred[str])
    assert_type(Deferred.fromCoroutine(_coro(1)), Deferred[str])
    assert_type(maybeDeferred(_coro, 1), Deferred[str])

    @inlineCallbacks
    def gen(x: int) -> Generator[Deferred[Any], Any, bytes]:
        yield succeed(x)
        return b"ok"

    assert_type(gen(1), Deferred[bytes])


def test_collections_and_primitives() -> None:
    """gatherResults, race, DeferredList, lock, semaphore and queue are typed."""
    assert_type(gatherResults([succeed(1), succeed(2)]), Deferred[list[int]])
    assert_type(race([succeed("a")]), Deferred[tuple[int, str]])
    DeferredList([succeed(1)]).addCallback(lambda results: results)
    lock = DeferredLock()
    assert_type(lock.acquire(), Deferred[DeferredLock])
    lock.release()
    assert_type(lock.run(_later, "x"), Deferred[bytes])
    sem = DeferredSemaphore(2)
    assert_type(sem.run(len, "ab"), Deferred[int])
    q: DeferredQueue[str] = DeferredQueue()
    q.put("x")
    assert_type(q.get(), Deferred[str])
