"""The exceptions of plait.defer (the tree is in the package docstring)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._failure import Failure


class AlreadyCalledError(Exception):
    """A Deferred was fired (``callback``/``errback``) a second time."""


class CancelledError(Exception):
    """A Deferred was cancelled and its canceller (if any) did not give it a result."""


class TimeoutError(builtins.TimeoutError):
    """A Deferred with ``addTimeout`` did not get a result in time."""


class NotACoroutineError(TypeError):
    """``ensureDeferred``/``Deferred.fromCoroutine`` got something that is not a coroutine."""


class NoCurrentExceptionError(RuntimeError):
    """``Failure()`` (or ``errback()``/``fail()``) was called outside an ``except`` block."""


class FirstError(Exception):
    """The first failure of a ``DeferredList(fireOnOneErrback=True)`` or ``gatherResults``.

    ``subFailure`` is that member's :class:`Failure` and ``index`` its position in the list.
    """

    subFailure: Failure
    index: int

    def __init__(self, failure: Failure, index: int) -> None:
        super().__init__(failure, index)
        self.subFailure = failure
        self.index = index

    def __repr__(self) -> str:
        return f"FirstError[#{self.index}, {self.subFailure!r}]"

    def __str__(self) -> str:
        return f"FirstError[#{self.index}, {self.subFailure}]"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FirstError):
            return self.subFailure == other.subFailure and self.index == other.index
        return NotImplemented

    __hash__ = Exception.__hash__


class FailureGroup(Exception):
    """Every Deferred given to :func:`race` failed; ``failures`` lists their Failures in order."""

    failures: list[Failure]

    def __init__(self, failures: list[Failure]) -> None:
        super().__init__(failures)
        self.failures = failures


class QueueOverflow(Exception):
    """``DeferredQueue.put`` on a queue that already holds ``size`` items."""


class QueueUnderflow(Exception):
    """``DeferredQueue.get`` on a queue that already has ``backlog`` waiting getters."""
