"""Which of AsyncioReactor's transports run on asyncio's own (uvloop's C) transports."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ClientFactory, ConnectionRefusedError, Protocol
from plait.reactor import AsyncioReactor, ReactorNotRunning
from plait.reactor._asyncio_stream import AsyncioTCPConnection, AsyncioUNIXConnection

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
if importlib.util.find_spec("uvloop") is not None:
    import uvloop

    LOOPS["uvloop"] = uvloop.new_event_loop


@pytest.fixture(params=sorted(LOOPS))
def reactor(request: pytest.FixtureRequest) -> Any:
    """An AsyncioReactor on a fresh loop of each kind (it owns and closes the loop)."""
    loop = LOOPS[request.param]()
    r = AsyncioReactor(loop)
    r._ownsLoop = True
    yield r
    if not loop.is_closed():
        loop.close()


class Recorder(Protocol):
    """Records its transport's type and what it received; echoes on the server side."""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.factory.seen.append(self.transport)  # type: ignore[union-attr]
        if isinstance(self.transport, AsyncioTCPConnection):
            self.factory.nodelay.append(self.transport.getTcpNoDelay())  # type: ignore[union-attr]
        if self.factory.greeting:  # type: ignore[union-attr]
            self.transport.write(self.factory.greeting)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        if self.factory.greeting:  # type: ignore[union-attr]
            self.factory.got.append(data)  # type: ignore[union-attr]
            self.transport.loseConnection()
        else:
            self.transport.write(data)


class RecorderFactory(ClientFactory):
    """Server or client factory for Recorder; the client greets and stops the reactor."""

    protocol = Recorder

    def __init__(self, reactor: Any, greeting: bytes = b"") -> None:
        self.reactor = reactor
        self.greeting = greeting
        self.seen: list[Any] = []
        self.nodelay: list[bool] = []
        self.got: list[bytes] = []
        self.lost: list[Failure] = []
        self.failed: list[Failure] = []

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.lost.append(reason)
        stop(self.reactor)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.failed.append(reason)
        stop(self.reactor)


def stop(reactor: AsyncioReactor) -> None:
    """Stop the reactor unless it is stopping already."""
    try:
        reactor.stop()
    except ReactorNotRunning:
        pass


def run(reactor: AsyncioReactor) -> None:
    """Run until stopped, at most 5 s."""
    guard = reactor.callLater(5, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert not guard.called, "the reactor did not stop by itself"


def test_tcp_client_and_server_on_asyncio_transports(reactor: AsyncioReactor) -> None:
    """connectTCP's and listenTCP's connections are asyncio-transport facades, Nagle on."""
    server = RecorderFactory(reactor)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    client = RecorderFactory(reactor, greeting=b"hello")
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    run(reactor)
    assert client.got == [b"hello"]
    assert [type(t) for t in server.seen + client.seen] == [AsyncioTCPConnection] * 2
    assert server.nodelay == client.nodelay == [False]  # asyncio turned it on; plait, off
    assert client.lost[0].type.__name__ == "ConnectionDone"
    assert client.seen[0].getPeer() == port.getHost()


def test_unix_client_and_server_on_asyncio_transports(reactor: AsyncioReactor) -> None:
    """connectUNIX's and listenUNIX's connections are asyncio-transport facades."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.sock")
        server = RecorderFactory(reactor)
        port = reactor.listenUNIX(path, server)
        client = RecorderFactory(reactor, greeting=b"over unix")
        reactor.connectUNIX(path, client)
        run(reactor)
        assert client.got == [b"over unix"]
        assert [type(t) for t in server.seen + client.seen] == [AsyncioUNIXConnection] * 2
        assert server.seen[0].getHost() == port.getHost()
        assert client.seen[0].getPeer() == port.getHost()
        assert not os.path.exists(path)  # removed at shutdown


def test_refused_connect_is_connection_refused_error(reactor: AsyncioReactor) -> None:
    """A refused connectTCP reaches clientConnectionFailed as ConnectionRefusedError."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closedPort = s.getsockname()[1]
    client = RecorderFactory(reactor, greeting=b"x")
    reactor.connectTCP("127.0.0.1", closedPort, client)
    run(reactor)
    assert client.failed[0].check(ConnectionRefusedError)
    assert client.seen == []


def test_bind_address_is_used(reactor: AsyncioReactor) -> None:
    """connectTCP's bindAddress is the connection's local address."""
    server = RecorderFactory(reactor)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]
    client = RecorderFactory(reactor, greeting=b"bound")
    reactor.connectTCP("127.0.0.1", port.getHost().port, client, bindAddress=("127.0.0.1", local))
    run(reactor)
    assert server.seen[0].getPeer().port == local


def test_lose_connection_before_asyncio_made_it(reactor: AsyncioReactor) -> None:
    """connector.disconnect() between buildProtocol and asyncio's connection_made still
    makes, then loses, the connection (ConnectionDone)."""
    server = RecorderFactory(reactor)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    events: list[str] = []

    class Early(Protocol):
        def connectionMade(self) -> None:
            events.append("made")

        def connectionLost(self, reason: Any = None) -> None:
            events.append("lost")

    class EarlyFactory(ClientFactory):
        protocol = Early

        def buildProtocol(self, addr: Any) -> Any:
            p = super().buildProtocol(addr)
            reactor.callLater(0, connector.disconnect)  # before the loop makes it
            return p

        def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
            events.append(reason.type.__name__)
            reactor.stop()

    connector = reactor.connectTCP("127.0.0.1", port.getHost().port, EarlyFactory())
    run(reactor)
    assert events == ["made", "lost", "ConnectionDone"]


def test_shutdown_while_connecting_fails_the_attempt(reactor: AsyncioReactor) -> None:
    """A connection still being set up by asyncio at shutdown is reported failed, never made."""
    server = RecorderFactory(reactor)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    client = RecorderFactory(reactor, greeting=b"x")

    class StopOnBuild(RecorderFactory):
        def buildProtocol(self, addr: Any) -> Any:
            reactor.stop()  # shutdown runs before asyncio calls connection_made
            return super().buildProtocol(addr)

    client = StopOnBuild(reactor, greeting=b"x")
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    run(reactor)
    assert client.seen == []
    assert len(client.failed) == 1 and client.lost == []
