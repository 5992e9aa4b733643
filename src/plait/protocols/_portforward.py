"""A TCP forwarder: each inbound connection is relayed to a freshly connected outbound one.

The relay is symmetric. Each side's transport is registered as the other side's streaming
producer, so a slow reader on one side pauses reading on the other (backpressure both ways,
no unbounded queue). A half-close (EOF) from one peer is passed on as ``loseWriteConnection``
to the other; the whole connection ends when either side is lost.
"""

from __future__ import annotations

from typing import Any

from plait.defer import Deferred, Failure
from plait.log import Logger
from plait.protocol import Factory, Protocol

__all__ = ["ProxyClient", "ProxyFactory", "ProxyServer", "relay"]

_log = Logger(namespace="plait.protocols.portforward")


class _RelaySide(Protocol):
    """One side of a relay; ``peer`` is the other side once both are connected."""

    peer: _RelaySide | None = None
    _eof = False

    def dataReceived(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)

    def readConnectionLost(self) -> None:
        """The peer sent EOF: pass the half-close on to the other side."""
        self._eof = True
        peer = self.peer
        if peer is not None and peer.transport is not None:
            loseWrite = getattr(peer.transport, "loseWriteConnection", None)
            if loseWrite is not None:
                loseWrite()
            else:
                peer.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        """Our write side is shut; nothing to do until the read side ends too."""

    def connectionLost(self, reason: Failure | None = None) -> None:
        peer, self.peer = self.peer, None
        if peer is not None:
            peer.peer = None
            transport: Any = peer.transport
            if transport is not None:
                # Our transport is the peer's producer; loseConnection waits for a registered
                # producer to unregister, so unregister the dead one first.
                if getattr(transport, "producer", None) is not None:
                    transport.unregisterProducer()
                transport.loseConnection()


def relay(one: Protocol, other: Protocol) -> None:
    """Join two connected relay sides: each forwards to the other with backpressure.

    Each transport becomes the other's streaming producer; both are then resumed.
    """
    assert isinstance(one, _RelaySide) and isinstance(other, _RelaySide)
    assert one.transport is not None and other.transport is not None
    one.peer, other.peer = other, one
    a: Any = one.transport  # stream transports are also consumers and push producers
    b: Any = other.transport
    a.registerProducer(b, True)
    b.registerProducer(a, True)
    a.resumeProducing()
    b.resumeProducing()


class ProxyClient(_RelaySide):
    """The outbound side of a forwarded connection."""


class ProxyServer(_RelaySide):
    """The inbound side: on connection it pauses reading and connects the outbound side.

    ``factory.endpoint`` (an ``IStreamClientEndpoint``) says where to connect. If the outbound
    connection fails, the failure is logged and the inbound connection is closed.
    """

    factory: ProxyFactory
    clientProtocolFactory = ProxyClient
    _pending: bytes = b""

    def connectionMade(self) -> None:
        from plait.endpoints import connectProtocol

        transport: Any = self.transport
        transport.pauseProducing()
        d: Deferred[Any] = connectProtocol(self.factory.endpoint, self.clientProtocolFactory())
        d.addCallbacks(self._connected, self._failed)

    def dataReceived(self, data: bytes) -> None:
        if self.peer is None:
            # Only what was already read before pausing can arrive here; it is small.
            self._pending += data
            return
        super().dataReceived(data)

    def _connected(self, client: ProxyClient) -> None:
        assert self.transport is not None
        if not self.connected or getattr(self.transport, "disconnected", False):
            assert client.transport is not None
            client.transport.loseConnection()
            return
        relay(self, client)
        pending, self._pending = self._pending, b""
        if pending and client.transport is not None:
            client.transport.write(pending)
        if self._eof:
            self.readConnectionLost()

    def _failed(self, failure: Failure) -> None:
        assert self.transport is not None
        _log.warn(
            "portforward: cannot connect to {endpoint!r} for {peer}: {reason}",
            endpoint=self.factory.endpoint,
            peer=self.transport.getPeer(),
            reason=failure.getErrorMessage(),
        )
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.connected = 0
        super().connectionLost(reason)


class ProxyFactory(Factory):
    """Builds a ``ProxyServer`` per inbound connection, forwarding to ``endpoint``."""

    protocol = ProxyServer

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint
