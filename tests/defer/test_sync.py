"""DeferredLock, DeferredSemaphore and DeferredQueue."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import (
    CancelledError,
    Deferred,
    DeferredLock,
    DeferredQueue,
    DeferredSemaphore,
    QueueOverflow,
    QueueUnderflow,
    ensureDeferred,
)


def _result(d: Deferred[Any]) -> Any:
    got: list[Any] = []
    d.addBoth(got.append)
    assert len(got) == 1, "Deferred has no result"
    return got[0]


def test_lock_acquire_release_fifo() -> None:
    """The lock is handed to waiters in order on release."""
    lock = DeferredLock()
    first = lock.acquire()
    assert _result(first) is lock and lock.locked
    second = lock.acquire()
    third = lock.acquire()
    assert not second.called
    lock.release()
    assert second.called and not third.called and lock.locked
    lock.release()
    assert third.called
    lock.release()
    assert not lock.locked
    with pytest.raises(AssertionError):
        lock.release()


def test_lock_cancel_waiting_acquire() -> None:
    """Cancelling a waiting acquire removes it from the queue."""
    lock = DeferredLock()
    lock.acquire()
    waiting = lock.acquire()
    after = lock.acquire()
    waiting.cancel()
    assert _result(waiting).check(CancelledError)
    lock.release()
    assert after.called


def test_lock_run_releases_after_result_or_failure() -> None:
    """run() holds the lock while f's Deferred is pending and releases it afterwards."""
    lock = DeferredLock()
    pending: Deferred[int] = Deferred()
    d = lock.run(lambda x: pending, 1)
    assert lock.locked
    pending.callback(4)
    assert _result(d) == 4 and not lock.locked

    def boom() -> None:
        raise ValueError

    assert _result(lock.run(boom)).check(ValueError)
    assert not lock.locked


def test_lock_async_with() -> None:
    """``async with lock`` acquires and releases it."""
    lock = DeferredLock()
    inside: list[bool] = []

    async def work() -> None:
        async with lock:
            inside.append(lock.locked)

    ensureDeferred(work())
    assert inside == [True] and not lock.locked


def test_semaphore_tokens_and_limit() -> None:
    """At most `limit` acquirers hold tokens; the rest wait in order."""
    sem = DeferredSemaphore(2)
    assert (sem.tokens, sem.limit) == (2, 2)
    a, b, c = sem.acquire(), sem.acquire(), sem.acquire()
    assert a.called and b.called and not c.called and sem.tokens == 0
    sem.release()
    assert c.called and sem.tokens == 0
    sem.release()
    sem.release()
    assert sem.tokens == 2
    with pytest.raises(AssertionError):
        sem.release()
    with pytest.raises(ValueError):
        DeferredSemaphore(0)


def test_semaphore_run_and_cancel() -> None:
    """run() uses a token for the call; a cancelled waiter gives up its place."""
    sem = DeferredSemaphore(1)
    gate: Deferred[str] = Deferred()
    first = sem.run(lambda: gate)
    waiter = sem.acquire()
    waiter.cancel()
    assert _result(waiter).check(CancelledError)
    second = sem.run(lambda x: x * 2, 21)
    assert not second.called
    gate.callback("one")
    assert _result(first) == "one" and _result(second) == 42
    assert sem.tokens == 1


def test_queue_put_get_order() -> None:
    """Items come out in order; getters waiting before a put get it at once."""
    q: DeferredQueue[int] = DeferredQueue()
    q.put(1)
    q.put(2)
    assert _result(q.get()) == 1
    assert _result(q.get()) == 2
    waiting = q.get()
    assert not waiting.called
    q.put(3)
    assert _result(waiting) == 3


def test_queue_size_and_backlog_limits() -> None:
    """put beyond size raises QueueOverflow; get beyond backlog raises QueueUnderflow."""
    q: DeferredQueue[int] = DeferredQueue(size=1, backlog=1)
    q.put(1)
    with pytest.raises(QueueOverflow):
        q.put(2)
    q.get()
    q.get()
    with pytest.raises(QueueUnderflow):
        q.get()


def test_queue_cancel_waiting_get() -> None:
    """A cancelled get no longer receives items."""
    q: DeferredQueue[str] = DeferredQueue()
    cancelled = q.get()
    live = q.get()
    cancelled.cancel()
    assert _result(cancelled).check(CancelledError)
    q.put("x")
    assert _result(live) == "x"
