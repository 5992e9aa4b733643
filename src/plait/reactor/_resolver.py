"""Name resolution off the loop thread.

``GAIResolver`` (the default ``IHostnameResolver``) runs ``socket.getaddrinfo`` in the
reactor's thread pool and delivers the addresses on the loop thread. The two adapters turn a
simple resolver (``getHostByName``) into a host-name resolver and back, so
``installResolver`` and ``installNameResolver`` each keep both views in step.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..defer import Deferred, Failure
from ..log import Logger
from ..protocol import DNSLookupError, IPv4Address, IPv6Address
from ._threads import ThreadPool, deferToThreadPool

if TYPE_CHECKING:
    from ._interfaces import (
        IHostnameResolver,
        IHostResolution,
        IResolutionReceiver,
        IResolverSimple,
    )

__all__ = [
    "ComplexResolverSimplifier",
    "GAIResolver",
    "HostResolution",
    "SimpleResolverComplexifier",
    "isIPAddress",
    "isIPv6Address",
]

_AddressType = type[IPv4Address] | type[IPv6Address]
_GAIResult = list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]]

_resolverLog = Logger("plait.reactor.resolver")
_socktypes = {"TCP": socket.SOCK_STREAM, "UDP": socket.SOCK_DGRAM}


def isIPAddress(name: str) -> bool:
    """True if ``name`` is a dotted-quad IPv4 address."""
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def isIPv6Address(name: str) -> bool:
    """True if ``name`` is an IPv6 address (with an optional ``%scope``)."""
    try:
        ipaddress.IPv6Address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


class HostResolution:
    """One resolution in progress (``IHostResolution``)."""

    def __init__(self, name: str, onCancel: Callable[[], object] | None = None) -> None:
        self.name = name
        self.cancelled = False
        self._onCancel = onCancel

    def cancel(self) -> None:
        """Stop delivering addresses; ``resolutionComplete`` still comes once."""
        if not self.cancelled:
            self.cancelled = True
            if self._onCancel is not None:
                self._onCancel()


class GAIResolver:
    """``IHostnameResolver`` on ``socket.getaddrinfo``, run in a thread pool."""

    def __init__(
        self,
        reactor: Any,
        getThreadPool: Callable[[], ThreadPool] | None = None,
        getaddrinfo: Callable[..., _GAIResult] | None = None,
    ) -> None:
        self._reactor = reactor
        self._getThreadPool = getThreadPool if getThreadPool is not None else reactor.getThreadPool
        self._getaddrinfo: Callable[..., _GAIResult] = (
            getaddrinfo if getaddrinfo is not None else socket.getaddrinfo  # type: ignore[assignment]
        )

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[_AddressType] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """Resolve ``hostName`` in a pool thread; addresses arrive on the loop thread."""
        types = set(addressTypes) if addressTypes else {IPv4Address, IPv6Address}
        if types == {IPv4Address}:
            family = socket.AF_INET
        elif types == {IPv6Address}:
            family = socket.AF_INET6
        else:
            family = socket.AF_UNSPEC
        socktype = _socktypes.get(transportSemantics, socket.SOCK_STREAM)
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def lookup() -> _GAIResult:
            try:
                return self._getaddrinfo(hostName, portNumber, family, socktype)
            except (OSError, UnicodeError):
                return []

        d = deferToThreadPool(self._reactor, self._getThreadPool(), lookup)

        def deliver(result: _GAIResult) -> None:
            if not resolution.cancelled:
                for fam, _kind, _proto, _canon, sockaddr in result:
                    if fam == socket.AF_INET:
                        resolutionReceiver.addressResolved(
                            IPv4Address(transportSemantics, sockaddr[0], sockaddr[1])  # type: ignore[arg-type]
                        )
                    elif fam == socket.AF_INET6:
                        resolutionReceiver.addressResolved(
                            IPv6Address(
                                transportSemantics,  # type: ignore[arg-type]
                                sockaddr[0],
                                sockaddr[1],
                                sockaddr[2],
                                sockaddr[3],
                            )
                        )
            resolutionReceiver.resolutionComplete()

        d.addCallback(deliver)
        return resolution


class _FirstAddress:
    """An ``IResolutionReceiver`` firing a Deferred with the first address (or failing)."""

    def __init__(self, name: str, deferred: Deferred[str]) -> None:
        self._name = name
        self._deferred = deferred
        self._addresses: list[IPv4Address | IPv6Address] = []

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        pass

    def addressResolved(self, address: IPv4Address | IPv6Address) -> None:
        self._addresses.append(address)

    def resolutionComplete(self) -> None:
        if self._deferred.called:
            return
        # getHostByName answers IPv4 when there is one, as the classic API did.
        for address in self._addresses:
            if isinstance(address, IPv4Address):
                self._deferred.callback(address.host)
                return
        if self._addresses:
            self._deferred.callback(self._addresses[0].host)
        else:
            self._deferred.errback(Failure(DNSLookupError(f"address {self._name!r} not found")))


class ComplexResolverSimplifier:
    """An ``IResolverSimple`` over an ``IHostnameResolver``."""

    def __init__(self, nameResolver: IHostnameResolver) -> None:
        self._nameResolver = nameResolver

    def getHostByName(self, name: str, timeout: Sequence[int] = (1, 3, 11, 45)) -> Deferred[str]:
        """Fire with the first address of ``name`` (IPv4 preferred) or ``DNSLookupError``."""
        d: Deferred[str] = Deferred()
        self._nameResolver.resolveHostName(_FirstAddress(name, d), name, 0)
        return d


class SimpleResolverComplexifier:
    """An ``IHostnameResolver`` over an ``IResolverSimple`` (one address per name)."""

    def __init__(self, simpleResolver: IResolverSimple) -> None:
        self._simpleResolver = simpleResolver

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[_AddressType] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """Ask the simple resolver; deliver its one address (if of a wanted type)."""
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        types = set(addressTypes) if addressTypes else {IPv4Address, IPv6Address}

        def found(address: str) -> None:
            if resolution.cancelled:
                return
            if isIPv6Address(address):
                if IPv6Address in types:
                    resolutionReceiver.addressResolved(
                        IPv6Address(transportSemantics, address, portNumber)  # type: ignore[arg-type]
                    )
            elif IPv4Address in types:
                resolutionReceiver.addressResolved(
                    IPv4Address(transportSemantics, address, portNumber)  # type: ignore[arg-type]
                )

        def failed(reason: Failure) -> None:
            if not reason.check(DNSLookupError):
                _resolverLog.failure("Name resolver failed for {name!r}", reason, name=hostName)

        def complete(_: object) -> None:
            resolutionReceiver.resolutionComplete()

        d = self._simpleResolver.getHostByName(hostName)
        d.addCallbacks(found, failed)
        d.addBoth(complete)
        return resolution
