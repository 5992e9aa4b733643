"""TLSProtocol over in-memory transports: handshake, data, endings, flow control."""

from __future__ import annotations

import random
from typing import Any

import pytest

from plait.defer import Deferred
from plait.protocol import ConnectionAborted, ConnectionDone, ConnectionLost, Protocol
from plait.testing import Clock, connect, failureResultOf, successResultOf
from plait.tls import (
    ClientTLSOptions,
    ServerTLSOptions,
    TLSError,
    TLSProtocol,
    clientOptions,
    serverOptions,
    startTLS,
)

from .certs import CA, Leaf
from .pairs import EchoRecorder, Recorder, chunkedPump, tlsPair, wrapped


@pytest.fixture(scope="module")
def server(serverLeaf: Leaf) -> ServerTLSOptions:
    """Options for a plain TLS server."""
    return serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM)


@pytest.fixture(scope="module")
def client(ca: CA) -> ClientTLSOptions:
    """Options for a client of localhost trusting the test CA."""
    return clientOptions("localhost", trustRoots=ca.certPEM)


def test_connection_made_after_handshake(server: Any, client: Any) -> None:
    """Neither side's connectionMade runs before the handshake; both run once it is done."""
    s, c, pump = tlsPair(server, client, greet=False)
    assert wrapped(c).made == 0 and wrapped(s).made == 0
    pump.flush()
    assert wrapped(c).made == 1 and wrapped(s).made == 1
    assert wrapped(c).handshakes == 1 and wrapped(s).handshakes == 1
    assert c.getTLSVersion() == "TLSv1.3"
    assert s.getCipher() is not None


def test_when_handshake_done(server: Any, client: Any) -> None:
    """whenHandshakeDone fires with the TLS transport, before and after the fact."""
    s, c, pump = tlsPair(server, client, greet=False)
    early = c.whenHandshakeDone()
    assert not early.called
    pump.flush()
    assert successResultOf(early) is c
    assert successResultOf(s.whenHandshakeDone()) is s


def test_addresses_forwarded(server: Any, client: Any) -> None:
    """getHost/getPeer are the underlying transport's."""
    s, c, pump = tlsPair(server, client)
    assert c.getPeer() == pump.clientIO.getPeer()
    assert s.getHost() == pump.serverIO.getHost()


@pytest.mark.parametrize("chunk", [1, 3, 100, 4096, 16389, 1 << 30])
def test_data_both_ways_in_every_chunking(server: Any, client: Any, chunk: int) -> None:
    """Data crosses intact both ways whatever the TLS bytes' chunking."""
    s, c, pump = tlsPair(server, client, EchoRecorder(), Recorder(), greet=False)
    chunkedPump(pump, chunk)
    payload = random.Random(chunk).randbytes(50_000 if chunk > 1 else 5_000)
    for i in range(0, len(payload), 777):
        c.write(payload[i : i + 777])
    chunkedPump(pump, chunk)
    assert bytes(wrapped(s).received) == payload
    assert bytes(wrapped(c).received) == payload


def test_large_transfer(server: Any, client: Any) -> None:
    """4 MiB in one write arrives intact."""
    s, c, pump = tlsPair(server, client)
    payload = random.Random(1).randbytes(4 << 20)
    c.write(payload)
    pump.flush()
    assert bytes(wrapped(s).received) == payload


def test_write_sequence_and_types(server: Any, client: Any) -> None:
    """writeSequence sends the chunks in order; str is a TypeError."""
    s, c, pump = tlsPair(server, client)
    c.writeSequence([b"a", b"bc", b"", b"d"])
    pump.flush()
    assert bytes(wrapped(s).received) == b"abcd"
    with pytest.raises(TypeError):
        c.write("text")  # type: ignore[arg-type]


def test_lose_connection_sends_close_notify(server: Any, client: Any) -> None:
    """loseConnection after writing: data arrives, then both sides see ConnectionDone."""
    s, c, pump = tlsPair(server, client)
    c.write(b"last words")
    c.loseConnection()
    pump.flush()
    assert bytes(wrapped(s).received) == b"last words"
    assert wrapped(s).lost[0].check(ConnectionDone)
    assert wrapped(c).lost[0].check(ConnectionDone)
    assert len(wrapped(s).lost) == 1 and len(wrapped(c).lost) == 1


def test_cut_stream_is_connection_lost(server: Any, client: Any) -> None:
    """A stream closed without close_notify is ConnectionLost on the other side."""
    s, _c, pump = tlsPair(server, client)
    pump.clientIO.loseConnection()  # underneath TLS: no close_notify
    pump.flush()
    reason = wrapped(s).lost[0]
    assert reason.check(ConnectionLost)
    assert "close_notify" in str(reason.value)


def test_abort_sends_no_close_notify(server: Any, client: Any) -> None:
    """abortConnection: ConnectionAborted here, ConnectionLost there."""
    s, c, pump = tlsPair(server, client)
    c.write(b"dropped?")
    c.abortConnection()
    pump.flush()
    assert wrapped(c).lost[0].check(ConnectionAborted)
    assert wrapped(s).lost[0].check(ConnectionLost)
    assert not wrapped(s).lost[0].check(ConnectionDone)


def test_lose_connection_during_handshake_finishes_after(server: Any, client: Any) -> None:
    """loseConnection before the handshake completes closes cleanly once it has."""
    s, c, pump = tlsPair(server, client, greet=False)
    d = c.whenHandshakeDone()
    c.loseConnection()
    pump.flush()
    successResultOf(d)
    assert wrapped(c).lost[0].check(ConnectionDone)
    assert wrapped(s).lost[0].check(ConnectionDone)


def test_peer_closing_mid_handshake(server: Any, client: Any) -> None:
    """The transport closing during the handshake fails whenHandshakeDone with ConnectionLost."""
    _s, c, pump = tlsPair(server, client, greet=False)
    d = c.whenHandshakeDone()
    pump.serverIO.loseConnection()
    pump.clientIO._outgoing.clear()
    pump.flush()
    f = failureResultOf(d, ConnectionLost)
    assert "handshake" in str(f.value)
    assert wrapped(c).lost == []  # never connected, never told


class HalfCloser(Recorder):
    """Half-closeable: answers the peer's end of input with the byte count, then closes."""

    def readConnectionLost(self) -> None:
        assert self.transport is not None
        self.transport.write(b"got %d" % len(self.received))
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        self.wroteEOF = True


def test_half_close(server: Any, client: Any) -> None:
    """loseWriteConnection sends close_notify; a half-closeable peer can still answer."""
    s, c, pump = tlsPair(server, client, HalfCloser(), HalfCloser())
    c.write(b"x" * 1000)
    c.loseWriteConnection()
    pump.flush()
    assert bytes(wrapped(c).received) == b"got 1000"
    assert wrapped(c).wroteEOF
    assert wrapped(c).lost[0].check(ConnectionDone)
    assert wrapped(s).lost[0].check(ConnectionDone)


class Pauser(Recorder):
    """Pauses the transport after the first delivery."""

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        assert self.transport is not None
        self.transport.pauseProducing()  # type: ignore[attr-defined]


def test_paused_reader_gets_nothing_until_resumed(server: Any, client: Any) -> None:
    """pauseProducing stops delivery (even of decrypted data); resumeProducing delivers it."""
    s, c, pump = tlsPair(server, client, Pauser(), Recorder())
    c.write(b"a" * 20000)
    c.write(b"b" * 20000)
    pump.flush()
    got = len(wrapped(s).received)
    assert 0 < got < 40000
    assert pump.serverIO.paused
    s.resumeProducing()
    pump.flush()
    s.resumeProducing()
    pump.flush()
    s.resumeProducing()
    pump.flush()
    assert bytes(wrapped(s).received) == b"a" * 20000 + b"b" * 20000


class Producer:
    """A streaming producer recording what it is told."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def pauseProducing(self) -> None:
        self.events.append("pause")

    def resumeProducing(self) -> None:
        self.events.append("resume")

    def stopProducing(self) -> None:
        self.events.append("stop")


def test_producer_paused_when_underlying_buffer_fills(server: Any, client: Any) -> None:
    """A producer on the TLS transport is paused by the real transport's full buffer."""
    _s, c, pump = tlsPair(server, client)
    producer = Producer()
    c.registerProducer(producer, True)
    assert pump.clientIO.producer is producer
    c.write(b"z" * (200 * 1024))
    assert producer.events == ["pause"]
    pump.flush()
    assert producer.events == ["pause", "resume"]


def test_lose_connection_waits_for_producer(server: Any, client: Any) -> None:
    """loseConnection with a producer registered closes only after it unregisters."""
    s, c, pump = tlsPair(server, client)
    producer = Producer()
    c.registerProducer(producer, True)
    c.loseConnection()
    pump.flush()
    assert wrapped(c).lost == []
    c.write(b"more")
    c.unregisterProducer()
    pump.flush()
    assert bytes(wrapped(s).received) == b"more"
    assert wrapped(c).lost[0].check(ConnectionDone)


def test_context_object_is_a_context_factory(serverLeaf: Leaf, ca: CA) -> None:
    """A bare ssl.SSLContext works on both sides."""
    _s, c, _pump = tlsPair(
        serverOptions(serverLeaf.certPEM, serverLeaf.keyPEM).getContext(),
        TLSProtocolHostname(clientOptions("localhost", ca.certPEM).getContext()),
    )
    assert wrapped(c).made == 1


class TLSProtocolHostname:
    """A context factory naming no host; TLSProtocol's serverHostname is not used here."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.hostname = "localhost"

    def getContext(self) -> Any:
        return self.context


# -- STARTTLS ------------------------------------------------------------------------------------


class StartTLSServer(Protocol):
    """Line protocol: on b"STARTTLS\\n" says b"GO\\n" in the clear, then switches."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self.buffer = b""
        self.secure = bytearray()
        self.tls: TLSProtocol | None = None

    def dataReceived(self, data: bytes) -> None:
        if self.tls is not None:
            self.secure += data
            assert self.transport is not None
            self.transport.write(b"echo:" + data)
            return
        self.buffer += data
        if b"STARTTLS\n" in self.buffer:
            assert self.transport is not None
            self.transport.write(b"GO\n")
            self.tls = startTLS(self.transport, self.options, isClient=False)


class StartTLSClient(Protocol):
    """Sends a cleartext prefix, asks for TLS, switches on b"GO\\n", writes at once."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self.clear = b""
        self.secure = bytearray()
        self.tls: TLSProtocol | None = None
        self.done: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"EHLO\nSTARTTLS\n")

    def dataReceived(self, data: bytes) -> None:
        if self.tls is not None:
            self.secure += data
            return
        self.clear += data
        if self.clear.endswith(b"GO\n"):
            assert self.transport is not None
            self.tls = startTLS(self.transport, self.options, isClient=True)
            self.transport.write(b"secret")  # before the handshake: held, then sent

    def handshakeCompleted(self) -> None:
        self.done.callback(None)


def test_start_tls_after_cleartext(server: Any, client: Any) -> None:
    """Cleartext goes first; after startTLS both sides talk TLS on the same transport."""
    srv, cli = StartTLSServer(server), StartTLSClient(client)
    pump = connect(srv, cli)
    pump.flush()
    assert srv.buffer == b"EHLO\nSTARTTLS\n"
    assert cli.clear == b"GO\n"
    successResultOf(cli.done)
    assert bytes(srv.secure) == b"secret"
    assert bytes(cli.secure) == b"echo:secret"
    assert cli.transport is cli.tls
    assert cli.tls is not None and cli.tls.getTLSVersion() == "TLSv1.3"
    with pytest.raises(RuntimeError):
        startTLS(pump.clientIO, client, isClient=True)


def test_start_tls_verification_failure_reaches_connection_lost(server: Any, otherCA: CA) -> None:
    """After startTLS, a failed handshake reaches the connected protocol's connectionLost."""
    srv, cli = StartTLSServer(server), StartTLSClient(clientOptions("localhost", otherCA.certPEM))
    lost: list[Any] = []
    cli.connectionLost = lost.append  # type: ignore[method-assign]
    pump = connect(srv, cli)
    pump.flush()
    assert lost and "unable to get local issuer certificate" in str(lost[0].value)


def test_handshake_timeout(server: Any) -> None:
    """A peer that never completes the handshake is aborted with a TLSError after the timeout."""
    clock = Clock()
    s = TLSProtocol(None, Recorder(), server, False, clock=clock, handshakeTimeout=5)
    pump = connect(s, Protocol())  # a silent plaintext peer
    d = s.whenHandshakeDone()
    clock.advance(4.9)
    pump.flush()
    assert not d.called
    clock.advance(0.2)
    pump.flush()
    f = failureResultOf(d, TLSError)
    assert "did not complete within 5s" in str(f.value)
    assert pump.serverIO.aborted
    assert clock.getDelayedCalls() == []


def test_handshake_timeout_cancelled_once_done(server: Any, client: Any) -> None:
    """A completed handshake cancels its timeout."""
    clock = Clock()
    s = TLSProtocol(None, Recorder(), server, False, clock=clock, handshakeTimeout=5)
    c = TLSProtocol(None, Recorder(), client, True, clock=clock, handshakeTimeout=5)
    connect(s, c)
    assert wrapped(s).made == 1
    assert clock.getDelayedCalls() == []


class Quitter(Recorder):
    """Loses the connection on its first data."""

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        assert self.transport is not None
        self.transport.loseConnection()


def test_nothing_delivered_after_lose_connection(server: Any, client: Any) -> None:
    """After loseConnection inside dataReceived, no further data is delivered."""
    s, c, pump = tlsPair(server, client, Quitter(), Recorder())
    c.write(b"first")
    c.write(b"second")  # a second TLS record, in the same delivery
    pump.flush()
    assert bytes(wrapped(s).received) == b"first"
    assert wrapped(s).lost[0].check(ConnectionDone)
