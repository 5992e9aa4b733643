"""``Deferred``: a result that is not there yet, and the chain of callbacks waiting for it."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Coroutine, Generator
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
    overload,
)

from plait.log import Logger

from ._awaiting import _PENDING, _AwaitingDeferred
from ._errors import AlreadyCalledError, CancelledError, TimeoutError
from ._failure import Failure, _failureFromCaught

if TYPE_CHECKING:
    import asyncio

_P = ParamSpec("_P")
_T = TypeVar("_T")
_R = TypeVar("_R")

_log = Logger(namespace="plait.defer")

# In the kwargs slot of a callbacks-list entry: the entry hands the result on to the Deferred
# in its callable slot, which is waiting on this one (see _runCallbacks).
_CONTINUE: Any = object()

# In the kwargs slot: the entry fires the Deferred in its callable slot with the result, as
# chainDeferred asks, without recursing into that Deferred's own callback loop.
_CHAIN: Any = object()

# The side of an entry that does nothing (the result passes through unchanged).
_PASS: tuple[Any, Any, Any] = (None, (), None)

_debugging = False


def _identity(result: object) -> object:
    return result


_IDENTITY_SIDE = (_identity, (), None)
_IDENTITY_ENTRY = (_IDENTITY_SIDE, _IDENTITY_SIDE)


def setDebugging(on: bool) -> None:
    """Record where each new Deferred is created and first fired (slow; for debugging).

    The stacks are added to :class:`AlreadyCalledError` messages and to unhandled-error logs.
    """
    global _debugging
    _debugging = bool(on)
    Deferred.debug = _debugging


def getDebugging() -> bool:
    """Whether :func:`setDebugging` is on."""
    return _debugging


class _IDelayedCall(Protocol):
    def cancel(self) -> None: ...

    def active(self) -> bool: ...


class _IClock(Protocol):
    """What :meth:`Deferred.addTimeout` needs from a clock (any ``IReactorTime`` has it)."""

    def callLater(
        self, delay: float, f: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> _IDelayedCall: ...


class _DebugInfo:
    __slots__ = ("creator", "invoker")

    def __init__(self) -> None:
        self.creator: list[str] = traceback.format_stack()[:-2]
        self.invoker: list[str] | None = None

    def text(self) -> str:
        parts = ["Deferred created at:\n", *self.creator]
        if self.invoker is not None:
            parts += ["Deferred first fired at:\n", *self.invoker]
        return "".join(parts)


class _UnraisableReport:
    """What ``sys.unraisablehook`` expects to be called with."""

    __slots__ = ("err_msg", "exc_traceback", "exc_type", "exc_value", "object")

    def __init__(self, failure: Failure, obj: object) -> None:
        self.exc_type = failure.type
        self.exc_value = failure.value
        self.exc_traceback = failure.tb
        self.err_msg = "Unhandled error in Deferred"
        self.object = obj


class _UnhandledFailure:
    """Attached to a Deferred only while its result is a Failure nobody has handled.

    Deferred itself has no ``__del__`` (that would slow every Deferred down); this small
    object dies with the Deferred and reports the failure if it is still set by then.
    """

    __slots__ = ("debugInfo", "failure", "ident")

    def __init__(self, failure: Failure, deferred: Deferred[Any]) -> None:
        self.failure: Failure | None = failure
        self.ident = id(deferred)
        self.debugInfo: _DebugInfo | None = getattr(deferred, "_debugInfo", None)

    def __repr__(self) -> str:
        return f"<Deferred at 0x{self.ident:x}>"

    def __del__(self) -> None:
        failure = self.failure
        if failure is None:
            return
        self.failure = None
        try:
            if self.debugInfo is not None:
                _log.failure(
                    "Unhandled error in Deferred:\n{debugInfo}",
                    failure,
                    debugInfo=self.debugInfo.text(),
                )
            else:
                _log.failure("Unhandled error in Deferred:", failure)
            sys.unraisablehook(_UnraisableReport(failure, self))  # type: ignore[arg-type]
        except Exception:
            pass  # a finaliser must never raise; the hook itself is best effort


def _attachReporter(d: Deferred[Any], failure: Failure) -> None:
    reporter = getattr(d, "_reporter", None)
    if reporter is None:
        d._reporter = _UnhandledFailure(failure, d)
    elif reporter.failure is not failure:
        reporter.failure = failure


def _detachReporter(d: Deferred[Any]) -> None:
    reporter = getattr(d, "_reporter", None)
    if reporter is not None:
        reporter.failure = None
        d._reporter = None


class _TimeoutGuard:
    """The callback ``addTimeout`` adds: cancels the timer, turns a timeout into its error."""

    __slots__ = ("call", "onTimeoutCancel", "timedOut", "timeout")

    def __init__(self, timeout: float, onTimeoutCancel: Callable[[Any, float], Any] | None) -> None:
        self.timeout = timeout
        self.onTimeoutCancel = onTimeoutCancel
        self.timedOut = False
        self.call: _IDelayedCall | None = None

    def __call__(self, result: object) -> object:
        call = self.call
        if call is not None and call.active():
            call.cancel()
        if not self.timedOut:
            return result
        if self.onTimeoutCancel is not None:
            return self.onTimeoutCancel(result, self.timeout)
        if isinstance(result, Failure) and result.check(CancelledError):
            raise TimeoutError(f"Deferred timed out after {self.timeout} seconds")
        return result


class Deferred(Generic[_T]):
    """A promise of a result of type ``_T`` (or a :class:`Failure`), delivered to callbacks.

    Callbacks and errbacks form one chain: each gets the previous one's result, an exception
    (or a returned Failure) switches to the errback side, and an errback that returns a value
    switches back. A callback that returns a Deferred pauses the chain until that Deferred has
    a result, which then continues down this chain. Callbacks added after the Deferred fired
    run at once. ``await d`` works inside coroutines run by :func:`ensureDeferred`.

    ``canceller(d)`` is called by :meth:`cancel` to abort the operation; if it does not fire
    ``d``, ``d`` fails with :class:`CancelledError`.
    """

    __slots__ = (
        "__weakref__",
        "_canceller",
        "_chainedTo",
        "_debugInfo",
        "_reporter",
        "_runningCallbacks",
        "_suppressAlreadyCalled",
        "callbacks",
        "called",
        "paused",
        "result",
    )

    debug = False

    called: bool
    paused: int
    result: Any
    _canceller: Callable[[Deferred[Any]], None]
    _chainedTo: Deferred[Any] | None
    _debugInfo: _DebugInfo
    _reporter: _UnhandledFailure | None
    _runningCallbacks: bool
    _suppressAlreadyCalled: bool
    # Entries: ((callback, args, kwargs|None), (errback, args, kwargs|None)); None = pass.
    callbacks: list[tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]]

    def __init__(self, canceller: Callable[[Deferred[Any]], None] | None = None) -> None:
        self.callbacks = []
        self.called = False
        self.paused = 0
        self._runningCallbacks = False
        if canceller is not None:
            self._canceller = canceller
        if _debugging:
            self._debugInfo = _DebugInfo()

    # -- firing ----------------------------------------------------------------------------

    def callback(self, result: _T | Failure) -> None:
        """Fire with ``result`` (a Failure here runs the errbacks). Only once.

        :raises AlreadyCalledError: if it was already fired.
        """
        assert not isinstance(result, Deferred), "callback() cannot take a Deferred"
        if self.called:
            self._alreadyCalled()
            return
        self.called = True
        self.result = result
        if _debugging:
            self._recordInvoker()
        if self.callbacks:
            self._runCallbacks()
        elif isinstance(result, Failure):
            _attachReporter(self, result)

    def errback(self, fail: Failure | BaseException | None = None) -> None:
        """Fire with a failure: ``fail``, or the exception being handled when ``None``.

        :raises AlreadyCalledError: if it was already fired.
        :raises NoCurrentExceptionError: ``fail`` is ``None`` outside an ``except`` block.
        """
        if not isinstance(fail, Failure):
            fail = Failure(fail)
        if self.called:
            self._alreadyCalled()
            return
        self.called = True
        self.result = fail
        if _debugging:
            self._recordInvoker()
        if self.callbacks:
            self._runCallbacks()
        else:
            _attachReporter(self, fail)

    def _alreadyCalled(self) -> None:
        if getattr(self, "_suppressAlreadyCalled", False):
            # Cancelled without a canceller: the operation's own late result is dropped once.
            self._suppressAlreadyCalled = False
            return
        info = getattr(self, "_debugInfo", None)
        message = "Deferred was already fired"
        if info is not None:
            message += "\n" + info.text() + "Fired again at:\n" + "".join(traceback.format_stack())
        raise AlreadyCalledError(message)

    def _recordInvoker(self) -> None:
        info = getattr(self, "_debugInfo", None)
        if info is not None and info.invoker is None:
            info.invoker = traceback.format_stack()[:-2]

    # -- adding callbacks ------------------------------------------------------------------

    @overload
    def addCallback(
        self,
        callback: Callable[Concatenate[_T, _P], Deferred[_R]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_R]: ...

    @overload
    def addCallback(
        self,
        callback: Callable[Concatenate[_T, _P], Failure | _R],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_R]: ...

    def addCallback(self, callback: Any, /, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Add ``callback(result, *args, **kwargs)`` to the success side of the chain."""
        if not self.called:
            self.callbacks.append(((callback, args, kwargs or None), _PASS))
            return self
        if self.paused or self._runningCallbacks or self.callbacks:
            self.callbacks.append(((callback, args, kwargs or None), _PASS))
            self._runCallbacks()
            return self
        # Fired and idle: run it now, without queueing an entry (the common "already
        # have the result" case). Failure results skip a callback unchanged.
        result = self.result
        if isinstance(result, Failure):
            return self
        self._runningCallbacks = True
        try:
            if kwargs:
                result = callback(result, *args, **kwargs)
            elif args:
                result = callback(result, *args)
            else:
                result = callback(result)
        except BaseException as e:
            result = _failureFromCaught(e)
        self._runningCallbacks = False
        self._settle(result)
        return self

    def _callNow(self, fn: Any, args: Any, kwargs: Any) -> None:
        # addErrback/addBoth on a fired, idle Deferred whose result goes to ``fn``.
        self._runningCallbacks = True
        try:
            result = fn(self.result, *args, **kwargs)
        except BaseException as e:
            result = _failureFromCaught(e)
        self._runningCallbacks = False
        if isinstance(self.result, Failure):
            _detachReporter(self)
        self._settle(result)

    def _settle(self, result: Any) -> None:
        """Store what a callback run outside the loop returned; let the loop do the rest."""
        self.result = result
        if isinstance(result, Deferred):
            # Chaining is the loop's job: an identity entry makes it look at this result.
            self.callbacks.insert(0, _IDENTITY_ENTRY)
            self._runCallbacks()
        elif self.callbacks or isinstance(result, Failure):
            self._runCallbacks()

    @overload
    def addErrback(
        self,
        errback: Callable[Concatenate[Failure, _P], Deferred[_R]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_T | _R]: ...

    @overload
    def addErrback(
        self,
        errback: Callable[Concatenate[Failure, _P], Failure | _R],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_T | _R]: ...

    def addErrback(self, errback: Any, /, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Add ``errback(failure, *args, **kwargs)`` to the failure side of the chain.

        Returning a value (not a Failure, not raising) recovers onto the success side.
        """
        if self.called and not (self.paused or self._runningCallbacks or self.callbacks):
            if isinstance(self.result, Failure):
                self._callNow(errback, args, kwargs)
            return self
        self.callbacks.append((_PASS, (errback, args, kwargs or None)))
        if self.called:
            self._runCallbacks()
        return self

    @overload
    def addBoth(
        self,
        callback: Callable[Concatenate[_T | Failure, _P], Deferred[_R]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_R]: ...

    @overload
    def addBoth(
        self,
        callback: Callable[Concatenate[_T | Failure, _P], Failure | _R],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> Deferred[_R]: ...

    def addBoth(self, callback: Any, /, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Add ``callback(result_or_failure, *args, **kwargs)`` to both sides of the chain."""
        if self.called and not (self.paused or self._runningCallbacks or self.callbacks):
            self._callNow(callback, args, kwargs)
            return self
        side = (callback, args, kwargs or None)
        self.callbacks.append((side, side))
        if self.called:
            self._runCallbacks()
        return self

    def addCallbacks(
        self,
        callback: Callable[..., Deferred[_R] | Failure | _R],
        errback: Callable[..., Deferred[_R] | Failure | _R] | None = None,
        callbackArgs: tuple[Any, ...] = (),
        callbackKeywords: dict[str, Any] | None = None,
        errbackArgs: tuple[Any, ...] = (),
        errbackKeywords: dict[str, Any] | None = None,
    ) -> Deferred[_R]:
        """Add a callback and an errback at the same point of the chain.

        Exactly one of them runs (an exception in ``callback`` goes to the *next* errback, not
        to this ``errback``). A missing errback passes the failure on.
        """
        self.callbacks.append(
            (
                (callback, callbackArgs, callbackKeywords or None),
                (errback, errbackArgs, errbackKeywords or None),
            )
        )
        if self.called:
            self._runCallbacks()
        return cast("Deferred[_R]", self)

    def chainDeferred(self, d: Deferred[_T]) -> Deferred[None]:
        """Fire ``d`` with this Deferred's result (success or failure); this one gets ``None``."""
        d._chainedTo = self
        side = (d, (), _CHAIN)
        self.callbacks.append((side, side))
        if self.called:
            self._runCallbacks()
        return cast("Deferred[None]", self)

    def addTimeout(
        self,
        timeout: float,
        clock: _IClock,
        onTimeoutCancel: Callable[[Any, float], Any] | None = None,
    ) -> Deferred[_T]:
        """Cancel this Deferred if it has no result within ``timeout`` seconds of ``clock``.

        On timeout it fails with :class:`TimeoutError` (or gets ``onTimeoutCancel(result,
        timeout)`` when given). When the result comes first, the timer is cancelled.
        """
        guard = _TimeoutGuard(timeout, onTimeoutCancel)
        guard.call = clock.callLater(timeout, self._timedOut, guard)
        side = (guard, (), None)
        self.callbacks.append((side, side))
        if self.called:
            self._runCallbacks()
        return self

    def _timedOut(self, guard: _TimeoutGuard) -> None:
        guard.timedOut = True
        self.cancel()

    # -- flow control ----------------------------------------------------------------------

    def pause(self) -> None:
        """Stop running callbacks until a matching :meth:`unpause`."""
        self.paused += 1

    def unpause(self) -> None:
        """Undo one :meth:`pause`; the last one resumes the chain if it has a result."""
        self.paused -= 1
        if self.paused:
            return
        if self.called:
            self._runCallbacks()

    def cancel(self) -> None:
        """Abort the operation this Deferred stands for.

        Not fired yet: run the canceller (if any), then fail with :class:`CancelledError`
        unless the canceller fired it. Waiting on another Deferred (a callback returned one):
        cancel that one. Otherwise: nothing.
        """
        if not self.called:
            canceller = getattr(self, "_canceller", None)
            if canceller is not None:
                canceller(self)
            else:
                self._suppressAlreadyCalled = True
            if not self.called:
                self.errback(Failure(CancelledError()))
        elif isinstance(self.result, Deferred):
            self.result.cancel()

    # -- the engine ------------------------------------------------------------------------

    def _runCallbacks(self) -> None:
        """Run pending callbacks; iterative, so chains of any depth use constant stack.

        When a callback returns an unfired Deferred, this one pauses and a _CONTINUE entry on
        that Deferred hands the result back later. When a Deferred reaches a _CONTINUE entry
        here, the waiting Deferred is pushed on ``stack`` and run next, then this one resumes.
        """
        if self._runningCallbacks:
            return  # a callback of ours added more; the loop below picks them up
        d: Deferred[Any] = self
        stack: list[Deferred[Any]] | None = None
        while True:
            nxt: Deferred[Any] | None = None
            if not d.paused:
                result = d.result
                failed = isinstance(result, Failure)
                cbs = d.callbacks
                if cbs:
                    if failed:
                        _detachReporter(d)
                    d._runningCallbacks = True
                    i = 0
                    for entry in cbs:
                        i += 1
                        fn, args, kw = entry[failed]
                        if fn is None:
                            continue
                        try:
                            # A plain fn(result) avoids building an argument tuple.
                            if kw is not None:
                                if kw is _CONTINUE:
                                    # fn is the Deferred that waits on this one: hand it our
                                    # result and run it next (see the end of the loop).
                                    fn.result = result
                                    fn.paused -= 1
                                    d.result = None
                                    failed = False
                                    nxt = fn
                                    del cbs[:i]
                                    break
                                if kw is _CHAIN:
                                    # As fn.callback(result), which returns None, but fn's
                                    # callbacks run next in this loop instead of nested.
                                    if fn.called:
                                        fn._alreadyCalled()  # raises unless suppressed
                                        d.result = result = None
                                        failed = False
                                        continue
                                    fn.called = True
                                    fn.result = result
                                    if _debugging:
                                        fn._recordInvoker()
                                    d.result = None
                                    failed = False
                                    nxt = fn
                                    del cbs[:i]
                                    break
                                result = fn(result, *args, **kw)
                            elif args:
                                result = fn(result, *args)
                            else:
                                result = fn(result)
                        except BaseException as e:
                            d.result = result = _failureFromCaught(e)
                            failed = True
                            continue
                        if isinstance(result, _SPECIAL):
                            if isinstance(result, Deferred):
                                if result is d:
                                    result = Failure(
                                        TypeError(f"callback {fn!r} returned its own Deferred")
                                    )
                                elif result.called and not result.paused:
                                    inner = result.result
                                    result.result = None
                                    if isinstance(inner, Failure):
                                        _detachReporter(result)
                                    result = inner
                                else:
                                    # Not ready: wait on it, it hands us its result later.
                                    d.result = result
                                    d.paused += 1
                                    d._chainedTo = result
                                    cont = (d, (), _CONTINUE)
                                    result.callbacks.append((cont, cont))
                                    failed = False
                                    del cbs[:i]
                                    break
                            elif result.__class__ is _Fire:
                                target = result.target
                                target.called = True
                                target.result = result.value
                                if _debugging:
                                    target._recordInvoker()
                                d.result = None
                                failed = False
                                nxt = target
                                del cbs[:i]
                                break
                            failed = isinstance(result, Failure)
                        else:
                            failed = False
                        d.result = result
                    else:
                        cbs.clear()
                    d._runningCallbacks = False
                if failed:
                    _attachReporter(d, result)
            if nxt is not None:
                if stack is None:
                    stack = [d]
                else:
                    stack.append(d)
                d = nxt
            elif stack:
                d = stack.pop()
            else:
                return

    # -- awaiting --------------------------------------------------------------------------

    def __await__(self) -> Generator[Any, Any, _T]:
        # A generator: when the result is already here it returns at once, which CPython does
        # without creating a StopIteration (faster than an iterator raising one).
        if not self.called or self.paused:
            # Wait: plait's driver sends the result in (or throws the failure); an asyncio
            # Task resumes us once the awaiter has the result (see _awaiting).
            waiter = _newAwaiting(_AwaitingDeferred)
            waiter.deferred = self
            sent = yield waiter
            if sent is None:
                # asyncio sends None and left the result on the waiter (a failure was raised
                # by waiter.result()); plait's driver sent None itself, or the result.
                result = waiter._result
                if result is not _PENDING:
                    return cast(_T, result)
            return cast(_T, sent)
        result = self.result
        if isinstance(result, Failure):
            _detachReporter(self)
            raise result.value.with_traceback(result.tb)
        return cast(_T, result)

    # -- coroutines and asyncio ------------------------------------------------------------

    @staticmethod
    def fromCoroutine(
        coro: Coroutine[Any, Any, _R] | Generator[Any, Any, _R],
    ) -> Deferred[_R]:
        """Run coroutine ``coro`` to completion, awaiting Deferreds; its result fires this.

        Cancelling the returned Deferred cancels the Deferred ``coro`` awaits, which throws
        :class:`CancelledError` into the coroutine.
        """
        from ._coroutines import _runCoroutine

        return _runCoroutine(coro)

    def asFuture(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[_T]:
        """An asyncio Future on ``loop`` with this Deferred's result (which becomes ``None``).

        Cancelling the Future cancels this Deferred; a :class:`CancelledError` here cancels the
        Future.
        """
        future = loop.create_future()

        def done(result: object) -> None:
            if future.cancelled():
                return
            if isinstance(result, Failure):
                if result.check(CancelledError):
                    future.cancel()
                else:
                    future.set_exception(result.value)
            else:
                future.set_result(cast(_T, result))

        def futureDone(f: asyncio.Future[_T]) -> None:
            if f.cancelled():
                self.cancel()

        self.addBoth(done)
        future.add_done_callback(futureDone)
        return future

    @classmethod
    def fromFuture(cls, future: asyncio.Future[_R]) -> Deferred[_R]:
        """A Deferred with an asyncio Future's result (the Future must be on a running loop).

        Cancelling the Deferred cancels the Future and fails with plait's
        :class:`CancelledError`; a Future cancelled elsewhere fails the same way.
        """

        def cancel(d: Deferred[_R]) -> None:
            future.cancel()

        d: Deferred[_R] = Deferred(cancel)

        def done(f: asyncio.Future[_R]) -> None:
            if d.called:
                return  # cancelled from our side already
            if f.cancelled():
                d.errback(Failure(CancelledError()))
                return
            exc = f.exception()
            if exc is not None:
                d.errback(Failure(exc))
            else:
                d.callback(f.result())

        future.add_done_callback(done)
        return d

    def __repr__(self) -> str:
        name = type(self).__name__.lstrip("_")  # _CoroutineDeferred shows as CoroutineDeferred
        if self.paused and isinstance(getattr(self, "result", None), Deferred):
            return f"<{name} at 0x{id(self):x} waiting on Deferred at 0x{id(self.result):x}>"
        if self.called:
            return f"<{name} at 0x{id(self):x} current result: {self.result!r}>"
        return f"<{name} at 0x{id(self):x}>"

    __str__ = __repr__


class _Fire:
    """Returned by a callback to have the loop fire ``target`` with ``value`` next.

    A finishing coroutine returns one from its resume callback: its own Deferred is then
    fired by the loop already running instead of a nested one.
    """

    __slots__ = ("target", "value")

    def __init__(self, target: Deferred[Any], value: object) -> None:
        self.target = target
        self.value = value


_SPECIAL = (Deferred, Failure, _Fire)
_newAwaiting = object.__new__
_newDeferred = object.__new__


def succeed(result: _T) -> Deferred[_T]:
    """A Deferred that already has ``result``."""
    d: Deferred[_T] = _newDeferred(Deferred)
    d.callbacks = []
    d.called = True
    d.paused = 0
    d._runningCallbacks = False
    d.result = result
    if _debugging:
        d._debugInfo = _DebugInfo()
    if isinstance(result, Failure):
        _attachReporter(d, result)
    return d


def fail(result: Failure | BaseException | None = None) -> Deferred[Any]:
    """A Deferred that already failed with ``result`` (default: the exception being handled)."""
    d: Deferred[Any] = Deferred()
    d.errback(result)
    return d
