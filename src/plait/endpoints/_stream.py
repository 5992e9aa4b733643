"""TCP, Unix and adopted-socket endpoints: thin objects over the reactor's listen/connect calls."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from plait.defer import Deferred, Failure
from plait.protocol import (
    AlreadyListened,
    ConnectingCancelledError,
    DNSLookupError,
    HostnameAddress,
    IPv6Address,
)

from ._wrapping import connectAttempt

if TYPE_CHECKING:
    from plait.protocol import IListeningPort, IProtocol, IProtocolFactory
    from plait.reactor import (
        IHostResolution,
        IReactorPluggableResolver,
        IReactorSocket,
        IReactorTCP,
        IReactorUNIX,
    )

__all__ = [
    "AdoptedStreamServerEndpoint",
    "TCP4ClientEndpoint",
    "TCP4ServerEndpoint",
    "TCP6ClientEndpoint",
    "TCP6ServerEndpoint",
    "UNIXClientEndpoint",
    "UNIXServerEndpoint",
]

# The reactor interface a TCP client endpoint needs (IPv6 also needs the name resolver).
_ReactorT = TypeVar("_ReactorT")


def _listened(listen: Callable[[], Any]) -> Deferred[IListeningPort]:
    """A Deferred with the port ``listen()`` returns, or the exception it raises."""
    d: Deferred[Any] = Deferred()
    try:
        port = listen()
    except Exception:
        d.errback(Failure())
    else:
        d.callback(port)
    return d


class _TCPServerEndpoint:
    """Listen on a TCP port through ``reactor.listenTCP``."""

    def __init__(self, reactor: IReactorTCP, port: int, backlog: int, interface: str) -> None:
        self._reactor = reactor
        self._port = port
        self._backlog = backlog
        self._interface = interface

    def __repr__(self) -> str:
        return f"{type(self).__name__}(port={self._port}, interface={self._interface!r})"

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """Fire with the listening port, or fail with ``CannotListenError``."""
        return _listened(
            lambda: self._reactor.listenTCP(
                self._port, protocolFactory, backlog=self._backlog, interface=self._interface
            )
        )


class TCP4ServerEndpoint(_TCPServerEndpoint):
    """A TCP port on IPv4: ``interface`` '' means every IPv4 interface; port 0 picks one."""

    def __init__(
        self, reactor: IReactorTCP, port: int, backlog: int = 50, interface: str = ""
    ) -> None:
        super().__init__(reactor, port, backlog, interface)


class TCP6ServerEndpoint(_TCPServerEndpoint):
    """A TCP port on IPv6: ``interface`` '::' means every IPv6 interface; port 0 picks one."""

    def __init__(
        self, reactor: IReactorTCP, port: int, backlog: int = 50, interface: str = "::"
    ) -> None:
        super().__init__(reactor, port, backlog, interface)


class _TCPClientEndpoint(Generic[_ReactorT]):
    """What the TCP client endpoints share: where to connect, the timeout, the local bind."""

    def __init__(
        self,
        reactor: _ReactorT,
        host: str,
        port: int,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> None:
        self._reactor = reactor
        self._host = host
        self._port = port
        self._timeout = timeout
        self._bindAddress = bindAddress

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self._host!r}, port={self._port})"


class TCP4ClientEndpoint(_TCPClientEndpoint["IReactorTCP"]):
    """Connect over TCP to ``host`` (an IPv4 address or a name the reactor resolves) and port.

    ``timeout`` is in seconds; ``bindAddress`` is a ``(host, port)`` to bind locally first.
    """

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """Fire with the connected protocol; cancelling stops the attempt."""
        return connectAttempt(
            protocolFactory,
            lambda factory: self._reactor.connectTCP(
                self._host,
                self._port,
                factory,
                timeout=self._timeout,
                bindAddress=self._bindAddress,
            ),
        )


def hostBytes(host: str) -> bytes:
    """``host`` as the bytes of a ``HostnameAddress`` (IDNA, or UTF-8 if IDNA cannot say it)."""
    try:
        return host.encode("idna")
    except UnicodeError:
        return host.encode("utf-8", "backslashreplace")


def _isIPv6Literal(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class _FirstIPv6:
    """A resolution receiver that keeps the first IPv6 address (for ``TCP6ClientEndpoint``)."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self.resolution: IHostResolution | None = None
        self.deferred: Deferred[str] = Deferred(self._cancel)
        self._found: str | None = None

    def _cancel(self, deferred: Deferred[str]) -> None:
        if self.resolution is not None:
            self.resolution.cancel()
        address = HostnameAddress(hostBytes(self._host), self._port)
        deferred.errback(ConnectingCancelledError(address))

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        self.resolution = resolutionInProgress

    def addressResolved(self, address: Any) -> None:
        if self._found is None and isinstance(address, IPv6Address):
            self._found = address.host

    def resolutionComplete(self) -> None:
        if self.deferred.called:
            return
        if self._found is None:
            self.deferred.errback(DNSLookupError(f"no IPv6 address for {self._host!r}"))
        else:
            self.deferred.callback(self._found)


class TCP6ClientEndpoint(_TCPClientEndpoint[Any]):
    """Connect over TCP on IPv6: ``host`` is an IPv6 address or a name with an AAAA record.

    A name is resolved through the reactor's ``nameResolver`` (IPv6 addresses only) first.
    """

    def _connectTo(self, host: str, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        reactor: IReactorTCP = self._reactor
        return connectAttempt(
            protocolFactory,
            lambda factory: reactor.connectTCP(
                host, self._port, factory, timeout=self._timeout, bindAddress=self._bindAddress
            ),
        )

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """Fire with the connected protocol; cancelling stops resolving or connecting."""
        if _isIPv6Literal(self._host):
            return self._connectTo(self._host, protocolFactory)
        reactor: IReactorPluggableResolver = self._reactor
        receiver = _FirstIPv6(self._host, self._port)
        try:
            reactor.nameResolver.resolveHostName(
                receiver, self._host, self._port, [IPv6Address], "TCP"
            )
        except Exception:
            receiver.deferred.errback(Failure())
        d: Deferred[Any] = receiver.deferred
        d.addCallback(self._connectTo, protocolFactory)
        return d


class UNIXServerEndpoint:
    """Listen on the Unix socket path ``address``, created with permissions ``mode``.

    With ``wantPID`` a ``<address>.lock`` file guards the path, so a stale socket left by a dead
    process is replaced and a live one is not.
    """

    def __init__(
        self,
        reactor: IReactorUNIX,
        address: str,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> None:
        self._reactor = reactor
        self._address = address
        self._backlog = backlog
        self._mode = mode
        self._wantPID = wantPID

    def __repr__(self) -> str:
        return f"{type(self).__name__}(address={self._address!r})"

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """Fire with the listening port, or fail with ``CannotListenError``."""
        return _listened(
            lambda: self._reactor.listenUNIX(
                self._address,
                protocolFactory,
                backlog=self._backlog,
                mode=self._mode,
                wantPID=self._wantPID,
            )
        )


class UNIXClientEndpoint:
    """Connect to the Unix socket ``path``; with ``checkPID`` refuse if its lock's owner is dead."""

    def __init__(
        self, reactor: IReactorUNIX, path: str, timeout: float = 30, checkPID: int = 0
    ) -> None:
        self._reactor = reactor
        self._path = path
        self._timeout = timeout
        self._checkPID = checkPID

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self._path!r})"

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """Fire with the connected protocol; cancelling stops the attempt."""
        return connectAttempt(
            protocolFactory,
            lambda factory: self._reactor.connectUNIX(
                self._path, factory, timeout=self._timeout, checkPID=self._checkPID
            ),
        )


class AdoptedStreamServerEndpoint:
    """Listen on a stream socket that is already listening (inherited from a parent, say).

    The reactor takes a duplicate of ``fileno``; the endpoint then closes ``fileno`` itself, so
    it can listen only once (a second ``listen`` fails with ``AlreadyListened``).
    """

    # How the original descriptor is closed once adopted (a seam for tests).
    _close: Callable[[int], None] = staticmethod(os.close)

    def __init__(
        self, reactor: IReactorSocket, fileno: int, addressFamily: socket.AddressFamily
    ) -> None:
        self._reactor = reactor
        self.fileno = fileno
        self.addressFamily = addressFamily
        self._used = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fileno={self.fileno}, {self.addressFamily.name})"

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """Adopt the socket once; fire with the port or fail (``AlreadyListened`` the 2nd time)."""

        def adopt() -> Any:
            if self._used:
                raise AlreadyListened(f"file descriptor {self.fileno} was already adopted")
            port = self._reactor.adoptStreamPort(self.fileno, self.addressFamily, protocolFactory)
            self._used = True
            self._close(self.fileno)
            return port

        return _listened(adopt)
