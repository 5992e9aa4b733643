"""Running coroutines and generators on Deferreds: ``ensureDeferred``, ``inlineCallbacks``."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Coroutine, Generator
from types import CoroutineType, GeneratorType
from typing import Any, NoReturn, ParamSpec, TypeVar, overload

from ._deferred import Deferred, _detachReporter, fail, succeed
from ._errors import CancelledError, NotACoroutineError
from ._failure import Failure, _failureFromCaught

_P = ParamSpec("_P")
_T = TypeVar("_T")


class _DefGen_Return(BaseException):
    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value


def returnValue(val: object) -> NoReturn:
    """Return ``val`` from an ``inlineCallbacks`` generator (a plain ``return val`` also works)."""
    raise _DefGen_Return(val)


class _CoroutineRunner:
    """Drives one coroutine or generator: sends it results, throws it failures.

    It is also the callback it adds to each Deferred it waits on (``__call__``), so waiting
    costs one list append and no bound-method or closure allocation.
    """

    __slots__ = ("context", "coro", "deferred", "entry", "waitingOn")

    def __init__(self, coro: Any) -> None:
        self.coro = coro
        self.context = contextvars.copy_context()
        self.waitingOn: Deferred[Any] | None = None
        self.entry: tuple[Any, ...] | None = None
        self.deferred: Deferred[Any] = Deferred(self.cancel)

    def step(self, value: Any, failed: bool) -> None:
        coro = self.coro
        run = self.context.run
        while True:
            try:
                if failed:
                    yielded = run(coro.throw, value.value.with_traceback(value.tb))
                else:
                    yielded = run(coro.send, value)
            except StopIteration as e:
                self.deferred.callback(e.value)
                return
            except _DefGen_Return as e:
                self.deferred.callback(e.value)
                return
            except BaseException as e:
                self.deferred.errback(_failureFromCaught(e))
                return
            if not isinstance(yielded, Deferred):
                if getattr(yielded, "_asyncio_future_blocking", None) is None:
                    # inlineCallbacks: a plain value yielded comes straight back.
                    value = yielded
                    failed = False
                    continue
                yielded._asyncio_future_blocking = False
                yielded = Deferred.fromFuture(yielded)
            d = yielded
            if d.called and not d.paused and not d._runningCallbacks and not d.callbacks:
                # Already has a result: take it (as a callback returning None would).
                value = d.result
                d.result = None
                failed = isinstance(value, Failure)
                if failed:
                    _detachReporter(d)
                continue
            self.waitingOn = d
            entry = self.entry
            if entry is None:
                entry = self.entry = (self, (), None, self, (), None)
            d.callbacks.append(entry)
            if d.called and not d.paused:
                d._runCallbacks()
            return

    def __call__(self, result: object) -> None:
        self.waitingOn = None
        self.step(result, isinstance(result, Failure))

    def cancel(self, d: Deferred[Any]) -> None:
        # Fail ``d`` with CancelledError, but first in its chain let the coroutine see the
        # cancellation and decide: its eventual outcome (a new Deferred) becomes d's result.
        d.callbacks.insert(0, (None, (), None, self._handleCancel, (), None))
        d.errback(Failure(CancelledError()))

    def _handleCancel(self, failure: Failure) -> Deferred[Any]:
        failure.trap(CancelledError)
        outcome: Deferred[Any] = Deferred(self.cancel)
        self.deferred = outcome
        waiting = self.waitingOn
        if waiting is not None:
            waiting.cancel()
        return outcome


def _runCoroutine(coro: Any) -> Deferred[Any]:
    if not isinstance(coro, CoroutineType | GeneratorType | Coroutine | Generator):
        raise NotACoroutineError(f"{coro!r} is not a coroutine")
    runner = _CoroutineRunner(coro)
    result = runner.deferred
    runner.step(None, False)
    return result


@overload
def ensureDeferred(coro: Deferred[_T]) -> Deferred[_T]: ...


@overload
def ensureDeferred(coro: Coroutine[Any, Any, _T]) -> Deferred[_T]: ...


@overload
def ensureDeferred(coro: Generator[Any, Any, _T]) -> Deferred[_T]: ...


def ensureDeferred(coro: Any) -> Deferred[Any]:
    """A Deferred for a coroutine (run at once, up to its first wait), or the Deferred itself.

    Inside the coroutine, ``await`` works on Deferreds (and on asyncio futures while an
    asyncio loop runs). Cancelling the returned Deferred cancels the Deferred being awaited,
    so :class:`CancelledError` is raised inside the coroutine, which may handle it.

    :raises NotACoroutineError: ``coro`` is neither a coroutine nor a Deferred.
    """
    if isinstance(coro, Deferred):
        return coro
    try:
        return _runCoroutine(coro)
    except NotACoroutineError:
        raise NotACoroutineError(f"{coro!r} is not a coroutine or a Deferred") from None


def inlineCallbacks(
    f: Callable[_P, Generator[Any, Any, _T]],
) -> Callable[_P, Deferred[_T]]:
    """Decorate a generator function: ``x = yield d`` waits for Deferred ``d``'s result.

    A failure is raised at the ``yield``; ``return x`` (or :func:`returnValue`) gives the
    result of the Deferred the decorated function returns. Cancelling that Deferred throws
    :class:`CancelledError` in at the current ``yield``.
    """

    @functools.wraps(f)
    def unwindGenerator(*args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
        try:
            gen = f(*args, **kwargs)
        except _DefGen_Return:
            raise TypeError(
                f"inlineCallbacks requires {f!r} to produce a generator; "
                "instead it called returnValue outside a generator"
            ) from None
        if not isinstance(gen, GeneratorType):
            raise TypeError(
                f"inlineCallbacks requires {f!r} to produce a generator; instead got {gen!r}"
            )
        runner = _CoroutineRunner(gen)
        result = runner.deferred
        runner.step(None, False)
        return result

    return unwindGenerator


@overload
def maybeDeferred(
    f: Callable[_P, Deferred[_T]], *args: _P.args, **kwargs: _P.kwargs
) -> Deferred[_T]: ...


@overload
def maybeDeferred(
    f: Callable[_P, Coroutine[Any, Any, _T]], *args: _P.args, **kwargs: _P.kwargs
) -> Deferred[_T]: ...


@overload
def maybeDeferred(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]: ...


def maybeDeferred(f: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
    """Call ``f(*args, **kwargs)`` and always get a Deferred back.

    A returned Deferred is passed through, a coroutine is run with :func:`ensureDeferred`, a
    returned :class:`Failure` or a raised exception gives a failed Deferred, and any other
    value a fired one.
    """
    try:
        result = f(*args, **kwargs)
    except BaseException as e:
        return fail(_failureFromCaught(e))
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Failure):
        return fail(result)
    if isinstance(result, CoroutineType):
        return _runCoroutine(result)
    return succeed(result)
