"""Deferreds and asyncio futures, on a real asyncio loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plait.defer import CancelledError, Deferred, Failure, ensureDeferred


def test_asFuture_gets_the_result() -> None:
    """An asyncio task awaiting asFuture gets the Deferred's result when it fires."""

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        d: Deferred[int] = Deferred()
        future = d.asFuture(loop)
        loop.call_soon(d.callback, 7)
        return await future, d.result

    assert asyncio.run(main()) == (7, None)


def test_asFuture_gets_the_exception() -> None:
    """A failed Deferred raises its exception from the future."""

    async def main() -> None:
        d: Deferred[int] = Deferred()
        future = d.asFuture(asyncio.get_running_loop())
        d.errback(KeyError("k"))
        await future

    with pytest.raises(KeyError):
        asyncio.run(main())


def test_cancelling_the_future_cancels_the_deferred() -> None:
    """future.cancel() on asFuture's future cancels the Deferred (its canceller runs)."""
    cancelled: list[Any] = []

    async def main() -> list[Any]:
        d: Deferred[int] = Deferred(cancelled.append)
        failures: list[Failure] = []
        future = d.asFuture(asyncio.get_running_loop())
        future.cancel()
        await asyncio.sleep(0)  # done callbacks run on the next loop iteration
        d.addErrback(failures.append)
        return failures

    failures = asyncio.run(main())
    assert len(cancelled) == 1
    assert failures == []  # the CancelledError went to the future side and was consumed


def test_deferred_CancelledError_cancels_the_future() -> None:
    """A Deferred cancelled on the plait side cancels the future it was turned into."""

    async def main() -> bool:
        d: Deferred[int] = Deferred()
        future = d.asFuture(asyncio.get_running_loop())
        d.cancel()
        try:
            await future
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(main()) is True


def test_fromFuture_gets_result_and_exception() -> None:
    """fromFuture's Deferred fires with the future's result or fails with its exception."""

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        ok: asyncio.Future[int] = loop.create_future()
        bad: asyncio.Future[int] = loop.create_future()
        got: list[Any] = []
        Deferred.fromFuture(ok).addCallback(got.append)
        Deferred.fromFuture(bad).addErrback(lambda f: got.append(f.type))
        ok.set_result(5)
        bad.set_exception(ZeroDivisionError())
        await asyncio.sleep(0)
        return got

    assert asyncio.run(main()) == [5, ZeroDivisionError]


def test_cancelling_fromFuture_deferred_cancels_future_with_plait_error() -> None:
    """Cancelling the Deferred cancels the future and fails with plait's CancelledError."""

    async def main() -> tuple[bool, Failure]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        d = Deferred.fromFuture(future)
        got: list[Failure] = []
        d.addErrback(got.append)
        d.cancel()
        await asyncio.sleep(0)  # the future's done callback must not fire d again
        return future.cancelled(), got[0]

    cancelled, failure = asyncio.run(main())
    assert cancelled
    assert failure.check(CancelledError) and not failure.check(asyncio.CancelledError)


def test_future_cancelled_elsewhere_fails_with_plait_error() -> None:
    """A future cancelled by asyncio code fails the Deferred with plait's CancelledError."""

    async def main() -> Failure:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        got: list[Failure] = []
        Deferred.fromFuture(future).addErrback(got.append)
        future.cancel()
        await asyncio.sleep(0)
        return got[0]

    assert asyncio.run(main()).check(CancelledError)


def test_coroutine_run_by_ensureDeferred_awaits_asyncio_future() -> None:
    """Inside ensureDeferred, awaiting an asyncio future (on a running loop) works."""

    async def inner(future: asyncio.Future[str]) -> str:
        return (await future) + "!"

    async def main() -> str:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        d = ensureDeferred(inner(future))
        loop.call_soon(future.set_result, "hi")
        return await d.asFuture(loop)

    assert asyncio.run(main()) == "hi!"
