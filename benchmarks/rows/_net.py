"""Starting, probing and stopping servers, and driving the C load generator (stdlib only)."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from . import Context, Unavailable

HOST = "127.0.0.1"
UNAVAILABLE_EXIT = 3  # servers/echo.py exits with this when the implementation is missing


def freePort() -> int:
    """A currently free TCP port on 127.0.0.1, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def pinned(ctx: Context, cpu: int, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if ctx.pin else cmd


class Server:
    """A server subprocess: started, probed until it echoes, and killed on exit (bounded)."""

    def __init__(self, ctx: Context, cmd: list[str], port: int, startTimeout: float = 20) -> None:
        self.ctx, self.cmd, self.port, self.startTimeout = ctx, cmd, port, startTimeout
        # Closed in stop(); the server's output explains a failed start.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        # taskset execs the server, so proc.pid is the server's own pid (for its RSS).
        self.proc = subprocess.Popen(
            pinned(self.ctx, 0, self.cmd), stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.startTimeout
        try:
            while True:
                self.checkAlive()
                try:
                    self.probe()
                    return self
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"server did not answer within {self.startTimeout} s"
                        ) from None
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        excType: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace").strip()

    def checkAlive(self) -> None:
        assert self.proc is not None
        code = self.proc.poll()
        if code is None:
            return
        tail = " | ".join(self.output().splitlines()[-3:])
        if code == UNAVAILABLE_EXIT:
            raise Unavailable(tail.removeprefix("unavailable: "))
        raise RuntimeError(f"server exited with status {code}: {tail}")

    def probe(self) -> None:
        """Connect, send a few bytes and expect them back."""
        with socket.create_connection((HOST, self.port), timeout=2) as s:
            s.sendall(b"probe")
            got = b""
            while len(got) < 5:
                chunk = s.recv(5 - len(got))
                if not chunk:
                    raise ConnectionError("closed during probe")
                got += chunk
            if got != b"probe":
                raise RuntimeError(f"server echoed {got!r} instead of b'probe'")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def loadgen(ctx: Context, args: list[str], timeout: float) -> dict[str, float]:
    """Run the C load generator to completion and return its JSON result."""
    cmd = pinned(ctx, 1, [str(ctx.buildDir / "loadgen"), *args])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"load generator timed out after {timeout:.0f} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"load generator: {done.stderr.strip() or done.returncode}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def cpuSeconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rssKiB(pid: int) -> int:
    """Resident set size of a process, in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def idleConnectionsKiB(ctx: Context, server: Server, count: int, timeout: float) -> float:
    """Open `count` idle connections to the server; return its RSS growth per connection."""
    time.sleep(0.3)
    before = rssKiB(server.pid)
    cmd = pinned(
        ctx, 1, [str(ctx.buildDir / "loadgen"), "idle", HOST, str(server.port), str(count)]
    )
    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as gen:
        try:
            assert gen.stdout is not None and gen.stdin is not None
            with selectors.DefaultSelector() as sel:
                sel.register(gen.stdout, selectors.EVENT_READ)
                if not sel.select(timeout):
                    raise RuntimeError(f"{count} idle connections not open after {timeout} s")
            line = gen.stdout.readline()
            if b"ready" not in line:
                err = gen.stderr.read().decode(errors="replace") if gen.stderr else ""
                raise RuntimeError(f"load generator: {err.strip() or line!r}")
            server.checkAlive()
            time.sleep(0.5)  # let the server settle (lazy allocations, GC)
            after = rssKiB(server.pid)
            server.checkAlive()
            gen.stdin.close()
            gen.wait(timeout=30)
        finally:
            if gen.poll() is None:
                os.kill(gen.pid, signal.SIGKILL)
    return (after - before) / count
