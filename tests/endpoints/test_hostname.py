"""HostnameEndpoint: resolution, happy-eyeballs staggering on a Clock, winners and losers."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import Failure
from plait.endpoints import HostnameEndpoint
from plait.protocol import (
    ConnectingCancelledError,
    ConnectionRefusedError,
    DNSLookupError,
    Factory,
    HostnameAddress,
    IPv4Address,
    NoRouteError,
)
from plait.testing import StringTransport, assertNoResult, failureResultOf, successResultOf

from .conftest import RecordingProtocol, ResolvingMemoryReactor

V6A, V6B = "2001:db8::1", "2001:db8::2"
V4A, V4B = "192.0.2.1", "192.0.2.2"


def _start(
    reactor: ResolvingMemoryReactor, host: str = "example.com", **kw: Any
) -> tuple[Any, list[RecordingProtocol]]:
    built: list[RecordingProtocol] = []

    def build() -> RecordingProtocol:
        built.append(RecordingProtocol())
        return built[-1]

    endpoint = HostnameEndpoint(reactor, host, 443, **kw)
    return endpoint.connect(Factory.forProtocol(build)), built


def _hosts(reactor: ResolvingMemoryReactor) -> list[str]:
    return [host for host, *_ in reactor.tcpClients]


def _succeed(reactor: ResolvingMemoryReactor, index: int) -> None:
    wrapping = reactor.tcpClients[index][2]
    wrapping.buildProtocol(IPv4Address("TCP", "192.0.2.9", 443)).makeConnection(StringTransport())


def _fail(reactor: ResolvingMemoryReactor, index: int, error: Exception) -> None:
    reactor.tcpClients[index][2].clientConnectionFailed(reactor.connectors[index], Failure(error))


def test_resolves_the_name_through_the_reactor() -> None:
    """connect asks reactor.nameResolver for the host and port, TCP; connects nothing yet."""
    reactor = ResolvingMemoryReactor()
    d, _ = _start(reactor)
    (call,) = reactor.nameResolver.calls
    assert (call.hostName, call.portNumber, call.transportSemantics) == ("example.com", 443, "TCP")
    assert reactor.tcpClients == []
    assertNoResult(d)


def test_ipv6_first_then_ipv4_after_attempt_delay() -> None:
    """The first address is tried at once; the other family only after attemptDelay."""
    reactor = ResolvingMemoryReactor()
    d, _ = _start(reactor, attemptDelay=0.3)
    reactor.nameResolver.calls[0].deliver(V6A, V4A)
    assert _hosts(reactor) == [V6A]
    reactor.advance(0.29)
    assert _hosts(reactor) == [V6A]
    reactor.advance(0.01)
    assert _hosts(reactor) == [V6A, V4A]
    assertNoResult(d)


def test_families_are_interleaved() -> None:
    """Addresses are tried alternating families, starting with the resolver's first family."""
    reactor = ResolvingMemoryReactor()
    _start(reactor)
    reactor.nameResolver.calls[0].deliver(V6A, V6B, V4A, V4B)
    reactor.pump([0.3] * 4)
    assert _hosts(reactor) == [V6A, V4A, V6B, V4B]


def test_ipv4_first_when_the_resolver_says_so() -> None:
    """If the resolver lists IPv4 first, IPv4 goes first."""
    reactor = ResolvingMemoryReactor()
    _start(reactor)
    reactor.nameResolver.calls[0].deliver(V4A, V4B, V6A)
    reactor.pump([0.3] * 3)
    assert _hosts(reactor) == [V4A, V6A, V4B]


def test_first_success_wins_and_cancels_the_rest() -> None:
    """The first attempt to connect fires the Deferred; pending attempts and the timer stop."""
    reactor = ResolvingMemoryReactor()
    d, built = _start(reactor)
    reactor.nameResolver.calls[0].deliver(V6A, V4A, V6B)
    reactor.advance(0.3)
    assert _hosts(reactor) == [V6A, V4A]
    _succeed(reactor, 1)
    assert successResultOf(d) is built[0]
    assert reactor.connectors[0].stoppedConnecting
    assert not reactor.connectors[1].stoppedConnecting
    assert reactor.getDelayedCalls() == []
    reactor.advance(10)
    assert _hosts(reactor) == [V6A, V4A]


def test_a_failed_attempt_starts_the_next_at_once() -> None:
    """When the latest attempt fails, the next address is tried without waiting."""
    reactor = ResolvingMemoryReactor()
    d, _ = _start(reactor)
    reactor.nameResolver.calls[0].deliver(V6A, V4A)
    _fail(reactor, 0, NoRouteError(113))
    assert _hosts(reactor) == [V6A, V4A]
    assertNoResult(d)
    _succeed(reactor, 1)
    successResultOf(d)


def test_all_fail_gives_the_last_failure() -> None:
    """When every address fails, the connect fails with the last attempt's failure."""
    reactor = ResolvingMemoryReactor()
    d, _ = _start(reactor)
    reactor.nameResolver.calls[0].deliver(V6A, V4A)
    reactor.advance(0.3)
    _fail(reactor, 0, NoRouteError(101))
    assertNoResult(d)
    _fail(reactor, 1, ConnectionRefusedError(111))
    f = failureResultOf(d, ConnectionRefusedError)
    assert f.value.osError == 111
    assert reactor.getDelayedCalls() == []


def test_no_address_fails_with_dns_lookup_error() -> None:
    """A name that resolves to nothing fails with DNSLookupError naming it."""
    reactor = ResolvingMemoryReactor()
    d, _ = _start(reactor, host="nowhere.invalid")
    reactor.nameResolver.calls[0].deliver()
    f = failureResultOf(d, DNSLookupError)
    assert "nowhere.invalid" in str(f.value)


def test_resolver_error_fails_the_connect() -> None:
    """An exception from resolveHostName itself fails the Deferred."""
    reactor = ResolvingMemoryReactor()

    class BrokenResolver:
        def resolveHostName(self, *args: Any, **kw: Any) -> Any:
            raise RuntimeError("resolver is broken")

    reactor.nameResolver = BrokenResolver()  # type: ignore[assignment]
    d, _ = _start(reactor)
    failureResultOf(d, RuntimeError)


def test_cancel_while_resolving() -> None:
    """Cancelling during resolution cancels it and fails with ConnectingCancelledError."""
    reactor = ResolvingMemoryReactor()
    d, _ = _start(reactor)
    d.cancel()
    call = reactor.nameResolver.calls[0]
    assert call.resolution.cancelled
    f = failureResultOf(d, ConnectingCancelledError)
    assert f.value.address == HostnameAddress(b"example.com", 443)
    call.deliver(V4A)  # a late answer is ignored
    assert reactor.tcpClients == []


def test_cancel_while_connecting_stops_every_attempt() -> None:
    """Cancelling during the race stops all pending attempts and schedules no more."""
    reactor = ResolvingMemoryReactor()
    d, _ = _start(reactor)
    reactor.nameResolver.calls[0].deliver(V6A, V4A, V6B)
    reactor.advance(0.3)
    d.cancel()
    failureResultOf(d, ConnectingCancelledError)
    assert [c.stoppedConnecting for c in reactor.connectors] == [True, True]
    assert reactor.getDelayedCalls() == []


def test_ip_literal_skips_resolution() -> None:
    """An IP address literal is connected to directly, without the resolver."""
    reactor = ResolvingMemoryReactor()
    _start(reactor, host="::1")
    _start(reactor, host="127.0.0.1")
    assert reactor.nameResolver.calls == []
    assert _hosts(reactor) == ["::1", "127.0.0.1"]


def test_timeout_and_bind_address_reach_each_attempt() -> None:
    """Each attempt gets the endpoint's timeout and bindAddress."""
    reactor = ResolvingMemoryReactor()
    _start(reactor, timeout=7, bindAddress=("192.0.2.5", 0))
    reactor.nameResolver.calls[0].deliver(V4A)
    ((_, port, _, timeout, bind),) = reactor.tcpClients
    assert (port, timeout, bind) == (443, 7, ("192.0.2.5", 0))


@pytest.mark.parametrize("host", [b"example.com", "example.com"])
def test_host_may_be_bytes_or_text(host: str | bytes) -> None:
    """The host may be given as bytes or str; the resolver gets text."""
    reactor = ResolvingMemoryReactor()
    HostnameEndpoint(reactor, host, 80).connect(Factory())
    assert reactor.nameResolver.calls[0].hostName == "example.com"
