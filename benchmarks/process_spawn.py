"""Process spawn+exit per second: plait's spawnProcess vs asyncio's create_subprocess_exec.

Both run ``/bin/true`` with stdin, stdout and stderr on pipes and count a process as done
when it has exited and its pipes are closed (plait: ``processEnded``; asyncio:
``communicate()``). ``sequential``: one at a time; ``concurrent``: 8 in flight.

    python3 benchmarks/process_spawn.py [--count 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from plait.defer import Failure
from plait.protocol import ProcessProtocol
from plait.reactor import defaultReactorClass

PROGRAM = "/bin/true"


def plaitRun(count: int, inFlight: int) -> float:
    """Processes per second through plait."""
    reactor = defaultReactorClass()()
    state = {"started": 0, "ended": 0}

    class Done(ProcessProtocol):
        def processEnded(self, reason: Failure) -> None:
            state["ended"] += 1
            if state["ended"] == count:
                reactor.stop()
            elif state["started"] < count:
                start()

    def start() -> None:
        state["started"] += 1
        reactor.spawnProcess(Done(), PROGRAM, [PROGRAM])

    t0 = 0.0

    def begin() -> None:
        nonlocal t0
        t0 = time.perf_counter()
        for _ in range(inFlight):
            start()

    reactor.callWhenRunning(begin)
    reactor.run(installSignalHandlers=False)
    return count / (time.perf_counter() - t0)


def asyncioRun(count: int, inFlight: int) -> float:
    """Processes per second through asyncio."""

    async def one() -> None:
        proc = await asyncio.create_subprocess_exec(
            PROGRAM,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await proc.communicate()

    async def main() -> float:
        remaining = count
        t0 = time.perf_counter()

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one()

        await asyncio.gather(*(worker() for _ in range(inFlight)))
        return count / (time.perf_counter() - t0)

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runners: dict[str, Any] = {"plait": plaitRun, "asyncio": asyncioRun}
    for label, inFlight in (("sequential", 1), ("concurrent8", 8)):
        results: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(args.repeat):
            for name, run in runners.items():  # interleaved rounds
                results[name].append(run(args.count, inFlight))
        medians = {name: statistics.median(v) for name, v in results.items()}
        for name, v in results.items():
            print(
                f"{label:12} {name:8} median {medians[name]:7.0f} proc/s"
                f"  (min {min(v):.0f}, max {max(v):.0f})"
            )
        print(f"{label:12} plait/asyncio = {medians['plait'] / medians['asyncio']:.2f}x")


if __name__ == "__main__":
    main()
