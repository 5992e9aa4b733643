"""Name resolution off the loop thread, and pluggable resolvers."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from plait.defer import Deferred, fail, succeed
from plait.protocol import DNSLookupError, IPv4Address, IPv6Address
from plait.reactor import GAIResolver, IHostResolution, PosixReactorBase

from .conftest import runReactor


def test_resolve_localhost(reactor: PosixReactorBase) -> None:
    """resolve('localhost') fires with 127.0.0.1; an IP address resolves to itself."""
    results: list[object] = []

    def go() -> None:
        d = reactor.resolve("localhost")
        d.addBoth(results.append)
        d2 = reactor.resolve("10.1.2.3")
        d2.addBoth(results.append)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(go)
    runReactor(reactor)
    assert results == ["10.1.2.3", "127.0.0.1"]


def test_resolve_invalid_name_fails(reactor: PosixReactorBase) -> None:
    """A .invalid name fails with DNSLookupError."""
    results: list[object] = []

    def go() -> None:
        d = reactor.resolve("no-such-host.invalid")
        d.addErrback(lambda f: results.append(f.trap(DNSLookupError)))
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(go)
    runReactor(reactor, timeout=15)  # the system resolver may ask a slow DNS server
    assert results == [DNSLookupError]


def test_resolution_does_not_block_loop(reactor: PosixReactorBase) -> None:
    """While getaddrinfo blocks in a pool thread the loop keeps running timers."""
    ticks: list[float] = []
    release = threading.Event()

    def slowGetaddrinfo(host: str, port: int, family: int, kind: int) -> list[Any]:
        release.wait(5)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", port))]

    reactor.installNameResolver(GAIResolver(reactor, getaddrinfo=slowGetaddrinfo))
    results: list[object] = []

    def tick() -> None:
        ticks.append(time.monotonic())
        if len(ticks) == 5:
            release.set()
        else:
            reactor.callLater(0.005, tick)

    def go() -> None:
        d = reactor.resolve("slow.example")
        d.addBoth(results.append)
        d.addBoth(lambda _: reactor.stop())
        tick()

    reactor.callWhenRunning(go)
    runReactor(reactor)
    assert len(ticks) == 5
    assert results == ["192.0.2.7"]


class _Receiver:
    def __init__(self) -> None:
        self.began: list[IHostResolution] = []
        self.addresses: list[IPv4Address | IPv6Address] = []
        self.complete = Deferred[None]()

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        self.began.append(resolutionInProgress)

    def addressResolved(self, address: IPv4Address | IPv6Address) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete.callback(None)


def test_name_resolver_delivers_every_address(reactor: PosixReactorBase) -> None:
    """nameResolver reports each getaddrinfo address with the port, then completes."""
    receiver = _Receiver()

    def go() -> None:
        reactor.nameResolver.resolveHostName(receiver, "localhost", 80, [IPv4Address])
        receiver.complete.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(go)
    runReactor(reactor)
    assert receiver.began and receiver.began[0].name == "localhost"
    assert IPv4Address("TCP", "127.0.0.1", 80) in receiver.addresses
    assert all(isinstance(a, IPv4Address) for a in receiver.addresses)


class _FixedResolver:
    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def getHostByName(self, name: str, timeout: Any = (1, 3, 11, 45)) -> Deferred[str]:
        if name in self.answers:
            return succeed(self.answers[name])
        return fail(DNSLookupError(name))


def test_install_resolver(reactor: PosixReactorBase) -> None:
    """installResolver swaps both resolve() and nameResolver; it returns the previous one."""
    previous = reactor.installResolver(_FixedResolver({"db.example": "192.0.2.9"}))
    assert hasattr(previous, "getHostByName")
    got: list[object] = []
    reactor.resolve("db.example").addBoth(got.append)
    reactor.resolve("other.example").addErrback(lambda f: got.append(f.trap(DNSLookupError)))
    receiver = _Receiver()
    reactor.nameResolver.resolveHostName(receiver, "db.example", 5432)
    assert got == ["192.0.2.9", DNSLookupError]
    assert receiver.addresses == [IPv4Address("TCP", "192.0.2.9", 5432)]
    assert receiver.complete.called
