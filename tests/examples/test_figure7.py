"""Figure 7 (examples/http_sketch.py): line mode for headers, raw mode for the body, over TCP."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """http_sketch.py on a free port; yields (process, port); SIGTERMs it afterwards."""
    for _ in range(3):  # the free port may be taken again before the server binds it
        port = _freePort()
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "http_sketch.py"), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        if proc.poll() is None and time.monotonic() < deadline:
            try:
                yield proc, port
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    _, stderr = proc.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate(timeout=10)
                    raise
            assert proc.returncode in (0, -signal.SIGTERM), stderr
            assert "Traceback" not in stderr, stderr
            return
        proc.kill()
        proc.communicate(timeout=10)
    pytest.fail("http_sketch.py never accepted a connection")


def _readResponse(sock: socket.socket, buffered: bytes = b"") -> tuple[bytes, bytes, bytes]:
    """Read one response: (status line + headers, body, bytes after it)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before the headers: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")).split(
            b":"
        )[1]
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed inside the body"
        rest += chunk
    return head, rest[:length], rest[length:]


def test_body_sent_in_pieces_then_a_pipelined_request(
    server: tuple[subprocess.Popen[str], int],
) -> None:
    """A POST whose body arrives in pieces, with the next request glued to it, both answered."""
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        pieces = [
            b"POST /echo HT",
            b"TP/1.1\r\nHost: x\r\nContent-Le",
            b"ngth: 11\r\n\r",
            b"\nhello",
            b" ",
            b"worldGET /next HTTP/1.1\r\n\r\n",
        ]
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.02)  # let each piece arrive on its own
        head, body, rest = _readResponse(sock)
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert body == b"POST /echo: 11 bytes: hello world"
        head, body, rest = _readResponse(sock, rest)
        assert body == b"GET /next: 0 bytes: "
        assert rest == b""


def test_http10_request_closes_and_bad_request_is_refused(
    server: tuple[subprocess.Popen[str], int],
) -> None:
    """An HTTP/1.0 request is answered and closed; a malformed request line gets a 400."""
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        _, body, rest = _readResponse(sock)
        assert body == b"GET /: 0 bytes: "
        assert rest == b"" and sock.recv(100) == b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"nonsense\r\n")
        head, _, _ = _readResponse(sock)
        assert head.startswith(b"HTTP/1.1 400")
