"""Policy wrappers: throttling, connection limits, idle timeouts, traffic logging (§4.4).

All but the last test run on ``Clock`` and in-memory transports (no real time or sockets).
"""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.log import Logger as PlaitLogger
from plait.log import LogLevel
from plait.protocol import (
    ClientFactory,
    ConnectionDone,
    Factory,
    IPv4Address,
    Protocol,
)
from plait.protocols import (
    LimitConnectionsByPeer,
    LimitTotalConnectionsFactory,
    ThrottlingFactory,
    TimeoutFactory,
    TimeoutMixin,
    TrafficLoggingFactory,
    policies,
)
from plait.testing import Clock, StringTransport, StringTransportWithDisconnection, connect

ADDR = IPv4Address("TCP", "192.168.1.1", 54321)


def peer(host: str, port: int = 1000) -> IPv4Address:
    """A TCP peer address."""
    return IPv4Address("TCP", host, port)


def connected(factory: Any, addr: IPv4Address = ADDR) -> tuple[Any, StringTransport]:
    """Build a protocol from ``factory`` for ``addr`` and connect it to a StringTransport."""
    p = factory.buildProtocol(addr)
    assert p is not None
    transport = StringTransportWithDisconnection(peerAddress=addr)
    transport.protocol = p
    p.makeConnection(transport)
    return p, transport


class Recorder(Protocol):
    """Records what it receives and whether it lost its connection."""

    def connectionMade(self) -> None:
        self.received = bytearray()
        self.lost: list[Failure] = []

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.append(reason)


# -- throttling ---------------------------------------------------------------------------------

CHUNK = 16 * 1024
TOTAL = 1024 * 1024
LIMIT = 200 * 1024


class BulkSender(Protocol):
    """A push producer writing ``TOTAL`` bytes in ``CHUNK``s as fast as it is allowed."""

    clock: Clock

    def connectionMade(self) -> None:
        self.paused = False
        self.sent = 0
        self.log: list[tuple[float, int]] = []
        self.finishedAt: float | None = None
        assert self.transport is not None
        self.transport.registerProducer(self, True)  # type: ignore[attr-defined]
        self.resumeProducing()

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        assert self.transport is not None
        while not self.paused and self.sent < TOTAL:
            self.transport.write(b"x" * CHUNK)
            self.sent += CHUNK
            self.log.append((self.clock.seconds(), self.sent))
        if self.sent >= TOTAL and self.finishedAt is None:
            self.finishedAt = self.clock.seconds()
            self.transport.unregisterProducer()  # type: ignore[attr-defined]

    def stopProducing(self) -> None:
        self.paused = True


def test_write_throttling_1mb_at_200kbs_takes_about_5s() -> None:
    """1 MB under a 200 KB/s write limit takes ~5 simulated seconds, never bursting past it."""
    clock = Clock()
    BulkSender.clock = clock
    factory = ThrottlingFactory(Factory.forProtocol(BulkSender), writeLimit=LIMIT, clock=clock)
    p, transport = connected(factory)
    sender = p.wrappedProtocol
    for _ in range(200):  # 20 simulated seconds at most
        if sender.finishedAt is not None:
            break
        clock.advance(0.1)
    assert len(transport.value()) == TOTAL
    # The limit is checked once a second, so the end lies within a second of TOTAL/LIMIT
    # (5.12 s): the first second's allowance is spent at t=0, the last one may end early.
    assert sender.finishedAt is not None
    assert TOTAL / LIMIT - 1 <= sender.finishedAt <= TOTAL / LIMIT + 1
    # Rate: by any time t, at most one allowance per started second plus one chunk of overshoot.
    for t, sent in sender.log:
        assert sent <= (int(t) + 1) * LIMIT + CHUNK


def test_write_throttle_respects_transport_backpressure() -> None:
    """A producer the transport paused stays paused when throttling ends, until it resumes."""
    clock = Clock()
    BulkSender.clock = clock
    factory = ThrottlingFactory(Factory.forProtocol(BulkSender), writeLimit=LIMIT, clock=clock)
    p, transport = connected(factory)
    sender = p.wrappedProtocol
    assert sender.paused  # throttled within the first second
    proxy = transport.producer
    proxy.pauseProducing()  # the transport's buffer is full, too
    clock.advance(1)
    assert sender.paused, "unthrottling must not override the transport's pause"
    proxy.resumeProducing()
    assert sender.sent > LIMIT + CHUNK


def test_unlimited_writer_is_counted_not_held() -> None:
    """Writes without a producer pass straight through and are counted."""
    clock = Clock()
    factory = ThrottlingFactory(Factory.forProtocol(Recorder), writeLimit=10, clock=clock)
    p, transport = connected(factory)
    p.wrappedProtocol.transport.write(b"y" * 100)
    assert transport.value() == b"y" * 100
    assert factory.writtenThisSecond == 100 and factory.writesThrottled


def test_read_throttling_pauses_and_resumes_the_transport() -> None:
    """Reading past readLimit pauses the transport until the carried-over count is paid."""
    clock = Clock()
    factory = ThrottlingFactory(Factory.forProtocol(Recorder), readLimit=100, clock=clock)
    p, transport = connected(factory)
    p.dataReceived(b"a" * 80)
    assert transport.producerState == "producing"
    p.dataReceived(b"a" * 170)  # 250 bytes: 2.5 seconds' worth
    assert transport.producerState == "paused"
    assert bytes(p.wrappedProtocol.received) == b"a" * 250
    clock.advance(1)  # 150 left: still over
    assert transport.producerState == "paused"
    clock.advance(1)  # 50 left: under
    assert transport.producerState == "producing"


def test_read_throttling_keeps_the_protocols_own_pause() -> None:
    """A protocol that paused reading itself stays paused when the read throttle lifts."""
    clock = Clock()
    factory = ThrottlingFactory(Factory.forProtocol(Recorder), readLimit=10, clock=clock)
    p, transport = connected(factory)
    p.wrappedProtocol.transport.pauseProducing()
    p.dataReceived(b"b" * 11)
    clock.advance(1)
    assert transport.producerState == "paused"
    p.wrappedProtocol.transport.resumeProducing()
    assert transport.producerState == "producing"


def test_read_throttle_applies_to_new_connections() -> None:
    """A connection made while reads are throttled starts paused."""
    clock = Clock()
    factory = ThrottlingFactory(Factory.forProtocol(Recorder), readLimit=10, clock=clock)
    p, _ = connected(factory)
    p.dataReceived(b"c" * 50)
    _, second = connected(factory)
    assert second.producerState == "paused"


def test_max_connection_count() -> None:
    """Connection N+1 is refused; once one closes, a new one is accepted."""
    clock = Clock()
    factory = ThrottlingFactory(Factory.forProtocol(Recorder), maxConnectionCount=2, clock=clock)
    _, t1 = connected(factory)
    connected(factory)
    assert factory.buildProtocol(ADDR) is None
    t1.loseConnection()
    assert factory.connectionCount == 1
    assert factory.buildProtocol(ADDR) is not None


def test_throttling_check_stops_when_idle() -> None:
    """The per-second check runs while connections are up and stops after the last is gone."""
    clock = Clock()
    factory = ThrottlingFactory(Factory.forProtocol(Recorder), readLimit=10, clock=clock)
    p, transport = connected(factory)
    assert len(clock.getDelayedCalls()) == 1
    p.dataReceived(b"d" * 25)
    transport.loseConnection()
    clock.advance(1)
    assert clock.getDelayedCalls(), "15 bytes still to pay off"
    clock.pump([1, 1])
    assert clock.getDelayedCalls() == []


def test_throttling_over_in_memory_pair() -> None:
    """Throttling wraps a protocol on an in-memory connection like any other transport."""
    clock = Clock()
    factory = ThrottlingFactory(Factory.forProtocol(Recorder), readLimit=5, clock=clock)
    server = factory.buildProtocol(ADDR)
    client = Recorder()
    pump = connect(server, client, clock=clock)
    assert client.transport is not None
    client.transport.write(b"hello, throttled world")
    pump.flush()
    assert bytes(server.wrappedProtocol.received) == b"hello, throttled world"
    assert factory.readsThrottled


# -- connection limits --------------------------------------------------------------------------


class Busy(Protocol):
    """The overflow protocol: says so and closes."""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"busy\r\n")
        self.transport.loseConnection()


def test_limit_total_connections_refuses_n_plus_one() -> None:
    """With connectionLimit 2 the third connection is refused until one closes."""
    factory = LimitTotalConnectionsFactory(Recorder, connectionLimit=2)
    _, t1 = connected(factory)
    connected(factory)
    assert factory.connectionCount == 2
    assert factory.buildProtocol(ADDR) is None
    t1.loseConnection()
    assert factory.connectionCount == 1
    p, _ = connected(factory)
    assert isinstance(p.wrappedProtocol, Recorder) and p.wrappedProtocol.factory is factory


def test_limit_total_connections_overflow_protocol() -> None:
    """Past the limit the overflow protocol answers; it is not counted."""
    factory = LimitTotalConnectionsFactory()
    factory.protocol = Recorder
    factory.connectionLimit = 1
    factory.overflowProtocol = Busy
    connected(factory)
    p, transport = connected(factory)
    assert isinstance(p.wrappedProtocol, Busy)
    assert transport.value() == b"busy\r\n"
    assert factory.connectionCount == 1


def test_limit_total_connections_no_limit() -> None:
    """connectionLimit None accepts everything and still counts."""
    factory = LimitTotalConnectionsFactory(Recorder)
    for _ in range(50):
        connected(factory)
    assert factory.connectionCount == 50


def test_limit_connections_by_peer() -> None:
    """A host's third connection is refused at 2 per peer; other hosts are unaffected."""
    factory = LimitConnectionsByPeer(Factory.forProtocol(Recorder), maxConnectionsPerPeer=2)
    _, a1 = connected(factory, peer("10.0.0.1", 1))
    connected(factory, peer("10.0.0.1", 2))
    assert factory.buildProtocol(peer("10.0.0.1", 3)) is None
    assert factory.buildProtocol(peer("10.0.0.2", 1)) is not None
    a1.loseConnection()
    assert factory.peerConnections[("10.0.0.1")] == 1
    assert factory.buildProtocol(peer("10.0.0.1", 4)) is not None


def test_limit_connections_by_peer_forgets_peers() -> None:
    """A peer whose connections all closed leaves no entry behind."""
    factory = LimitConnectionsByPeer(Factory.forProtocol(Recorder))
    _, t = connected(factory, peer("10.9.9.9"))
    t.loseConnection()
    assert factory.peerConnections == {}


# -- timeouts -----------------------------------------------------------------------------------


class Idle(TimeoutMixin, Recorder):
    """A protocol with an idle timeout reset by received data."""

    def connectionMade(self) -> None:
        super().connectionMade()
        self.timedOut = 0

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        super().dataReceived(data)

    def timeoutConnection(self) -> None:
        self.timedOut += 1
        super().timeoutConnection()


def test_timeout_mixin_fires_at_the_right_time() -> None:
    """setTimeout(10) fires at t=10, not before; the default loses the connection."""
    clock = Clock()
    p = Idle()
    p.clock = clock
    transport = StringTransport()
    p.makeConnection(transport)
    assert p.setTimeout(10) is None
    clock.advance(9.99)
    assert p.timedOut == 0
    clock.advance(0.01)
    assert p.timedOut == 1 and transport.disconnecting


def test_timeout_mixin_reset_by_traffic() -> None:
    """resetTimeout pushes the deadline a full period past the latest traffic."""
    clock = Clock()
    p = Idle()
    p.clock = clock
    p.makeConnection(StringTransport())
    p.setTimeout(5)
    for _ in range(10):
        clock.advance(4)
        p.dataReceived(b"ping")
    assert p.timedOut == 0
    clock.advance(5)
    assert p.timedOut == 1


def test_timeout_mixin_set_returns_previous_and_none_cancels() -> None:
    """setTimeout returns the previous period; None cancels the pending timeout."""
    clock = Clock()
    p = Idle()
    p.clock = clock
    p.makeConnection(StringTransport())
    assert p.setTimeout(5) is None
    assert p.setTimeout(8) == 5
    clock.advance(6)
    assert p.timedOut == 0
    assert p.setTimeout(None) == 8
    assert clock.getDelayedCalls() == []
    clock.advance(100)
    assert p.timedOut == 0


def test_timeout_mixin_uses_the_transports_reactor() -> None:
    """Without a clock, the transport's reactor schedules the timeout."""
    clock = Clock()
    transport = StringTransport()
    transport.reactor = clock  # type: ignore[attr-defined]
    p = Idle()
    p.makeConnection(transport)
    p.setTimeout(3)
    clock.advance(3)
    assert p.timedOut == 1


def test_timeout_mixin_without_clock_fails_clearly() -> None:
    """With no clock and no reactor to use, setTimeout raises RuntimeError."""
    p = Idle()
    p.makeConnection(StringTransport())
    with pytest.raises(RuntimeError, match="clock"):
        p.setTimeout(1)


def test_timeout_factory_idle_timeout() -> None:
    """An idle wrapped connection is aborted after timeoutPeriod, and the protocol told."""
    clock = Clock()
    factory = TimeoutFactory(Factory.forProtocol(Recorder), timeoutPeriod=30, clock=clock)
    p, transport = connected(factory)
    clock.advance(20)
    p.dataReceived(b"in")  # resets
    clock.advance(20)
    p.wrappedProtocol.transport.write(b"out")  # resets
    clock.advance(29)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.aborted
    assert clock.getDelayedCalls() == []


def test_timeout_factory_cancelled_on_connection_lost() -> None:
    """A connection that ends before the timeout leaves no timer behind."""
    clock = Clock()
    factory = TimeoutFactory(Factory.forProtocol(Recorder), timeoutPeriod=30, clock=clock)
    p, transport = connected(factory)
    transport.loseConnection()
    assert p.wrappedProtocol.lost and p.wrappedProtocol.lost[0].check(ConnectionDone)
    assert clock.getDelayedCalls() == []


def test_timeout_factory_over_in_memory_pair() -> None:
    """Over an in-memory connection an idle timeout ends both sides."""
    clock = Clock()
    factory = TimeoutFactory(Factory.forProtocol(Recorder), timeoutPeriod=2, clock=clock)
    server = factory.buildProtocol(ADDR)
    client = Recorder()
    pump = connect(server, client, clock=clock)
    clock.advance(2)
    pump.flush()
    assert server.wrappedProtocol.lost and client.lost


# -- traffic logging ----------------------------------------------------------------------------


def test_traffic_logging() -> None:
    """Every event and request is logged at debug level with byte counts."""
    events: list[dict[str, Any]] = []
    logger = PlaitLogger("test.traffic", observer=events.append)
    factory = TrafficLoggingFactory(Factory.forProtocol(Recorder), logger=logger)
    p, transport = connected(factory)
    p.dataReceived(b"hello")
    p.wrappedProtocol.transport.write(b"world!")
    p.wrappedProtocol.transport.writeSequence([b"a", b"bc"])
    p.wrappedProtocol.transport.loseConnection()
    formats = [e["log_format"] for e in events]
    names = [f.split(" ", 2)[1] for f in formats]
    assert names == [
        "connectionMade",
        "dataReceived",
        "write",
        "writeSequence",
        "loseConnection",
        "connectionLost",
    ]
    assert all(e["log_level"] == LogLevel.debug and e["conn"] == 1 for e in events)
    assert events[1]["n"] == 5 and events[2]["n"] == 6 and events[3]["n"] == 3
    assert events[-1]["received"] == 5 and events[-1]["written"] == 9
    assert transport.value() == b"world!abc"


def test_policies_module_is_the_paper_path() -> None:
    """plait.protocols.policies exports the same objects as plait.protocols."""
    assert policies.ThrottlingFactory is ThrottlingFactory
    assert policies.TimeoutMixin is TimeoutMixin


# -- one real socket test -----------------------------------------------------------------------


class Hello(Protocol):
    """Client: sends hello, records the reply and how the connection ended."""

    def connectionMade(self) -> None:
        self.received = b""
        assert self.transport is not None
        self.transport.write(b"hello")

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.received == b"hello":
            self.factory.replied.callback(self)  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.lost.callback((self.received, reason))  # type: ignore[union-attr]


class HelloFactory(ClientFactory):
    """Fires ``replied`` on the echo and ``lost`` when the connection ends."""

    protocol = Hello

    def __init__(self) -> None:
        self.replied: Deferred[Any] = Deferred()
        self.lost: Deferred[Any] = Deferred()


class Echo(Protocol):
    """Server: echoes."""

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


def test_limit_total_connections_over_tcp_on_epoll() -> None:
    """On a real epoll reactor, the third TCP client of a 2-connection server is cut off."""
    from plait.reactor import reactorClassNamed, reactorNames

    if "epoll" not in reactorNames():
        pytest.skip("epoll is not available on this platform")
    reactor = reactorClassNamed("epoll")()
    try:
        server = LimitTotalConnectionsFactory(Echo, connectionLimit=2)
        port = reactor.listenTCP(0, server, interface="127.0.0.1")
        number = port.getHost().port
        clients = [HelloFactory() for _ in range(3)]
        outcome: list[Any] = []

        def third(_: object) -> Deferred[Any]:
            reactor.connectTCP("127.0.0.1", number, clients[2])
            return clients[2].lost

        def start() -> None:
            for c in clients[:2]:
                reactor.connectTCP("127.0.0.1", number, c)
            both = clients[0].replied.addCallback(lambda _: clients[1].replied)
            both.addCallback(third).addBoth(outcome.append).addBoth(lambda _: reactor.stop())

        reactor.callWhenRunning(start)
        guard = reactor.callLater(10, reactor.stop)
        reactor.run(installSignalHandlers=False)
        if guard.active():
            guard.cancel()
        assert outcome, "timed out"
        received, reason = outcome[0]
        assert received == b""  # closed without a byte
        assert isinstance(reason, Failure)
        assert server.connectionCount == 0  # shutdown closed the two served connections
    finally:
        reactor.close()
