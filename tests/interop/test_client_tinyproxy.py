"""plait.web.client's ProxyAgent through a real proxy: tinyproxy (Debian package tinyproxy).

tinyproxy runs in the foreground (``-d``) from a temporary config on 127.0.0.1 and a port
chosen free by the kernel, logging to a temporary file; no system service is involved. The
origin is a plait ``Site`` on the test's reactor, over HTTP and over HTTPS with a certificate
for ``localhost`` from a throwaway CA: ``http://`` goes to the proxy in absolute form (tinyproxy
adds its ``Via`` header, which the origin echoes), ``https://`` through CONNECT with verified
TLS inside the tunnel (tinyproxy's log shows the CONNECT). Skips when tinyproxy is missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.defer import inlineCallbacks
from plait.endpoints import TCP4ClientEndpoint
from plait.reactor import reactorClassNamed, reactorNames
from plait.tls import TLSVerificationError, serverOptions
from plait.web import Resource, Site
from plait.web.client import (
    BrowserLikePolicyForHTTPS,
    BytesBodyProducer,
    HTTPConnectionPool,
    ProxyAgent,
)
from plait.web.server import Request

from .test_client_nginx import freePort, get, runUntil

TINYPROXY = shutil.which("tinyproxy") or (
    "/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None
)
pytestmark = pytest.mark.skipif(
    TINYPROXY is None, reason="tinyproxy is not installed (apt-get install tinyproxy)"
)
START_TIMEOUT = 10.0


class TinyProxy:
    """A tinyproxy process with its own config, pid and log files in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log = directory / "tinyproxy.log"
        self.port = freePort()
        config = directory / "tinyproxy.conf"
        config.write_text(
            f"Port {self.port}\n"
            "Listen 127.0.0.1\n"
            "Timeout 20\n"
            f'PidFile "{directory}/tinyproxy.pid"\n'
            f'LogFile "{self.log}"\n'
            "LogLevel Info\n"
            "MaxClients 16\n"
            "Allow 127.0.0.1\n"
        )
        assert TINYPROXY is not None
        self.process = subprocess.Popen(
            [TINYPROXY, "-d", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self.waitUntilListening()
        except BaseException:
            self.stop()
            raise

    def waitUntilListening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read() if self.process.stderr else b""
                raise RuntimeError(f"tinyproxy exited {self.process.returncode}: {err!r}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"tinyproxy did not listen within {START_TIMEOUT} s")

    def logText(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyProxy]:
    """tinyproxy on 127.0.0.1, a free port, config and log in a temporary directory."""
    for attempt in range(3):
        try:
            proxy = TinyProxy(tmp_path_factory.mktemp("tinyproxy"))
            break
        except RuntimeError:  # the free port was taken meanwhile: pick another
            if attempt == 2:
                raise
    yield proxy
    proxy.stop()


class Echo(Resource):
    """Answers with the method, target, the Via header and whether TLS was used."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        via = request.getHeader(b"via") or b"-"
        secure = b"tls" if request.isSecure() else b"plain"
        return b"%s %s %s via=%s" % (request.method, request.uri, secure, via)

    def render_POST(self, request: Request) -> bytes:
        body = request.content.read()
        return b"POST %d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A fresh reactor with a plait origin on 127.0.0.1 over HTTP and HTTPS (test CA)."""
    from ..tls.certs import CA

    name = "epoll" if "epoll" in reactorNames() else "select"
    reactor = reactorClassNamed(name)()
    ca = CA("tinyproxy interop CA")
    (tmp_path / "ca.pem").write_bytes(ca.certPEM)
    cert, key = ca.issue("localhost", "127.0.0.1").write(tmp_path, "origin")
    site = Site(Echo(), reactor, accessLog=False)
    http = reactor.listenTCP(0, site, interface="127.0.0.1")
    https = reactor.listenSSL(0, site, serverOptions(cert, key), interface="127.0.0.1")
    yield {
        "reactor": reactor,
        "http": http.getHost().port,
        "https": https.getHost().port,
        "ca": str(tmp_path / "ca.pem"),
    }
    http.stopListening()
    https.stopListening()
    if reactor._started:
        reactor.crash()
        reactor._started = False
    reactor.close()


def proxyAgent(origin: dict[str, Any], proxy: TinyProxy, **kwargs: Any) -> ProxyAgent:
    reactor = origin["reactor"]
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", proxy.port, timeout=10)
    return ProxyAgent(endpoint, reactor, **kwargs)


def test_plain_http_through_tinyproxy(origin: dict[str, Any], tinyproxy: TinyProxy) -> None:
    """An http:// GET goes through tinyproxy (absolute form; its Via reaches the origin)."""
    agent = proxyAgent(origin, tinyproxy)
    uri = f"http://127.0.0.1:{origin['http']}/plain?x=1"
    code, _, body = runUntil(origin["reactor"], get(agent, uri))
    assert code == 200
    assert body.startswith(b"GET /plain?x=1 plain via=1.1 ")
    assert b"tinyproxy/" in body
    assert f"GET {uri} HTTP/1.1" in tinyproxy.logText()


def test_several_requests_through_tinyproxy(origin: dict[str, Any], tinyproxy: TinyProxy) -> None:
    """Three GETs in a row through one pool all arrive (tinyproxy closes after each)."""
    reactor = origin["reactor"]
    pool = HTTPConnectionPool(reactor)
    agent = proxyAgent(origin, tinyproxy, pool=pool)
    base = f"http://127.0.0.1:{origin['http']}"

    @inlineCallbacks
    def run() -> Any:
        bodies = []
        for n in range(3):
            bodies.append((yield get(agent, f"{base}/n{n}"))[2].split(b" ")[1])
        pool.closeCachedConnections()
        return bodies

    assert runUntil(reactor, run()) == [b"/n0", b"/n1", b"/n2"]


def test_https_connect_through_tinyproxy(origin: dict[str, Any], tinyproxy: TinyProxy) -> None:
    """An https:// GET tunnels with CONNECT; TLS inside is verified against the test CA."""
    agent = proxyAgent(origin, tinyproxy, tlsPolicy=BrowserLikePolicyForHTTPS(origin["ca"]))
    uri = f"https://localhost:{origin['https']}/secret"
    code, _, body = runUntil(origin["reactor"], get(agent, uri))
    # The tunnel is opaque: tinyproxy cannot add Via to what is inside it.
    assert (code, body) == (200, b"GET /secret tls via=-")
    assert f"CONNECT localhost:{origin['https']} HTTP/1.1" in tinyproxy.logText()


def test_https_through_tinyproxy_still_verifies(
    origin: dict[str, Any], tinyproxy: TinyProxy
) -> None:
    """Through the tunnel, a certificate the trust store does not know is refused."""
    agent = proxyAgent(origin, tinyproxy)
    with pytest.raises(TLSVerificationError):
        runUntil(origin["reactor"], get(agent, f"https://localhost:{origin['https']}/"))


def test_post_bodies_through_tinyproxy(origin: dict[str, Any], tinyproxy: TinyProxy) -> None:
    """A 200 kB POST body arrives intact through tinyproxy, in plain HTTP and in the tunnel."""
    body = os.urandom(200_000)
    expected = b"POST 200000 " + hashlib.sha256(body).hexdigest().encode()
    agent = proxyAgent(origin, tinyproxy, tlsPolicy=BrowserLikePolicyForHTTPS(origin["ca"]))
    reactor = origin["reactor"]

    @inlineCallbacks
    def run() -> Any:
        plain = yield get(
            agent, f"http://127.0.0.1:{origin['http']}/up", b"POST", BytesBodyProducer(body)
        )
        tunnelled = yield get(
            agent, f"https://localhost:{origin['https']}/up", b"POST", BytesBodyProducer(body)
        )
        return plain, tunnelled

    plain, tunnelled = runUntil(reactor, run())
    assert (plain[0], plain[2]) == (200, expected)
    assert (tunnelled[0], tunnelled[2]) == (200, expected)
