"""Turning the reactor's factory-and-connector connect API into one Deferred per attempt.

``connectTCP``/``connectUNIX`` report through ``ClientFactory`` callbacks; an endpoint wants a
Deferred that fires with the connected protocol. ``_WrappingFactory`` sits between the reactor
and the user's factory and fires that Deferred.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from plait.defer import Deferred, Failure
from plait.protocol import ConnectingCancelledError

if TYPE_CHECKING:
    from plait.protocol import IAddress, IConnector, IProtocol, IProtocolFactory, ITransport

    from ._interfaces import IStreamClientEndpoint

__all__ = ["NoProtocol", "connectAttempt", "connectProtocol"]

_P = TypeVar("_P", bound="IProtocol")

# Optional protocol methods forwarded (when the wrapped protocol has them) by binding them on the
# wrapper instance, so structural checks (``isinstance(p, IHalfCloseableProtocol)``) see them.
_OPTIONAL_EVENTS = ("readConnectionLost", "writeConnectionLost", "handshakeCompleted")


class NoProtocol(Exception):
    """The factory's ``buildProtocol`` returned None, so there was nothing to connect."""


class _WrappingProtocol:
    """Hands the transport to the wrapped protocol and fires the connect Deferred.

    Only ``makeConnection`` and ``connectionMade`` are the wrapper's own: the other events are
    the wrapped protocol's bound methods, so data costs no extra call.
    """

    transport: ITransport | None
    connected: int

    def __init__(self, connected: Deferred[IProtocol], wrapped: IProtocol) -> None:
        self._connectedDeferred = connected
        self._wrappedProtocol = wrapped
        self.transport = None
        self.connected = 0
        self.dataReceived: Callable[[bytes], None] = wrapped.dataReceived
        self.connectionLost: Callable[[Failure], None] = wrapped.connectionLost
        for name in _OPTIONAL_EVENTS:
            method = getattr(wrapped, name, None)
            if method is not None:
                setattr(self, name, method)

    def logPrefix(self) -> str:
        """The wrapped protocol's log prefix (or its class name)."""
        prefix = getattr(self._wrappedProtocol, "logPrefix", None)
        if callable(prefix):
            return str(prefix())
        return type(self._wrappedProtocol).__name__

    def makeConnection(self, transport: ITransport) -> None:
        """Keep the transport (for the reactor) and announce the connection."""
        self.transport = transport
        self.connected = 1
        self.connectionMade()

    def connectionMade(self) -> None:
        """Connect the wrapped protocol to the real transport, then fire the Deferred."""
        assert self.transport is not None
        self._wrappedProtocol.makeConnection(self.transport)
        if not self._connectedDeferred.called:
            self._connectedDeferred.callback(self._wrappedProtocol)


class _WrappingFactory:
    """A client factory for the reactor that builds ``_WrappingProtocol``s around the user's."""

    def __init__(self, wrappedFactory: IProtocolFactory) -> None:
        self._wrappedFactory = wrappedFactory
        self._onConnection: Deferred[IProtocol] = Deferred(self._cancel)
        self._connector: IConnector | None = None

    def _cancel(self, deferred: Deferred[IProtocol]) -> None:
        """Stop connecting; the attempt fails with ``ConnectingCancelledError``."""
        connector = self._connector
        destination = connector.getDestination() if connector is not None else None
        deferred.errback(ConnectingCancelledError(destination))
        if connector is not None:
            try:
                connector.stopConnecting()
            except Exception:
                # Already connected or already failed: nothing left to stop.
                pass

    def doStart(self) -> None:
        """Forwarded to the wrapped factory."""
        self._wrappedFactory.doStart()

    def doStop(self) -> None:
        """Forwarded to the wrapped factory."""
        self._wrappedFactory.doStop()

    def startedConnecting(self, connector: IConnector) -> None:
        """Remember the connector, so cancelling can stop it."""
        self._connector = connector

    def buildProtocol(self, addr: IAddress) -> _WrappingProtocol | None:
        """Build the user's protocol; fail the attempt if that raises or returns None."""
        if self._onConnection.called:
            return None  # cancelled already: refuse the connection rather than orphan it
        try:
            proto = self._wrappedFactory.buildProtocol(addr)
            if proto is None:
                raise NoProtocol(f"{self._wrappedFactory!r}.buildProtocol returned None")
        except Exception:
            if not self._onConnection.called:
                self._onConnection.errback(Failure())
            return None
        return _WrappingProtocol(self._onConnection, proto)

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """The attempt failed (refused, timed out, cancelled...): fail the Deferred."""
        if not self._onConnection.called:
            self._onConnection.errback(reason)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """The protocol sees this as its own ``connectionLost``; nothing to do here."""


def connectAttempt(
    protocolFactory: IProtocolFactory, start: Callable[[_WrappingFactory], object]
) -> Deferred[IProtocol]:
    """Run one connect attempt: ``start(wrappingFactory)`` calls the reactor's ``connect*``.

    Returns the Deferred that fires with the connected protocol; cancelling it stops the
    connector. An exception from ``start`` fails the Deferred.
    """
    wrapping = _WrappingFactory(protocolFactory)
    try:
        connector = start(wrapping)
    except Exception:
        return _failed(Failure())
    if wrapping._connector is None:
        # Reactors call startedConnecting; a connector returned without it still cancels.
        wrapping._connector = connector  # type: ignore[assignment]
    return wrapping._onConnection


def _failed(failure: Failure) -> Deferred[IProtocol]:
    d: Deferred[IProtocol] = Deferred()
    d.errback(failure)
    return d


class _OneProtocolFactory:
    """A factory that hands out one given protocol (for ``connectProtocol``)."""

    def __init__(self, protocol: IProtocol) -> None:
        self._protocol = protocol

    def doStart(self) -> None:
        """Nothing to start."""

    def doStop(self) -> None:
        """Nothing to stop."""

    def buildProtocol(self, addr: IAddress) -> IProtocol:
        """The protocol given to ``connectProtocol``."""
        return self._protocol


def connectProtocol(endpoint: IStreamClientEndpoint, protocol: _P) -> Deferred[_P]:
    """Connect ``endpoint`` to the one ``protocol`` instance; fires with that protocol."""
    d: Deferred[Any] = endpoint.connect(_OneProtocolFactory(protocol))
    return d
