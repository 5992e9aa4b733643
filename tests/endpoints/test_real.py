"""Endpoints over real loopback sockets, on every reactor backend (bounded in time)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred, Failure, ensureDeferred, gatherResults, maybeDeferred
from plait.endpoints import (
    AdoptedStreamServerEndpoint,
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    clientFromString,
    connectProtocol,
    serverFromString,
)
from plait.protocol import (
    ConnectingCancelledError,
    ConnectionRefusedError,
    Factory,
    IPv4Address,
    Protocol,
)
from plait.reactor import reactorClassNamed, reactorNames

from .conftest import FakeResolution

BACKENDS = [name for name in ("select", "poll", "epoll") if name in reactorNames()]


def _hasIPv6Loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture(params=BACKENDS)
def reactor(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new reactor of each backend, closed after the test."""
    r = reactorClassNamed(request.param)()
    yield r
    if r._started:
        r.crash()
    r.close()


def runMain(reactor: Any, main: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Run ``reactor`` once until coroutine ``main()`` finishes (at most ``timeout`` seconds).

    Returns what ``main`` returned, or raises what it raised. (A reactor runs only once.)
    """
    outcome: list[Any] = []

    def finish(result: object) -> None:
        outcome.append(result)
        reactor.stop()

    def start() -> None:
        ensureDeferred(main()).addBoth(finish)

    reactor.callWhenRunning(start)
    guard = reactor.callLater(timeout, reactor.stop)
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    assert outcome, f"nothing happened within {timeout}s"
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


class Echo(Protocol):
    """Echoes what it receives."""

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class Greeter(Protocol):
    """Sends a message once connected; fires ``echoed`` when the echo is complete."""

    def __init__(self, message: bytes) -> None:
        self.message = message
        self.received = b""
        self.echoed: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self.message)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= len(self.message) and not self.echoed.called:
            assert self.transport is not None
            self.transport.loseConnection()
            self.echoed.callback(self.received)


def _roundTrip(
    reactor: Any,
    server: Any,
    client: Any,
    message: bytes = b"ping",
    whileListening: Callable[[], object] = lambda: None,
) -> bytes:
    """Listen on ``server``, connect ``client(port)`` to it, check the echo, stop listening."""

    async def main() -> bytes:
        port = await server.listen(Factory.forProtocol(Echo))
        try:
            whileListening()
            greeter = Greeter(message)
            proto = await connectProtocol(client(port), greeter)
            assert proto is greeter
            echoed: bytes = await greeter.echoed
            return echoed
        finally:
            await maybeDeferred(port.stopListening)

    result: bytes = runMain(reactor, main)
    return result


def test_tcp4_round_trip(reactor: Any) -> None:
    """TCP4ServerEndpoint on 127.0.0.1:0 and TCP4ClientEndpoint echo bytes end to end."""
    server = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    message = b"hello " * 20_000
    echoed = _roundTrip(
        reactor,
        server,
        lambda p: TCP4ClientEndpoint(reactor, "127.0.0.1", p.getHost().port),
        message,
    )
    assert echoed == message


def test_endpoint_strings_round_trip(reactor: Any) -> None:
    """serverFromString/clientFromString descriptions work over real sockets."""
    server = serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    echoed = _roundTrip(
        reactor,
        server,
        lambda p: clientFromString(
            reactor, f"tcp:host=127.0.0.1:port={p.getHost().port}:timeout=5"
        ),
    )
    assert echoed == b"ping"


@pytest.mark.skipif(not _hasIPv6Loopback(), reason="no IPv6 loopback")
def test_tcp6_round_trip(reactor: Any) -> None:
    """TCP6ServerEndpoint on ::1 and TCP6ClientEndpoint echo bytes."""
    server = TCP6ServerEndpoint(reactor, 0, interface="::1")
    echoed = _roundTrip(
        reactor, server, lambda p: TCP6ClientEndpoint(reactor, "::1", p.getHost().port)
    )
    assert echoed == b"ping"


def test_hostname_endpoint_to_localhost(reactor: Any) -> None:
    """HostnameEndpoint resolves 'localhost' and reaches a server on 127.0.0.1.

    If localhost also resolves to ::1 (where nothing listens), that attempt is refused and the
    race falls through to IPv4.
    """
    server = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    echoed = _roundTrip(
        reactor,
        server,
        lambda p: HostnameEndpoint(reactor, "localhost", p.getHost().port, attemptDelay=0.05),
    )
    assert echoed == b"ping"


def test_unix_round_trip(reactor: Any, tmp_path: Path) -> None:
    """UNIXServerEndpoint and UNIXClientEndpoint echo bytes over a socket path."""
    path = str(tmp_path / "echo.sock")
    server = UNIXServerEndpoint(reactor, path, mode=0o600)
    echoed = _roundTrip(reactor, server, lambda p: UNIXClientEndpoint(reactor, path))
    assert echoed == b"ping"


def test_unix_string_with_lockfile(reactor: Any, tmp_path: Path) -> None:
    """'unix:PATH:mode=600:lockfile=1' listens, and a client string connects."""
    path = tmp_path / "s.sock"
    escaped = str(path).replace(":", "\\:")
    server = serverFromString(reactor, f"unix:{escaped}:mode=600:lockfile=1")
    modes: list[int] = []
    echoed = _roundTrip(
        reactor,
        server,
        lambda p: clientFromString(reactor, f"unix:path={escaped}"),
        whileListening=lambda: modes.append(path.stat().st_mode & 0o777),
    )
    assert echoed == b"ping"
    assert modes == [0o600]


def test_adopted_listening_socket(reactor: Any) -> None:
    """AdoptedStreamServerEndpoint serves a socket that was listening before the reactor."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    address = listener.getsockname()
    fd = listener.detach()
    server = AdoptedStreamServerEndpoint(reactor, fd, socket.AF_INET)
    echoed = _roundTrip(reactor, server, lambda p: TCP4ClientEndpoint(reactor, *address))
    assert echoed == b"ping"
    with pytest.raises(OSError):
        socket.socket(fileno=fd)  # the endpoint closed the original descriptor


def test_refused_connection_fails(reactor: Any) -> None:
    """Connecting to a port nobody listens on fails with ConnectionRefusedError."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)

    async def main() -> None:
        await endpoint.connect(Factory.forProtocol(Protocol))

    with pytest.raises(ConnectionRefusedError):
        runMain(reactor, main)


def test_many_clients_at_once(reactor: Any) -> None:
    """Fifty concurrent connects through endpoints all complete their echo."""
    server = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")

    async def main() -> list[bytes]:
        port = await server.listen(Factory.forProtocol(Echo))
        client = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        greeters = [Greeter(b"n%d" % i) for i in range(50)]
        for g in greeters:
            connectProtocol(client, g)
        results: list[bytes] = await gatherResults([g.echoed for g in greeters])
        await maybeDeferred(port.stopListening)
        return results

    assert runMain(reactor, main) == [b"n%d" % i for i in range(50)]


class StaticResolver:
    """A name resolver that answers every name with fixed hosts, at once."""

    def __init__(self, *hosts: str) -> None:
        self.hosts = hosts

    def resolveHostName(
        self,
        receiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        resolution = FakeResolution(hostName)
        receiver.resolutionBegan(resolution)
        for host in self.hosts:
            receiver.addressResolved(IPv4Address("TCP", host, portNumber))
        receiver.resolutionComplete()
        return resolution


def test_hostname_endpoint_falls_through_a_refused_address(reactor: Any) -> None:
    """With a first address that refuses (127.0.0.2), the race still connects to 127.0.0.1."""
    reactor.installNameResolver(StaticResolver("127.0.0.2", "127.0.0.1"))
    server = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    echoed = _roundTrip(
        reactor,
        server,
        lambda p: HostnameEndpoint(reactor, "two.example", p.getHost().port, attemptDelay=5),
    )
    assert echoed == b"ping"


def test_hostname_endpoint_all_refused(reactor: Any) -> None:
    """When every address refuses, the connect fails with the (last) refusal."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reactor.installNameResolver(StaticResolver("127.0.0.2", "127.0.0.1"))
    endpoint = HostnameEndpoint(reactor, "two.example", port, attemptDelay=5)

    async def main() -> None:
        await endpoint.connect(Factory.forProtocol(Protocol))

    with pytest.raises(ConnectionRefusedError):
        runMain(reactor, main)


def test_cancel_a_real_connect(reactor: Any) -> None:
    """Cancelling a connect in the turn it started fails it with ConnectingCancelledError."""
    server = TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    built: list[Protocol] = []

    def build() -> Protocol:
        built.append(Protocol())
        return built[-1]

    async def main() -> Any:
        port = await server.listen(Factory.forProtocol(Echo))
        try:
            client = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
            d = client.connect(Factory.forProtocol(build))
            d.cancel()
            try:
                await d
            except ConnectingCancelledError as e:
                return e.address
            raise AssertionError("the cancelled connect succeeded")
        finally:
            await maybeDeferred(port.stopListening)

    address = runMain(reactor, main)
    assert isinstance(address, IPv4Address)
    assert address.host == "127.0.0.1"
    assert built == []
