"""Threads (§5.1): a thread pool, and the bridges between pool threads and the loop thread.

Blocking work goes to a ``ThreadPool``; results come back to the loop thread through
``reactor.callFromThread``, so protocol code never needs a lock. ``deferToThread`` wraps that
round trip in a Deferred; ``blockingCallFromThread`` is the opposite direction (a pool thread
waits for something the loop thread computes).
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, overload

from ..defer import Deferred, Failure, maybeDeferred
from ..log import Logger

if TYPE_CHECKING:
    from collections.abc import Coroutine

__all__ = [
    "ThreadPool",
    "blockingCallFromThread",
    "callMultipleInThread",
    "deferToThread",
    "deferToThreadPool",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_log = Logger("plait.reactor.threads")
_poolNumbers = itertools.count(1)

# What workers take from the queue: a job, or None telling one worker to exit.
_Job = Callable[[], object] | None


class ThreadPool:
    """A pool of worker threads running callables in FIFO order.

    Threads are created as work arrives, up to ``maxthreads``, and at least ``minthreads`` are
    kept once started. Work queued before ``start()`` waits for it. ``stop()`` lets queued work
    finish, then joins every worker: after it returns the pool has no threads.
    """

    def __init__(self, minthreads: int = 0, maxthreads: int = 10, name: str | None = None) -> None:
        if minthreads < 0 or maxthreads < 1 or minthreads > maxthreads:
            raise ValueError(f"bad pool size: minthreads={minthreads}, maxthreads={maxthreads}")
        self.min = minthreads
        self.max = maxthreads
        self.name = name if name is not None else f"plait-pool-{next(_poolNumbers)}"
        self.started = False
        self.joined = False
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # workers waiting for a job
        self._backlog = 0  # jobs queued and not yet taken
        self._toStop = 0  # exit sentinels queued and not yet taken
        self._serial = itertools.count(1)

    @property
    def threads(self) -> list[threading.Thread]:
        """The live worker threads."""
        with self._lock:
            return list(self._threads)

    def start(self) -> None:
        """Start the workers: ``minthreads``, plus enough for work already queued."""
        with self._lock:
            self.started = True
            self.joined = False
            self._growLocked()

    def _growLocked(self) -> None:
        if not self.started:
            return
        workers = len(self._threads) - self._toStop
        want = max(self.min, min(self.max, workers + max(0, self._backlog - self._idle)))
        while workers < want:
            self._spawnLocked()
            workers += 1

    def _spawnLocked(self) -> None:
        thread = threading.Thread(
            target=self._worker, name=f"{self.name}-{next(self._serial)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _worker(self) -> None:
        get = self._queue.get
        lock = self._lock
        try:
            while True:
                with lock:
                    self._idle += 1
                job = get()
                with lock:
                    self._idle -= 1
                    if job is None:
                        self._toStop -= 1
                        return
                    self._backlog -= 1
                job()
                del job
        finally:
            with lock:
                self._threads.remove(threading.current_thread())

    def _submit(self, job: Callable[[], object]) -> None:
        if self.joined:
            raise RuntimeError(f"thread pool {self.name} has been stopped")
        with self._lock:
            self._backlog += 1
            self._queue.put(job)
            if self.started and self._backlog > self._idle:
                workers = len(self._threads) - self._toStop
                if workers < self.max:
                    self._spawnLocked()

    def callInThread(self, func: Callable[_P, object], *args: _P.args, **kw: _P.kwargs) -> None:
        """Run ``func(*args, **kw)`` in a worker; an exception from it is logged."""

        def job() -> None:
            try:
                func(*args, **kw)
            except BaseException:
                _log.failure("Unhandled error in thread pool {pool}", pool=self.name)

        self._submit(job)

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, Any], object] | None,
        func: Callable[_P, object],
        *args: _P.args,
        **kw: _P.kwargs,
    ) -> None:
        """Run ``func`` in a worker, then ``onResult(True, result)`` or ``(False, Failure)``.

        ``onResult`` runs in the worker thread.
        """

        def job() -> None:
            try:
                result: object = func(*args, **kw)
                ok = True
            except BaseException:
                result = Failure()
                ok = False
            if onResult is None:
                if isinstance(result, Failure):
                    _log.failure("Unhandled error in thread pool {pool}", result, pool=self.name)
                return
            try:
                onResult(ok, result)
            except BaseException:
                _log.failure("Error in thread pool result callback {cb!r}", cb=onResult)

        self._submit(job)

    def adjustPoolsize(self, minthreads: int | None = None, maxthreads: int | None = None) -> None:
        """Change the bounds; extra threads exit once idle, missing ones start now."""
        lo = self.min if minthreads is None else minthreads
        hi = self.max if maxthreads is None else maxthreads
        if lo < 0 or hi < 1 or lo > hi:
            raise ValueError(f"bad pool size: minthreads={lo}, maxthreads={hi}")
        with self._lock:
            self.min, self.max = lo, hi
            excess = len(self._threads) - self._toStop - hi
            for _ in range(max(0, excess)):
                self._toStop += 1
                self._queue.put(None)
            self._growLocked()

    def _requestStop(self) -> list[threading.Thread]:
        """Tell every worker to exit after the queued work; return the threads to join."""
        with self._lock:
            self.joined = True
            self.started = False
            threads = list(self._threads)
            for _ in range(len(threads) - self._toStop):
                self._toStop += 1
                self._queue.put(None)
        current = threading.current_thread()
        return [t for t in threads if t is not current]

    def stop(self) -> None:
        """Let queued work finish, stop every worker and wait for them (idempotent)."""
        for thread in self._requestStop():
            thread.join()

    def __repr__(self) -> str:
        return (
            f"<ThreadPool {self.name!r} threads={len(self._threads)} idle={self._idle} "
            f"queued={self._backlog}>"
        )


class _ThreadingReactor(Protocol):
    def callFromThread(
        self, callable: Callable[..., object], *args: object, **kw: object
    ) -> None: ...

    def getThreadPool(self) -> ThreadPool: ...

    def callInThread(
        self, callable: Callable[..., object], *args: object, **kw: object
    ) -> None: ...


def deferToThreadPool(
    reactor: _ThreadingReactor,
    threadpool: ThreadPool,
    f: Callable[_P, _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> Deferred[_T]:
    """Run ``f`` in ``threadpool``; the Deferred fires on the loop thread with its result."""
    d: Deferred[_T] = Deferred()

    def onResult(ok: bool, result: Any) -> None:
        if ok:
            reactor.callFromThread(d.callback, result)
        else:
            reactor.callFromThread(d.errback, result)

    threadpool.callInThreadWithCallback(onResult, f, *args, **kwargs)
    return d


def deferToThread(
    reactor: _ThreadingReactor, f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
) -> Deferred[_T]:
    """Run ``f`` in the reactor's thread pool; the Deferred fires on the loop thread."""
    return deferToThreadPool(reactor, reactor.getThreadPool(), f, *args, **kwargs)


def _runMultiple(
    tupleList: Iterable[tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]],
) -> None:
    for f, args, kwargs in tupleList:
        f(*args, **kwargs)


def callMultipleInThread(
    reactor: _ThreadingReactor,
    tupleList: Iterable[tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]],
) -> None:
    """Run each ``(f, args, kwargs)`` in order, all in one pool thread."""
    reactor.callInThread(_runMultiple, list(tupleList))


@overload
def blockingCallFromThread(
    reactor: _ThreadingReactor,
    f: Callable[_P, Deferred[_T]],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T: ...


@overload
def blockingCallFromThread(
    reactor: _ThreadingReactor,
    f: Callable[_P, Coroutine[Any, Any, _T]],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T: ...


@overload
def blockingCallFromThread(
    reactor: _ThreadingReactor, f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
) -> _T: ...


def blockingCallFromThread(
    reactor: _ThreadingReactor, f: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """From a non-loop thread: run ``f`` on the loop thread and wait for its result.

    ``f`` may return a Deferred (or a coroutine), which is waited for. An exception (or a
    failed Deferred) is raised again here, in the calling thread.
    """
    loopThread = getattr(reactor, "_loopThread", None)
    if loopThread is not None and loopThread == threading.get_ident():
        raise RuntimeError("blockingCallFromThread called from the reactor thread: deadlock")
    box: queue.SimpleQueue[object] = queue.SimpleQueue()

    def onLoop() -> None:
        d: Deferred[Any] = maybeDeferred(f, *args, **kwargs)
        d.addBoth(box.put)

    reactor.callFromThread(onLoop)
    result = box.get()
    if isinstance(result, Failure):
        result.raiseException()
    return result
