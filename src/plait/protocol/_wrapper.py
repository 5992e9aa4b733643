"""A protocol that stands between a transport and another protocol (paper §4.4).

The wrapper is the wrapped protocol's transport and the real transport's protocol: it passes
every event up and every request down. Subclasses override the few they want to change
(throttling, connection limits, timeouts, TLS...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from plait.protocol._errors import connectionDone
from plait.protocol._interfaces import IHalfCloseableProtocol, ILoggingContext
from plait.protocol._protocol import ClientFactory, Factory, Protocol

if TYPE_CHECKING:
    from plait.defer import Failure
    from plait.protocol._interfaces import (
        IAddress,
        IConnector,
        IProducer,
        IProtocol,
        ITransport,
    )

__all__ = ["ProtocolWrapper", "WrappingFactory"]


class ProtocolWrapper(Protocol):
    """Wraps ``wrappedProtocol``: its transport is this wrapper, which forwards to ours.

    Requests the wrapper does not define (``getHandle``, TLS methods...) are looked up on the
    real transport. ``disconnecting`` is set once ``loseConnection`` was called.
    """

    disconnecting: int = 0

    def __init__(self, factory: WrappingFactory, wrappedProtocol: IProtocol) -> None:
        self.wrappedProtocol = wrappedProtocol
        self.factory = factory

    def _transport(self) -> ITransport:
        if self.transport is None:
            raise RuntimeError(f"{type(self).__name__} is not connected to a transport")
        return self.transport

    def logPrefix(self) -> str:
        """The wrapped protocol's prefix, marked with this wrapper's class name."""
        inner = self.wrappedProtocol
        prefix = inner.logPrefix() if isinstance(inner, ILoggingContext) else type(inner).__name__
        return f"{prefix} ({type(self).__name__})"

    # events, from the transport up to the wrapped protocol

    def makeConnection(self, transport: ITransport) -> None:
        """Connect to ``transport``, register with the factory, then connect the wrapped
        protocol to this wrapper."""
        super().makeConnection(transport)
        factory = self.factory
        if isinstance(factory, WrappingFactory):
            factory.registerProtocol(self)
        self.wrappedProtocol.makeConnection(self)

    def dataReceived(self, data: bytes) -> None:
        """Pass received bytes to the wrapped protocol."""
        self.wrappedProtocol.dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Unregister from the factory and tell the wrapped protocol."""
        self.connected = 0
        factory = self.factory
        if isinstance(factory, WrappingFactory):
            factory.unregisterProtocol(self)
        self.wrappedProtocol.connectionLost(reason)

    def readConnectionLost(self) -> None:
        """The peer half-closed: tell a half-closeable wrapped protocol, else lose the
        connection (what the transport would have done for it)."""
        if isinstance(self.wrappedProtocol, IHalfCloseableProtocol):
            self.wrappedProtocol.readConnectionLost()
        else:
            self.loseConnection()

    def writeConnectionLost(self) -> None:
        """Our writing half closed: tell a half-closeable wrapped protocol."""
        if isinstance(self.wrappedProtocol, IHalfCloseableProtocol):
            self.wrappedProtocol.writeConnectionLost()

    # requests, from the wrapped protocol down to the transport

    def write(self, data: bytes) -> None:
        """Write to the real transport."""
        self._transport().write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Write each string to the real transport."""
        self._transport().writeSequence(data)

    def loseConnection(self) -> None:
        """Lose the real transport's connection (after its buffered data)."""
        self.disconnecting = 1
        self._transport().loseConnection()

    def abortConnection(self) -> None:
        """Abort the real transport's connection."""
        self.disconnecting = 1
        self._getattr("abortConnection")()

    def loseWriteConnection(self) -> None:
        """Half-close the real transport."""
        self._getattr("loseWriteConnection")()

    def getPeer(self) -> IAddress:
        """The real transport's peer address."""
        return self._transport().getPeer()

    def getHost(self) -> IAddress:
        """The real transport's host address."""
        return self._transport().getHost()

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Register ``producer`` with the real transport (it applies the backpressure)."""
        self._getattr("registerProducer")(producer, streaming)

    def unregisterProducer(self) -> None:
        """Unregister the producer from the real transport."""
        self._getattr("unregisterProducer")()

    def stopConsuming(self) -> None:
        """Unregister the producer and lose the connection."""
        self._getattr("unregisterProducer")()
        self.loseConnection()

    # requests through a push-producer transport (the wrapper is then the protocol's producer)

    def pauseProducing(self) -> None:
        """Pause the real transport's reading."""
        self._getattr("pauseProducing")()

    def resumeProducing(self) -> None:
        """Resume the real transport's reading."""
        self._getattr("resumeProducing")()

    def stopProducing(self) -> None:
        """Stop the real transport for good."""
        self._getattr("stopProducing")()

    def _getattr(self, name: str) -> Any:
        transport = self._transport()
        try:
            return getattr(transport, name)
        except AttributeError:
            raise AttributeError(
                f"{type(transport).__name__} transport has no {name!r} for "
                f"{type(self).__name__} to forward"
            ) from None

    def __getattr__(self, name: str) -> Any:
        # Called only for names not found normally: forward other transport requests.
        if name.startswith("__") or "transport" not in vars(self):
            raise AttributeError(name)
        return getattr(vars(self)["transport"], name)


class WrappingFactory(ClientFactory):
    """Wraps ``wrappedFactory``: each protocol it builds is wrapped in ``protocol`` (a
    ``ProtocolWrapper`` subclass), and factory events are passed on.

    ``protocols`` holds the wrappers whose connections are up.
    """

    protocol: type[ProtocolWrapper] = ProtocolWrapper

    def __init__(self, wrappedFactory: Factory) -> None:
        self.wrappedFactory = wrappedFactory
        self.protocols: dict[ProtocolWrapper, int] = {}

    def logPrefix(self) -> str:
        """The wrapped factory's prefix, marked with this factory's class name."""
        return f"{self.wrappedFactory.logPrefix()} ({type(self).__name__})"

    def doStart(self) -> None:
        """Start the wrapped factory, then this one."""
        self.wrappedFactory.doStart()
        super().doStart()

    def doStop(self) -> None:
        """Stop the wrapped factory, then this one."""
        self.wrappedFactory.doStop()
        super().doStop()

    def startedConnecting(self, connector: IConnector) -> None:
        """Tell a wrapped client factory."""
        if isinstance(self.wrappedFactory, ClientFactory):
            self.wrappedFactory.startedConnecting(connector)

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """Tell a wrapped client factory."""
        if isinstance(self.wrappedFactory, ClientFactory):
            self.wrappedFactory.clientConnectionFailed(connector, reason)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """Tell a wrapped client factory."""
        if isinstance(self.wrappedFactory, ClientFactory):
            self.wrappedFactory.clientConnectionLost(connector, reason)

    def buildProtocol(self, addr: IAddress) -> ProtocolWrapper | None:
        """Wrap the wrapped factory's protocol (None if it refused the connection)."""
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        return self.protocol(self, wrapped)

    def registerProtocol(self, p: ProtocolWrapper) -> None:
        """Record a wrapper whose connection is up."""
        self.protocols[p] = 1

    def unregisterProtocol(self, p: ProtocolWrapper) -> None:
        """Forget a wrapper whose connection is gone."""
        self.protocols.pop(p, None)
