"""Timer and thread rows: callLater throughput and callFromThread round trips.

plait's EPollReactor against Twisted's epoll reactor, asyncio's default loop (call_later /
call_soon_threadsafe) and uvloop. A reactor runs once per process (neither plait's nor
Twisted's restarts), so all samples of a measurement are taken inside one run.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import Context, Impl, Measure, Row, Unavailable
from ._micro import OPS_PER_CPU_SECOND

TIMERS = 100_000
# Delays are spread over 0..1 ms so the queue is really ordered, not one bucket.
_DELAYS = [(i % 1000) * 1e-6 for i in range(TIMERS)]


@dataclass
class Loop:
    """The few loop operations these rows need, whatever the implementation calls them."""

    callLater: Callable[..., Any]
    callFromThread: Callable[..., Any]
    run: Callable[[], Any]
    stop: Callable[[], Any]


def _plaitLoop() -> Loop:
    try:
        from plait.reactor import EPollReactor
    except ImportError as e:
        raise Unavailable(f"plait.reactor.EPollReactor: {e}") from e
    reactor = EPollReactor()
    return Loop(
        reactor.callLater,
        reactor.callFromThread,
        lambda: reactor.run(installSignalHandlers=False),
        reactor.stop,
    )


def _twistedLoop() -> Loop:
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import reactor

    return Loop(
        reactor.callLater,
        reactor.callFromThread,
        lambda: reactor.run(installSignalHandlers=False),
        reactor.stop,
    )


def _asyncioLoop(useUvloop: bool) -> Loop:
    if useUvloop:
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    return Loop(loop.call_later, loop.call_soon_threadsafe, loop.run_forever, loop.stop)


_LOOPS: dict[str, Callable[[], Loop]] = {
    "plait": _plaitLoop,
    "twisted": _twistedLoop,
    "asyncio": lambda: _asyncioLoop(False),
    "uvloop": lambda: _asyncioLoop(True),
}


def _timers(name: str) -> Measure:
    """Schedule TIMERS calls with delays in 0..1 ms; time until the last one has run."""

    def measure(ctx: Context) -> list[float]:
        loop = _LOOPS[name]()
        samples: list[float] = []
        cpus: list[float] = []
        state = {"left": 0, "start": 0.0, "cpu": 0.0}
        rounds = ctx.samples + 1  # the first round warms up and is dropped

        def fired() -> None:
            state["left"] -= 1
            if state["left"] == 0:
                samples.append(TIMERS / (time.perf_counter() - state["start"]))
                cpus.append(TIMERS / (time.process_time() - state["cpu"]))
                if len(samples) < rounds:
                    loop.callLater(0, startRound)
                else:
                    loop.stop()

        def startRound() -> None:
            state["left"] = TIMERS
            state["cpu"] = time.process_time()
            state["start"] = time.perf_counter()
            callLater = loop.callLater
            for delay in _DELAYS:
                callLater(delay, fired)

        loop.callLater(0, startRound)
        loop.run()
        if len(samples) != rounds:
            raise AssertionError(f"only {len(samples)} of {rounds} rounds completed")
        for value in cpus[1:]:
            ctx.record(OPS_PER_CPU_SECOND, value)
        return samples[1:]

    return measure


def _threadRoundTrips(name: str) -> Measure:
    """A thread calls callFromThread(answer); the loop answers through a queue; repeat."""

    def measure(ctx: Context) -> list[float]:
        loop = _LOOPS[name]()
        answers: queue.SimpleQueue[int] = queue.SimpleQueue()
        samples: list[float] = []
        failure: list[BaseException] = []

        def client() -> None:
            try:
                for _ in range(ctx.samples + 1):  # the first round warms up
                    n, start = 0, time.perf_counter()
                    end = start + ctx.seconds
                    while True:
                        loop.callFromThread(answers.put, n)
                        if answers.get(timeout=10) != n:
                            raise AssertionError("answers out of order")
                        n += 1
                        if time.perf_counter() >= end:
                            break
                    samples.append(n / (time.perf_counter() - start))
            except BaseException as e:
                failure.append(e)
            finally:
                loop.callFromThread(loop.stop)

        thread = threading.Thread(target=client, daemon=True)
        loop.callLater(0, thread.start)
        loop.run()
        thread.join(timeout=10)
        if failure:
            raise failure[0]
        return samples[1:]

    return measure


ROWS = [
    Row(
        id="timers.callLater",
        title=f"{TIMERS // 1000}k callLater timers (0..1 ms) scheduled and fired",
        unit="timers/s",
        impls=tuple(Impl(n, _timers(n)) for n in _LOOPS),
        timeout=lambda ctx: 60 + ctx.samples * 10,
    ),
    Row(
        id="timers.callFromThread",
        title="callFromThread round trips (thread -> loop -> queue -> thread)",
        unit="trips/s",
        impls=tuple(Impl(n, _threadRoundTrips(n)) for n in _LOOPS),
        seconds=(1.0, 0.5),
        timeout=lambda ctx: 60 + ctx.samples * ctx.seconds * 3,
    ),
]
