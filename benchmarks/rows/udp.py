"""UDP echo rows: plait's reactors against Twisted, asyncio's datagram endpoint and uvloop.

The client is plain Python in the worker (pinned to CPU 1 when pinning, the server to CPU 0):
one connected UDP socket keeping a bounded window of datagrams in flight, sending one for each
echo it reads. A read that waits 0.2 s counts as a loss and refills the window, so a dropped
datagram cannot stall the sample. The same client measures every implementation; at high rates
it may itself be the limit (a Python loop of one send and one recv per datagram).
"""

from __future__ import annotations

import os
import socket
import time

from . import Context, Impl, Measure, Row
from ._net import HOST, Server, cpuSeconds

_SERVERS = ("plait-epoll", "plait-poll", "plait-select", "twisted", "asyncio", "uvloop")
SERVER_CPU = "server_cpu_us_per_op"
PAYLOAD = b"x" * 64


def _freeUDPPort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class UDPServer(Server):
    """A UDP echo server subprocess, probed with one datagram."""

    def probe(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            s.connect((HOST, self.port))
            s.send(b"probe")
            if s.recv(64) != b"probe":
                raise RuntimeError("server echoed something else")


def _clientRun(port: int, seconds: float, window: int) -> tuple[int, int, float]:
    """(datagrams echoed, windows refilled after a loss, elapsed seconds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((HOST, port))
        s.settimeout(0.2)
        send, recv = s.send, s.recv
        for _ in range(window):
            send(PAYLOAD)
        echoed = losses = 0
        start = time.perf_counter()
        end = start + seconds
        while True:
            # Check the clock every 64 datagrams: time.perf_counter is not free.
            for _ in range(64):
                try:
                    recv(2048)
                except TimeoutError:
                    losses += 1
                    for _ in range(window):
                        send(PAYLOAD)
                    continue
                echoed += 1
                send(PAYLOAD)
            if time.perf_counter() >= end:
                return echoed, losses, time.perf_counter() - start


def _echo(impl: str, window: int) -> Measure:
    def measure(ctx: Context) -> list[float]:
        port = _freeUDPPort()
        cmd = [ctx.python, str(ctx.benchDir / "servers" / "udp_echo.py"), impl, str(port)]
        if ctx.pin and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {1})
        with UDPServer(ctx, cmd, port) as server:
            _clientRun(port, 0.2, window)  # warm-up
            samples = []
            for _ in range(ctx.samples):
                cpuBefore = cpuSeconds(server.pid)
                echoed, losses, elapsed = _clientRun(port, ctx.seconds, window)
                server.checkAlive()
                cpu = cpuSeconds(server.pid) - cpuBefore
                ctx.record("losses", float(losses))
                if echoed:
                    ctx.record(SERVER_CPU, cpu * 1e6 / echoed)
                samples.append(echoed / elapsed)
            return samples

    return measure


def _impls(window: int) -> tuple[Impl, ...]:
    return tuple(Impl(name, _echo(name, window)) for name in _SERVERS)


def _timeout(ctx: Context) -> float:
    return 60 + ctx.samples * (ctx.seconds + 10)


ROWS = [
    Row(
        id="udp.echo32",
        title="UDP echo: 64-byte datagrams, window of 32 in flight, 1 client socket",
        unit="datagrams/s",
        impls=_impls(32),
        seconds=(2.0, 1.0),
        timeout=_timeout,
        note="Python client; server CPU per datagram is the steadier figure on a busy machine",
    ),
    Row(
        id="udp.pingpong",
        title="UDP ping-pong: 64-byte datagrams, 1 in flight",
        unit="datagrams/s",
        impls=_impls(1),
        seconds=(2.0, 1.0),
        timeout=_timeout,
    ),
]
