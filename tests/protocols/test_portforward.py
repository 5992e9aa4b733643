"""The port forwarder on in-memory transports: relaying, backpressure, half-close, failure."""

from __future__ import annotations

from typing import Any

from plait.defer import Deferred, Failure
from plait.log import formatEvent, globalLogPublisher
from plait.protocol import ConnectionRefusedError, IPv4Address, Protocol
from plait.protocols.portforward import ProxyFactory
from plait.testing import IOPump, connect


class Recorder(Protocol):
    """Keeps what it receives; notes half-close and loss."""

    def __init__(self) -> None:
        self.received = b""
        self.eof = False
        self.lost = False

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def readConnectionLost(self) -> None:
        self.eof = True

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = True


class FakeEndpoint:
    """A client endpoint whose connections the test completes or fails by hand."""

    def __init__(self) -> None:
        self.attempts: list[tuple[Any, Deferred[Any]]] = []

    def connect(self, factory: Any) -> Deferred[Any]:
        """Record the attempt; return its Deferred."""
        d: Deferred[Any] = Deferred()
        self.attempts.append((factory, d))
        return d

    def succeed(self, target: Protocol) -> IOPump:
        """Connect the last attempt's protocol to ``target`` in memory and fire it."""
        factory, d = self.attempts[-1]
        outbound = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 80))
        pump = connect(target, outbound)
        d.callback(outbound)
        return pump


def paused(transport: Any) -> bool:
    """Whether the transport holds data back from its protocol."""
    return bool(transport.paused)


def halfClose(protocol: Protocol) -> None:
    """Shut the sending half of the protocol's transport."""
    transport: Any = protocol.transport
    transport.loseWriteConnection()


def start() -> tuple[FakeEndpoint, Recorder, IOPump]:
    """A forwarder connected in memory to a recording client."""
    endpoint = FakeEndpoint()
    server = ProxyFactory(endpoint).buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
    client = Recorder()
    return endpoint, client, connect(server, client)


def test_relays_both_ways() -> None:
    """Bytes flow client -> target and target -> client once connected."""
    endpoint, client, pump = start()
    target = Recorder()
    pump2 = endpoint.succeed(target)
    assert client.transport is not None and target.transport is not None
    client.transport.write(b"hello")
    pump.flush()
    pump2.flush()
    target.transport.write(b"world")
    pump2.flush()
    pump.flush()
    assert (target.received, client.received) == (b"hello", b"world")


def test_inbound_paused_until_connected() -> None:
    """Data the client sends before the outbound connection exists arrives afterwards."""
    endpoint, client, pump = start()
    assert client.transport is not None
    client.transport.write(b"early")
    pump.flush()
    target = Recorder()
    pump2 = endpoint.succeed(target)
    pump.flush()
    pump2.flush()
    assert target.received == b"early"


def test_backpressure() -> None:
    """A side whose outgoing buffer is full pauses reading on the other side."""
    endpoint, client, pump = start()
    target = Recorder()
    pump2 = endpoint.succeed(target)
    assert client.transport is not None
    client.transport.write(b"x" * 200_000)
    pump.pump()  # delivered to the forwarder, not yet to the target
    outbound, server = pump2.clientIO, pump.serverIO
    assert outbound._producerPaused  # the target's transport paused the inbound side
    assert paused(server)
    pump2.flush()
    assert not paused(server)
    pump.flush()
    pump2.flush()
    assert len(target.received) == 200_000


def test_half_close_propagates() -> None:
    """EOF from the client reaches the target as a half-close, and the reverse ends both."""
    endpoint, client, pump = start()
    target = Recorder()
    pump2 = endpoint.succeed(target)
    assert client.transport is not None and target.transport is not None
    halfClose(client)
    pump.flush()
    pump2.flush()
    assert target.eof and not target.lost
    target.transport.write(b"reply")
    halfClose(target)
    pump2.flush()
    pump.flush()
    pump2.flush()
    assert client.received == b"reply"
    assert client.eof or client.lost  # both halves are shut, so the forwarder may just close


def test_loss_propagates() -> None:
    """Losing the target connection closes the client's."""
    endpoint, client, pump = start()
    target = Recorder()
    pump2 = endpoint.succeed(target)
    assert target.transport is not None
    target.transport.loseConnection()
    pump2.flush()
    pump.flush()
    assert client.lost


def test_connect_failure_closes_and_logs() -> None:
    """A failed outbound connection closes the inbound one with a log line."""
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        endpoint, client, pump = start()
        endpoint.attempts[-1][1].errback(Failure(ConnectionRefusedError()))
        pump.flush()
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert client.lost
    assert any("cannot connect" in formatEvent(e) for e in events)


def test_client_gone_before_connect() -> None:
    """If the client leaves before the outbound connection is made, that one is closed."""
    endpoint, client, pump = start()
    assert client.transport is not None
    client.transport.loseConnection()
    pump.flush()
    target = Recorder()
    pump2 = endpoint.succeed(target)
    pump2.flush()
    assert target.lost
