"""Assertions on Deferreds that must already have fired (or must not have)."""

from __future__ import annotations

from typing import Any, TypeVar

from ..defer import Deferred, Failure

__all__ = ["assertNoResult", "failureResultOf", "successResultOf"]

_T = TypeVar("_T")


def _take(deferred: Deferred[Any]) -> list[object]:
    """Consume the current result of ``deferred`` (it is left holding None)."""
    results: list[object] = []
    deferred.addBoth(results.append)
    return results


def successResultOf(deferred: Deferred[_T]) -> _T:
    """Return the result ``deferred`` has already succeeded with.

    Raises ``AssertionError`` if it has no result yet or has failed (the failure's traceback is
    in the message). Either way the result is consumed: the Deferred is left holding None, so
    a failure reported here is not logged again as unhandled.
    """
    results = _take(deferred)
    if not results:
        raise AssertionError(f"Success result expected on {deferred!r}, found no result instead")
    result = results[0]
    if isinstance(result, Failure):
        raise AssertionError(
            f"Success result expected on {deferred!r}, found failure result instead:\n"
            f"{result.getTraceback()}"
        )
    return result  # type: ignore[return-value]


def failureResultOf(
    deferred: Deferred[Any], *expectedExceptionTypes: type[BaseException]
) -> Failure:
    """Return the ``Failure`` ``deferred`` has already failed with.

    With ``expectedExceptionTypes``, the failure must be one of them. Raises ``AssertionError``
    if there is no result yet, a success, or an unexpected failure. The result is consumed.
    """
    results = _take(deferred)
    if not results:
        raise AssertionError(f"Failure result expected on {deferred!r}, found no result instead")
    result = results[0]
    if not isinstance(result, Failure):
        raise AssertionError(
            f"Failure result expected on {deferred!r}, found success result ({result!r}) instead"
        )
    if expectedExceptionTypes and not result.check(*expectedExceptionTypes):
        expected = " or ".join(f"{t.__module__}.{t.__qualname__}" for t in expectedExceptionTypes)
        raise AssertionError(
            f"Failure of type ({expected}) expected on {deferred!r}, found type "
            f"{result.type!r} instead:\n{result.getTraceback()}"
        )
    return result


def assertNoResult(deferred: Deferred[Any]) -> None:
    """Assert that ``deferred`` has not fired yet (or is paused waiting on another Deferred).

    Raises ``AssertionError`` if it has a result; that result is consumed, so a failure
    reported here is not logged again as unhandled. Without a result, the Deferred is left
    exactly as it was.
    """
    results: list[object] = []

    def record(result: object) -> object:
        results.append(result)
        return result

    deferred.addBoth(record)
    if results:
        deferred.addBoth(lambda _: None)
        raise AssertionError(f"No result expected on {deferred!r}, found {results[0]!r} instead")
