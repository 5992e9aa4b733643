"""connect/IOPump: two protocols talking through in-memory transports."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import (
    ConnectionAborted,
    ConnectionDone,
    ConnectionLost,
    Protocol,
    connectionDone,
)
from plait.testing import Clock, IOPump, connect, connectedServerAndClient


class Peer(Protocol):
    """Records what happens to it; writes a greeting if given one."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.received: list[bytes] = []
        self.lost: list[Failure] = []
        self.readLost = 0

    def connectionMade(self) -> None:
        if self.greeting:
            self.transport.write(self.greeting)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost.append(reason)

    @property
    def data(self) -> bytes:
        return b"".join(self.received)


class HalfCloser(Peer):
    def readConnectionLost(self) -> None:
        self.readLost += 1


class PullProducer:
    """Writes one chunk per resumeProducing, then unregisters."""

    def __init__(self, transport: Any, chunks: list[bytes]) -> None:
        self.transport = transport
        self.chunks = list(chunks)
        self.stopped = False

    def resumeProducing(self) -> None:
        if self.chunks:
            self.transport.write(self.chunks.pop(0))
        else:
            self.transport.unregisterProducer()

    def stopProducing(self) -> None:
        self.stopped = True


class PushProducer:
    def __init__(self) -> None:
        self.events: list[str] = []

    def pauseProducing(self) -> None:
        self.events.append("pause")

    def resumeProducing(self) -> None:
        self.events.append("resume")

    def stopProducing(self) -> None:
        self.events.append("stop")


def pair(**kw: Any) -> tuple[Peer, Peer, IOPump]:
    server, client = kw.pop("server", Peer()), kw.pop("client", Peer())
    return server, client, connect(server, client, **kw)


def test_greetings_are_delivered_on_connect() -> None:
    """connect() makes both connections and flushes connectionMade writes."""
    server, client, pump = pair(server=Peer(b"220 hi"), client=Peer(b"HELO"))
    assert server.data == b"HELO" and client.data == b"220 hi"
    assert pump.server is server and pump.client is client


def test_writes_move_only_when_pumped() -> None:
    """Bytes stay buffered until pump(); pump() reports whether anything moved."""
    server, client, pump = pair()
    client.transport.write(b"abc")  # type: ignore[union-attr]
    assert server.data == b""
    assert pump.pump() is True
    assert server.data == b"abc"
    assert pump.pump() is False


def test_lose_connection_delivers_pending_data_first() -> None:
    """loseConnection closes both sides with ConnectionDone after the data is delivered."""
    server, client, pump = pair()
    server.transport.write(b"bye")  # type: ignore[union-attr]
    server.transport.loseConnection()  # type: ignore[union-attr]
    pump.flush()
    assert client.data == b"bye"
    assert [f.type for f in server.lost] == [ConnectionDone]
    assert [f.type for f in client.lost] == [ConnectionDone]
    assert not pump.serverIO.connected


def test_closing_side_reads_no_more() -> None:
    """After loseConnection a side gets no more data; what the peer still sends is dropped."""
    server, client, pump = pair()
    client.transport.write(b"too late")  # type: ignore[union-attr]
    server.transport.loseConnection()  # type: ignore[union-attr]
    pump.flush()
    assert server.data == b""
    assert [f.type for f in server.lost] == [ConnectionDone]


def test_abort_drops_pending_data() -> None:
    """abortConnection drops buffered bytes: ConnectionAborted here, ConnectionLost there."""
    server, client, pump = pair()
    client.transport.write(b"never")  # type: ignore[union-attr]
    client.transport.abortConnection()  # type: ignore[union-attr]
    pump.flush()
    assert server.data == b""
    assert [f.type for f in client.lost] == [ConnectionAborted]
    assert [f.type for f in server.lost] == [ConnectionLost]


def test_writes_after_close_are_dropped() -> None:
    """Writing to a closed transport does nothing."""
    server, client, pump = pair()
    client.transport.loseConnection()  # type: ignore[union-attr]
    pump.flush()
    client.transport.write(b"late")  # type: ignore[union-attr]
    assert pump.pump() is False
    assert server.data == b""


def test_half_close_reaches_a_half_closeable_peer() -> None:
    """loseWriteConnection calls the peer's readConnectionLost; the peer may still write."""
    server, client, pump = pair(server=HalfCloser())
    client.transport.loseWriteConnection()  # type: ignore[union-attr]
    pump.flush()
    assert server.readLost == 1 and server.lost == []
    server.transport.write(b"reply")  # type: ignore[union-attr]
    pump.flush()
    assert client.data == b"reply"


def test_half_close_to_a_plain_peer_closes() -> None:
    """A peer without readConnectionLost sees the connection end instead."""
    server, client, pump = pair()
    client.transport.loseWriteConnection()  # type: ignore[union-attr]
    pump.flush()
    assert [f.type for f in server.lost] == [ConnectionDone]


def test_paused_transport_holds_data_back() -> None:
    """pauseProducing on a transport stops delivery to its protocol until resumed."""
    server, client, pump = pair()
    server.transport.pauseProducing()  # type: ignore[union-attr]
    client.transport.write(b"wait")  # type: ignore[union-attr]
    pump.flush()
    assert server.data == b""
    server.transport.resumeProducing()  # type: ignore[union-attr]
    pump.flush()
    assert server.data == b"wait"


def test_pull_producer_is_drained_before_close() -> None:
    """A pull producer is asked for each chunk; loseConnection waits for it to unregister."""
    server, client, pump = pair()
    transport = server.transport
    producer = PullProducer(transport, [b"a", b"b", b"c"])
    transport.registerProducer(producer, False)  # type: ignore[union-attr]
    transport.loseConnection()  # type: ignore[union-attr]
    pump.flush()
    assert client.data == b"abc"
    assert [f.type for f in client.lost] == [ConnectionDone]


def test_streaming_producer_is_paused_and_resumed() -> None:
    """A streaming producer is paused above bufferSize and resumed once data is delivered."""
    _, client, pump = pair()
    transport = pump.serverIO
    producer = PushProducer()
    transport.registerProducer(producer, True)
    transport.write(b"x" * (transport.bufferSize + 1))
    assert producer.events == ["pause"]
    pump.pump()
    assert producer.events == ["pause", "resume"]
    assert len(client.data) == transport.bufferSize + 1
    transport.loseConnection()
    pump.flush()
    assert producer.events[-1] == "stop"


def test_second_producer_and_closed_transport() -> None:
    """A second producer raises RuntimeError; one registered after close is stopped at once."""
    pump = pair()[2]
    pump.clientIO.registerProducer(PushProducer(), True)
    with pytest.raises(RuntimeError):
        pump.clientIO.registerProducer(PushProducer(), True)
    pump.serverIO.loseConnection()
    pump.flush()
    late = PushProducer()
    pump.serverIO.registerProducer(late, True)
    assert late.events == ["stop"] and pump.serverIO.producer is None


def test_flush_gives_up_on_endless_chatter() -> None:
    """flush() raises instead of looping forever when the peers never go quiet."""

    class PingPong(Peer):
        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)  # type: ignore[union-attr]

    with pytest.raises(RuntimeError, match="still busy"):
        connect(PingPong(), PingPong(b"ping"))


def test_connected_server_and_client_with_clock() -> None:
    """connectedServerAndClient returns (client, server, pump); pumping advances the clock."""
    clock = Clock()
    seen: list[str] = []
    clock.callLater(0, seen.append, "tick")
    client, server, pump = connectedServerAndClient(Peer, Peer, clock=clock)
    assert isinstance(client, Peer) and isinstance(server, Peer)
    assert seen == ["tick"]
    assert pump.clientIO.getPeer() == pump.serverIO.getHost()
