"""Stream protocols and the factories that build them (paper §4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from plait.log import Logger
from plait.protocol._errors import connectionDone

if TYPE_CHECKING:
    from plait.defer import Failure
    from plait.protocol._interfaces import IAddress, IConnector, ITransport

__all__ = ["BaseProtocol", "ClientFactory", "Factory", "Protocol", "ServerFactory"]

_FactoryT = TypeVar("_FactoryT", bound="Factory")

_log = Logger(namespace="plait.protocol")


class BaseProtocol:
    """The connection half of a protocol: ``makeConnection`` and ``connectionMade``."""

    connected: int = 0
    transport: ITransport | None = None

    def makeConnection(self, transport: ITransport) -> None:
        """Attach to ``transport``, mark connected and call ``connectionMade``.

        Transports call this once the connection is up; protocols override
        ``connectionMade``, not this.
        """
        self.connected = 1
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        """The connection is up and ``self.transport`` is set; override to start talking."""


class Protocol(BaseProtocol):
    """A stream protocol: override ``connectionMade``, ``dataReceived``, ``connectionLost``.

    ``factory`` is the factory that built this protocol (set by ``Factory.buildProtocol``).
    Exceptions raised from these methods are the transport's to handle: it logs them and
    loses the connection.
    """

    factory: Factory | None = None

    def logPrefix(self) -> str:
        """The prefix for log messages about this connection: the class name."""
        return type(self).__name__

    def dataReceived(self, data: bytes) -> None:
        """Some bytes arrived, in any chunking; override to parse them."""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """The connection is gone; ``reason`` wraps ``ConnectionDone`` when it closed cleanly."""


class Factory:
    """Builds a protocol for each connection and tracks the ports that use it.

    Set ``protocol`` (a class or any callable returning a ``Protocol``); ``buildProtocol``
    calls it and sets the new protocol's ``factory``. ``startFactory``/``stopFactory`` run
    when the first port starts and the last one stops; a ``noisy`` factory logs both (info).
    """

    protocol: Callable[..., Protocol] | None = None
    numPorts: int = 0
    noisy: bool = True

    @classmethod
    def forProtocol(
        cls: type[_FactoryT], protocol: Callable[..., Protocol], *args: Any, **kwargs: Any
    ) -> _FactoryT:
        """A new ``cls(*args, **kwargs)`` whose ``protocol`` is ``protocol``."""
        factory = cls(*args, **kwargs)
        factory.protocol = protocol
        return factory

    def logPrefix(self) -> str:
        """The prefix for log messages about this factory: the class name."""
        return type(self).__name__

    def doStart(self) -> None:
        """A port started using this factory; the first one calls ``startFactory``."""
        if not self.numPorts:
            if self.noisy:
                _log.info("Starting factory {factory!r}", factory=self)
            self.startFactory()
        self.numPorts += 1

    def doStop(self) -> None:
        """A port stopped using this factory; the last one calls ``stopFactory``.

        An unbalanced extra call is ignored rather than driving the count negative.
        """
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        if not self.numPorts:
            if self.noisy:
                _log.info("Stopping factory {factory!r}", factory=self)
            self.stopFactory()

    def startFactory(self) -> None:
        """Acquire shared resources (open files, database connections); override."""

    def stopFactory(self) -> None:
        """Release what ``startFactory`` acquired; override."""

    def buildProtocol(self, addr: IAddress) -> Protocol | None:
        """A new protocol for a connection with ``addr`` (None refuses the connection)."""
        if self.protocol is None:
            raise TypeError(f"{type(self).__name__}.protocol is not set")
        p = self.protocol()
        p.factory = self
        return p


class ServerFactory(Factory):
    """A factory for servers (a port that accepts connections uses it)."""


class ClientFactory(Factory):
    """A factory for clients: also told when connecting starts, fails, or is lost."""

    def startedConnecting(self, connector: IConnector) -> None:
        """A connection attempt started; ``connector.stopConnecting()`` cancels it."""

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """The connection attempt failed; ``connector.connect()`` would try again."""

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """An established connection was lost; ``connector.connect()`` would reconnect."""
