"""plait's TLS against real peers no one here wrote: openssl s_client / s_server, socat,
curl, and Python's own ``ssl`` module (each skipped when its binary is absent).

Certificates are made per session by ``tests/tls/certs.py``; every peer verifies plait's
certificate (and plait verifies theirs) against that CA, for the host name ``localhost``.
"""

from __future__ import annotations

import random
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.protocol import ClientFactory, ConnectionDone, ConnectionRefusedError, Factory, Protocol
from plait.reactor import reactorClassNamed, reactorNames
from plait.tls import clientOptions, serverOptions

OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")
SOCAT = shutil.which("socat")
TIMEOUT = 20.0


@pytest.fixture(params=[n for n in ("epoll", "poll", "select") if n in reactorNames()])
def reactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh reactor of each backend."""
    r = reactorClassNamed(request.param)()
    yield r
    if r._started:
        r.crash()
        r._started = False
    r.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """CA, server and client certificates as files (and the server options)."""
    from ..tls.certs import CA

    d = tmp_path_factory.mktemp("pki")
    ca = CA("interop CA")
    (d / "ca.pem").write_bytes(ca.certPEM)
    cert, key = ca.issue("localhost", "127.0.0.1").write(d, "server")
    return {
        "dir": d,
        "ca": str(d / "ca.pem"),
        "cert": str(cert),
        "key": str(key),
        "server": serverOptions(cert, key, acceptableProtocols=["h2", "http/1.1"]),
    }


def runUntil(reactor: Any, d: Deferred[Any]) -> Any:
    """Run until ``d`` fires (or fail after TIMEOUT seconds)."""
    box: list[Any] = []

    def done(result: object) -> None:
        box.append(result)
        if reactor.running:
            reactor.stop()

    reactor.callWhenRunning(d.addBoth, done)
    guard = reactor.callLater(TIMEOUT, lambda: reactor.running and reactor.stop())
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    assert box, f"timed out after {TIMEOUT}s"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def inThread(reactor: Any, work: Callable[[], Any]) -> Any:
    """Run blocking ``work`` in a thread while the reactor runs; its result (or error)."""
    finished: Deferred[Any] = Deferred()

    def run() -> None:
        try:
            result = work()
        except BaseException as e:
            reactor.callFromThread(finished.errback, Failure(e))
        else:
            reactor.callFromThread(finished.callback, result)

    worker = threading.Thread(target=run)
    reactor.callWhenRunning(worker.start)
    try:
        return runUntil(reactor, finished)
    finally:
        worker.join(TIMEOUT)


class CountingEcho(Protocol):
    """Echoes; closes (with close_notify) after ``factory.expect`` bytes."""

    def connectionMade(self) -> None:
        self.count = 0

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self.count += len(data)
        if self.count >= self.factory.expect:  # type: ignore[attr-defined]
            self.transport.loseConnection()


def echoFactory(expect: int) -> Factory:
    f = Factory.forProtocol(CountingEcho)
    f.expect = expect  # type: ignore[attr-defined]
    return f


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (apt-get install openssl)")
def test_openssl_s_client_against_plait_echo(reactor: Any, pki: dict[str, Any]) -> None:
    """openssl s_client verifies plait's certificate for localhost and gets its bytes back."""
    payload = b"".join(b"line %d of the interop payload\n" % i for i in range(2000))
    port = reactor.listenSSL(0, echoFactory(len(payload)), pki["server"], interface="127.0.0.1")
    number = port.getHost().port

    def client() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(OPENSSL), "s_client", "-connect", f"127.0.0.1:{number}", "-CAfile", pki["ca"],
             "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost",
             "-alpn", "h2", "-brief", "-ign_eof"],
            input=payload, capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip

    result = inThread(reactor, client)
    assert result.returncode == 0, result.stderr
    assert result.stdout == payload
    info = result.stderr.decode()
    assert "Verification: OK" in info
    assert "Verified peername: localhost" in info
    assert "TLSv1.3" in info


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (apt-get install openssl)")
def test_openssl_s_client_with_wrong_ca_is_refused(reactor: Any, pki: dict[str, Any]) -> None:
    """s_client trusting another CA refuses plait's certificate (the check is real)."""
    from ..tls.certs import CA

    other = pki["dir"] / "other-ca.pem"
    other.write_bytes(CA("not trusted").certPEM)
    port = reactor.listenSSL(0, echoFactory(1), pki["server"], interface="127.0.0.1")
    number = port.getHost().port

    def client() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(OPENSSL), "s_client", "-connect", f"127.0.0.1:{number}", "-CAfile", str(other),
             "-verify_return_error", "-brief"],
            input=b"", capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip

    result = inThread(reactor, client)
    assert result.returncode != 0
    assert b"unable to get local issuer certificate" in result.stderr


class Fetcher(Protocol):
    """Sends ``factory.request`` once connected, collects the response until the close."""

    def connectionMade(self) -> None:
        self.received = bytearray()
        assert self.transport is not None
        self.transport.write(self.factory.request)  # type: ignore[attr-defined]

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.done.callback((bytes(self.received), reason))  # type: ignore[attr-defined]


class Retrying(ClientFactory):
    """Retries refused connects while the peer starts (up to ~5 s)."""

    protocol = Fetcher

    def __init__(self, reactor: Any, request: bytes) -> None:
        self.reactor = reactor
        self.request = request
        self.done: Deferred[tuple[bytes, Failure]] = Deferred()
        self.tries = 0

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.tries += 1
        if reason.check(ConnectionRefusedError) and self.tries < 100:
            self.reactor.callLater(0.05, connector.connect)
        else:
            self.done.errback(reason)


def peer(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip


def stop(p: subprocess.Popen[bytes]) -> None:
    p.terminate()
    p.wait(5)
    assert p.stderr is not None
    p.stderr.close()


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (apt-get install openssl)")
def test_plait_client_against_openssl_s_server(reactor: Any, pki: dict[str, Any]) -> None:
    """plait's verifying client fetches openssl s_server -www's status page."""
    number = freePort()
    server = peer([str(OPENSSL), "s_server", "-accept", f"127.0.0.1:{number}", "-cert",
                   pki["cert"], "-key", pki["key"], "-www", "-naccept", "1"])  # fmt: skip
    try:
        factory = Retrying(reactor, b"GET / HTTP/1.0\r\n\r\n")
        reactor.connectSSL("localhost", number, factory, clientOptions("localhost", pki["ca"]))
        received, reason = runUntil(reactor, factory.done)
    finally:
        stop(server)
    assert received.startswith(b"HTTP/1.0 200 ok")
    assert b"TLSv1.3" in received
    assert reason.check(ConnectionDone)


class Talker(Protocol):
    """Sends the payload, half-closes (close_notify), collects the echo until the close."""

    def connectionMade(self) -> None:
        self.received = bytearray()
        t: Any = self.transport
        t.write(self.factory.payload)
        t.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def readConnectionLost(self) -> None:
        assert self.transport is not None
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.done.callback((bytes(self.received), reason))


@pytest.mark.skipif(SOCAT is None, reason="socat is not installed (apt-get install socat)")
def test_plait_client_against_socat_tls_echo(reactor: Any, pki: dict[str, Any]) -> None:
    """plait's client sends 1 MiB through socat's OPENSSL-LISTEN echo and reads it back."""
    number = freePort()
    server = peer([str(SOCAT), f"OPENSSL-LISTEN:{number},bind=127.0.0.1,reuseaddr,fork,"
                   f"cert={pki['cert']},key={pki['key']},verify=0", "EXEC:cat"])  # fmt: skip
    try:
        factory = Retrying(reactor, b"")
        factory.protocol = Talker  # type: ignore[assignment]
        factory.payload = random.Random(3).randbytes(1 << 20)  # type: ignore[attr-defined]
        reactor.connectSSL("127.0.0.1", number, factory, clientOptions("localhost", pki["ca"]))
        received, reason = runUntil(reactor, factory.done)
    finally:
        stop(server)
    assert received == factory.payload  # type: ignore[attr-defined]
    assert reason.check(ConnectionDone)


class TinyHTTP(Protocol):
    """Answers any request with a fixed response naming the negotiated ALPN protocol."""

    def connectionMade(self) -> None:
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" in self.buffer:
            t: Any = self.transport
            body = b"hello from plait over " + (t.negotiatedProtocol or b"no ALPN") + b"\n"
            t.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                    b"Connection: close\r\n\r\n%s" % (len(body), body))  # fmt: skip
            t.loseConnection()


@pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")
def test_curl_https_against_plait(reactor: Any, pki: dict[str, Any]) -> None:
    """curl --cacert verifies plait's certificate for localhost and gets the response."""
    http = serverOptions(pki["cert"], pki["key"], acceptableProtocols=["http/1.1"])
    port = reactor.listenSSL(0, Factory.forProtocol(TinyHTTP), http, interface="127.0.0.1")
    number = port.getHost().port

    def client() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(CURL), "-sS", "--max-time", "10", "--cacert", pki["ca"], "--resolve",
             f"localhost:{number}:127.0.0.1", f"https://localhost:{number}/",
             "-w", "\nverify=%{ssl_verify_result} http=%{http_code}"],
            capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip

    result = inThread(reactor, client)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello from plait over http/1.1\n\nverify=0 http=200"


def test_python_ssl_client_against_plait(reactor: Any, pki: dict[str, Any]) -> None:
    """A blocking stdlib ssl client in a thread: verified, 256 KiB echoed, clean unwrap."""
    payload = random.Random(4).randbytes(256 * 1024)
    port = reactor.listenSSL(0, echoFactory(len(payload)), pki["server"], interface="127.0.0.1")
    number = port.getHost().port

    def client() -> tuple[bytes, str | None]:
        context = ssl.create_default_context(cafile=pki["ca"])
        with (
            socket.create_connection(("127.0.0.1", number), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as s,
        ):
            s.sendall(payload)
            got = bytearray()
            while True:
                chunk = s.recv(65536)
                if not chunk:  # plait's close_notify
                    break
                got += chunk
            version = s.version()
        return bytes(got), version

    received, version = inThread(reactor, client)
    assert received == payload
    assert version == "TLSv1.3"
