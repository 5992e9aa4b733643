"""Running coroutines and generators on Deferreds: ``ensureDeferred``, ``inlineCallbacks``."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Coroutine, Generator
from types import CoroutineType, GeneratorType
from typing import Any, NoReturn, ParamSpec, TypeVar, overload

from ._awaiting import _AwaitingDeferred
from ._deferred import _PASS, _SPECIAL, Deferred, _DebugInfo, _detachReporter, _Fire, fail, succeed
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


_SEND = 0
_THROW = 1
_YIELDED = 2


def _cancelCoroutine(d: Deferred[Any], runner: _CoroutineDeferred | None = None) -> None:
    """Canceller: fail ``d`` with CancelledError, but let the coroutine decide the outcome.

    The first errback added here cancels what the coroutine awaits (so CancelledError is
    raised inside it) and returns a new Deferred that the coroutine's eventual result fires:
    ``d`` waits on that, so a coroutine that handles the cancellation still gives ``d`` its
    result.
    """
    d.callbacks.insert(0, (_PASS, (_handleCancel, (runner or d,), None)))
    d.errback(Failure(CancelledError()))


def _handleCancel(failure: Failure, runner: _CoroutineDeferred) -> Deferred[Any]:
    failure.trap(CancelledError)
    outcome: Deferred[Any] = Deferred(functools.partial(_cancelCoroutine, runner=runner))
    runner._outcome = outcome
    waiting = getattr(runner, "_waitingOn", None)
    if waiting is not None:
        waiting.cancel()
    return outcome


class _CoroutineDeferred(Deferred[Any]):
    """The Deferred of a running coroutine or generator, and the driver of that coroutine.

    Being the result Deferred itself (rather than a separate runner holding one) saves an
    object, a bound-method canceller and a reference cycle per coroutine.
    """

    __slots__ = ("_context", "_coro", "_outcome", "_waitingOn")

    _context: contextvars.Context
    _coro: Any
    # Set only once cancelled: the Deferred the coroutine's eventual outcome goes to.
    _outcome: Deferred[Any]
    # Set while the coroutine waits on a Deferred (read when cancelling).
    _waitingOn: Deferred[Any] | None
    _canceller = staticmethod(_cancelCoroutine)  # shared by all: no per-coroutine store

    def _target(self) -> Deferred[Any]:
        # Our own Deferred, unless a cancellation already fired it (then its replacement).
        return getattr(self, "_outcome", self) if self.called else self

    def _step(self, value: Any, mode: int, fromLoop: bool = False) -> _Fire | None:
        """Send ``value`` (mode _SEND), throw Failure ``value`` (_THROW), or handle the
        already-yielded ``value`` (_YIELDED); repeat until the coroutine waits or ends.

        ``fromLoop``: called by a Deferred's callback loop, which then fires our Deferred
        itself when we return a _Fire (so await chains of any depth use constant stack).
        """
        coro = self._coro
        run = self._context.run
        while True:
            if mode == _YIELDED:
                yielded = value
            else:
                try:
                    if mode == _THROW:
                        yielded = run(coro.throw, value.value.with_traceback(value.tb))
                    else:
                        yielded = run(coro.send, value)
                except StopIteration as e:
                    return self._finish(e.value, fromLoop)
                except _DefGen_Return as e:
                    return self._finish(e.value, fromLoop)
                except BaseException as e:
                    return self._finish(_failureFromCaught(e), fromLoop)
            if yielded.__class__ is _AwaitingDeferred:
                yielded = yielded.deferred  # `await d` on an unfired Deferred
            elif not isinstance(yielded, Deferred):
                if getattr(yielded, "_asyncio_future_blocking", None) is None:
                    # inlineCallbacks: a plain value yielded comes straight back.
                    value = yielded
                    mode = _SEND
                    continue
                else:
                    yielded._asyncio_future_blocking = False
                    yielded = Deferred.fromFuture(yielded)
            d = yielded
            if d.called and not d.paused and not d._runningCallbacks and not d.callbacks:
                # Already has a result: take it (as a callback returning None would).
                value = d.result
                d.result = None
                if isinstance(value, Failure):
                    _detachReporter(d)
                    mode = _THROW
                else:
                    mode = _SEND
                continue
            self._waitingOn = d
            side = (_resume, (self,), None)
            d.callbacks.append((side, side))
            if d.called and not d.paused:
                d._runCallbacks()
            return None

    def _finish(self, value: Any, fromLoop: bool) -> _Fire | None:
        target = self._target()
        if fromLoop and not target.called and not isinstance(value, Deferred):
            return _Fire(target, value)
        target.callback(value)  # a Failure value runs the errbacks
        return None


def _resume(result: object, runner: _CoroutineDeferred) -> _Fire | None:
    """The callback on an awaited Deferred: continue the coroutine; the result is consumed."""
    runner._waitingOn = None
    return runner._step(result, _THROW if isinstance(result, Failure) else _SEND, True)


_COROUTINE_TYPES = (CoroutineType, GeneratorType, Coroutine, Generator)
_newDeferred = object.__new__
_copyContext = contextvars.copy_context


def _start(coro: Any) -> _CoroutineDeferred:
    d: _CoroutineDeferred = _newDeferred(_CoroutineDeferred)
    d.callbacks = []
    d.called = False
    d.paused = 0
    d._runningCallbacks = False
    d._coro = coro
    context = d._context = _copyContext()
    if Deferred.debug:
        d._debugInfo = _DebugInfo()
    # The first step, inlined: nobody can have added callbacks yet, so a coroutine that
    # finishes at once just sets the result.
    try:
        yielded = context.run(coro.send, None)
    except StopIteration as e:
        value = e.value
    except _DefGen_Return as e:
        value = e.value
    except BaseException as e:
        d.errback(_failureFromCaught(e))
        return d
    else:
        d._step(yielded, _YIELDED)
        return d
    if isinstance(value, _SPECIAL):
        d.callback(value)  # a Failure goes down the errbacks; a Deferred is refused
    else:
        d.called = True
        d.result = value
    return d


def _runCoroutine(coro: Any) -> Deferred[Any]:
    cls = coro.__class__
    known = cls is CoroutineType or cls is GeneratorType
    if not known and not isinstance(coro, _COROUTINE_TYPES):
        raise NotACoroutineError(f"{coro!r} is not a coroutine")
    return _start(coro)


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
    if coro.__class__ is CoroutineType:
        return _start(coro)
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
        return _start(gen)

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
