"""The TCP listening port's accept loop, without a running reactor."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plait.protocol import Factory, IPv4Address, IPv6Address, Protocol
from plait.reactor._tcp import TCPPort, tcpAddress
from plait.testing import flushLoggedErrors


class Call:
    def __init__(self, delay: float, f: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.delay, self.f, self.args, self.cancelled = delay, f, args, False

    def cancel(self) -> None:
        self.cancelled = True


class RecordingReactor:
    """Records registrations and delayed calls; runs nothing by itself."""

    def __init__(self) -> None:
        self.readers: list[Any] = []
        self.calls: list[Call] = []

    def addReader(self, r: Any) -> None:
        self.readers.append(r)

    def removeReader(self, r: Any) -> None:
        self.readers.remove(r)

    def addWriter(self, w: Any) -> None:
        pass

    def removeWriter(self, w: Any) -> None:
        pass

    def callLater(self, delay: float, f: Callable[..., object], *args: Any) -> Call:
        call = Call(delay, f, args)
        self.calls.append(call)
        return call


@pytest.fixture
def port() -> Iterator[tuple[RecordingReactor, TCPPort]]:
    reactor = RecordingReactor()
    p = TCPPort(reactor, 0, Factory.forProtocol(Protocol), interface="127.0.0.1")
    p.startListening()
    yield reactor, p
    p.stopListening()


def test_out_of_descriptors_backs_off(port: tuple[RecordingReactor, TCPPort]) -> None:
    """EMFILE from accept() stops accepting for a while (no spinning) and logs it."""
    reactor, p = port
    calls = 0

    def exhausted() -> Any:
        nonlocal calls
        calls += 1
        raise OSError(errno.EMFILE, "Too many open files")

    p._accept = exhausted
    p.doRead()
    assert calls == 1
    assert p not in reactor.readers
    assert len(reactor.calls) == 1 and reactor.calls[0].delay > 0
    first = reactor.calls[0].delay
    reactor.calls.pop().f()
    assert p in reactor.readers
    p.doRead()
    assert reactor.calls[-1].delay > first  # backs off further while it persists


def test_accepts_a_bounded_batch(port: tuple[RecordingReactor, TCPPort]) -> None:
    """One readiness event accepts at most numberAccepts connections."""
    reactor, p = port
    p.numberAccepts = 3
    address = p.getHost()
    clients = [socket.create_connection((address.host, address.port)) for _ in range(5)]
    try:
        made: list[Any] = []
        p.factory.buildProtocol = lambda addr: made.append(addr) or Protocol()  # type: ignore[method-assign]
        p.doRead()
        assert len(made) == 3
        p.doRead()
        assert len(made) == 5
        assert all(isinstance(a, IPv4Address) and a.host == "127.0.0.1" for a in made)
    finally:
        for c in clients:
            c.close()
        for r in list(reactor.readers):
            if r is not p:
                r.connectionLost(None)


def test_build_protocol_error_is_logged_and_the_socket_closed(
    port: tuple[RecordingReactor, TCPPort],
) -> None:
    """An exception from buildProtocol is logged; that connection is closed, the port lives."""
    reactor, p = port
    address = p.getHost()
    client = socket.create_connection((address.host, address.port))
    try:

        def broken(addr: Any) -> Any:
            raise ValueError("factory bug")

        p.factory.buildProtocol = broken  # type: ignore[method-assign]
        p.doRead()
        client.settimeout(5)
        assert client.recv(10) == b""
        assert p in reactor.readers
        assert len(flushLoggedErrors(ValueError)) == 1
    finally:
        client.close()


def test_ipv4_mapped_peer_is_reported_as_ipv4() -> None:
    """A dual-stack socket's ::ffff:a.b.c.d peer becomes IPv4Address('a.b.c.d')."""
    assert tcpAddress(("::ffff:10.0.0.1", 80, 0, 0)) == IPv4Address("TCP", "10.0.0.1", 80)
    assert tcpAddress(("::1", 80, 0, 0)) == IPv6Address("TCP", "::1", 80, 0, 0)
    assert tcpAddress(("127.0.0.1", 80)) == IPv4Address("TCP", "127.0.0.1", 80)
