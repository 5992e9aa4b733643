"""TCP echo rows: plait's reactors against Twisted, asyncio, uvloop and a C epoll server.

The load comes from benchmarks/c/loadgen.c (one C thread, epoll), pinned to CPU 1 while the
server is pinned to CPU 0, so the client is not the bottleneck; it verifies every echoed byte.
Each server echoes through its framework's ordinary Protocol API (servers/echo.py).
"""

from __future__ import annotations

from . import Context, Impl, Measure, Row, Target
from ._net import HOST, Server, cpuSeconds, freePort, idleConnectionsKiB, loadgen

BACKLOG = "128"
SERVER_CPU = "server_cpu_us_per_op"  # server CPU (user+sys) µs per unit: per MB, msg or conn
_SOURCE = (
    "DESIGN.md §7 / TCP benchmark issue: epoll >= 1.5x Twisted (ping-pong 50, conn/s), >= bulk"
)
_SERVERS = (
    "plait-epoll",
    "plait-poll",
    "plait-select",
    "plait-asyncio",
    "plait-uvloop",
    "twisted",
    "twisted-asyncio",
    "asyncio",
    "uvloop",
)


def _serverCmd(ctx: Context, impl: str, port: int) -> list[str]:
    if impl == "c-epoll":
        return [str(ctx.buildDir / "echo_epoll"), str(port), BACKLOG]
    return [ctx.python, str(ctx.benchDir / "servers" / "echo.py"), impl, str(port), BACKLOG]


def _throughput(impl: str, mode: str, *extra: str) -> Measure:
    """One server for all samples; each sample is one load-generator run of ctx.seconds."""

    def measure(ctx: Context) -> list[float]:
        port = freePort()
        with Server(ctx, _serverCmd(ctx, impl, port), port) as server:
            samples = []
            for _ in range(ctx.samples):
                args = [mode, HOST, str(port), str(ctx.seconds), *extra]
                cpuBefore = cpuSeconds(server.pid)
                result = loadgen(ctx, args, timeout=ctx.seconds + 30)
                server.checkAlive()
                cpu = cpuSeconds(server.pid) - cpuBefore
                samples.append(float(result["value"]))
                # Less sensitive to a busy machine than the rate: what the server spent per op.
                if result["total"] > 0:
                    ctx.record(SERVER_CPU, cpu * 1e6 / result["total"])
            return samples

    return measure


IDLE_CONNECTIONS = 10_000


def _idleMemory(impl: str) -> Measure:
    """A fresh server per sample: RSS growth per idle connection, in KiB."""

    def measure(ctx: Context) -> list[float]:
        samples = []
        for _ in range(ctx.samples):
            port = freePort()
            with Server(ctx, _serverCmd(ctx, impl, port), port) as server:
                samples.append(idleConnectionsKiB(ctx, server, IDLE_CONNECTIONS, timeout=60))
        return samples

    return measure


def _impls(mode: str, *extra: str) -> tuple[Impl, ...]:
    impls = [Impl(name, _throughput(name, mode, *extra)) for name in _SERVERS]
    impls.append(Impl("c-epoll", _throughput("c-epoll", mode, *extra), reference=True))
    return tuple(impls)


def _timeout(ctx: Context) -> float:
    return 60 + ctx.samples * (ctx.seconds + 10)


_ASYNCIO_SOURCE = "issue #5 (asyncio/uvloop reactor): targets for plait on uvloop and on asyncio"


def _targets(minimum: float, *asyncio: Target) -> tuple[Target, ...]:
    return (Target("twisted", minimum, plait="plait-epoll", source=_SOURCE), *asyncio)


def _uvloopVsTwisted(minimum: float) -> Target:
    return Target("twisted", minimum, plait="plait-uvloop", source=_ASYNCIO_SOURCE)


def _uvloopVsRaw() -> Target:
    return Target("uvloop", 0.8, plait="plait-uvloop", source=_ASYNCIO_SOURCE)


def _asyncioVsTwisted() -> Target:
    return Target("twisted-asyncio", 1.3, plait="plait-asyncio", source=_ASYNCIO_SOURCE)


ROWS = [
    Row(
        id="tcp.bulk",
        title="echo bulk: 1 connection, 64 KiB writes, bytes echoed back",
        unit="MB/s",
        impls=_impls("bulk"),
        targets=_targets(1.0, _uvloopVsRaw(), _asyncioVsTwisted()),
        needsC=True,
        seconds=(2.0, 1.0),
        timeout=_timeout,
    ),
    Row(
        id="tcp.pingpong1",
        title="ping-pong: 100-byte messages, 1 connection",
        unit="msg/s",
        impls=_impls("pingpong", "1", "100"),
        targets=(_uvloopVsRaw(), _uvloopVsTwisted(2.0), _asyncioVsTwisted()),
        needsC=True,
        seconds=(2.0, 1.0),
        timeout=_timeout,
    ),
    Row(
        id="tcp.pingpong50",
        title="ping-pong: 100-byte messages, 50 connections (sum)",
        unit="msg/s",
        impls=_impls("pingpong", "50", "100"),
        targets=_targets(1.5, _uvloopVsRaw(), _uvloopVsTwisted(2.0), _asyncioVsTwisted()),
        needsC=True,
        seconds=(2.0, 1.0),
        timeout=_timeout,
    ),
    Row(
        id="tcp.connect",
        title="new connections: 32 concurrent connect, send 100 B, read echo, close",
        unit="conn/s",
        impls=_impls("connect", "32", "100"),
        targets=_targets(1.5, _uvloopVsTwisted(2.0), _asyncioVsTwisted()),
        needsC=True,
        seconds=(2.0, 1.0),
        timeout=_timeout,
    ),
    Row(
        id="tcp.idle",
        title=f"memory per idle connection ({IDLE_CONNECTIONS:,} connections, server RSS)",
        unit="KiB/conn",
        higherIsBetter=False,
        impls=tuple(
            Impl(name, _idleMemory(name))
            for name in ("plait-epoll", "plait-uvloop", "twisted", "asyncio", "uvloop")
        ),
        targets=(Target("twisted", 1.0, plait="plait-uvloop", source=_ASYNCIO_SOURCE),),
        needsC=True,
        timeout=lambda ctx: 60 + ctx.samples * 70,
        note="RSS after the connections are open and have echoed one byte, minus RSS before",
    ),
]
