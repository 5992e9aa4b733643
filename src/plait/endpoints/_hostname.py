"""``HostnameEndpoint``: resolve a name, then race connections to its addresses (RFC 8305).

The addresses are interleaved by family (the resolver's first family first, then alternating),
and an attempt starts every ``attemptDelay`` seconds while the earlier ones are still pending,
or at once when the latest one fails. The first attempt to connect wins and the others are
cancelled; if all fail, the connect fails with the last failure.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Protocol

from plait.defer import Deferred, Failure
from plait.protocol import (
    ConnectingCancelledError,
    DNSLookupError,
    HostnameAddress,
    IPv4Address,
    IPv6Address,
)

from ._stream import TCP4ClientEndpoint, TCP6ClientEndpoint, hostBytes

if TYPE_CHECKING:
    from plait.protocol import IProtocol, IProtocolFactory
    from plait.reactor import (
        IDelayedCall,
        IHostResolution,
        IReactorPluggableResolver,
        IReactorTCP,
        IReactorTime,
    )

    class _HostnameReactor(IReactorTCP, IReactorTime, IReactorPluggableResolver, Protocol):
        """What ``HostnameEndpoint`` needs of a reactor."""


__all__ = ["HostnameEndpoint"]

_Address = IPv4Address | IPv6Address


def _interleave(addresses: list[_Address]) -> list[_Address]:
    """Alternate families, starting with the family of the first address (RFC 8305 §4)."""
    if not addresses:
        return []
    first = type(addresses[0])
    same = [a for a in addresses if isinstance(a, first)]
    other = [a for a in addresses if not isinstance(a, first)]
    ordered: list[_Address] = []
    for i in range(max(len(same), len(other))):
        ordered.extend(group[i] for group in (same, other) if i < len(group))
    return ordered


def _literal(host: str, port: int) -> _Address | None:
    """The address ``host`` spells, if it is an IP address literal (no resolving needed)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 6:
        return IPv6Address("TCP", host, port)
    return IPv4Address("TCP", host, port)


class HostnameEndpoint:
    """Connect over TCP to a host name, racing its IPv6 and IPv4 addresses ("happy eyeballs").

    The name goes to ``reactor.nameResolver``. ``timeout`` applies to each attempt;
    ``attemptDelay`` is how long an attempt has before the next one starts beside it. Fails with
    ``DNSLookupError`` when the name has no address.
    """

    def __init__(
        self,
        reactor: _HostnameReactor,
        host: str | bytes,
        port: int,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
        attemptDelay: float = 0.3,
    ) -> None:
        self._reactor = reactor
        self._host = host.decode("idna") if isinstance(host, bytes) else host
        self._port = port
        self._timeout = timeout
        self._bindAddress = bindAddress
        self._attemptDelay = attemptDelay

    def __repr__(self) -> str:
        return f"HostnameEndpoint({self._host!r}, {self._port})"

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """Resolve and race; fires with the first connected protocol. Cancelling stops it all."""
        race = _Race(self, protocolFactory)
        race.start()
        return race.deferred

    def _endpointFor(self, address: _Address) -> TCP4ClientEndpoint | TCP6ClientEndpoint:
        if isinstance(address, IPv6Address):
            return TCP6ClientEndpoint(
                self._reactor, address.host, self._port, self._timeout, self._bindAddress
            )
        return TCP4ClientEndpoint(
            self._reactor, address.host, self._port, self._timeout, self._bindAddress
        )


class _Race:
    """One ``HostnameEndpoint.connect``: resolution receiver, attempt scheduler, result."""

    def __init__(self, endpoint: HostnameEndpoint, protocolFactory: IProtocolFactory) -> None:
        self._endpoint = endpoint
        self._factory = protocolFactory
        self.deferred: Deferred[IProtocol] = Deferred(self._cancel)
        self._resolution: IHostResolution | None = None
        self._addresses: list[_Address] = []
        self._queue: list[_Address] = []
        self._pending: list[Deferred[IProtocol]] = []
        self._timer: IDelayedCall | None = None
        self._lastFailure: Failure | None = None
        self._done = False

    # -- resolution --------------------------------------------------------------------------

    def start(self) -> None:
        ep = self._endpoint
        literal = _literal(ep._host, ep._port)
        if literal is not None:
            self._addresses.append(literal)
            self.resolutionComplete()
            return
        try:
            ep._reactor.nameResolver.resolveHostName(self, ep._host, ep._port, None, "TCP")
        except Exception:
            self._finish(Failure())

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        """Keep the resolution so cancelling can stop it."""
        self._resolution = resolutionInProgress

    def addressResolved(self, address: _Address) -> None:
        """Collect one address (TCP over IPv4/IPv6 only)."""
        if isinstance(address, IPv4Address | IPv6Address):
            self._addresses.append(address)

    def resolutionComplete(self) -> None:
        """Start the race, or fail with ``DNSLookupError`` when nothing was found."""
        if self._done:
            return
        self._resolution = None
        if not self._addresses:
            self._finish(Failure(DNSLookupError(f"no address for {self._endpoint._host!r}")))
            return
        self._queue = _interleave(self._addresses)
        self._startNext()

    # -- attempts ----------------------------------------------------------------------------

    def _startNext(self) -> None:
        """Start the next attempt; schedule the one after it if addresses remain."""
        self._stopTimer()
        if self._done or not self._queue:
            return
        address = self._queue.pop(0)
        attempt = self._endpoint._endpointFor(address).connect(self._factory)
        self._pending.append(attempt)
        if self._queue:
            self._timer = self._endpoint._reactor.callLater(
                self._endpoint._attemptDelay, self._startNext
            )
        attempt.addBoth(self._attemptDone, attempt)

    def _attemptDone(self, result: IProtocol | Failure, attempt: Deferred[IProtocol]) -> None:
        if attempt in self._pending:
            self._pending.remove(attempt)
        if isinstance(result, Failure):
            if self._done:
                return None  # a loser cancelled by the winner (or by the caller)
            self._lastFailure = result
            if self._queue:
                self._startNext()
            elif not self._pending:
                self._finish(result)
            return None
        if self._done:
            # Connected in the same turn as the winner: this one is not wanted.
            transport: Any = getattr(result, "transport", None)
            if transport is not None:
                transport.loseConnection()
            return None
        self._finish(result)
        return None

    def _stopTimer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _finish(self, result: IProtocol | Failure) -> None:
        """End the race: stop the timer, cancel the losers, fire the caller's Deferred."""
        self._done = True
        self._stopTimer()
        self._queue = []
        for attempt in list(self._pending):
            attempt.cancel()
        if self.deferred.called:
            return
        if isinstance(result, Failure):
            self.deferred.errback(result)
        else:
            self.deferred.callback(result)

    def _cancel(self, deferred: Deferred[IProtocol]) -> None:
        resolution, self._resolution = self._resolution, None
        if resolution is not None:
            resolution.cancel()
        ep = self._endpoint
        address = HostnameAddress(hostBytes(ep._host), ep._port)
        self._finish(Failure(ConnectingCancelledError(address)))
