"""StringTransport and StringTransportWithDisconnection."""

from __future__ import annotations

import pytest

from plait.defer import Failure
from plait.protocol import (
    ConnectionDone,
    IPv4Address,
    IPv6Address,
    ITCPTransport,
    Protocol,
    connectionDone,
)
from plait.testing import StringTransport, StringTransportWithDisconnection


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class Recorder(Protocol):
    def __init__(self) -> None:
        self.reasons: list[Failure] = []

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.reasons.append(reason)


def test_writes_are_kept_in_order() -> None:
    """write and writeSequence append to value(); clear() forgets."""
    t = StringTransport()
    t.write(b"ab")
    t.writeSequence([b"c", bytearray(b"d"), memoryview(b"e")])
    assert t.value() == b"abcde"
    t.clear()
    assert t.value() == b""
    t.write(b"f")
    assert t.value() == b"f"


def test_writing_text_raises_type_error() -> None:
    """A str (or any non-bytes) write raises TypeError and keeps nothing."""
    t = StringTransport()
    with pytest.raises(TypeError):
        t.write("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        t.writeSequence([b"ok", "text"])  # type: ignore[list-item]
    assert t.value() == b""


def test_protocol_round_trip() -> None:
    """A protocol connected to a StringTransport writes into it."""
    proto = Echo()
    t = StringTransport()
    proto.makeConnection(t)
    proto.dataReceived(b"hello")
    assert t.value() == b"hello"


def test_default_addresses_match_twisted() -> None:
    """getHost/getPeer default to IPv4 TCP 10.0.0.1:12345 and 192.168.1.1:54321."""
    t = StringTransport()
    assert t.getHost() == IPv4Address("TCP", "10.0.0.1", 12345)
    assert t.getPeer() == IPv4Address("TCP", "192.168.1.1", 54321)
    other = StringTransport(IPv6Address("TCP", "::1", 1), IPv6Address("TCP", "::1", 2))
    assert other.getHost().port == 1 and other.getPeer().port == 2  # type: ignore[union-attr]


def test_closing_requests_are_recorded() -> None:
    """loseConnection, abortConnection and loseWriteConnection set their flags."""
    t = StringTransport()
    t.loseWriteConnection()
    assert t.writeConnectionLost and not t.disconnecting
    t.loseConnection()
    assert t.disconnecting and not t.aborted
    t2 = StringTransport()
    t2.abortConnection()
    assert t2.aborted and t2.disconnecting


def test_producer_registration() -> None:
    """registerProducer sets producer/streaming; a second one or a bad unregister raises."""
    t = StringTransport()
    producer = object()
    t.registerProducer(producer, True)
    assert t.producer is producer and t.streaming is True
    with pytest.raises(RuntimeError):
        t.registerProducer(object(), False)
    t.unregisterProducer()
    assert t.producer is None and t.streaming is None
    with pytest.raises(RuntimeError):
        t.unregisterProducer()


def test_producer_state_is_recorded() -> None:
    """pause/resume/stopProducing record producerState; stopped is final."""
    t = StringTransport()
    assert t.producerState == "producing"
    t.pauseProducing()
    assert t.producerState == "paused"
    t.resumeProducing()
    assert t.producerState == "producing"
    t.stopProducing()
    assert t.producerState == "stopped"
    with pytest.raises(RuntimeError):
        t.resumeProducing()


def test_cannot_resume_after_lose_connection() -> None:
    """Pausing or resuming after loseConnection raises RuntimeError."""
    t = StringTransport()
    t.loseConnection()
    with pytest.raises(RuntimeError):
        t.resumeProducing()


def test_tcp_options_are_recorded() -> None:
    """setTcpNoDelay/KeepAlive are read back; the transport is an ITCPTransport."""
    t = StringTransport()
    t.setTcpNoDelay(True)
    t.setTcpKeepAlive(True)
    assert t.getTcpNoDelay() and t.getTcpKeepAlive()
    assert isinstance(t, ITCPTransport)


def test_disconnecting_transport_tells_the_protocol_once() -> None:
    """StringTransportWithDisconnection calls connectionLost(ConnectionDone) once."""
    proto = Recorder()
    t = StringTransportWithDisconnection()
    t.protocol = proto
    proto.makeConnection(t)
    t.loseConnection()
    t.loseConnection()
    assert len(proto.reasons) == 1
    assert proto.reasons[0].check(ConnectionDone)
    assert not t.connected and t.disconnecting
