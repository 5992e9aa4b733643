"""An asyncio Task awaiting Deferreds: plait's bare ``await d`` against Twisted's
``await d.asFuture(loop)`` (Twisted's Deferred cannot be awaited from a Task directly), with a
plain asyncio Future as the reference. Each op: make a Deferred, have the loop fire it
(``call_soon``), await it from the Task.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from . import Context, Impl, Row, Unavailable
from ._micro import batchedPerSecond


def _measure(impl: str) -> Any:
    def measure(ctx: Context) -> list[float]:
        loop = asyncio.new_event_loop()
        if impl == "plait":
            try:
                from plait.defer import Deferred
            except ImportError as e:
                raise Unavailable(f"plait.defer cannot be imported: {e}") from e

            def awaitable(d: Any) -> Any:
                return d  # a bare `await d`

            make: Any = Deferred
            fire = "callback"
        elif impl == "twisted":
            from twisted.internet.defer import Deferred as TwistedDeferred

            def awaitable(d: Any) -> Any:
                return d.asFuture(loop)

            make = TwistedDeferred
            fire = "callback"
        else:

            def awaitable(d: Any) -> Any:
                return d

            make = loop.create_future
            fire = "set_result"

        async def run(n: int) -> float:
            total = 0
            start = time.perf_counter()
            for _ in range(n):
                d = make()
                loop.call_soon(getattr(d, fire), 1)
                total += await awaitable(d)
            elapsed = time.perf_counter() - start
            if total != n:
                raise AssertionError(f"awaited {total}, expected {n}")
            return elapsed

        def batch(n: int) -> float:
            return loop.run_until_complete(run(n))

        try:
            return batchedPerSecond(batch, ctx.samples, ctx.seconds, ctx.record)
        finally:
            loop.close()

    return measure


ROWS = [
    Row(
        id="deferred.asyncio",
        title="asyncio Task awaits a Deferred the loop fires (Twisted: via asFuture)",
        unit="ops/s",
        impls=(
            Impl("plait", _measure("plait")),
            Impl("twisted", _measure("twisted")),
            Impl("asyncio", _measure("asyncio"), reference=True),
        ),
        timeout=lambda ctx: 60 + ctx.samples * ctx.seconds * 3,
    ),
]
