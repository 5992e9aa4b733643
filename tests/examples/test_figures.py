"""The paper's figures as programs (examples/): run as subprocesses with hard timeouts."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plait.reactor import reactorNames

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


BACKENDS = [name for name in ("select", "poll", "epoll") if name in reactorNames()]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each reactor backend, chosen for the example through PLAIT_REACTOR."""
    name: str = request.param
    return name


def _env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PLAIT_REACTOR"] = backend
    return env


def _run(name: str, backend: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(backend),
    )


def _freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _startEchoServer(backend: str) -> tuple[subprocess.Popen[str], socket.socket]:
    """Start echoserv.py on a free port; returns it and a socket connected to it."""
    for _ in range(3):  # the free port may be taken again before the server binds it
        port = _freePort()
        server = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "echoserv.py"), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(backend),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and server.poll() is None:
            try:
                return server, socket.create_connection(("127.0.0.1", port), timeout=5)
            except ConnectionRefusedError:
                time.sleep(0.05)
        server.kill()
        server.communicate(timeout=10)
    pytest.fail("echoserv.py never accepted a connection")


def test_echo_server_echoes_and_stops_on_sigterm(backend: str) -> None:
    """Figure 2: the echo server echoes what a plain socket sends; SIGTERM stops it cleanly."""
    server, client = _startEchoServer(backend)
    try:
        with client:
            client.settimeout(10)
            for message in (b"hello, world\n", b"x" * 100_000):
                client.sendall(message)
                received = b""
                while len(received) < len(message):
                    chunk = client.recv(65536)
                    assert chunk, "server closed the connection"
                    received += chunk
                assert received == message
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=10)
    assert server.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr


def test_threads_prints_the_result_from_the_thread(backend: str) -> None:
    """Figure 3: the thread's result is printed by the loop thread and the program exits 0."""
    out = _run("threads.py", backend)
    assert out.returncode == 0, out.stderr
    expected = sum(i * i for i in range(100000))
    assert out.stdout.strip() == f"Result computed in a thread: {expected}"
    assert out.stderr == ""


def test_deferreds_prints_result_error_and_log_lines(backend: str) -> None:
    """Figure 4: the callback and the errback both print; plait.log lines show; exit 0."""
    out = _run("deferreds.py", backend)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "Got the result: 9" in lines
    assert "Got an error: no data for a negative number" in lines
    logLines = [line for line in lines if re.search(r"\[__main__#info\]", line)]
    assert len(logLines) == 3
    assert logLines[-1].endswith("Both requests are done; stopping the reactor")
    assert out.stderr == ""
