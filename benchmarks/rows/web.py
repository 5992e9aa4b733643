"""HTTP rows: a 13-byte "Hello, world!" resource under ``wrk -t1 -c50``.

plait's ``Site`` on its epoll reactor and on uvloop (``UVLoopReactor``), Twisted's
``twisted.web.server.Site`` on its epoll reactor and aiohttp on uvloop, each through its
ordinary resource/handler API with access logging off (servers/web_hello.py). The server is
pinned to CPU 0 and wrk to CPU 1 (when taskset and two CPUs exist); each sample is one wrk run
of ``ctx.seconds`` (5 s; 2 s with ``--quick``) after a 1 s warm-up run. wrk comes from the
Debian package ``wrk``; without it the row says so.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess

from . import Context, Impl, Measure, Row, Target, Unavailable
from ._net import HOST, Server, cpuSeconds, freePort, pinned

SERVER_CPU = "server_cpu_us_per_op"
_REQUESTS = re.compile(r"^\s*(\d+) requests in", re.M)
_RATE = re.compile(r"Requests/sec:\s*([\d.]+)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")


class _HTTPServer(Server):
    def probe(self) -> None:
        """One GET must come back with the body."""
        with socket.create_connection((HOST, self.port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if not got.endswith(b"Hello, world!"):
                raise RuntimeError(f"server answered {got!r}")


def _wrk(ctx: Context, port: int, seconds: float) -> tuple[float, int]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise Unavailable("wrk is not installed (Debian package: wrk)")
    cmd = [wrk, "-t1", "-c50", f"-d{max(1, round(seconds))}s", f"http://{HOST}:{port}/"]
    done = subprocess.run(
        pinned(ctx, 1, cmd), capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    rate = _RATE.search(done.stdout)
    count = _REQUESTS.search(done.stdout)
    if done.returncode or rate is None or count is None:
        raise RuntimeError(f"wrk failed: {done.stdout.strip()} {done.stderr.strip()}")
    bad = _ERRORS.search(done.stdout)
    if bad and bad.group(1):
        raise RuntimeError(f"wrk saw non-2xx answers: {bad.group(0)}")
    return float(rate.group(1)), int(count.group(1))


def _hello(impl: str) -> Measure:
    def measure(ctx: Context) -> list[float]:
        port = freePort()
        script = str(ctx.benchDir / "servers" / "web_hello.py")
        with _HTTPServer(ctx, [ctx.python, script, impl, str(port)], port) as server:
            _wrk(ctx, port, 1)  # warm-up
            samples = []
            for _ in range(ctx.samples):
                before = cpuSeconds(server.pid)
                rate, count = _wrk(ctx, port, ctx.seconds)
                server.checkAlive()
                samples.append(rate)
                if count:
                    ctx.record(SERVER_CPU, (cpuSeconds(server.pid) - before) * 1e6 / count)
            return samples

    return measure


_SOURCE = "issue 8: plait >= 3x twisted.web and >= 2x aiohttp on uvloop"

ROWS = [
    Row(
        id="web.hello",
        title='HTTP/1.1 keep-alive GET of a 13-byte "Hello, world!" resource, wrk -t1 -c50',
        unit="req/s",
        impls=tuple(
            Impl(name, _hello(name))
            for name in ("plait-epoll", "plait-uvloop", "twisted", "aiohttp")
        ),
        targets=(
            Target("twisted", 3.0, plait="plait-epoll", source=_SOURCE),
            Target("aiohttp", 2.0, plait="plait-uvloop", source=_SOURCE),
        ),
        seconds=(5.0, 2.0),
        timeout=lambda ctx: 60 + ctx.samples * (ctx.seconds + 10),
    )
]
