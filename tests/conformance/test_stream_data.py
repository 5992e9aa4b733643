"""Stream transports move bytes intact and end connections the documented ways."""

from __future__ import annotations

import random
from typing import Any

import pytest

from plait.defer import Deferred, DeferredList, Failure
from plait.protocol import ClientFactory, ConnectionAborted, ConnectionDone, Protocol

from ._support import (
    Echo,
    HalfCloseableEcho,
    SenderFactory,
    ServerFactory,
    chunked,
)
from .conftest import TransportKind, runUntil

SIZES = [1, 1000, 65537, 1 << 20, 16 << 20]


@pytest.mark.parametrize("size", SIZES)
def test_echo_integrity(reactor: Any, kind: TransportKind, size: int) -> None:
    """Bytes written in random chunks come back identical through an echo server."""
    rng = random.Random(size)
    data = rng.randbytes(size)
    port = kind.listen(reactor, ServerFactory())
    client = SenderFactory(chunked(data, rng, max(1, min(size, 300_000))), expect=size)
    kind.connect(reactor, port, client)
    received, reason = runUntil(reactor, client.done)
    assert len(received) == size
    assert received == data
    assert reason.check(ConnectionDone)


def test_many_concurrent_connections(reactor: Any, kind: TransportKind, manyFiles: int) -> None:
    """1,000 clients at once each get their own echo (select(): as many as FD_SETSIZE allows)."""
    count = 1000 if reactor.backendName != "select" else 400
    if manyFiles < 2 * count + 64:
        pytest.skip(f"RLIMIT_NOFILE {manyFiles} is too low for {count} connections")
    server = ServerFactory()
    port = kind.listen(reactor, server, backlog=1024)
    clients = []
    for i in range(count):
        payload = b"hello %d" % i
        f = SenderFactory([payload], expect=len(payload))
        clients.append((payload, f))
        kind.connect(reactor, port, f, timeout=9)
    results = runUntil(
        reactor, DeferredList([f.done for _, f in clients], consumeErrors=True), timeout=20
    )
    for (payload, _), (ok, value) in zip(clients, results, strict=True):
        assert ok, value
        assert value[0] == payload
    assert len(server.made) == count


def test_half_close_with_half_closeable_server(reactor: Any, kind: TransportKind) -> None:
    """The client's loseWriteConnection reaches readConnectionLost; the server still answers."""
    port = kind.listen(reactor, ServerFactory(HalfCloseableEcho))
    client = SenderFactory([b"a" * 100_000, b"b" * 5], expect=0, halfClose=True)
    kind.connect(reactor, port, client)
    received, reason = runUntil(reactor, client.done)
    assert received == b"got 100005"
    assert reason.check(ConnectionDone)


def test_half_close_with_plain_server_loses_nothing(reactor: Any, kind: TransportKind) -> None:
    """A peer's half-close ends a plain echo connection only after all echoes are flushed."""
    data = random.Random(7).randbytes(4 << 20)
    server = ServerFactory()
    port = kind.listen(reactor, server)
    client = SenderFactory(chunked(data, random.Random(8), 100_000), expect=0, halfClose=True)
    kind.connect(reactor, port, client)
    received, reason = runUntil(reactor, client.done)
    assert received == data
    assert reason.check(ConnectionDone)
    assert server.made[0].lost[0].check(ConnectionDone)


class Aborter(Protocol):
    """Buffers a lot, then aborts."""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"x" * (8 << 20))
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.reason = reason
        self.factory.onLost.callback(self)


def test_abort(reactor: Any, kind: TransportKind) -> None:
    """abortConnection ends with ConnectionAborted on our side; the peer sees the end."""
    server = ServerFactory(Aborter)
    port = kind.listen(reactor, server)
    client = SenderFactory([], expect=1 << 30)
    kind.connect(reactor, port, client)
    both = DeferredList([server.onLost, client.done])
    (_, aborter), (_, (received, clientReason)) = runUntil(reactor, both)
    assert aborter.reason.check(ConnectionAborted)
    assert len(received) < 8 << 20
    assert clientReason is not None


class Flooder(Protocol):
    """A push producer writing 16 KiB chunks whenever it is not paused; tracks the buffer."""

    CHUNK = b"f" * 16384
    TOTAL = 8 << 20

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.sent = 0
        self.paused = False
        self.maxBuffered = 0
        self.pauses = 0
        self.transport.registerProducer(self, True)
        self.factory.flooder = self
        self.resumeProducing()

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resumeProducing(self) -> None:
        self.paused = False
        self.produce()

    def produce(self) -> None:
        t: Any = self.transport
        while not self.paused and self.sent < self.TOTAL:
            t.write(self.CHUNK)
            self.sent += len(self.CHUNK)
            self.maxBuffered = max(self.maxBuffered, t.getWriteBufferSize())
        if self.sent >= self.TOTAL:
            t.unregisterProducer()
            t.loseConnection()

    def stopProducing(self) -> None:
        self.paused = True


class SlowReader(Protocol):
    """Reads with pauses: after each 256 KiB it stops reading for 20 ms."""

    def connectionMade(self) -> None:
        self.received = 0
        self.mark = 0

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        if self.received - self.mark > 256 * 1024:
            self.mark = self.received
            t: Any = self.transport
            t.pauseProducing()
            self.factory.reactor.callLater(0.02, t.resumeProducing)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.done.callback(self.received)


def test_producer_backpressure_bounds_the_buffer(reactor: Any, kind: TransportKind) -> None:
    """A fast push producer into a slow reader: the writer's buffer stays near its high mark."""
    server = ServerFactory(Flooder)
    port = kind.listen(reactor, server)
    client = ClientFactory.forProtocol(SlowReader)
    client.reactor = reactor  # type: ignore[attr-defined]
    client.done = Deferred()  # type: ignore[attr-defined]
    kind.connect(reactor, port, client)
    received = runUntil(reactor, client.done)  # type: ignore[attr-defined]
    flooder = server.flooder  # type: ignore[attr-defined]
    assert received == Flooder.TOTAL
    assert flooder.pauses > 0
    assert flooder.maxBuffered <= 64 * 1024 + len(Flooder.CHUNK)


def test_connection_lost_once_when_reactor_stops(reactor: Any, kind: TransportKind) -> None:
    """Stopping the reactor with open (and paused) connections loses each exactly once."""
    server = ServerFactory()
    port = kind.listen(reactor, server)
    clients = [SenderFactory([b"hi"], expect=10**9) for _ in range(6)]
    for f in clients:
        kind.connect(reactor, port, f)
    ready: Deferred[None] = Deferred()

    def check() -> None:
        if len(server.made) == 6 and all(p.transport for p in server.made):
            server.made[0].transport.pauseProducing()
            server.made[1].transport.pauseProducing()
            ready.callback(None)
        else:
            reactor.callLater(0.01, check)

    reactor.callLater(0.01, check)
    runUntil(reactor, ready)
    assert [len(p.lost) for p in server.made] == [1] * 6
    for f in clients:
        assert len(f.instance.lost) == 1
    assert all(isinstance(p, Echo) for p in server.made)


class Closer(Protocol):
    """Loses its connection as soon as it is made."""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.loseConnection()


class Reconnecting(ClientFactory):
    """Connects twice: clientConnectionLost calls connector.connect() once."""

    protocol = Closer

    def __init__(self) -> None:
        self.events: list[str] = []
        self.done: Deferred[None] = Deferred()

    def startFactory(self) -> None:
        self.events.append("start")

    def stopFactory(self) -> None:
        self.events.append("stop")
        self.done.callback(None)

    def startedConnecting(self, connector: Any) -> None:
        self.events.append("connecting")

    def buildProtocol(self, addr: Any) -> Any:
        self.events.append("connected")
        return super().buildProtocol(addr)

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.events.append("lost")
        if self.events.count("lost") == 1:
            connector.connect()


def test_connector_reconnects(reactor: Any, kind: TransportKind) -> None:
    """A factory may call connector.connect() from clientConnectionLost; then it stops once."""
    port = kind.listen(reactor, ServerFactory())
    client = Reconnecting()
    connector = kind.connect(reactor, port, client)
    runUntil(reactor, client.done)
    assert client.events == [
        "start",
        "connecting",
        "connected",
        "lost",
        "connecting",
        "connected",
        "lost",
        "stop",
    ]
    assert connector.state == "disconnected"


class PullWriter(Protocol):
    """A pull producer of 200 small chunks, registered on its own transport."""

    def connectionMade(self) -> None:
        self.count = 0
        assert self.transport is not None
        self.transport.registerProducer(self, False)

    def resumeProducing(self) -> None:
        t: Any = self.transport
        self.count += 1
        if self.count <= 200:
            t.write(b"%04d" % self.count)
        else:
            t.unregisterProducer()
            t.loseConnection()

    def stopProducing(self) -> None:
        pass


def test_pull_producer(reactor: Any, kind: TransportKind) -> None:
    """A pull producer is asked for more each time the transport drains, until it stops."""
    port = kind.listen(reactor, ServerFactory(PullWriter))
    expected = b"".join(b"%04d" % i for i in range(1, 201))
    client = SenderFactory([], expect=len(expected))
    kind.connect(reactor, port, client)
    received, reason = runUntil(reactor, client.done)
    assert received == expected
    assert reason.check(ConnectionDone)
