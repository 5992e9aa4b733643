"""Waiting on many Deferreds: ``DeferredList``, ``gatherResults``, ``race``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from plait.log import Logger

from ._deferred import Deferred, _detachReporter
from ._errors import FailureGroup, FirstError
from ._failure import Failure

_T = TypeVar("_T")

_log = Logger(namespace="plait.defer")

SUCCESS = True
FAILURE = False


class DeferredList(Deferred[Any]):
    """A Deferred that fires when every Deferred of ``deferredList`` has a result.

    The result is ``[(success, value_or_failure), ...]`` in list order. With
    ``fireOnOneCallback`` it fires with ``(value, index)`` of the first success instead; with
    ``fireOnOneErrback`` it fails with :class:`FirstError` at the first failure. With
    ``consumeErrors`` the members' failures are handled here (their result becomes ``None``),
    otherwise they stay in the members and are logged as unhandled if nothing else takes them.
    Cancelling it cancels every member that has no result yet.
    """

    __slots__ = (
        "_deferredList",
        "consumeErrors",
        "finishedCount",
        "fireOnOneCallback",
        "fireOnOneErrback",
        "resultList",
    )

    def __init__(
        self,
        deferredList: Iterable[Deferred[Any]],
        fireOnOneCallback: bool = False,
        fireOnOneErrback: bool = False,
        consumeErrors: bool = False,
    ) -> None:
        Deferred.__init__(self)
        members = list(deferredList)
        self._deferredList = members
        self.resultList: list[Any] = [None] * len(members)
        self.finishedCount = 0
        self.fireOnOneCallback = fireOnOneCallback
        self.fireOnOneErrback = fireOnOneErrback
        self.consumeErrors = consumeErrors
        if not members and not fireOnOneCallback:
            self.callback([])
            return
        got = self._cbDeferred
        for index, d in enumerate(members):
            if d.called and not d.paused and not d._runningCallbacks and not d.callbacks:
                # Fired and idle: what an added callback would do, without adding one.
                result = d.result
                if isinstance(result, Failure):
                    if consumeErrors:
                        _detachReporter(d)
                        d.result = None
                    got(result, index, FAILURE)
                else:
                    got(result, index, SUCCESS)
            else:
                d.callbacks.append(((got, (index, SUCCESS), None), (got, (index, FAILURE), None)))
                if d.called and not d.paused:
                    d._runCallbacks()

    def _cbDeferred(self, result: Any, index: int, succeeded: bool) -> Any:
        self.resultList[index] = (succeeded, result)
        self.finishedCount += 1
        if not self.called:
            if succeeded and self.fireOnOneCallback:
                self.callback((result, index))
            elif not succeeded and self.fireOnOneErrback:
                self.errback(Failure(FirstError(result, index)))
            elif self.finishedCount == len(self.resultList):
                self.callback(self.resultList)
        if not succeeded and self.consumeErrors:
            return None
        return result

    def cancel(self) -> None:
        """Cancel every member Deferred (when this list has not fired yet)."""
        if self.called:
            return
        for d in self._deferredList:
            try:
                d.cancel()
            except BaseException:
                _log.failure("Exception raised from user supplied canceller")


def _collect(results: list[tuple[bool, Any]]) -> list[Any]:
    return [value for _, value in results]


def gatherResults(
    deferredList: Iterable[Deferred[_T]], consumeErrors: bool = False
) -> Deferred[list[_T]]:
    """A Deferred of the list of results, or failing with :class:`FirstError` at the first failure.

    The FirstError's ``subFailure`` is the member's failure and ``index`` its position.
    """
    d = DeferredList(deferredList, fireOnOneErrback=True, consumeErrors=consumeErrors)
    return d.addCallback(_collect)


class _Race:
    __slots__ = ("done", "failures", "members", "remaining", "result")

    def __init__(self, members: list[Deferred[Any]]) -> None:
        self.members = members
        self.failures: list[Failure | None] = [None] * len(members)
        self.remaining = len(members)
        self.done = False
        self.result: Deferred[Any] = Deferred(self.cancelAll)

    def cancelAll(self, _: object = None) -> None:
        for d in self.members:
            d.cancel()

    def succeeded(self, value: object, index: int) -> None:
        self.remaining -= 1
        if self.done:
            return
        self.done = True
        for i, d in enumerate(self.members):
            if i != index:
                d.cancel()
        self.result.callback((index, value))

    def failed(self, failure: Failure, index: int) -> None:
        self.remaining -= 1
        self.failures[index] = failure
        if not self.done and self.remaining == 0:
            self.done = True
            self.result.errback(Failure(FailureGroup([f for f in self.failures if f is not None])))


def race(ds: Sequence[Deferred[_T]]) -> Deferred[tuple[int, _T]]:
    """The first success among ``ds`` as ``(index, result)``; the others are then cancelled.

    If all fail, it fails with :class:`FailureGroup` holding every failure (an empty ``ds``
    fails at once). Every member's result is consumed. Cancelling it cancels all members.
    """
    members = list(ds)
    state = _Race(members)
    result = state.result
    if not members:
        result.errback(Failure(FailureGroup([])))
        return result
    for index, d in enumerate(members):
        d.addCallbacks(state.succeeded, state.failed, callbackArgs=(index,), errbackArgs=(index,))
    return result
