"""What ``await d`` yields while Deferred ``d`` has no result yet.

A Deferred cannot itself pass for an asyncio future (its ``result`` is an attribute, not a
method), so ``Deferred.__await__`` yields an ``_AwaitingDeferred``:

- plait's coroutine driver (``ensureDeferred``) recognises it by class and waits on its
  ``deferred`` directly, as it always has: the result is sent in, a failure thrown in, and
  plait's :class:`CancelledError` stays plait's;
- an asyncio ``Task`` sees a future (``_asyncio_future_blocking``, ``get_loop``,
  ``add_done_callback``, ``result``, ``cancel``, ``done``): ``await d`` works in any
  coroutine asyncio runs (``asyncio.run(main())``), with cancellation mapped both ways.
  Cancelling the Task cancels the Deferred (its canceller runs). A Deferred that fails with
  plait's :class:`CancelledError` raises ``asyncio.CancelledError`` in the Task, exactly as a
  cancelled asyncio future would, so ``asyncio.timeout``, ``TaskGroup`` and ``Task.cancelled()``
  behave as asyncio users expect. Any other failure raises its own exception.

The Deferred's result is consumed by the awaiter (it becomes ``None``), as with plait's driver.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import get_ident
from typing import TYPE_CHECKING, Any

from ._errors import CancelledError
from ._failure import Failure

if TYPE_CHECKING:
    import asyncio
    import contextvars

    from ._deferred import Deferred

__all__ = ["_PENDING", "_AwaitingDeferred"]

_Callback = Callable[["_AwaitingDeferred"], object]

# The waiter's result before the Deferred fires for it.
_PENDING: Any = object()

_getRunningLoop: Callable[[], asyncio.AbstractEventLoop] | None = None


def _runningLoop() -> asyncio.AbstractEventLoop:
    """``asyncio.get_running_loop()``; asyncio is imported on first use only."""
    global _getRunningLoop
    if _getRunningLoop is None:
        from asyncio import get_running_loop

        _getRunningLoop = get_running_loop
    return _getRunningLoop()


class _AwaitingDeferred:
    """A future-like view of one ``await`` on an unfired Deferred (see the module docstring).

    Only ``deferred`` is set when made (``Deferred.__await__`` skips ``__init__``); the rest
    are class defaults until an asyncio Task waits on it. (No ``__slots__``: an instance with
    a dict is cheaper to make here, and reading an unset slot would raise.)
    """

    deferred: Deferred[Any]
    # asyncio's Task reads this (True: a future waited on) and sets it to False.
    _asyncio_future_blocking = True
    _loop: asyncio.AbstractEventLoop | None = None
    _thread = 0  # the loop's thread
    _callbacks: list[tuple[_Callback, contextvars.Context | None]] | None = None
    _result: object = _PENDING
    _cancelMessage: Any = None

    def __init__(self, deferred: Deferred[Any]) -> None:
        self.deferred = deferred

    def __repr__(self) -> str:
        return f"<awaiting {self.deferred!r}>"

    # -- the asyncio future protocol -------------------------------------------------------

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The running asyncio loop (the one whose Task awaits)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = _runningLoop()
            self._thread = get_ident()
        return loop

    def done(self) -> bool:
        """Whether the Deferred has fired (for this awaiter)."""
        return self._result is not _PENDING

    def cancelled(self) -> bool:
        """Whether the Deferred failed with plait's ``CancelledError``."""
        result = self._result
        return isinstance(result, Failure) and result.check(CancelledError) is not None

    def add_done_callback(
        self, fn: _Callback, *, context: contextvars.Context | None = None
    ) -> None:
        """Schedule ``fn(self)`` on the loop once the Deferred fires (as asyncio futures do)."""
        loop = self.get_loop()
        if self._result is not _PENDING:
            loop.call_soon(fn, self, context=context)
            return
        callbacks = self._callbacks
        if callbacks is None:
            self._callbacks = callbacks = []
            self.deferred.addBoth(self._fired)
        callbacks.append((fn, context))

    def remove_done_callback(self, fn: _Callback) -> int:
        """Forget ``fn``; how many were removed."""
        callbacks = self._callbacks or []
        kept = [(f, c) for f, c in callbacks if f != fn]
        self._callbacks = kept
        return len(callbacks) - len(kept)

    def _fired(self, result: object) -> None:
        # Returning None consumes the result: the awaiting Task owns it (and its failure).
        self._result = result
        loop = self._loop
        assert loop is not None
        callbacks = self._callbacks or []
        self._callbacks = []
        # Fired on another thread (a reactor running elsewhere): wake the loop up safely.
        schedule = loop.call_soon if get_ident() == self._thread else loop.call_soon_threadsafe
        for fn, context in callbacks:
            schedule(fn, self, context=context)

    def result(self) -> object:
        """The Deferred's result; raises its failure (``asyncio.CancelledError`` for
        plait's ``CancelledError``)."""
        result = self._result
        if result is _PENDING:
            import asyncio

            raise asyncio.InvalidStateError("the Deferred has not fired yet")
        if isinstance(result, Failure):
            if result.check(CancelledError):
                import asyncio

                message = self._cancelMessage
                raise asyncio.CancelledError(
                    *(() if message is None else (message,))
                ) from result.value
            raise result.value.with_traceback(result.tb)
        return result

    def exception(self) -> BaseException | None:
        """The failure's exception (``None`` for a result); raises as ``result`` would when
        not fired or cancelled."""
        result = self._result
        if result is _PENDING or self.cancelled():
            self.result()
        return result.value if isinstance(result, Failure) else None

    def cancel(self, msg: Any = None) -> bool:
        """Cancel the Deferred (its canceller runs); ``False`` if it already fired."""
        if self._result is not _PENDING:
            return False
        self._cancelMessage = msg
        self.deferred.cancel()
        return True
