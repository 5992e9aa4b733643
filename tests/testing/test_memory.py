"""MemoryReactor and MemoryReactorClock: reactors that only take notes."""

from __future__ import annotations

import socket

import pytest

from plait.protocol import (
    ClientFactory,
    DatagramProtocol,
    DNSLookupError,
    Factory,
    IConnector,
    IPv4Address,
    IPv6Address,
    UNIXAddress,
)
from plait.reactor import IReactorTime
from plait.testing import (
    FakeConnector,
    MemoryReactor,
    MemoryReactorClock,
    failureResultOf,
    successResultOf,
)


class RecordingClientFactory(ClientFactory):
    def __init__(self) -> None:
        self.started: list[IConnector] = []

    def startedConnecting(self, connector: IConnector) -> None:
        self.started.append(connector)


def test_listen_tcp_is_recorded() -> None:
    """listenTCP appends (port, factory, backlog, interface) and returns a fake port."""
    reactor = MemoryReactor()
    factory = Factory()
    port = reactor.listenTCP(8080, factory, backlog=5, interface="127.0.0.1")
    assert reactor.tcpServers == [(8080, factory, 5, "127.0.0.1")]
    assert port.getHost() == IPv4Address("TCP", "127.0.0.1", 8080)
    assert reactor.listenTCP(1, factory, interface="::1").getHost() == IPv6Address("TCP", "::1", 1)
    assert reactor.listenTCP(2, factory).getHost() == IPv4Address("TCP", "0.0.0.0", 2)
    successResultOf(port.stopListening())
    assert port.stopped and not port.listening


def test_connect_tcp_is_recorded_and_reports_started_connecting() -> None:
    """connectTCP appends its arguments, returns a connector and tells the factory."""
    reactor = MemoryReactor()
    factory = RecordingClientFactory()
    conn = reactor.connectTCP("example.com", 80, factory, timeout=5)
    assert reactor.tcpClients == [("example.com", 80, factory, 5, None)]
    assert factory.started == [conn] and reactor.connectors == [conn]
    assert conn.getDestination() == IPv4Address("TCP", "example.com", 80)
    conn.stopConnecting()
    assert isinstance(conn, FakeConnector) and conn.stoppedConnecting
    conn.disconnect()
    assert conn.disconnected


def test_ssl_unix_udp_and_adoption_are_recorded() -> None:
    """listenSSL/connectSSL/listenUNIX/connectUNIX/listenUDP/adoptStreamPort are recorded."""
    reactor = MemoryReactor()
    factory = RecordingClientFactory()
    ctx = object()
    reactor.listenSSL(443, factory, ctx)
    reactor.connectSSL("h", 443, factory, ctx)
    port = reactor.listenUNIX("/tmp/sock", factory)
    conn = reactor.connectUNIX("/tmp/sock", factory)
    proto = DatagramProtocol()
    udp = reactor.listenUDP(53, proto)
    adopted = reactor.adoptStreamPort(7, socket.AF_INET, factory)
    reactor.adoptDatagramPort(8, socket.AF_INET6, proto)
    reactor.adoptStreamConnection(9, socket.AF_UNIX, factory)
    assert reactor.sslServers == [(443, factory, ctx, 50, "")]
    assert reactor.sslClients == [("h", 443, factory, ctx, 30, None)]
    assert reactor.unixServers == [("/tmp/sock", factory, 50, 0o666, 0)]
    assert reactor.unixClients == [("/tmp/sock", factory, 30, 0)]
    assert reactor.udpServers == [(53, proto, "", 8192)]
    assert reactor.adoptedPorts == [(7, socket.AF_INET, factory)]
    assert reactor.adoptedDatagramPorts == [(8, socket.AF_INET6, proto, 8192)]
    assert reactor.adoptedStreamConnections == [(9, socket.AF_UNIX, factory)]
    assert port.getHost() == UNIXAddress("/tmp/sock")
    assert conn.getDestination() == UNIXAddress("/tmp/sock")
    assert udp.getHost() == IPv4Address("UDP", "0.0.0.0", 53)
    assert adopted.getHost().type == "TCP"  # type: ignore[union-attr]
    assert len(factory.started) == 2


def test_run_fires_startup_hooks_then_stops() -> None:
    """run() fires startup triggers, callWhenRunning hooks, then stop() fires shutdown."""
    reactor = MemoryReactor()
    order: list[str] = []
    reactor.addSystemEventTrigger("before", "startup", order.append, "before-startup")
    reactor.callWhenRunning(order.append, "running")
    reactor.addSystemEventTrigger("before", "shutdown", order.append, "before-shutdown")
    reactor.addSystemEventTrigger("after", "shutdown", order.append, "after-shutdown")
    reactor.run()
    assert order == ["before-startup", "running", "before-shutdown", "after-shutdown"]
    assert reactor.hasRun and reactor.hasStopped and not reactor.running
    assert reactor.firedEvents == ["startup", "shutdown"]


def test_removed_trigger_does_not_run() -> None:
    """removeSystemEventTrigger removes exactly that trigger; an unknown ID raises."""
    reactor = MemoryReactor()
    seen: list[str] = []
    tid = reactor.addSystemEventTrigger("during", "custom", seen.append, "a")
    reactor.addSystemEventTrigger("during", "custom", seen.append, "b")
    reactor.removeSystemEventTrigger(tid)
    reactor.fireSystemEvent("custom")
    assert seen == ["b"]
    with pytest.raises(ValueError):
        reactor.removeSystemEventTrigger(tid)
    with pytest.raises(KeyError):
        reactor.addSystemEventTrigger("sometime", "custom", print)  # type: ignore[arg-type]


def test_crash_records_without_shutdown() -> None:
    """crash() sets hasCrashed and fires no shutdown trigger."""
    reactor = MemoryReactor()
    seen: list[str] = []
    reactor.addSystemEventTrigger("before", "shutdown", seen.append, "x")
    reactor.crash()
    assert reactor.hasCrashed and seen == []


def test_resolve_only_ip_addresses() -> None:
    """resolve() returns an IP address as is and fails for names."""
    reactor = MemoryReactor()
    assert successResultOf(reactor.resolve("10.1.2.3")) == "10.1.2.3"
    failureResultOf(reactor.resolve("example.com"), DNSLookupError)


def test_readers_and_writers_are_tracked() -> None:
    """addReader/addWriter/remove*/removeAll keep readers and writers."""
    reactor = MemoryReactor()
    r, w = object(), object()
    reactor.addReader(r)
    reactor.addWriter(w)
    assert reactor.getReaders() == [r] and reactor.getWriters() == [w]
    reactor.removeReader(r)
    assert reactor.getReaders() == []
    assert reactor.removeAll() == [w]
    assert reactor.getWriters() == []


def test_memory_reactor_clock_has_fake_time(memory_reactor: MemoryReactorClock) -> None:
    """MemoryReactorClock schedules on fake time (the memory_reactor fixture is one)."""
    assert isinstance(memory_reactor, IReactorTime)
    seen: list[int] = []
    memory_reactor.callLater(1, seen.append, 1)
    memory_reactor.advance(1)
    assert seen == [1]
    memory_reactor.listenTCP(0, Factory())
    assert len(memory_reactor.tcpServers) == 1
