"""Deferred rows: plait.defer against Twisted's twisted.internet.defer (ops/s, higher is better).

Both sides run the very same workload code (the `_case*` functions below take the library
module), so the only difference is the library. asyncio Futures (default loop and uvloop) are
shown on row (a) for reference.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from . import Context, Impl, Row, Target, Unavailable
from ._micro import batchedPerSecond, opsPerSecond

_NEEDED = ("Deferred", "succeed", "ensureDeferred", "inlineCallbacks", "DeferredList")
_SOURCE = "DESIGN.md §7 / Deferred benchmark issue: >= 1.5x Twisted on a, b, d; not slower"


def _library(name: str) -> ModuleType:
    if name == "plait":
        try:
            from plait import defer
        except ImportError as e:
            raise Unavailable(f"plait.defer cannot be imported: {e}") from e
    else:
        from twisted.internet import defer
    missing = [n for n in _NEEDED if not hasattr(defer, n)]
    if missing:
        raise Unavailable(f"{defer.__name__} lacks {', '.join(missing)}")
    return defer


def _identity(result: object) -> object:
    return result


def _returnDeferred(_: object, d: object) -> object:
    return d


Op = Callable[[], Any]
Check = Callable[[Any], bool]


def _caseA(lib: ModuleType) -> tuple[Op, Check]:
    Deferred = lib.Deferred

    def op() -> Any:
        d = Deferred()
        d.addCallback(_identity)
        d.addCallback(_identity)
        d.addCallback(_identity)
        d.callback(1)
        return d

    return op, lambda d: d.called and d.result == 1


def _caseB(lib: ModuleType) -> tuple[Op, Check]:
    Deferred = lib.Deferred

    def op() -> Any:
        d = Deferred()
        d.callback(1)
        d.addCallback(_identity)
        d.addCallback(_identity)
        d.addCallback(_identity)
        return d

    return op, lambda d: d.called and d.result == 1


_DEPTH = 1000


def _caseC(lib: ModuleType) -> tuple[Op, Check]:
    """Deferred k's callback returns the still-unfired Deferred k+1; the last one fires the lot."""
    Deferred = lib.Deferred

    def op() -> Any:
        ds = [Deferred() for _ in range(_DEPTH)]
        for outer, inner in itertools.pairwise(ds):
            outer.addCallback(_returnDeferred, inner)
        for d in ds[:-1]:
            d.callback(None)
        ds[-1].callback("end")
        return ds[0]

    return op, lambda d: d.called and d.result == "end"


async def _awaitThree(a: Any, b: Any, c: Any) -> Any:
    return (await a) + (await b) + (await c)


def _caseD(lib: ModuleType) -> tuple[Op, Check]:
    ensureDeferred, succeed = lib.ensureDeferred, lib.succeed

    def op() -> Any:
        return ensureDeferred(_awaitThree(succeed(1), succeed(2), succeed(3)))

    return op, lambda d: d.called and d.result == 6


def _caseE(lib: ModuleType) -> tuple[Op, Check]:
    succeed = lib.succeed

    @lib.inlineCallbacks  # type: ignore[misc]
    def yieldThree(a: Any, b: Any, c: Any) -> Any:
        x = yield a
        y = yield b
        z = yield c
        return x + y + z

    def op() -> Any:
        return yieldThree(succeed(1), succeed(2), succeed(3))

    return op, lambda d: d.called and d.result == 6


def _caseF(lib: ModuleType) -> tuple[Op, Check]:
    DeferredList, succeed = lib.DeferredList, lib.succeed
    values = range(100)

    def op() -> Any:
        return DeferredList([succeed(i) for i in values])

    return op, lambda d: d.called and d.result == [(True, i) for i in values]


def _deferred(libName: str, case: Callable[[ModuleType], tuple[Op, Check]]) -> Any:
    def measure(ctx: Context) -> list[float]:
        op, check = case(_library(libName))
        result = op()
        if not check(result):
            raise AssertionError(f"wrong result: {getattr(result, 'result', result)!r}")
        return opsPerSecond(op, ctx.samples, ctx.seconds, ctx.record)

    return measure


def _futureCallbacks(useUvloop: bool) -> Any:
    """asyncio Future + 3 done-callbacks + set_result; the callbacks run on the loop."""

    def measure(ctx: Context) -> list[float]:
        if useUvloop:
            import uvloop

            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        calls = [0]

        def cb(_: object) -> None:
            calls[0] += 1

        async def run(n: int) -> float:
            start = time.perf_counter()
            for i in range(n):
                f = loop.create_future()
                f.add_done_callback(cb)
                f.add_done_callback(cb)
                f.add_done_callback(cb)
                f.set_result(1)
                if i % 1000 == 999:
                    await asyncio.sleep(0)  # let the scheduled callbacks run
            await asyncio.sleep(0)
            return time.perf_counter() - start

        def batch(n: int) -> float:
            before = calls[0]
            elapsed = loop.run_until_complete(run(n))
            if calls[0] - before != 3 * n:
                raise AssertionError(f"{calls[0] - before} callbacks ran, expected {3 * n}")
            return elapsed

        try:
            return batchedPerSecond(batch, ctx.samples, ctx.seconds, ctx.record)
        finally:
            loop.close()

    return measure


def _row(
    letter: str, title: str, case: Callable[[ModuleType], tuple[Op, Check]], minimum: float
) -> Row:
    impls = [Impl("plait", _deferred("plait", case)), Impl("twisted", _deferred("twisted", case))]
    if letter == "a":
        impls += [
            Impl("asyncio", _futureCallbacks(False), reference=True),
            Impl("uvloop", _futureCallbacks(True), reference=True),
        ]
    return Row(
        id=f"deferred.{letter}",
        title=title,
        unit="ops/s",
        impls=tuple(impls),
        targets=(Target("twisted", minimum, source=_SOURCE),),
        timeout=lambda ctx: 60 + ctx.samples * ctx.seconds * 3,
    )


ROWS = [
    _row("a", "create a Deferred, add 3 callbacks, fire", _caseA, 1.5),
    _row("b", "fire a Deferred, then add 3 callbacks", _caseB, 1.5),
    _row("c", f"{_DEPTH}-deep chain of Deferreds returned from callbacks", _caseC, 1.0),
    _row("d", "async def awaiting 3 fired Deferreds via ensureDeferred", _caseD, 1.5),
    _row("e", "inlineCallbacks generator yielding 3 fired Deferreds", _caseE, 1.0),
    _row("f", "DeferredList of 100 fired Deferreds", _caseF, 1.0),
]
