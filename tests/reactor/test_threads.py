"""Threads: the pool, callInThread/callFromThread, deferToThread, blockingCallFromThread."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from plait.defer import Deferred, DeferredList, Failure
from plait.reactor import (
    PosixReactorBase,
    ThreadPool,
    blockingCallFromThread,
    callMultipleInThread,
    deferToThread,
    deferToThreadPool,
)
from plait.testing import flushLoggedErrors

from .conftest import runReactor


def test_pool_runs_work_and_stops() -> None:
    """The pool runs queued work, grows to its limit, and stop() joins every worker."""
    pool = ThreadPool(0, 3, name="test-pool")
    done = threading.Event()
    results: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        with lock:
            results.append(i)
            if len(results) == 20:
                done.set()

    for i in range(20):
        pool.callInThread(work, i)
    assert pool.threads == []  # not started: work waits
    pool.start()
    assert done.wait(5)
    assert 1 <= len(pool.threads) <= 3
    threads = pool.threads
    pool.stop()
    assert sorted(results) == list(range(20))
    assert pool.threads == []
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(RuntimeError):
        pool.callInThread(work, 99)


def test_pool_callback_and_errors() -> None:
    """callInThreadWithCallback reports (True, result) or (False, Failure)."""
    pool = ThreadPool(1, 2)
    pool.start()
    got: list[tuple[bool, Any]] = []
    ready = threading.Semaphore(0)

    def onResult(ok: bool, result: Any) -> None:
        got.append((ok, result))
        ready.release()

    pool.callInThreadWithCallback(onResult, lambda: 42)
    pool.callInThreadWithCallback(onResult, lambda: 1 / 0)
    assert ready.acquire(timeout=5) and ready.acquire(timeout=5)
    pool.stop()
    # two workers: the calls may finish in either order
    ok, failed = sorted(got, key=lambda item: not item[0])
    assert ok == (True, 42)
    assert failed[0] is False
    assert isinstance(failed[1], Failure) and failed[1].check(ZeroDivisionError)


def test_pool_adjust_size() -> None:
    """adjustPoolsize starts the minimum at once and retires threads above the maximum."""
    pool = ThreadPool(0, 4)
    pool.start()
    pool.adjustPoolsize(minthreads=3)
    assert len(pool.threads) == 3
    pool.adjustPoolsize(minthreads=1, maxthreads=1)
    deadline = time.monotonic() + 5
    while len(pool.threads) > 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(pool.threads) == 1
    with pytest.raises(ValueError):
        pool.adjustPoolsize(minthreads=5, maxthreads=2)
    pool.stop()
    assert pool.threads == []


def test_pool_logs_errors() -> None:
    """An exception from callInThread work is logged."""
    pool = ThreadPool(1, 1)
    pool.start()
    pool.callInThread(lambda: 1 / 0)
    pool.stop()
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_many_threads_call_from_thread(reactor: PosixReactorBase) -> None:
    """8 threads x 100 callFromThread calls all arrive, on the loop thread, in order."""
    received: dict[int, list[int]] = {n: [] for n in range(8)}
    loopThreads: set[int] = set()
    total = [0]
    barrier = threading.Barrier(8)

    def arrive(n: int, i: int) -> None:
        loopThreads.add(threading.get_ident())
        received[n].append(i)
        total[0] += 1
        if total[0] == 800:
            reactor.stop()

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(100):
            reactor.callFromThread(arrive, n, i)

    reactor.suggestThreadPoolSize(8)
    for n in range(8):
        reactor.callWhenRunning(reactor.callInThread, worker, n)
    runReactor(reactor)
    assert all(received[n] == list(range(100)) for n in range(8))
    assert loopThreads == {threading.get_ident()}


def test_call_from_thread_wakes_loop_promptly(reactor: PosixReactorBase) -> None:
    """A callFromThread from another thread wakes a loop sleeping with no timers."""
    latency: list[float] = []

    def arrived(sent: float) -> None:
        latency.append(time.monotonic() - sent)
        reactor.stop()

    def poke() -> None:
        time.sleep(0.05)  # let the loop go to sleep
        reactor.callFromThread(arrived, time.monotonic())

    thread = threading.Thread(target=poke)
    reactor.callWhenRunning(thread.start)
    runReactor(reactor)
    thread.join()
    assert latency and latency[0] < 0.5


def test_error_in_call_from_thread_is_logged(reactor: PosixReactorBase) -> None:
    """An exception in a callFromThread call is logged; the reactor keeps going."""
    order: list[str] = []
    reactor.callFromThread(lambda: 1 / 0)
    reactor.callFromThread(order.append, "next")
    reactor.callLater(0.01, reactor.stop)
    runReactor(reactor)
    assert order == ["next"]
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_defer_to_thread(reactor: PosixReactorBase) -> None:
    """deferToThread fires on the loop thread with the result, or fails with the error."""
    results: list[object] = []
    loop = threading.get_ident()

    def inThread(x: int) -> tuple[int, bool]:
        return x * 2, threading.get_ident() != loop

    def boom() -> None:
        raise KeyError("thread")

    def start() -> None:
        d1 = deferToThread(reactor, inThread, 21)
        d1.addCallback(lambda r: results.append((r, threading.get_ident() == loop)))
        d2 = deferToThread(reactor, boom)
        d2.addErrback(lambda f: results.append(f.trap(KeyError)))
        pool = ThreadPool(0, 1)
        pool.start()
        d3 = deferToThreadPool(reactor, pool, sum, [1, 2, 3])
        d3.addCallback(results.append)
        d3.addBoth(lambda _: pool.stop())
        done = DeferredList([d1, d2, d3])
        done.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    runReactor(reactor)
    assert ((42, True), True) in results
    assert KeyError in results
    assert 6 in results


def test_call_multiple_in_thread(reactor: PosixReactorBase) -> None:
    """callMultipleInThread runs each call in order in one pool thread."""
    seen: list[tuple[int, int]] = []

    def record(i: int) -> None:
        seen.append((i, threading.get_ident()))
        if i == 2:
            reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(callMultipleInThread, reactor, [(record, (i,), {}) for i in range(3)])
    runReactor(reactor)
    assert [i for i, _ in seen] == [0, 1, 2]
    assert len({t for _, t in seen}) == 1


def test_blocking_call_from_thread(reactor: PosixReactorBase) -> None:
    """blockingCallFromThread returns values, waits for Deferreds, re-raises errors."""
    outcome: list[object] = []
    loop = threading.get_ident()

    def onLoop(x: int) -> int:
        assert threading.get_ident() == loop
        return x + 1

    def deferred() -> Deferred[str]:
        d: Deferred[str] = Deferred()
        reactor.callLater(0.01, d.callback, "later")
        return d

    def failing() -> None:
        raise ValueError("on the loop")

    async def coroutine() -> str:
        return await deferred()

    def inThread() -> None:
        outcome.append(blockingCallFromThread(reactor, onLoop, 1))
        outcome.append(blockingCallFromThread(reactor, deferred))
        outcome.append(blockingCallFromThread(reactor, coroutine))
        try:
            blockingCallFromThread(reactor, failing)
        except ValueError as e:
            outcome.append(str(e))
        reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(reactor.callInThread, inThread)
    runReactor(reactor)
    assert outcome == [2, "later", "later", "on the loop"]


def test_blocking_call_from_loop_thread_refused(reactor: PosixReactorBase) -> None:
    """blockingCallFromThread on the loop thread raises instead of deadlocking."""
    errors: list[type[BaseException]] = []

    def onLoop() -> None:
        try:
            blockingCallFromThread(reactor, lambda: None)
        except RuntimeError as e:
            errors.append(type(e))
        reactor.stop()

    reactor.callWhenRunning(onLoop)
    runReactor(reactor)
    assert errors == [RuntimeError]


def test_thread_pool_stopped_at_shutdown(reactor: PosixReactorBase) -> None:
    """After run() returns, the reactor's pool threads are gone."""
    before = set(threading.enumerate())
    started = threading.Event()

    def work() -> None:
        started.set()
        time.sleep(0.02)

    def go() -> None:
        for _ in range(4):
            reactor.callInThread(work)
        reactor.callLater(0.01, reactor.stop)

    reactor.callWhenRunning(go)
    runReactor(reactor)
    assert started.is_set()
    assert set(threading.enumerate()) == before
