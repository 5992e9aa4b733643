"""TCP, Unix and adopted endpoints on a MemoryReactor: recorded calls, connect outcomes, cancel."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from plait.defer import Failure
from plait.endpoints import (
    AdoptedStreamServerEndpoint,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
    NoProtocol,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    connectProtocol,
)
from plait.protocol import (
    AlreadyListened,
    CannotListenError,
    ConnectingCancelledError,
    ConnectionDone,
    ConnectionRefusedError,
    DNSLookupError,
    Factory,
    HostnameAddress,
    IHalfCloseableProtocol,
    IPv4Address,
    IPv6Address,
    UNIXAddress,
    UserError,
)
from plait.testing import (
    MemoryReactor,
    StringTransport,
    assertNoResult,
    failureResultOf,
    successResultOf,
)

from .conftest import RecordingProtocol, ResolvingMemoryReactor

PEER = IPv4Address("TCP", "10.0.0.1", 80)


# -- servers ------------------------------------------------------------------------------------


def test_tcp4_server_listens_with_its_arguments() -> None:
    """TCP4ServerEndpoint.listen calls listenTCP with port, backlog, interface; fires with port."""
    reactor = MemoryReactor()
    factory = Factory()
    endpoint = TCP4ServerEndpoint(reactor, 1234, backlog=7, interface="127.0.0.1")
    port = successResultOf(endpoint.listen(factory))
    assert reactor.tcpServers == [(1234, factory, 7, "127.0.0.1")]
    assert port is reactor.ports[0]
    assert isinstance(endpoint, IStreamServerEndpoint)


def test_tcp_server_defaults() -> None:
    """Defaults: backlog 50; interface '' for IPv4 and '::' for IPv6."""
    reactor = MemoryReactor()
    TCP4ServerEndpoint(reactor, 1).listen(Factory())
    TCP6ServerEndpoint(reactor, 2).listen(Factory())
    assert [(p, b, i) for p, _, b, i in reactor.tcpServers] == [(1, 50, ""), (2, 50, "::")]


class RefusingReactor(MemoryReactor):
    """A reactor on which every listen fails."""

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        raise CannotListenError(interface, port, OSError(98, "Address already in use"))

    def listenUNIX(self, address: str, factory: Any, *a: Any, **kw: Any) -> Any:
        raise CannotListenError(None, address, OSError(13, "Permission denied"))


def test_listen_failure_fails_the_deferred() -> None:
    """A CannotListenError from the reactor becomes the listen Deferred's failure."""
    f = failureResultOf(TCP4ServerEndpoint(RefusingReactor(), 80).listen(Factory()))
    assert f.check(CannotListenError)
    assert f.value.osError == 98
    f = failureResultOf(UNIXServerEndpoint(RefusingReactor(), "/s").listen(Factory()))
    assert f.check(CannotListenError)


def test_unix_server_listens_with_its_arguments() -> None:
    """UNIXServerEndpoint passes address, backlog, mode and wantPID to listenUNIX."""
    reactor = MemoryReactor()
    factory = Factory()
    UNIXServerEndpoint(reactor, "/tmp/s", backlog=3, mode=0o600, wantPID=1).listen(factory)
    UNIXServerEndpoint(reactor, "/tmp/t").listen(factory)
    assert reactor.unixServers == [
        ("/tmp/s", factory, 3, 0o600, 1),
        ("/tmp/t", factory, 50, 0o666, 0),
    ]


def test_adopted_endpoint_adopts_once_and_closes_the_descriptor() -> None:
    """AdoptedStreamServerEndpoint adopts the fd, closes the original, refuses a second listen."""
    reactor = MemoryReactor()
    closed: list[int] = []
    endpoint = AdoptedStreamServerEndpoint(reactor, 17, socket.AF_INET)
    endpoint._close = closed.append  # type: ignore[method-assign]
    factory = Factory()
    port = successResultOf(endpoint.listen(factory))
    assert reactor.adoptedPorts == [(17, socket.AF_INET, factory)]
    assert closed == [17]
    assert port is reactor.ports[0]
    failureResultOf(endpoint.listen(factory), AlreadyListened)
    assert len(reactor.adoptedPorts) == 1


# -- clients ------------------------------------------------------------------------------------


def _connect(
    reactor: MemoryReactor, endpoint: IStreamClientEndpoint
) -> tuple[Any, Any, RecordingProtocol]:
    """Connect ``endpoint``; returns (deferred, wrapping factory, the protocol it will build)."""
    proto = RecordingProtocol()
    d = endpoint.connect(Factory.forProtocol(lambda: proto))
    recorded = reactor.tcpClients[-1][2] if reactor.tcpClients else reactor.unixClients[-1][1]
    return d, recorded, proto


def test_tcp4_client_connects_with_its_arguments() -> None:
    """TCP4ClientEndpoint passes host, port, timeout and bindAddress to connectTCP."""
    reactor = MemoryReactor()
    endpoint = TCP4ClientEndpoint(reactor, "10.0.0.1", 80, timeout=3, bindAddress=("10.0.0.2", 0))
    assert isinstance(endpoint, IStreamClientEndpoint)
    d = endpoint.connect(Factory.forProtocol(RecordingProtocol))
    ((host, port, _, timeout, bind),) = reactor.tcpClients
    assert (host, port, timeout, bind) == ("10.0.0.1", 80, 3, ("10.0.0.2", 0))
    assertNoResult(d)


def test_connect_fires_with_the_protocol_after_connection_made() -> None:
    """Once the reactor connects, the Deferred fires with the user's protocol, already made."""
    reactor = MemoryReactor()
    d, wrapping, proto = _connect(reactor, TCP4ClientEndpoint(reactor, "10.0.0.1", 80))
    assertNoResult(d)
    transport = StringTransport()
    wrapper = wrapping.buildProtocol(PEER)
    wrapper.makeConnection(transport)
    assert successResultOf(d) is proto
    assert proto.transport is transport
    assert proto.events == ["made"]
    wrapper.dataReceived(b"hello")
    wrapper.connectionLost(Failure(ConnectionDone()))
    assert proto.events[1] == b"hello"
    assert proto.events[2][0] == "lost"


def test_connect_failure_fails_the_deferred() -> None:
    """clientConnectionFailed fails the Deferred with the reactor's reason."""
    reactor = MemoryReactor()
    d, wrapping, _ = _connect(reactor, TCP4ClientEndpoint(reactor, "10.0.0.1", 80))
    wrapping.clientConnectionFailed(reactor.connectors[0], Failure(ConnectionRefusedError(111)))
    f = failureResultOf(d, ConnectionRefusedError)
    assert f.value.osError == 111


def test_cancel_stops_connecting_and_fails_with_connecting_cancelled() -> None:
    """Cancelling stops the connector; the Deferred fails with ConnectingCancelledError."""
    reactor = MemoryReactor()
    d, wrapping, _ = _connect(reactor, TCP4ClientEndpoint(reactor, "10.0.0.1", 80))
    d.cancel()
    f = failureResultOf(d, ConnectingCancelledError)
    connector = reactor.connectors[0]
    assert connector.stoppedConnecting
    assert f.value.address == IPv4Address("TCP", "10.0.0.1", 80)
    # The reactor then reports the stopped attempt; that must not fire the Deferred again.
    wrapping.clientConnectionFailed(connector, Failure(UserError()))


def test_cancel_after_connecting_does_nothing() -> None:
    """Cancelling a Deferred that already fired with the protocol leaves it connected."""
    reactor = MemoryReactor()
    d, wrapping, proto = _connect(reactor, TCP4ClientEndpoint(reactor, "10.0.0.1", 80))
    wrapping.buildProtocol(PEER).makeConnection(StringTransport())
    d.cancel()
    assert successResultOf(d) is proto
    assert not reactor.connectors[0].stoppedConnecting


def test_build_protocol_returning_none_fails_with_no_protocol() -> None:
    """A factory whose buildProtocol returns None fails the connect with NoProtocol."""
    reactor = MemoryReactor()

    class NoneFactory(Factory):
        def buildProtocol(self, addr: Any) -> Any:
            return None

    d = TCP4ClientEndpoint(reactor, "10.0.0.1", 80).connect(NoneFactory())
    assert reactor.tcpClients[0][2].buildProtocol(PEER) is None
    failureResultOf(d, NoProtocol)


def test_build_protocol_raising_fails_with_that_error() -> None:
    """An exception from buildProtocol fails the connect with that exception."""
    reactor = MemoryReactor()

    class BrokenFactory(Factory):
        def buildProtocol(self, addr: Any) -> Any:
            raise ZeroDivisionError("broken")

    d = TCP4ClientEndpoint(reactor, "10.0.0.1", 80).connect(BrokenFactory())
    assert reactor.tcpClients[0][2].buildProtocol(PEER) is None
    failureResultOf(d, ZeroDivisionError)


def test_wrapping_factory_forwards_start_and_stop() -> None:
    """doStart/doStop on the reactor's factory reach the user's factory."""
    reactor = MemoryReactor()
    events: list[str] = []

    class CountingFactory(Factory):
        def startFactory(self) -> None:
            events.append("start")

        def stopFactory(self) -> None:
            events.append("stop")

    TCP4ClientEndpoint(reactor, "10.0.0.1", 80).connect(CountingFactory())
    wrapping = reactor.tcpClients[0][2]
    wrapping.doStart()
    wrapping.doStop()
    assert events == ["start", "stop"]


def test_half_closeable_protocols_stay_half_closeable() -> None:
    """The wrapper offers readConnectionLost only when the wrapped protocol does."""

    class HalfClose(RecordingProtocol):
        def readConnectionLost(self) -> None:
            self.events.append("read-lost")

        def writeConnectionLost(self) -> None:
            self.events.append("write-lost")

    reactor = MemoryReactor()
    half = HalfClose()
    TCP4ClientEndpoint(reactor, "10.0.0.1", 80).connect(Factory.forProtocol(lambda: half))
    wrapper = reactor.tcpClients[0][2].buildProtocol(PEER)
    assert isinstance(wrapper, IHalfCloseableProtocol)
    wrapper.makeConnection(StringTransport())
    wrapper.readConnectionLost()
    assert half.events == ["made", "read-lost"]

    TCP4ClientEndpoint(reactor, "10.0.0.1", 80).connect(Factory.forProtocol(RecordingProtocol))
    plain = reactor.tcpClients[1][2].buildProtocol(PEER)
    assert not isinstance(plain, IHalfCloseableProtocol)


def test_unix_client_connects_with_its_arguments() -> None:
    """UNIXClientEndpoint passes path, timeout and checkPID to connectUNIX; fires on connect."""
    reactor = MemoryReactor()
    d, wrapping, proto = _connect(
        reactor, UNIXClientEndpoint(reactor, "/run/s", timeout=4, checkPID=1)
    )
    ((path, _, timeout, checkPID),) = reactor.unixClients
    assert (path, timeout, checkPID) == ("/run/s", 4, 1)
    wrapping.buildProtocol(UNIXAddress("/run/s")).makeConnection(StringTransport())
    assert successResultOf(d) is proto


def test_unix_client_cancel() -> None:
    """Cancelling a Unix connect stops the connector and names the path."""
    reactor = MemoryReactor()
    d, _, _ = _connect(reactor, UNIXClientEndpoint(reactor, "/run/s"))
    d.cancel()
    f = failureResultOf(d, ConnectingCancelledError)
    assert f.value.address == UNIXAddress("/run/s")
    assert reactor.connectors[0].stoppedConnecting


def test_connect_protocol_uses_the_given_instance() -> None:
    """connectProtocol connects the very protocol given and fires with it."""
    reactor = MemoryReactor()
    proto = RecordingProtocol()
    d = connectProtocol(TCP4ClientEndpoint(reactor, "10.0.0.1", 80), proto)
    reactor.tcpClients[0][2].buildProtocol(PEER).makeConnection(StringTransport())
    assert successResultOf(d) is proto
    assert proto.events == ["made"]


def test_tcp6_client_with_a_literal_connects_directly() -> None:
    """TCP6ClientEndpoint given an IPv6 literal connects to it without resolving."""
    reactor = ResolvingMemoryReactor()
    TCP6ClientEndpoint(reactor, "::1", 80).connect(Factory.forProtocol(RecordingProtocol))
    assert reactor.tcpClients[0][:2] == ("::1", 80)
    assert reactor.nameResolver.calls == []


def test_tcp6_client_resolves_a_name_to_its_ipv6_address() -> None:
    """TCP6ClientEndpoint given a name asks for IPv6 addresses and connects to the first."""
    reactor = ResolvingMemoryReactor()
    d = TCP6ClientEndpoint(reactor, "example.com", 80).connect(
        Factory.forProtocol(RecordingProtocol)
    )
    (call,) = reactor.nameResolver.calls
    assert (call.hostName, call.addressTypes) == ("example.com", [IPv6Address])
    assert reactor.tcpClients == []
    call.deliver("2001:db8::1", "2001:db8::2")
    assert reactor.tcpClients[0][:2] == ("2001:db8::1", 80)
    reactor.tcpClients[0][2].buildProtocol(PEER).makeConnection(StringTransport())
    assert isinstance(successResultOf(d), RecordingProtocol)


def test_tcp6_client_without_ipv6_address_fails_with_dns_lookup_error() -> None:
    """A name with no IPv6 address fails with DNSLookupError."""
    reactor = ResolvingMemoryReactor()
    d = TCP6ClientEndpoint(reactor, "v4only.example", 80).connect(Factory())
    reactor.nameResolver.calls[0].deliver()
    failureResultOf(d, DNSLookupError)


def test_tcp6_client_cancel_while_resolving_cancels_the_resolution() -> None:
    """Cancelling while the name resolves cancels the resolution; nothing connects."""
    reactor = ResolvingMemoryReactor()
    d = TCP6ClientEndpoint(reactor, "example.com", 80).connect(Factory())
    d.cancel()
    assert reactor.nameResolver.calls[0].resolution.cancelled
    f = failureResultOf(d, ConnectingCancelledError)
    assert f.value.address == HostnameAddress(b"example.com", 80)
    assert reactor.tcpClients == []


@pytest.mark.parametrize(
    "endpoint",
    [
        lambda r: TCP4ServerEndpoint(r, 80),
        lambda r: TCP4ClientEndpoint(r, "h", 80),
        lambda r: UNIXServerEndpoint(r, "/s"),
        lambda r: UNIXClientEndpoint(r, "/s"),
    ],
)
def test_repr_names_the_place(endpoint: Any) -> None:
    """An endpoint's repr says where it listens or connects."""
    text = repr(endpoint(MemoryReactor()))
    assert "80" in text or "/s" in text


def test_connection_arriving_after_cancel_is_refused() -> None:
    """If the reactor connects after the attempt was cancelled, no protocol is built."""
    reactor = MemoryReactor()
    d, wrapping, proto = _connect(reactor, TCP4ClientEndpoint(reactor, "10.0.0.1", 80))
    d.cancel()
    failureResultOf(d, ConnectingCancelledError)
    assert wrapping.buildProtocol(PEER) is None
    assert proto.events == []
