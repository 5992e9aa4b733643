"""Process rows: spawn ``/bin/true`` and wait for it to end, in processes per second.

Each process gets stdin, stdout and stderr on pipes, and counts as done when it has exited and
its pipes are closed (plait and Twisted: ``processEnded``; asyncio: ``communicate()``, which
waits for the pipes and the exit status). ``seq`` spawns the next one when the previous one
ended; ``conc8`` keeps 8 in flight. A sample is a round of N processes (200; 100 with
``--quick``); all rounds run inside one run of the reactor/loop and the first is a warm-up.
Twisted runs with its signal handlers (its child reaping relies on SIGCHLD); plait without.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import Context, Impl, Measure, Row, Target
from ._micro import OPS_PER_CPU_SECOND

PROGRAM = "/bin/true"


def _count(ctx: Context) -> int:
    return 100 if ctx.quick else 200


def _reactorRounds(
    ctx: Context,
    reactor: Any,
    protocolBase: type,
    inFlight: int,
    run: Callable[[], None],
) -> list[float]:
    """Rounds of `_count(ctx)` processes on a Twisted-shaped reactor; one rate per round."""
    count = _count(ctx)
    rounds = ctx.samples + 1
    samples: list[float] = []
    cpus: list[float] = []
    failures: list[str] = []
    state = {"started": 0, "ended": 0, "t0": 0.0, "cpu": 0.0}

    class Done(protocolBase):  # type: ignore[misc,valid-type]
        def processEnded(self, reason: Any) -> None:
            if reason.value.exitCode != 0:
                failures.append(f"exit status {reason.value.exitCode}")
            state["ended"] += 1
            if state["ended"] == count:
                samples.append(count / (time.perf_counter() - state["t0"]))
                cpus.append(count / max(time.process_time() - state["cpu"], 1e-9))
                if len(samples) == rounds or failures:
                    reactor.stop()
                else:
                    reactor.callLater(0, startRound)
            elif state["started"] < count:
                start()

    def start() -> None:
        state["started"] += 1
        reactor.spawnProcess(Done(), PROGRAM, [PROGRAM], env={})

    def startRound() -> None:
        state.update(started=0, ended=0, cpu=time.process_time())
        state["t0"] = time.perf_counter()
        for _ in range(inFlight):
            start()

    reactor.callWhenRunning(startRound)
    guard = reactor.callLater(60 + rounds * 30, reactor.stop)
    run()
    if guard.active():
        guard.cancel()
    if failures:
        raise RuntimeError(f"{PROGRAM}: {failures[0]}")
    if len(samples) != rounds:
        raise AssertionError(f"only {len(samples)} of {rounds} rounds completed")
    for value in cpus[1:]:
        ctx.record(OPS_PER_CPU_SECOND, value)
    return samples[1:]


def _plait(inFlight: int) -> Measure:
    def measure(ctx: Context) -> list[float]:
        from plait.protocol import ProcessProtocol
        from plait.reactor import EPollReactor

        reactor = EPollReactor()
        return _reactorRounds(
            ctx,
            reactor,
            ProcessProtocol,
            inFlight,
            lambda: reactor.run(installSignalHandlers=False),
        )

    return measure


def _twisted(inFlight: int) -> Measure:
    def measure(ctx: Context) -> list[float]:
        from twisted.internet import epollreactor

        epollreactor.install()
        from twisted.internet import reactor
        from twisted.internet.protocol import ProcessProtocol

        return _reactorRounds(ctx, reactor, ProcessProtocol, inFlight, reactor.run)

    return measure


def _asyncio(inFlight: int) -> Measure:
    def measure(ctx: Context) -> list[float]:
        import asyncio

        count = _count(ctx)
        PIPE = asyncio.subprocess.PIPE

        async def one() -> None:
            proc = await asyncio.create_subprocess_exec(
                PROGRAM, stdin=PIPE, stdout=PIPE, stderr=PIPE, env={}
            )
            await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"{PROGRAM}: exit status {proc.returncode}")

        async def oneRound() -> tuple[float, float]:
            remaining = count

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await one()

            cpu = time.process_time()
            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(inFlight)))
            wall = time.perf_counter() - t0
            return count / wall, count / max(time.process_time() - cpu, 1e-9)

        async def main() -> list[tuple[float, float]]:
            return [await oneRound() for _ in range(ctx.samples + 1)]

        results = asyncio.run(main())[1:]
        for _, perCpu in results:
            ctx.record(OPS_PER_CPU_SECOND, perCpu)
        return [rate for rate, _ in results]

    return measure


def _row(inFlight: int, title: str) -> Row:
    return Row(
        id=f"process.spawn.{'seq' if inFlight == 1 else f'conc{inFlight}'}",
        title=title,
        unit="processes/s",
        impls=(
            Impl("plait", _plait(inFlight)),
            Impl("twisted", _twisted(inFlight)),
            Impl("asyncio", _asyncio(inFlight)),
        ),
        targets=(Target("twisted", 1.0, source="issue 4: spawnProcess not slower than Twisted"),),
        timeout=lambda ctx: 120 + ctx.samples * 30,
    )


ROWS = [
    _row(1, "spawn /bin/true with 3 pipes and wait for its end, one at a time"),
    _row(8, "spawn /bin/true with 3 pipes and wait for its end, 8 in flight"),
]
