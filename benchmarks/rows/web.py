"""HTTP rows, all driven by wrk (Debian package ``wrk``; without it the rows say so).

- web.hello: a 13-byte "Hello, world!" resource under ``wrk -t1 -c50``: plait's ``Site`` on its
  epoll reactor and on uvloop (``UVLoopReactor``), Twisted's ``twisted.web.server.Site`` on its
  epoll reactor and aiohttp on uvloop, each through its ordinary resource/handler API with
  access logging off (servers/web_hello.py); for reference the floor a Python server can reach
  (a bare httptools+uvloop protocol writing a canned answer) and nginx with one process as the
  ceiling (servers/web_nginx.py, a temporary config in a temporary directory).
- web.latency.p50 / .p99: the same servers at ``wrk -t1 -c1 --latency`` (one request in
  flight), the 50th and 99th percentile latency; nginx shows the machine's own floor (a p99
  that is high for nginx too is the machine's scheduling noise, not the framework's).
- web.static: a 1 MiB file through ``wrk -t1 -c10``: plait's ``static.File``, Twisted's
  ``static.File`` and nginx (sendfile), in MB/s (10^6 bytes of body per second).
- web.workers: ``plait --workers 2 web --resource ...`` against ``--workers 1`` (the ratio is
  the scaling factor); this row is not pinned, the workers and wrk share the machine's CPUs.

The server is pinned to CPU 0 and wrk to CPU 1 (when taskset and two CPUs exist); each sample
is one wrk run of ``ctx.seconds`` (5 s; with ``--quick`` 2 s, 1 s for web.static and web.workers)
after a 1 s warm-up run.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import Context, Impl, Measure, Row, Target, Unavailable
from ._net import HOST, Server, cpuSeconds, freePort, pinned

SERVER_CPU = "server_cpu_us_per_op"
_REQUESTS = re.compile(r"^\s*(\d+) requests in", re.M)
_RATE = re.compile(r"Requests/sec:\s*([\d.]+)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")
_P50 = re.compile(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_P99 = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_TO_US = {"us": 1.0, "ms": 1e3, "s": 1e6}
STATIC_SIZE = 1 << 20
STATIC_NAME = "1mib.bin"


class _HTTPServer(Server):
    path = b"/"

    def probe(self) -> None:
        """One GET must come back with the body."""
        with socket.create_connection((HOST, self.port), timeout=2) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n" % self.path)
            got = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            if not got.endswith(b"Hello, world!"):
                raise RuntimeError(f"server answered {got!r}")


class _StaticServer(_HTTPServer):
    path = b"/hello.txt"


def _wrkRun(
    ctx: Context, port: int, seconds: float, connections: int = 50, path: str = "/"
) -> subprocess.CompletedProcess[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise Unavailable("wrk is not installed (Debian package: wrk)")
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    return subprocess.run(
        pinned(ctx, 1, [*cmd, f"http://{HOST}:{port}{path}"]),
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )


def _wrk(
    ctx: Context, port: int, seconds: float, connections: int = 50, path: str = "/"
) -> tuple[float, int, str]:
    """One wrk run: requests/s, how many requests, and wrk's report (for the latencies)."""
    done = _wrkRun(ctx, port, seconds, connections, path)
    rate = _RATE.search(done.stdout)
    count = _REQUESTS.search(done.stdout)
    if done.returncode or rate is None or count is None:
        raise RuntimeError(f"wrk failed: {done.stdout.strip()} {done.stderr.strip()}")
    bad = _ERRORS.search(done.stdout)
    if bad and bad.group(1):
        raise RuntimeError(f"wrk saw non-2xx answers: {bad.group(0)}")
    return float(rate.group(1)), int(count.group(1)), done.stdout


def _percentile(report: str, pattern: re.Pattern[str]) -> float:
    """A latency percentile of wrk's ``--latency`` report, in microseconds."""
    m = pattern.search(report)
    if m is None:
        raise RuntimeError(f"no latency distribution in wrk's report: {report.strip()}")
    return float(m.group(1)) * _TO_US[m.group(2)]


@contextmanager
def _helloServer(ctx: Context, impl: str) -> Iterator[Server]:
    """The hello server of ``impl`` (web_hello.py, or nginx in a temporary directory)."""
    port = freePort()
    servers = ctx.benchDir / "servers"
    if impl != "nginx":
        cmd = [ctx.python, str(servers / "web_hello.py"), impl, str(port)]
        with _HTTPServer(ctx, cmd, port) as server:
            yield server
        return
    with tempfile.TemporaryDirectory(prefix="plait-bench-nginx-") as tmp:
        cmd = [ctx.python, str(servers / "web_nginx.py"), str(port), tmp, tmp]
        with _HTTPServer(ctx, cmd, port) as server:
            yield server


def _hello(impl: str) -> Measure:
    def measure(ctx: Context) -> list[float]:
        with _helloServer(ctx, impl) as server:
            _wrk(ctx, server.port, 1)  # warm-up
            samples = []
            for _ in range(ctx.samples):
                before = cpuSeconds(server.pid)
                rate, count, _ = _wrk(ctx, server.port, ctx.seconds)
                server.checkAlive()
                samples.append(rate)
                if count:
                    ctx.record(SERVER_CPU, (cpuSeconds(server.pid) - before) * 1e6 / count)
            return samples

    return measure


def _latency(impl: str, pattern: re.Pattern[str]) -> Measure:
    def measure(ctx: Context) -> list[float]:
        with _helloServer(ctx, impl) as server:
            _wrk(ctx, server.port, 1, connections=1)  # warm-up
            samples = []
            for _ in range(ctx.samples):
                _, _, report = _wrk(ctx, server.port, ctx.seconds, connections=1)
                server.checkAlive()
                samples.append(_percentile(report, pattern))
            return samples

    return measure


def _staticRoot(root: Path) -> None:
    (root / "hello.txt").write_bytes(b"Hello, world!")
    (root / STATIC_NAME).write_bytes(os.urandom(STATIC_SIZE))


def _static(impl: str) -> Measure:
    def measure(ctx: Context) -> list[float]:
        servers = ctx.benchDir / "servers"
        with tempfile.TemporaryDirectory(prefix="plait-bench-static-") as tmp:
            root = Path(tmp) / "root"
            root.mkdir()
            _staticRoot(root)
            port = freePort()
            if impl == "nginx":
                cmd = [ctx.python, str(servers / "web_nginx.py"), str(port), tmp, str(root)]
            else:
                cmd = [ctx.python, str(servers / "web_static.py"), impl, str(port), str(root)]
            with _StaticServer(ctx, cmd, port) as server:
                path = "/" + STATIC_NAME
                _wrk(ctx, port, 1, connections=10, path=path)  # warm-up
                samples = []
                for _ in range(ctx.samples):
                    before = cpuSeconds(server.pid)
                    rate, count, _ = _wrk(ctx, port, ctx.seconds, connections=10, path=path)
                    server.checkAlive()
                    samples.append(rate * STATIC_SIZE / 1e6)
                    if count:
                        megabytes = count * STATIC_SIZE / 1e6
                        ctx.record(SERVER_CPU, (cpuSeconds(server.pid) - before) * 1e6 / megabytes)
            return samples

    return measure


def _workers(count: int) -> Measure:
    def measure(ctx: Context) -> list[float]:
        # Not pinned: N workers must be free to use every CPU (and wrk shares them).
        free = dataclasses.replace(ctx, pin=False)
        plait = str(Path(ctx.python).parent / "plait")
        if not os.access(plait, os.X_OK):
            raise Unavailable(f"no plait command in the benchmark venv ({plait})")
        os.environ["PYTHONPATH"] = str(ctx.benchDir / "servers")  # for --resource web_resource
        port = freePort()
        cmd = [plait, "--log-level", "warn", "--workers", str(count), "web", "--no-access-log"]
        cmd += ["--resource", "web_resource:hello", "--listen", f"tcp:{port}:interface={HOST}"]
        with _HTTPServer(free, cmd, port) as server:
            _wrk(free, port, 1)  # warm-up
            samples = []
            for _ in range(ctx.samples):
                rate, _, _ = _wrk(free, port, ctx.seconds)
                server.checkAlive()
                samples.append(rate)
            return samples

    return measure


_SOURCE = "issue 8: plait >= 3x twisted.web and >= 2x aiohttp on uvloop"
_FRAMEWORKS = ("plait-epoll", "plait-uvloop", "twisted", "aiohttp")
_TIMEOUT = 60.0


def _timeout(ctx: Context) -> float:
    return _TIMEOUT + ctx.samples * (ctx.seconds + 10)


ROWS = [
    Row(
        id="web.hello",
        title='HTTP/1.1 keep-alive GET of a 13-byte "Hello, world!" resource, wrk -t1 -c50',
        unit="req/s",
        impls=(
            *(Impl(name, _hello(name)) for name in _FRAMEWORKS),
            Impl("httptools", _hello("httptools"), reference=True),
            Impl("nginx", _hello("nginx"), reference=True),
        ),
        targets=(
            Target("twisted", 3.0, plait="plait-epoll", source=_SOURCE),
            Target("aiohttp", 2.0, plait="plait-uvloop", source=_SOURCE),
        ),
        seconds=(5.0, 2.0),
        timeout=_timeout,
        note="httptools = a bare httptools+uvloop protocol; nginx = one process",
    ),
    Row(
        id="web.latency.p50",
        title="median latency of the same GET at wrk -t1 -c1 (one request in flight)",
        unit="us",
        higherIsBetter=False,
        impls=(
            *(Impl(name, _latency(name, _P50)) for name in _FRAMEWORKS),
            Impl("nginx", _latency("nginx", _P50), reference=True),
        ),
        seconds=(5.0, 2.0),
        timeout=_timeout,
    ),
    Row(
        id="web.latency.p99",
        title="99th-percentile latency of the same GET at wrk -t1 -c1",
        unit="us",
        higherIsBetter=False,
        impls=(
            *(Impl(name, _latency(name, _P99)) for name in _FRAMEWORKS),
            Impl("nginx", _latency("nginx", _P99), reference=True),
        ),
        targets=(Target("aiohttp", 1.0, plait="plait-uvloop", source="issue 8: p99 <= aiohttp's"),),
        seconds=(5.0, 2.0),
        timeout=_timeout,
    ),
    Row(
        id="web.static",
        title="a 1 MiB static file, keep-alive GETs, wrk -t1 -c10",
        unit="MB/s",
        impls=tuple(Impl(name, _static(name)) for name in ("plait", "twisted", "nginx")),
        seconds=(5.0, 1.0),
        timeout=_timeout,
        note="plait/twisted static.File on epoll; nginx one process, sendfile",
    ),
    Row(
        id="web.workers",
        title='plait web --workers 2 vs --workers 1, "Hello, world!" resource, wrk -t1 -c50',
        unit="req/s",
        impls=(
            Impl("plait-workers-2", _workers(2)),
            Impl("workers-1", _workers(1)),
        ),
        seconds=(5.0, 1.0),
        timeout=_timeout,
        note="the ratio is the scaling factor; not pinned",
    ),
]
