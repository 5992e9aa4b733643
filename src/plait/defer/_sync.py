"""Coordination on Deferreds: ``DeferredLock``, ``DeferredSemaphore``, ``DeferredQueue``."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar, overload

from ._coroutines import maybeDeferred
from ._deferred import Deferred, succeed
from ._errors import QueueOverflow, QueueUnderflow

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Self = TypeVar("_Self", bound="_ConcurrencyPrimitive")


class _ConcurrencyPrimitive:
    """What a lock and a semaphore share: waiting acquirers, ``run``, ``async with``."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting: deque[Deferred[Any]] = deque()

    def acquire(self: _Self) -> Deferred[_Self]:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def _cancelAcquire(self, d: Deferred[Any]) -> None:
        # Cancelled while waiting: give up the place in the queue (fails with CancelledError).
        self.waiting.remove(d)

    def _releaseAndReturn(self, result: _T) -> _T:
        self.release()
        return result

    @overload
    def run(
        self, f: Callable[_P, Deferred[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Deferred[_T]: ...

    @overload
    def run(
        self, f: Callable[_P, Coroutine[Any, Any, _T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Deferred[_T]: ...

    @overload
    def run(self, f: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...

    def run(self, f: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Acquire, call ``f(*args, **kwargs)``, release when its result (or failure) is in."""

        def execute(_: object) -> Deferred[Any]:
            return maybeDeferred(f, *args, **kwargs).addBoth(self._releaseAndReturn)

        return self.acquire().addCallback(execute)

    def __aenter__(self: _Self) -> Deferred[_Self]:
        return self.acquire()

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> Deferred[bool]:
        self.release()
        return succeed(False)


class DeferredLock(_ConcurrencyPrimitive):
    """A lock for cooperating callbacks: ``acquire()`` gives a Deferred that fires when held.

    Waiters get the lock in FIFO order. Cancelling a waiting ``acquire()`` Deferred removes it
    from the queue. ``async with lock:`` works in coroutines.
    """

    __slots__ = ("locked",)

    def __init__(self) -> None:
        super().__init__()
        self.locked = False

    def acquire(self) -> Deferred[DeferredLock]:
        """A Deferred that fires with this lock once it is held by the caller."""
        d: Deferred[DeferredLock] = Deferred(self._cancelAcquire)
        if self.locked:
            self.waiting.append(d)
        else:
            self.locked = True
            d.callback(self)
        return d

    def release(self) -> None:
        """Release the lock, handing it to the next waiter if there is one."""
        if not self.locked:
            raise AssertionError("Tried to release an unlocked lock")
        self.locked = False
        if self.waiting:
            self.locked = True
            self.waiting.popleft().callback(self)


class DeferredSemaphore(_ConcurrencyPrimitive):
    """A semaphore for cooperating callbacks: at most ``limit`` holders at once.

    ``tokens`` is how many more may acquire without waiting.
    """

    __slots__ = ("limit", "tokens")

    def __init__(self, tokens: int) -> None:
        if tokens < 1:
            raise ValueError("DeferredSemaphore requires tokens >= 1")
        super().__init__()
        self.tokens = tokens
        self.limit = tokens

    def acquire(self) -> Deferred[DeferredSemaphore]:
        """A Deferred that fires with this semaphore once a token is held by the caller."""
        d: Deferred[DeferredSemaphore] = Deferred(self._cancelAcquire)
        if self.tokens:
            self.tokens -= 1
            d.callback(self)
        else:
            self.waiting.append(d)
        return d

    def release(self) -> None:
        """Give a token back, handing it to the next waiter if there is one."""
        if self.tokens >= self.limit:
            raise AssertionError("Someone released me too many times: too many tokens!")
        self.tokens += 1
        if self.waiting:
            self.tokens -= 1
            self.waiting.popleft().callback(self)


class DeferredQueue(Generic[_T]):
    """A queue whose ``get()`` returns a Deferred that fires when an item is there.

    ``size`` bounds the items held (``put`` beyond it raises :class:`QueueOverflow`);
    ``backlog`` bounds the waiting getters (``get`` beyond it raises
    :class:`QueueUnderflow`). ``None`` means unbounded. Cancelling a waiting ``get()``
    Deferred removes it from the queue.
    """

    __slots__ = ("backlog", "pending", "size", "waiting")

    def __init__(self, size: int | None = None, backlog: int | None = None) -> None:
        self.waiting: deque[Deferred[_T]] = deque()
        self.pending: deque[_T] = deque()
        self.size = size
        self.backlog = backlog

    def _cancelGet(self, d: Deferred[_T]) -> None:
        self.waiting.remove(d)

    def put(self, obj: _T) -> None:
        """Hand ``obj`` to the oldest waiting getter, or hold it.

        :raises QueueOverflow: the queue already holds ``size`` items.
        """
        if self.waiting:
            self.waiting.popleft().callback(obj)
        elif self.size is None or len(self.pending) < self.size:
            self.pending.append(obj)
        else:
            raise QueueOverflow()

    def get(self) -> Deferred[_T]:
        """A Deferred for the next item (already fired if one is held).

        :raises QueueUnderflow: ``backlog`` getters are already waiting.
        """
        if self.pending:
            return succeed(self.pending.popleft())
        if self.backlog is None or len(self.waiting) < self.backlog:
            d: Deferred[_T] = Deferred(self._cancelGet)
            self.waiting.append(d)
            return d
        raise QueueUnderflow()
