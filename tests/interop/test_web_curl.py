"""``plait web`` against clients no one here wrote: curl and Python's http.client/urllib."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from ._plaitcmd import plaitCommand

CURL = shutil.which("curl")
OPENSSL = shutil.which("openssl")
needsCurl = pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")
LISTEN = ["--listen", "tcp:0:interface=127.0.0.1"]


@pytest.fixture
def www(tmp_path: Path) -> Path:
    """A served directory with a text file and a 1 MB binary."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello from plait\n")
    (root / "big.bin").write_bytes(os.urandom(1_000_000))
    return root


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run curl with a time limit."""
    assert CURL is not None
    return subprocess.run([CURL, "-sS", "--max-time", "20", *args], capture_output=True, timeout=30)


def test_urllib_and_http_client(www: Path) -> None:
    """urllib fetches a file; http.client reuses one connection for several requests."""
    with plaitCommand("web", "--path", str(www), *LISTEN) as (port, lines):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=10) as r:
            assert r.read() == b"hello from plait\n"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/big.bin")
            response = conn.getresponse()
            assert response.status == 200 and len(response.read()) == 1_000_000
        conn.request("POST", "/hello.txt", body=b"x" * 10, headers={"Expect": "100-continue"})
        assert conn.getresponse().status == 405
        conn.close()
    assert any(f"Serving {www} on http://127.0.0.1:{port}/" in line for line in lines)


@needsCurl
def test_curl_keep_alive_and_range(www: Path) -> None:
    """curl fetches two URLs over one connection, and a byte range."""
    with plaitCommand("web", "--path", str(www), *LISTEN) as (port, _):
        base = f"http://127.0.0.1:{port}"
        result = curl("-v", f"{base}/hello.txt", f"{base}/hello.txt")
        assert result.stdout == b"hello from plait\n" * 2
        assert b"Re-using existing connection" in result.stderr
        ranged = curl("-r", "0-99", f"{base}/big.bin")
        assert ranged.stdout == (www / "big.bin").read_bytes()[:100]


@needsCurl
def test_curl_unknown_expectation_417(www: Path) -> None:
    """An Expect other than 100-continue is answered 417 (RFC 9110 10.1.1), then the server
    still serves the next connection."""
    with plaitCommand("web", "--path", str(www), *LISTEN) as (port, _):
        base = f"http://127.0.0.1:{port}"
        result = curl(
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Expect: x-magic",
            "-d",
            "x",
            f"{base}/hello.txt",
        )
        assert result.stdout == b"417"
        assert curl(f"{base}/hello.txt").stdout == b"hello from plait\n"


RESOURCE = """
from plait.web import Resource


class Upload(Resource):
    isLeaf = True

    def render_POST(self, request):
        return b"%d" % len(request.content.read())

    def render_GET(self, request):
        return b"Hello, world!"


root = Upload()
"""


@needsCurl
def test_curl_chunked_upload_and_expect(tmp_path: Path) -> None:
    """curl uploads chunked, and a large body with Expect: 100-continue, to a --resource."""
    (tmp_path / "upmod.py").write_text(RESOURCE)
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(3_000_000))
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{before or ''}"  # the child inherits it
    try:
        with plaitCommand("web", "--resource", "upmod:root", *LISTEN) as (port, _):
            url = f"http://127.0.0.1:{port}/"
            chunked = curl("-H", "Transfer-Encoding: chunked", "--data-binary", f"@{data}", url)
            assert chunked.stdout == b"3000000"
            expect = curl("-v", "--expect100-timeout", "10", "--data-binary", f"@{data}", url)
            assert expect.stdout == b"3000000"
            assert b"HTTP/1.1 100 Continue" in expect.stderr
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


@needsCurl
@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_curl_https(www: Path, tmp_path: Path) -> None:
    """curl --cacert fetches over an ssl: endpoint with a certificate for localhost."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [str(OPENSSL), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    both = tmp_path / "both.pem"
    both.write_bytes(key.read_bytes() + cert.read_bytes())
    listen = f"ssl:0:interface=127.0.0.1:privateKey={both}"
    with plaitCommand("web", "--path", str(www), "--listen", listen) as (port, lines):
        result = curl("--cacert", str(cert), f"https://localhost:{port}/hello.txt")
        assert result.stdout == b"hello from plait\n", result.stderr
    assert any("https://127.0.0.1:" in line for line in lines)


def test_sigterm_exits_zero(www: Path) -> None:
    """plait web stops with status 0 on SIGTERM."""
    child = subprocess.Popen(
        [sys.executable, "-m", "plait.app._cli", "web", "--path", str(www), *LISTEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = None
        for _ in range(50):
            line = child.stdout.readline()
            if "Serving" in line:
                port = int(line.rsplit(":", 1)[1].strip().strip("/"))
                break
        assert port is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=10) as r:
            assert r.status == 200
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=15) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
