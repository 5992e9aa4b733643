"""TCP over IPv4 and IPv6: ``listenTCP``, ``connectTCP`` and the TCP transport.

- ``listenTCP(port, factory, backlog=50, interface='')``: ``interface`` is an IP literal; one
  with a ``:`` listens on IPv6, and ``'::'`` is dual-stack (``IPV6_V6ONLY`` off), accepting
  IPv4 clients too. Binding failures raise ``CannotListenError`` naming the address and the OS
  error. ``SO_REUSEADDR`` is set, as servers expect on POSIX.
- ``connectTCP(host, port, factory, timeout=30, bindAddress=None)``: a host name is resolved by
  the reactor's ``nameResolver`` (getaddrinfo in the thread pool, off the loop thread) and its
  addresses are tried in order, the next one when the OS refuses one (the timeout covers them
  all); failures reach ``clientConnectionFailed`` as ``DNSLookupError``, ``TimeoutError`` or
  the errno's ``ConnectError`` subclass (of the last address tried).
- Addresses are ``IPv4Address``/``IPv6Address``; an IPv4 peer of a dual-stack socket (seen as
  ``::ffff:a.b.c.d``) is reported as the ``IPv4Address`` of ``a.b.c.d``.
- ``TCP_NODELAY`` is off by default (as in Twisted and the kernel): small writes may be
  coalesced by Nagle's algorithm; latency-sensitive protocols call ``setTcpNoDelay(True)``.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from plait.defer import Failure
from plait.protocol import (
    CannotListenError,
    ConnectError,
    DNSLookupError,
    IPv4Address,
    IPv6Address,
    ServiceNameUnknownError,
)

from ._stream import Connection, StreamPort
from ._streamclient import ClientConnection, ConnectAttempt, StreamConnector

__all__ = [
    "TCPClientConnection",
    "TCPConnection",
    "TCPConnector",
    "TCPPort",
    "TCPReactorMixin",
    "TCPSocketOptions",
    "isIPv4",
    "isIPv6",
    "tcpAddress",
]

_V4MAPPED = "::ffff:"


def tcpAddress(sockaddr: Any) -> IPv4Address | IPv6Address:
    """The address object for a ``getpeername()``/``accept()`` result of an IP socket."""
    host = sockaddr[0]
    if len(sockaddr) == 2:
        return IPv4Address("TCP", host, sockaddr[1])
    if host.startswith(_V4MAPPED) and "." in host:
        return IPv4Address("TCP", host[7:], sockaddr[1])
    return IPv6Address("TCP", host, sockaddr[1], sockaddr[2], sockaddr[3])


def isIPv4(host: str) -> bool:
    """Whether ``host`` is an IPv4 address literal."""
    try:
        socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError):
        return False
    return True


def isIPv6(host: str) -> bool:
    """Whether ``host`` is an IPv6 address literal (a ``%scope`` suffix allowed)."""
    try:
        socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
    except (OSError, ValueError):
        return False
    return True


class TCPSocketOptions:
    """The ``ITCPTransport`` socket options, on ``self.socket``: one implementation for every
    TCP transport that holds its socket (the POSIX reactors' connections, asyncio's)."""

    __slots__ = ()

    if TYPE_CHECKING:

        @property
        def socket(self) -> Any: ...

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Turn Nagle's algorithm off (True) or on (False)."""
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(bool(enabled)))

    def getTcpNoDelay(self) -> bool:
        """Whether ``TCP_NODELAY`` is set (off by default)."""
        return bool(self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Turn TCP keep-alive probes on or off."""
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(bool(enabled)))

    def getTcpKeepAlive(self) -> bool:
        """Whether ``SO_KEEPALIVE`` is set (off by default)."""
        return bool(self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))


class _TCPOptions(TCPSocketOptions):
    """The ``ITCPTransport`` extras shared by server and client connections."""

    socket: socket.socket
    _peerAddr: IPv4Address | IPv6Address | None = None

    def getHost(self) -> IPv4Address | IPv6Address:
        """The local address."""
        return tcpAddress(self.socket.getsockname())

    def getPeer(self) -> IPv4Address | IPv6Address:
        """The remote address."""
        peer = self._peerAddr
        if peer is None:
            peer = self._peerAddr = tcpAddress(self.socket.getpeername())
        return peer


class TCPConnection(_TCPOptions, Connection):
    """A TCP connection accepted by a ``TCPPort`` (or adopted)."""


class TCPClientConnection(_TCPOptions, ClientConnection):
    """A TCP connection made by ``connectTCP``."""


class TCPPort(StreamPort):
    """A listening TCP socket (``IListeningPort``)."""

    connectionClass = TCPConnection

    def __init__(
        self, reactor: Any, port: int, factory: Any, backlog: int = 50, interface: str = ""
    ) -> None:
        super().__init__(reactor, factory, backlog)
        self.port = port
        self.interface = interface

    def _listenError(self, e: OSError) -> CannotListenError:
        return CannotListenError(self.interface, self.port, e)

    def _bindSocket(self) -> socket.socket:
        interface = self.interface
        family = socket.AF_INET6 if ":" in interface else socket.AF_INET
        try:
            if family == socket.AF_INET6:
                sockaddr = socket.getaddrinfo(
                    interface,
                    self.port,
                    family,
                    socket.SOCK_STREAM,
                    0,
                    socket.AI_NUMERICHOST | socket.AI_PASSIVE,
                )[0][4]
            else:
                sockaddr = (interface, self.port)
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            raise self._listenError(e) from e
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(sockaddr)
        except OSError as e:
            sock.close()
            raise self._listenError(e) from e
        return sock

    def _peerAddress(self, addr: Any) -> IPv4Address | IPv6Address:
        return tcpAddress(addr)

    def _hostOf(self, sock: socket.socket) -> IPv4Address | IPv6Address:
        return tcpAddress(sock.getsockname())

    def getHost(self) -> IPv4Address | IPv6Address:
        """The address the port listens on (with the real port number when 0 was asked)."""
        if self._hostAddress is None:
            raise RuntimeError("the port never listened")
        address: IPv4Address | IPv6Address = self._hostAddress
        return address


class _Resolution:
    """Receives the resolver's addresses for one ``connectTCP`` attempt."""

    def __init__(self, attempt: TCPConnectAttempt) -> None:
        self.attempt = attempt
        self.addresses: list[IPv4Address | IPv6Address] = []

    def resolutionBegan(self, resolution: Any) -> None:
        self.attempt._resolution = resolution

    def addressResolved(self, address: IPv4Address | IPv6Address) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.attempt._resolved(self.addresses)


class TCPConnectAttempt(ConnectAttempt):
    """Resolve the host if needed, then connect."""

    connector: TCPConnector
    _resolution: Any = None
    _remaining: tuple[IPv4Address | IPv6Address, ...] = ()

    def _begin(self) -> None:
        self._later = None
        if self.done:
            return
        connector = self.connector
        host, port = connector.host, connector.port
        if isIPv4(host):
            self.connectTo(socket.AF_INET, (host, port), connector.bindAddress)
        elif isIPv6(host):
            try:
                info = socket.getaddrinfo(
                    host, port, socket.AF_INET6, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
                )
            except OSError as e:
                self.fail(DNSLookupError(host, str(e)))
                return
            self.connectTo(socket.AF_INET6, info[0][4], connector.bindAddress)
        else:
            resolver = self.reactor.nameResolver  # type: ignore[attr-defined]
            resolver.resolveHostName(_Resolution(self), host, port)

    def _resolved(self, addresses: list[IPv4Address | IPv6Address]) -> None:
        self._resolution = None
        if self.done:
            return
        if not addresses:
            self.fail(DNSLookupError(self.connector.host, "no addresses found"))
            return
        self._remaining = tuple(addresses[1:])
        self._connectToAddress(addresses[0])

    def _connectToAddress(self, address: IPv4Address | IPv6Address) -> None:
        if isinstance(address, IPv6Address):
            sockaddr: tuple[Any, ...] = (
                address.host,
                address.port,
                address.flowInfo,
                address.scopeID,
            )
            self.connectTo(socket.AF_INET6, sockaddr, self.connector.bindAddress)
        else:
            self.connectTo(socket.AF_INET, (address.host, address.port), self.connector.bindAddress)

    def connectFailed(self, error: ConnectError) -> None:
        """A name with several addresses: try the next one (in the resolver's order)."""
        if self._remaining and not self.done:
            self._closeSocket()
            address, self._remaining = self._remaining[0], self._remaining[1:]
            self._connectToAddress(address)
        else:
            self.fail(error)

    def fail(self, error: BaseException | Failure) -> None:
        """End the attempt; a resolution still running is cancelled."""
        if self._resolution is not None and not self.done:
            resolution, self._resolution = self._resolution, None
            resolution.cancel()
        super().fail(error)


class TCPConnector(StreamConnector):
    """``IConnector`` of ``connectTCP``."""

    connectionClass = TCPClientConnection

    def __init__(
        self,
        reactor: Any,
        host: str | bytes,
        port: int | str,
        factory: Any,
        timeout: float | None = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> None:
        super().__init__(reactor, factory, timeout)
        if isinstance(host, bytes):
            host = host.decode("ascii")
        if isinstance(port, str):
            try:
                port = socket.getservbyname(port, "tcp")
            except OSError as e:
                raise ServiceNameUnknownError(None, f"{port}: {e}") from e
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {port}")
        self.host = host
        self.port = port
        self.bindAddress = bindAddress

    def _makeAttempt(self) -> ConnectAttempt:
        return TCPConnectAttempt(self)

    def _peerOf(self, sock: socket.socket) -> IPv4Address | IPv6Address:
        return tcpAddress(sock.getpeername())

    def getDestination(self) -> IPv4Address | IPv6Address:
        """Where the connector connects to (the host as given, name or literal)."""
        if isIPv6(self.host):
            return IPv6Address("TCP", self.host, self.port)
        return IPv4Address("TCP", self.host, self.port)


class TCPReactorMixin:
    """``IReactorTCP`` for the POSIX reactors (a reactor may name other port and connector
    classes, e.g. ones whose connections run on another event loop's transports)."""

    _tcpPortClass: type[TCPPort] = TCPPort
    _tcpConnectorClass: type[TCPConnector] = TCPConnector

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> TCPPort:
        """Listen for TCP connections; returns the ``IListeningPort``."""
        p = self._tcpPortClass(self, port, factory, backlog, interface)
        p.startListening()
        return p

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> TCPConnector:
        """Connect to ``host:port``; returns the ``IConnector``."""
        c = self._tcpConnectorClass(self, host, port, factory, timeout, bindAddress)
        c.connect()
        return c
