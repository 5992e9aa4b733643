"""``plait socks`` against curl's SOCKS4, SOCKS4a and SOCKS5 clients (skipped without curl).

curl fetches from a stdlib ``http.server`` on 127.0.0.1 through the proxy, which runs as a
child process on an ephemeral port.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._plaitcmd import plaitCommand

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed (Debian: curl)")
BODY = b"hello through socks\n" * 100


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with BODY."""

    def do_GET(self) -> None:
        """Send BODY."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@pytest.fixture(scope="module")
def web() -> Iterator[int]:
    """A local HTTP server; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run curl with a time bound."""
    assert CURL is not None
    return subprocess.run(
        [CURL, "-sS", "--max-time", "10", *args], capture_output=True, timeout=30, check=False
    )


@pytest.mark.parametrize("mode", ["--socks4", "--socks4a", "--socks5", "--socks5-hostname"])
def test_curl_through_socks(web: int, mode: str) -> None:
    """curl fetches a page through plait socks in each SOCKS mode."""
    with plaitCommand(
        "socks", "--listen", "tcp:0:interface=127.0.0.1", "--allow", "127.0.0.0/8"
    ) as (
        port,
        _,
    ):
        result = curl(mode, f"127.0.0.1:{port}", f"http://localhost:{web}/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == BODY


def test_curl_refused_destination(web: int) -> None:
    """A destination outside --allow is refused: curl fails and plait logs why."""
    with plaitCommand(
        "socks", "--listen", "tcp:0:interface=127.0.0.1", "--allow", "10.0.0.0/8"
    ) as (
        port,
        lines,
    ):
        result = curl("--socks5-hostname", f"127.0.0.1:{port}", f"http://localhost:{web}/")
        deadline = time.monotonic() + 5
        while not any("not admitted" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert result.returncode == 97, result.stderr  # CURLE_PROXY
    assert any("not admitted by any --allow rule" in line for line in lines)


def test_curl_socks5_auth(web: int, tmp_path: Path) -> None:
    """SOCKS5 with --users: curl's --proxy-user works; a wrong password is refused."""
    users = tmp_path / "users"
    users.write_text("alice:s3cret\n")
    with plaitCommand(
        "socks",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--allow",
        "127.0.0.1/32",
        "--users",
        str(users),
    ) as (port, _):
        proxy = f"127.0.0.1:{port}"
        good = curl(
            "--socks5-hostname", proxy, "--proxy-user", "alice:s3cret", f"http://localhost:{web}/"
        )
        bad = curl(
            "--socks5-hostname", proxy, "--proxy-user", "alice:wrong", f"http://localhost:{web}/"
        )
    assert good.returncode == 0, good.stderr
    assert good.stdout == BODY
    assert bad.returncode == 97
