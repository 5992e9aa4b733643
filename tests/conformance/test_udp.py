"""UDP on every backend over loopback: round trips, IPv6, connected UDP, errors, stopping."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from plait.defer import Deferred
from plait.protocol import (
    CannotListenError,
    DatagramProtocol,
    IPv4Address,
    IPv6Address,
    MessageLengthError,
)
from plait.reactor import IReactorMulticast, IReactorUDP, IReactorUNIXDatagram
from plait.testing import flushLoggedErrors

from .conftest import ipv6Available, runUntil


class Echo(DatagramProtocol):
    """Sends every datagram back where it came from; records the life cycle."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def startProtocol(self) -> None:
        self.events.append("start")

    def stopProtocol(self) -> None:
        self.events.append("stop")

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.write(datagram, addr)


class Collector(DatagramProtocol):
    """Keeps datagrams; ``done`` fires once ``expect`` have arrived."""

    def __init__(self, expect: int = 1) -> None:
        self.expect = expect
        self.received: list[tuple[bytes, tuple[str, int]]] = []
        self.done: Deferred[list[tuple[bytes, tuple[str, int]]]] = Deferred()
        self.refused = 0
        self.refusedD: Deferred[None] = Deferred()

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        self.received.append((datagram, addr))
        if len(self.received) >= self.expect and not self.done.called:
            self.done.callback(self.received)

    def connectionRefused(self) -> None:
        self.refused += 1
        if not self.refusedD.called:
            self.refusedD.callback(None)


def test_reactor_provides_datagram_interfaces(reactor: Any) -> None:
    """Every POSIX backend provides IReactorUDP, IReactorMulticast and IReactorUNIXDatagram."""
    assert isinstance(reactor, IReactorUDP)
    assert isinstance(reactor, IReactorMulticast)
    assert isinstance(reactor, IReactorUNIXDatagram)


def test_round_trip_ipv4(reactor: Any) -> None:
    """Datagrams echo on 127.0.0.1 with the sender's (host, port) as the address."""
    server = Echo()
    port = reactor.listenUDP(0, server, interface="127.0.0.1")
    assert port is server.transport
    host = port.getHost()
    assert isinstance(host, IPv4Address) and host.type == "UDP" and host.port > 0
    client = Collector(expect=3)
    cport = reactor.listenUDP(0, client, interface="127.0.0.1")
    for i in range(3):
        cport.write(b"ping %d" % i, ("127.0.0.1", host.port))
    got = runUntil(reactor, client.done)
    assert sorted(d for d, _ in got) == [b"ping 0", b"ping 1", b"ping 2"]
    assert {a for _, a in got} == {("127.0.0.1", host.port)}
    assert server.events == ["start", "stop"]  # the run ended with a shutdown


def test_round_trip_ipv6(reactor: Any) -> None:
    """On ::1 the address handed to datagramReceived is a (host, port) pair as well."""
    if not ipv6Available():
        pytest.skip("IPv6 (::1) is not available on this machine")
    server = Echo()
    port = reactor.listenUDP(0, server, interface="::1")
    host = port.getHost()
    assert isinstance(host, IPv6Address) and host.host == "::1"
    client = Collector()
    cport = reactor.listenUDP(0, client, interface="::1")
    cport.write(b"six", ("::1", host.port))
    got = runUntil(reactor, client.done)
    assert got == [(b"six", ("::1", host.port))]


def test_large_datagram_and_max_packet_size(reactor: Any) -> None:
    """A datagram up to maxPacketSize arrives whole; a bigger one is truncated by the kernel."""
    client = Collector(expect=2)
    port = reactor.listenUDP(0, client, interface="127.0.0.1", maxPacketSize=4000)
    sender = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    dest = ("127.0.0.1", port.getHost().port)
    sender.write(b"a" * 4000, dest)
    sender.write(b"b" * 6000, dest)
    got = runUntil(reactor, client.done)
    assert [len(d) for d, _ in got] == [4000, 4000]


def test_message_too_long_raises(reactor: Any) -> None:
    """A datagram bigger than UDP allows raises MessageLengthError from write."""
    port = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    with pytest.raises(MessageLengthError):
        port.write(b"x" * 70000, ("127.0.0.1", 9))
    port.stopListening()


def test_write_needs_ip_literal(reactor: Any) -> None:
    """write() to a host name or to the other family raises ValueError (no hidden lookup)."""
    port = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    with pytest.raises(ValueError):
        port.write(b"x", ("localhost", 9))
    with pytest.raises(ValueError):
        port.write(b"x", ("::1", 9))
    with pytest.raises(ValueError):
        port.write(b"x")
    port.stopListening()


def test_connected_udp(reactor: Any) -> None:
    """A connected port writes without an address and hears only from its peer."""
    server = Echo()
    port = reactor.listenUDP(0, server, interface="127.0.0.1")
    client = Collector()
    cport = reactor.listenUDP(0, client, interface="127.0.0.1")
    number = port.getHost().port
    cport.connect("127.0.0.1", number)
    assert cport.getPeer() == IPv4Address("UDP", "127.0.0.1", number)
    with pytest.raises(ValueError):
        cport.write(b"x", ("127.0.0.1", 9))
    cport.write(b"hello")
    got = runUntil(reactor, client.done)
    assert got == [(b"hello", ("127.0.0.1", number))]


def test_connect_needs_ip_literal(reactor: Any) -> None:
    """connect() with a host name raises ValueError."""
    port = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    with pytest.raises(ValueError):
        port.connect("localhost", 9)
    port.stopListening()


def test_connected_udp_refused(reactor: Any) -> None:
    """Sending to a closed port from a connected port calls connectionRefused."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closedPort = probe.getsockname()[1]
    client = Collector()
    cport = reactor.listenUDP(0, client, interface="127.0.0.1")
    cport.connect("127.0.0.1", closedPort)

    def send() -> None:
        # The ICMP error of the first datagram is reported on a later recv or send.
        if not client.refusedD.called:
            cport.write(b"anyone?")
            reactor.callLater(0.05, send)

    reactor.callWhenRunning(send)
    client.refusedD.addCallback(lambda _: cport.connected)
    stillOpen = runUntil(reactor, client.refusedD)
    assert client.refused >= 1
    assert stillOpen, "a refusal must not close the port"


def test_error_in_datagram_received_is_logged_port_stays(reactor: Any) -> None:
    """An exception from datagramReceived is logged and the next datagram still arrives."""

    class Flaky(Collector):
        def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
            if datagram == b"boom":
                raise RuntimeError("bad datagram")
            super().datagramReceived(datagram, addr)

    proto = Flaky()
    port = reactor.listenUDP(0, proto, interface="127.0.0.1")
    sender = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    dest = ("127.0.0.1", port.getHost().port)
    sender.write(b"boom", dest)
    sender.write(b"fine", dest)
    proto.done.addCallback(lambda got: (got, port.connected))
    got, stillOpen = runUntil(reactor, proto.done)
    assert [d for d, _ in got] == [b"fine"]
    assert len(flushLoggedErrors(RuntimeError)) == 1
    assert stillOpen, "an error in datagramReceived must not close the port"


def test_stop_listening(reactor: Any) -> None:
    """stopListening fires after stopProtocol and closes the socket; the port is free again."""
    proto = Echo()
    port = reactor.listenUDP(0, proto, interface="127.0.0.1")
    number = port.getHost().port
    d = port.stopListening()
    assert port.fileno() == -1 and not d.called
    assert proto.events == ["start"]  # stopProtocol comes on the next iteration
    again = reactor.listenUDP(number, Echo(), interface="127.0.0.1")
    assert again.getHost().port == number
    runUntil(reactor, d)
    assert proto.events == ["start", "stop"]
    assert proto.transport is None
    assert port.stopListening().called


def test_port_in_use(reactor: Any) -> None:
    """Binding a port in use raises CannotListenError."""
    port = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    with pytest.raises(CannotListenError):
        reactor.listenUDP(port.getHost().port, DatagramProtocol(), interface="127.0.0.1")
    port.stopListening()


def test_broadcast_option(reactor: Any) -> None:
    """setBroadcastAllowed toggles SO_BROADCAST, read back by getBroadcastAllowed."""
    port = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    assert port.getBroadcastAllowed() is False
    port.setBroadcastAllowed(True)
    assert port.getBroadcastAllowed() is True
    port.setBroadcastAllowed(False)
    assert port.getBroadcastAllowed() is False
    port.stopListening()


def test_shutdown_stops_protocol(reactor: Any) -> None:
    """Stopping the reactor closes listening UDP ports and calls stopProtocol."""
    proto = Echo()
    port = reactor.listenUDP(0, proto, interface="127.0.0.1")
    d: Deferred[None] = Deferred()
    reactor.callLater(0, d.callback, None)
    runUntil(reactor, d)
    assert proto.events == ["start", "stop"]
    assert port.fileno() == -1


def test_burst_is_read_in_bounded_rounds(reactor: Any) -> None:
    """A burst larger than one read round (maxReads) is still delivered completely."""
    n = 130
    client = Collector(expect=n)
    port = reactor.listenUDP(0, client, interface="127.0.0.1")
    assert port.maxReads < n
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        for i in range(n):
            s.sendto(b"%d" % i, ("127.0.0.1", port.getHost().port))
    got = runUntil(reactor, client.done)
    assert [int(d) for d, _ in got] == list(range(n))


def test_adopt_datagram_port(reactor: Any) -> None:
    """adoptDatagramPort serves an already bound socket (duplicated; the original stays ours)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        server = Echo()
        port = reactor.adoptDatagramPort(s.fileno(), socket.AF_INET, server)
        assert port.getHost() == IPv4Address("UDP", "127.0.0.1", s.getsockname()[1])
        client = Collector()
        cport = reactor.listenUDP(0, client, interface="127.0.0.1")
        cport.write(b"adopted", ("127.0.0.1", s.getsockname()[1]))
        got = runUntil(reactor, client.done)
    assert got[0][0] == b"adopted"


def test_protocol_on_two_ports_is_refused(reactor: Any) -> None:
    """Listening with a protocol already attached raises and leaves no socket open."""
    proto = Echo()
    port = reactor.listenUDP(0, proto, interface="127.0.0.1")
    with pytest.raises(RuntimeError):
        reactor.listenUDP(0, proto, interface="127.0.0.1")
    assert reactor.getReaders() == [port]
    port.stopListening()
