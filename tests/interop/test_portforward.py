"""``plait portforward`` as a child process: 100 MB each way intact, half-close, refusal."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ._plaitcmd import plaitCommand

SIZE = 100 * 1024 * 1024
CHUNK = bytes(range(256)) * 256  # 64 KiB


@pytest.fixture
def echo() -> Iterator[int]:
    """A threaded TCP echo server that half-closes after the peer's EOF; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(60)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(60)
            while data := conn.recv(262144):
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    thread.join(timeout=10)


def test_100_megabytes_both_ways(echo: int) -> None:
    """100 MB sent through the forwarder comes back intact (sha256) after a half-close."""
    with plaitCommand(
        "portforward", "--listen", "tcp:0:interface=127.0.0.1", "--connect", f"tcp:127.0.0.1:{echo}"
    ) as (port, _):
        started = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sent = hashlib.sha256()
        received = hashlib.sha256()

        def send() -> None:
            for _ in range(SIZE // len(CHUNK)):
                sock.sendall(CHUNK)
                sent.update(CHUNK)
            sock.shutdown(socket.SHUT_WR)  # the echo server sees EOF only if it is propagated

        sender = threading.Thread(target=send)
        sender.start()
        total = 0
        with sock:
            while data := sock.recv(262144):
                received.update(data)
                total += len(data)
        sender.join(timeout=60)
        elapsed = time.monotonic() - started
    assert total == SIZE
    assert received.hexdigest() == sent.hexdigest()
    assert elapsed < 90, f"{elapsed:.1f}s"


def test_connect_failure_closes_inbound() -> None:
    """When the target refuses, the inbound connection is closed and a line is logged."""
    closed = socket.create_server(("127.0.0.1", 0))
    deadPort = closed.getsockname()[1]
    closed.close()
    with plaitCommand(
        "portforward",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--connect",
        f"tcp:127.0.0.1:{deadPort}",
    ) as (port, lines):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert sock.recv(10) == b""
        deadline = time.monotonic() + 5
        while not any("cannot connect" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert any("cannot connect" in line for line in lines)
