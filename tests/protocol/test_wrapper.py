"""ProtocolWrapper/WrappingFactory forward every event up and every request down."""

from __future__ import annotations

from typing import Any

from plait.defer import Failure
from plait.protocol import (
    ClientFactory,
    ConnectionLost,
    Factory,
    IAddress,
    IPushProducer,
    IPv4Address,
    ITCPTransport,
    Protocol,
    ProtocolWrapper,
    WrappingFactory,
    connectionDone,
)
from plait.testing import StringTransport

ADDR = IPv4Address("TCP", "192.168.1.1", 54321)


class Recorder(Protocol):
    """Records events, and lets the test make requests of its transport."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def connectionMade(self) -> None:
        self.events.append("made")

    def dataReceived(self, data: bytes) -> None:
        self.events.append(("data", data))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.events.append(("lost", reason))


class HalfCloseable(Recorder):
    """Also accepts half-close events."""

    def readConnectionLost(self) -> None:
        self.events.append("readLost")

    def writeConnectionLost(self) -> None:
        self.events.append("writeLost")


class Producer:
    """A push producer that records calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")

    def stopProducing(self) -> None:
        self.calls.append("stop")


def connect(
    wrappedFactory: Factory, protocolClass: type[Recorder] = Recorder
) -> tuple[WrappingFactory, ProtocolWrapper, Recorder, StringTransport]:
    wrappedFactory.protocol = protocolClass
    factory = WrappingFactory(wrappedFactory)
    wrapper = factory.buildProtocol(ADDR)
    assert wrapper is not None
    transport = StringTransport()
    wrapper.makeConnection(transport)
    inner = wrapper.wrappedProtocol
    assert isinstance(inner, Recorder)
    return factory, wrapper, inner, transport


def test_wrapped_protocol_sees_the_wrapper_as_transport() -> None:
    """The wrapped protocol's transport is the wrapper, connected through to the real one."""
    factory, wrapper, inner, transport = connect(Factory())
    assert inner.transport is wrapper
    assert wrapper.transport is transport
    assert inner.events == ["made"]
    assert inner.factory is factory.wrappedFactory
    assert factory.protocols == {wrapper: 1}


def test_events_go_up() -> None:
    """dataReceived and connectionLost reach the wrapped protocol; the factory forgets it."""
    factory, wrapper, inner, _ = connect(Factory())
    wrapper.dataReceived(b"abc")
    reason = Failure(ConnectionLost())
    wrapper.connectionLost(reason)
    assert inner.events == ["made", ("data", b"abc"), ("lost", reason)]
    assert factory.protocols == {}


def test_requests_go_down() -> None:
    """write, writeSequence, loseConnection, addresses and TCP options reach the transport."""
    _, wrapper, inner, transport = connect(Factory())
    assert inner.transport is not None
    inner.transport.write(b"one ")
    inner.transport.writeSequence([b"two ", b"three"])
    assert transport.value() == b"one two three"
    assert wrapper.getPeer() == transport.getPeer()
    assert wrapper.getHost() == transport.getHost()
    assert isinstance(wrapper, ITCPTransport)
    wrapper.setTcpNoDelay(True)
    assert transport.noDelay and wrapper.getTcpNoDelay()
    wrapper.loseWriteConnection()
    assert transport.writeConnectionLost
    inner.transport.loseConnection()
    assert transport.disconnecting and wrapper.disconnecting


def test_abort_goes_down() -> None:
    """abortConnection aborts the real transport."""
    _, wrapper, _, transport = connect(Factory())
    wrapper.abortConnection()
    assert transport.aborted


def test_producers_register_through() -> None:
    """A producer registered on the wrapper is registered on the real transport."""
    _, wrapper, _, transport = connect(Factory())
    producer = Producer()
    wrapper.registerProducer(producer, True)
    assert (transport.producer, transport.streaming) == (producer, True)
    wrapper.unregisterProducer()
    assert transport.producer is None


def test_wrapper_is_a_push_producer_for_the_protocol() -> None:
    """Pausing/resuming/stopping the wrapper pauses/resumes/stops the real transport."""
    _, wrapper, _, transport = connect(Factory())
    assert isinstance(wrapper, IPushProducer)
    wrapper.pauseProducing()
    assert transport.producerState == "paused"
    wrapper.resumeProducing()
    assert transport.producerState == "producing"
    wrapper.stopProducing()
    assert transport.producerState == "stopped"


def test_unknown_requests_are_forwarded_to_the_transport() -> None:
    """Requests the wrapper does not define are looked up on the transport."""
    _, wrapper, _, transport = connect(Factory())
    assert wrapper.logPrefix() == "Recorder (ProtocolWrapper)"
    assert wrapper.value() == b""
    transport.write(b"x")
    assert wrapper.value() == b"x"


def test_half_close_reaches_a_half_closeable_protocol() -> None:
    """readConnectionLost/writeConnectionLost reach a wrapped half-closeable protocol."""
    _, wrapper, inner, transport = connect(Factory(), HalfCloseable)
    wrapper.readConnectionLost()
    wrapper.writeConnectionLost()
    assert inner.events == ["made", "readLost", "writeLost"]
    assert not transport.disconnecting


def test_half_close_loses_the_connection_otherwise() -> None:
    """A peer's half-close loses the connection for a protocol that cannot half-close."""
    _, wrapper, inner, transport = connect(Factory())
    wrapper.readConnectionLost()
    assert transport.disconnecting
    assert inner.events == ["made"]


class CountingClientFactory(ClientFactory):
    """Records every factory event."""

    def __init__(self) -> None:
        self.log: list[Any] = []

    def startFactory(self) -> None:
        self.log.append("start")

    def stopFactory(self) -> None:
        self.log.append("stop")

    def startedConnecting(self, connector: Any) -> None:
        self.log.append(("started", connector))

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.log.append(("failed", connector, reason))

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.log.append(("lost", connector, reason))


def test_factory_events_are_forwarded() -> None:
    """Start/stop and the client events reach the wrapped factory."""
    inner = CountingClientFactory()
    factory = WrappingFactory(inner)
    factory.doStart()
    connector, reason = object(), Failure(ConnectionLost())
    factory.startedConnecting(connector)  # type: ignore[arg-type]
    factory.clientConnectionFailed(connector, reason)  # type: ignore[arg-type]
    factory.clientConnectionLost(connector, reason)  # type: ignore[arg-type]
    factory.doStop()
    assert inner.log == [
        "start",
        ("started", connector),
        ("failed", connector, reason),
        ("lost", connector, reason),
        "stop",
    ]
    assert (inner.numPorts, factory.numPorts) == (0, 0)
    assert factory.logPrefix() == "CountingClientFactory (WrappingFactory)"


def test_refused_connection_is_not_wrapped() -> None:
    """When the wrapped factory refuses a connection, so does the wrapping factory."""

    class Refusing(Factory):
        def buildProtocol(self, addr: IAddress) -> Protocol | None:
            return None

    assert WrappingFactory(Refusing()).buildProtocol(ADDR) is None


def test_custom_wrapper_class() -> None:
    """A WrappingFactory subclass can set its own wrapper class to change a request."""

    class Upper(ProtocolWrapper):
        def write(self, data: bytes) -> None:
            super().write(data.upper())

    class UpperFactory(WrappingFactory):
        protocol = Upper

    wrapped = Factory()
    wrapped.protocol = Recorder
    wrapper = UpperFactory(wrapped).buildProtocol(ADDR)
    assert isinstance(wrapper, Upper)
    transport = StringTransport()
    wrapper.makeConnection(transport)
    assert wrapper.wrappedProtocol.transport is wrapper  # type: ignore[attr-defined]
    wrapper.write(b"hi")
    assert transport.value() == b"HI"
