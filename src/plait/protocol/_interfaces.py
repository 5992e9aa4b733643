"""The interfaces between protocols, transports, factories, producers and consumers.

All are ``typing.Protocol``s (structural): an object provides an interface by having its
methods. The ones marked ``@runtime_checkable`` may also be tested with ``isinstance`` (which
checks only that the methods exist).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from plait.defer import Deferred, Failure

__all__ = [
    "IAddress",
    "IConnector",
    "IConsumer",
    "IDatagramProtocol",
    "IHalfCloseableProtocol",
    "IListeningPort",
    "ILoggingContext",
    "IMulticastTransport",
    "IProcessProtocol",
    "IProcessTransport",
    "IProducer",
    "IProtocol",
    "IProtocolFactory",
    "IPullProducer",
    "IPushProducer",
    "ITCPTransport",
    "ITransport",
    "IUDPTransport",
]


class IAddress(Protocol):
    """Marker for an address (``IPv4Address``, ``IPv6Address``, ``UNIXAddress``...)."""


@runtime_checkable
class ILoggingContext(Protocol):
    """Something that names itself in log messages."""

    def logPrefix(self) -> str:
        """The prefix for log messages emitted on behalf of this object."""
        ...


# --- producers and consumers ---------------------------------------------------------------


@runtime_checkable
class IProducer(Protocol):
    """A source of data for a consumer."""

    def stopProducing(self) -> None:
        """Stop producing data for good: the consumer is going away."""
        ...


@runtime_checkable
class IPushProducer(IProducer, Protocol):
    """A producer that writes to its consumer on its own until paused (a streaming producer)."""

    def pauseProducing(self) -> None:
        """Stop writing to the consumer until ``resumeProducing`` (the consumer is full)."""
        ...

    def resumeProducing(self) -> None:
        """Write to the consumer again."""
        ...


@runtime_checkable
class IPullProducer(IProducer, Protocol):
    """A producer that writes only when asked (a non-streaming producer)."""

    def resumeProducing(self) -> None:
        """Write one chunk of data to the consumer, now."""
        ...


@runtime_checkable
class IConsumer(Protocol):
    """Something that receives data and applies backpressure to its producer."""

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Register ``producer``: push (``streaming=True``) or pull; at most one at a time."""
        ...

    def unregisterProducer(self) -> None:
        """Stop consuming from the registered producer."""
        ...

    def write(self, data: bytes) -> None:
        """Consume ``data`` (the producer calls this)."""
        ...


# --- transports ----------------------------------------------------------------------------


@runtime_checkable
class ITransport(Protocol):
    """The connection a protocol talks through (paper §4.4): TCP, TLS, Unix, in-memory..."""

    def write(self, data: bytes) -> None:
        """Send ``data`` eventually, in order, without blocking; buffered as needed."""
        ...

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Send each of the byte strings in ``data``, in order (as one ``write`` of the join)."""
        ...

    def loseConnection(self) -> None:
        """Close the connection once all buffered data has been written."""
        ...

    def getPeer(self) -> IAddress:
        """The address of the other end."""
        ...

    def getHost(self) -> IAddress:
        """The address of this end."""
        ...


@runtime_checkable
class ITCPTransport(ITransport, Protocol):
    """A TCP connection: half-close, abort, and the socket options people need."""

    def loseWriteConnection(self) -> None:
        """Half-close: send FIN after the buffered data, keep reading."""
        ...

    def abortConnection(self) -> None:
        """Close the connection now, discarding buffered data (``connectionLost`` follows)."""
        ...

    def getTcpNoDelay(self) -> bool:
        """Whether Nagle's algorithm is off (``TCP_NODELAY``)."""
        ...

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Turn Nagle's algorithm off (``True``) or on."""
        ...

    def getTcpKeepAlive(self) -> bool:
        """Whether TCP keep-alive probes are on (``SO_KEEPALIVE``)."""
        ...

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Turn TCP keep-alive probes on or off."""
        ...


@runtime_checkable
class IProcessTransport(ITransport, Protocol):
    """The pipes (or PTY) to a child process."""

    pid: int | None

    def closeStdin(self) -> None:
        """Close the child's standard input (after buffered writes)."""
        ...

    def closeStdout(self) -> None:
        """Close the pipe from the child's standard output."""
        ...

    def closeStderr(self) -> None:
        """Close the pipe from the child's standard error."""
        ...

    def closeChildFD(self, descriptor: int) -> None:
        """Close the pipe to or from the child's file descriptor ``descriptor``."""
        ...

    def writeToChild(self, childFD: int, data: bytes) -> None:
        """Write ``data`` to the child's file descriptor ``childFD``."""
        ...

    def signalProcess(self, signalID: str | int) -> None:
        """Send a signal (``'TERM'``, ``'KILL'``, ``'INT'`` or a number) to the child."""
        ...


@runtime_checkable
class IUDPTransport(Protocol):
    """A UDP port: send and receive datagrams."""

    def write(self, packet: bytes, addr: tuple[str, int] | None = None) -> None:
        """Send ``packet`` to ``addr`` (or to the connected address when ``addr`` is None)."""
        ...

    def connect(self, host: str, port: int) -> None:
        """Restrict this port to one peer; only its datagrams are received."""
        ...

    def getHost(self) -> IAddress:
        """The address this port is bound to."""
        ...

    def stopListening(self) -> Deferred[None] | None:
        """Stop listening; a Deferred (or None) fires when the port is closed."""
        ...

    def setBroadcastAllowed(self, enabled: bool) -> None:
        """Allow (or forbid) sending to broadcast addresses (``SO_BROADCAST``)."""
        ...

    def getBroadcastAllowed(self) -> bool:
        """Whether sending to broadcast addresses is allowed."""
        ...


@runtime_checkable
class IMulticastTransport(IUDPTransport, Protocol):
    """A UDP port that can join multicast groups."""

    def getOutgoingInterface(self) -> str:
        """The interface address multicast packets are sent from."""
        ...

    def setOutgoingInterface(self, addr: str) -> Deferred[int]:
        """Send multicast packets from the interface with address ``addr``."""
        ...

    def getLoopbackMode(self) -> bool:
        """Whether our own multicast packets are delivered back to us."""
        ...

    def setLoopbackMode(self, mode: bool) -> None:
        """Deliver (or not) our own multicast packets back to us."""
        ...

    def getTTL(self) -> int:
        """The time-to-live of outgoing multicast packets."""
        ...

    def setTTL(self, ttl: int) -> None:
        """Set the time-to-live of outgoing multicast packets."""
        ...

    def joinGroup(self, addr: str, interface: str = "") -> Deferred[None]:
        """Join the multicast group ``addr`` (on ``interface``, or the default)."""
        ...

    def leaveGroup(self, addr: str, interface: str = "") -> Deferred[None]:
        """Leave the multicast group ``addr``."""
        ...


# --- protocols -----------------------------------------------------------------------------


@runtime_checkable
class IProtocol(Protocol):
    """The events of a stream connection (paper §4.1): made, data received, lost."""

    def makeConnection(self, transport: ITransport) -> None:
        """Attach to ``transport`` and signal ``connectionMade``."""
        ...

    def connectionMade(self) -> None:
        """The connection is up; ``self.transport`` can be written to."""
        ...

    def dataReceived(self, data: bytes) -> None:
        """Some bytes arrived (any chunking: a message may come in pieces or several at once)."""
        ...

    def connectionLost(self, reason: Failure) -> None:
        """The connection is gone; ``reason`` says why (``ConnectionDone`` when clean)."""
        ...


@runtime_checkable
class IHalfCloseableProtocol(Protocol):
    """A protocol that survives its peer closing one direction of a TCP connection."""

    def readConnectionLost(self) -> None:
        """The peer will send no more data (it half-closed); we may still write."""
        ...

    def writeConnectionLost(self) -> None:
        """Our writing side is closed (after ``loseWriteConnection``); we may still read."""
        ...


@runtime_checkable
class IProtocolFactory(Protocol):
    """Makes a protocol for each connection."""

    def buildProtocol(self, addr: IAddress) -> IProtocol | None:
        """A protocol for a connection with ``addr``, or None to refuse it."""
        ...

    def doStart(self) -> None:
        """A port or connector started using this factory."""
        ...

    def doStop(self) -> None:
        """A port or connector stopped using this factory."""
        ...


@runtime_checkable
class IProcessProtocol(Protocol):
    """The events of a child process."""

    def makeConnection(self, transport: IProcessTransport) -> None:
        """Attach to the process transport and signal ``connectionMade``."""
        ...

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        """The child wrote ``data`` to its file descriptor ``childFD``."""
        ...

    def childConnectionLost(self, childFD: int) -> None:
        """The pipe to or from the child's file descriptor ``childFD`` was closed."""
        ...

    def processExited(self, reason: Failure) -> None:
        """The child exited (its pipes may still be open); reason wraps ``ProcessDone`` or
        ``ProcessTerminated``."""
        ...

    def processEnded(self, reason: Failure) -> None:
        """The child exited and all its pipes are closed: the last event."""
        ...


@runtime_checkable
class IDatagramProtocol(Protocol):
    """The events of a UDP port."""

    def makeConnection(self, transport: IUDPTransport) -> None:
        """Attach to the UDP port and start (``doStart``)."""
        ...

    def doStart(self) -> None:
        """A port started using this protocol."""
        ...

    def doStop(self) -> None:
        """A port stopped using this protocol."""
        ...

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        """A datagram arrived from ``addr``."""
        ...


# --- ports and connectors ------------------------------------------------------------------


@runtime_checkable
class IListeningPort(Protocol):
    """A listening server port."""

    def startListening(self) -> None:
        """Start accepting connections (raises ``CannotListenError``)."""
        ...

    def stopListening(self) -> Deferred[None] | None:
        """Stop accepting connections; a Deferred (or None) fires when the port is closed."""
        ...

    def getHost(self) -> IAddress:
        """The address this port is bound to (with the real port number when 0 was asked)."""
        ...


@runtime_checkable
class IConnector(Protocol):
    """An outgoing connection attempt, reusable for reconnecting."""

    def stopConnecting(self) -> None:
        """Abandon the attempt in progress (raises ``NotConnectingError`` if there is none)."""
        ...

    def disconnect(self) -> None:
        """Stop connecting, or lose the connection if it is up."""
        ...

    def connect(self) -> None:
        """Try to connect (again) to the destination."""
        ...

    def getDestination(self) -> IAddress:
        """The address this connector connects to."""
        ...
