"""TLS over real loopback sockets on every backend: listenSSL/connectSSL, startTLS on TCP and
Unix sockets, and the TLS endpoints and their strings (each run bounded in time)."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred, Failure, ensureDeferred
from plait.endpoints import (
    UNIXServerEndpoint,
    clientFromString,
    connectProtocol,
    serverFromString,
    wrapServerTLS,
)
from plait.protocol import ClientFactory, ConnectionDone, Factory, Protocol
from plait.reactor import reactorClassNamed, reactorNames
from plait.testing import MemoryReactor
from plait.tls import TLSVerificationError, clientOptions, serverOptions

from .certs import CA, Leaf

BACKENDS = [name for name in ("select", "poll", "epoll") if name in reactorNames()]


@pytest.fixture(params=BACKENDS)
def reactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new reactor of each backend, closed after the test."""
    r = reactorClassNamed(request.param)()
    yield r
    if r._started:
        r.crash()
    r.close()


@pytest.fixture
def files(tmp_path: Path, ca: CA, serverLeaf: Leaf) -> dict[str, str]:
    """The CA, server certificate and key as PEM files."""
    cert, key = serverLeaf.write(tmp_path, "server")
    caFile = tmp_path / "ca.pem"
    caFile.write_bytes(ca.certPEM)
    return {"cert": str(cert), "key": str(key), "ca": str(caFile)}


@pytest.fixture
def sockDir() -> Iterator[str]:
    """A short directory for Unix socket paths."""
    with tempfile.TemporaryDirectory(prefix="plait-tls-", dir="/tmp") as d:
        yield d


def runMain(reactor: Any, main: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Run ``reactor`` until ``main()`` finishes (at most ``timeout`` s); its result or error."""
    outcome: list[Any] = []

    def finish(result: object) -> None:
        outcome.append(result)
        reactor.stop()

    reactor.callWhenRunning(lambda: ensureDeferred(main()).addBoth(finish))
    guard = reactor.callLater(timeout, reactor.stop)
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    assert outcome, f"nothing happened within {timeout}s"
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


class Echo(Protocol):
    """Echoes what it receives."""

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class Collector(Protocol):
    """Writes ``message`` once connected; fires ``done`` with (bytes, reason) when lost."""

    def __init__(self, message: bytes = b"", expect: int = 0) -> None:
        self.message = message
        self.expect = expect
        self.received = bytearray()
        self.done: Deferred[tuple[bytes, Failure]] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self.message)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= self.expect:
            assert self.transport is not None
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.done.callback((bytes(self.received), reason))


def test_endpoint_strings_round_trip(reactor: Any, files: dict[str, str]) -> None:
    """ssl: server and tls: client strings: verified handshake, ALPN, echo, clean close."""

    async def main() -> Any:
        server = serverFromString(
            reactor,
            f"ssl:0:privateKey={files['key']}:certKey={files['cert']}"
            ":interface=127.0.0.1:alpn=h2,http/1.1",
        )
        port = await server.listen(Factory.forProtocol(Echo))
        client = clientFromString(
            reactor,
            f"tls:127.0.0.1:{port.getHost().port}:trustRoots={files['ca']}:alpn=h2",
        )
        proto = Collector(b"hello over TLS", expect=14)
        connected = await connectProtocol(client, proto)
        assert connected is proto
        assert proto.transport is not None
        negotiated = proto.transport.negotiatedProtocol  # type: ignore[attr-defined]
        result = await proto.done
        await port.stopListening()
        return negotiated, result

    negotiated, (received, reason) = runMain(reactor, main)
    assert negotiated == b"h2"
    assert received == b"hello over TLS"
    assert reason.check(ConnectionDone)


def test_endpoint_verification_failure(reactor: Any, files: dict[str, str], otherCA: CA) -> None:
    """A tls: client that does not trust the server fails connect with TLSVerificationError."""
    other = Path(files["ca"]).with_name("other.pem")
    other.write_bytes(otherCA.certPEM)

    async def main() -> Any:
        server = serverFromString(
            reactor, f"ssl:0:privateKey={files['key']}:certKey={files['cert']}:interface=127.0.0.1"
        )
        port = await server.listen(Factory.forProtocol(Echo))
        client = clientFromString(
            reactor, f"tls:127.0.0.1:{port.getHost().port}:trustRoots={other}"
        )
        try:
            await connectProtocol(client, Collector())
        except TLSVerificationError as e:
            return str(e)
        finally:
            await port.stopListening()
        raise AssertionError("connected")

    message = runMain(reactor, main)
    assert "unable to get local issuer certificate" in message


def test_tls_over_unix_endpoints(reactor: Any, sockDir: str, ca: CA, serverLeaf: Leaf) -> None:
    """wrapServerTLS on a Unix endpoint, and a tls: client string over a unix: endpoint."""
    path = f"{sockDir}/s"
    caFile = f"{sockDir}/ca.pem"
    Path(caFile).write_bytes(ca.certPEM)

    async def main() -> Any:
        server = wrapServerTLS(
            serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM), UNIXServerEndpoint(reactor, path)
        )
        port = await server.listen(Factory.forProtocol(Echo))
        client = clientFromString(
            reactor, f"tls:localhost:endpoint=unix\\:{path}:trustRoots={caFile}"
        )
        proto = Collector(b"unix + tls", expect=10)
        await connectProtocol(client, proto)
        assert proto.transport is not None
        version = proto.transport.getTLSVersion()  # type: ignore[attr-defined]
        result = await proto.done
        await port.stopListening()
        return version, result

    version, (received, reason) = runMain(reactor, main)
    assert version == "TLSv1.3"
    assert received == b"unix + tls"
    assert reason.check(ConnectionDone)


class Outcome(ClientFactory):
    """A client factory firing ``result`` with ('failed'|'lost', reason)."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.result: Deferred[tuple[str, Failure]] = Deferred()

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.result.callback(("failed", reason))

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.result.callback(("lost", reason))


def test_listen_and_connect_ssl(reactor: Any, ca: CA, serverLeaf: Leaf) -> None:
    """listenSSL/connectSSL: echo with the host name checked; clientConnectionLost after."""
    factory = Outcome(lambda: Collector(b"ping", expect=4))

    async def main() -> Any:
        port = reactor.listenSSL(
            0,
            Factory.forProtocol(Echo),
            serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM),
            interface="127.0.0.1",
        )
        # A bare SSLContext: connectSSL's host is the name checked.
        context = clientOptions("unused", ca.certPEM).getContext()
        reactor.connectSSL("localhost", port.getHost().port, factory, context)
        outcome = await factory.result
        await port.stopListening()
        return outcome

    how, reason = runMain(reactor, main)
    assert how == "lost"
    assert reason.check(ConnectionDone)


def test_connect_ssl_verification_failure(reactor: Any, otherCA: CA, serverLeaf: Leaf) -> None:
    """connectSSL to an untrusted server: clientConnectionFailed with TLSVerificationError."""
    factory = Outcome(Collector)

    async def main() -> Any:
        port = reactor.listenSSL(
            0,
            Factory.forProtocol(Echo),
            serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM),
            interface="127.0.0.1",
        )
        reactor.connectSSL(
            "127.0.0.1", port.getHost().port, factory, clientOptions("localhost", otherCA.certPEM)
        )
        outcome = await factory.result
        await port.stopListening()
        return outcome

    how, reason = runMain(reactor, main)
    assert how == "failed"
    assert reason.check(TLSVerificationError)


class StartTLSServer(Protocol):
    """Says b"220\\n"; on b"STARTTLS\\n" answers b"GO\\n" in the clear and starts TLS."""

    options: Any = None

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.buffer = b""
        self.secure = False
        self.transport.write(b"220\n")

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        if self.secure:
            self.transport.write(data.upper())
            return
        self.buffer += data
        if self.buffer.endswith(b"STARTTLS\n"):
            self.transport.write(b"GO\n")
            self.transport.startTLS(self.factory.options)  # type: ignore[attr-defined]
            self.secure = True


class StartTLSClient(Collector):
    """Reads the greeting, asks for TLS, then writes b"secret" and expects it upper-cased."""

    options: Any = None

    def connectionMade(self) -> None:
        self.clear = b""
        self.secure = False

    def dataReceived(self, data: bytes) -> None:
        if self.secure:
            super().dataReceived(data)
            return
        self.clear += data
        assert self.transport is not None
        if self.clear == b"220\n":
            self.transport.write(b"STARTTLS\n")
        elif self.clear == b"220\nGO\n":
            self.secure = True
            self.transport.startTLS(self.options)  # type: ignore[attr-defined]
            self.transport.write(b"secret")


@pytest.mark.parametrize("family", ["tcp", "unix"])
def test_start_tls(reactor: Any, family: str, sockDir: str, ca: CA, serverLeaf: Leaf) -> None:
    """transport.startTLS on a live TCP or Unix connection, after a cleartext exchange."""
    serverFactory = Factory.forProtocol(StartTLSServer)
    serverFactory.options = serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM)  # type: ignore[attr-defined]
    client = StartTLSClient(expect=6)
    client.options = clientOptions("localhost", ca.certPEM)

    async def main() -> Any:
        if family == "tcp":
            port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
            reactor.connectTCP(
                "127.0.0.1", port.getHost().port, ClientFactory.forProtocol(lambda: client)
            )
        else:
            port = reactor.listenUNIX(f"{sockDir}/st", serverFactory)
            reactor.connectUNIX(f"{sockDir}/st", ClientFactory.forProtocol(lambda: client))
        result = await client.done
        await port.stopListening()
        return result

    received, reason = runMain(reactor, main)
    assert received == b"SECRET"
    assert reason.check(ConnectionDone)
    assert client.transport is not None
    assert client.transport.getTLSVersion() == "TLSv1.3"  # type: ignore[attr-defined]


def test_string_errors(files: dict[str, str]) -> None:
    """Bad ssl:/tls: descriptions are ValueErrors naming the problem."""
    reactor = MemoryReactor()
    with pytest.raises(ValueError, match="missing privateKey"):
        serverFromString(reactor, "ssl:443")
    with pytest.raises(ValueError, match="privateKey needs certificate"):
        clientFromString(reactor, f"tls:example.com:443:privateKey={files['key']}")
    with pytest.raises(ValueError, match="missing port"):
        clientFromString(reactor, "tls:example.com")
    insecure = clientFromString(reactor, "tls:example.com:443:insecureNoVerify=1")
    assert insecure is not None


class Silent(Protocol):
    """Accepts and says nothing (a TLS client's handshake never completes)."""

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.lost.callback(True)  # type: ignore[attr-defined]


def test_cancel_during_handshake(reactor: Any, ca: CA) -> None:
    """Cancelling a tls: connect stuck in its handshake fails it and drops the connection."""
    from plait.protocol import ConnectingCancelledError

    silent = Factory.forProtocol(Silent)
    silent.lost = Deferred()  # type: ignore[attr-defined]

    async def main() -> Any:
        port = reactor.listenTCP(0, silent, interface="127.0.0.1")
        client = clientFromString(reactor, f"tls:127.0.0.1:{port.getHost().port}")
        d = connectProtocol(client, Collector())
        reactor.callLater(0.2, d.cancel)
        try:
            await d
        except ConnectingCancelledError:
            pass
        else:
            raise AssertionError("connected")
        await silent.lost  # type: ignore[attr-defined]
        await port.stopListening()
        return True

    assert runMain(reactor, main)
