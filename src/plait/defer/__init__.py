"""Deferreds: results that are not there yet, and the chains of callbacks waiting for them.

Where things are:

- :class:`Deferred` (``_deferred``): ``callback``/``errback``; ``addCallback``,
  ``addErrback``, ``addBoth``, ``addCallbacks`` (extra positional and keyword arguments are
  passed on); a callback returning a Deferred chains onto it; ``pause``/``unpause``,
  ``chainDeferred``, ``cancel`` (with an optional canceller), ``addTimeout(seconds, clock)``;
  ``await d`` in coroutines; ``asFuture(loop)``/``fromFuture(future)`` for asyncio;
  ``fromCoroutine(coro)``. :func:`succeed`, :func:`fail`, :func:`setDebugging`.
- :class:`Failure` (``_failure``): an exception with its traceback, passed down errbacks.
- :func:`ensureDeferred`, :func:`inlineCallbacks`, :func:`returnValue`,
  :func:`maybeDeferred` (``_coroutines``).
- :class:`DeferredList`, :func:`gatherResults`, :func:`race` (``_list``).
- :class:`DeferredLock`, :class:`DeferredSemaphore`, :class:`DeferredQueue` (``_sync``).

Callbacks run in one iterative loop: chains of Deferreds returned from callbacks,
``chainDeferred`` chains and coroutines awaiting each other's Deferreds may be any depth
without ``RecursionError`` (starting nested coroutines is ordinary Python recursion).

A Failure left unhandled in a Deferred that is garbage-collected is logged (namespace
``plait.defer``, "Unhandled error in Deferred:") and passed to ``sys.unraisablehook``.

Errors:

- ``Exception``

  - :class:`AlreadyCalledError`: a Deferred fired twice.
  - :class:`CancelledError`: a cancelled Deferred's failure.
  - :class:`FirstError`: the first member failure of ``DeferredList(fireOnOneErrback=True)``
    or ``gatherResults`` (``.subFailure``, ``.index``).
  - :class:`FailureGroup`: every Deferred given to ``race`` failed (``.failures``).
  - :class:`QueueOverflow`, :class:`QueueUnderflow`: a bounded ``DeferredQueue`` is full.
  - ``OSError`` > ``builtins.TimeoutError`` > :class:`TimeoutError`: ``addTimeout`` expired.
  - ``RuntimeError`` > :class:`NoCurrentExceptionError`: ``Failure()``, ``errback()`` or
    ``fail()`` with no argument outside an ``except`` block.
  - ``TypeError`` > :class:`NotACoroutineError`: ``ensureDeferred`` of something else.
"""

from ._coroutines import ensureDeferred, inlineCallbacks, maybeDeferred, returnValue
from ._deferred import Deferred, fail, getDebugging, setDebugging, succeed
from ._errors import (
    AlreadyCalledError,
    CancelledError,
    FailureGroup,
    FirstError,
    NoCurrentExceptionError,
    NotACoroutineError,
    QueueOverflow,
    QueueUnderflow,
    TimeoutError,
)
from ._failure import Failure
from ._list import DeferredList, gatherResults, race
from ._sync import DeferredLock, DeferredQueue, DeferredSemaphore

__all__ = [
    "AlreadyCalledError",
    "CancelledError",
    "Deferred",
    "DeferredList",
    "DeferredLock",
    "DeferredQueue",
    "DeferredSemaphore",
    "Failure",
    "FailureGroup",
    "FirstError",
    "NoCurrentExceptionError",
    "NotACoroutineError",
    "QueueOverflow",
    "QueueUnderflow",
    "TimeoutError",
    "ensureDeferred",
    "fail",
    "gatherResults",
    "getDebugging",
    "inlineCallbacks",
    "maybeDeferred",
    "race",
    "returnValue",
    "setDebugging",
    "succeed",
]
