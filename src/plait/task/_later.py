"""``deferLater``: a Deferred that fires after a delay."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, overload

from plait.defer import Deferred, maybeDeferred
from plait.task._clocks import ICallLater

__all__ = ["deferLater"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


@overload
def deferLater(clock: ICallLater, delay: float) -> Deferred[None]: ...


@overload
def deferLater(
    clock: ICallLater,
    delay: float,
    callable: Callable[_P, Deferred[_T]],
    *args: _P.args,
    **kw: _P.kwargs,
) -> Deferred[_T]: ...


@overload
def deferLater(
    clock: ICallLater,
    delay: float,
    callable: Callable[_P, Coroutine[Any, Any, _T]],
    *args: _P.args,
    **kw: _P.kwargs,
) -> Deferred[_T]: ...


@overload
def deferLater(
    clock: ICallLater,
    delay: float,
    callable: Callable[_P, _T],
    *args: _P.args,
    **kw: _P.kwargs,
) -> Deferred[_T]: ...


def deferLater(
    clock: ICallLater,
    delay: float,
    callable: Callable[..., Any] | None = None,
    *args: Any,
    **kw: Any,
) -> Deferred[Any]:
    """A Deferred that fires ``delay`` seconds from now on ``clock``.

    It fires with the result of ``callable(*args, **kw)`` (waiting for it if it returns a
    Deferred or is a coroutine function), with None when there is no callable, or fails with what the callable raised.
    Cancelling the Deferred before then cancels the call; it fails with ``CancelledError``.
    """

    def cancel(d: Deferred[Any]) -> None:
        if delayedCall.active():
            delayedCall.cancel()

    def run(ignored: None) -> Any:
        if callable is None:
            return None
        return maybeDeferred(callable, *args, **kw)

    d: Deferred[Any] = Deferred(cancel)
    d.addCallback(run)
    delayedCall = clock.callLater(delay, _fire, d)
    return d


def _fire(d: Deferred[Any]) -> None:
    d.callback(None)
