"""Two protocols connected in memory: ``connect`` returns an ``IOPump`` that moves the bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..defer import Failure
from ..protocol import ConnectionAborted, ConnectionDone, ConnectionLost, IPv4Address
from ._clock import Clock
from ._transport import Address, _checkBytes

__all__ = ["FakeTransport", "IOPump", "connect", "connectedServerAndClient"]

_SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 4321)
_CLIENT_ADDRESS = IPv4Address("TCP", "127.0.0.1", 54321)


class FakeTransport:
    """One end of an in-memory connection made by ``connect``.

    Writes are buffered until the ``IOPump`` delivers them to the peer's ``dataReceived``.
    ``loseConnection`` stops delivery to this side and closes once this side's buffer is
    delivered (and a pull producer has unregistered); ``abortConnection`` drops the buffer and closes on the next pump;
    ``loseWriteConnection`` half-closes. A registered streaming producer is paused while more
    than ``bufferSize`` bytes wait and resumed once they are delivered; a pull producer is asked
    for more each time the buffer empties. ``pauseProducing`` on the transport holds data back
    from its own protocol until ``resumeProducing``.
    """

    bufferSize = 64 * 1024

    def __init__(
        self, protocol: Any, isServer: bool, hostAddress: Address, peerAddress: Address
    ) -> None:
        self.protocol = protocol
        self.isServer = isServer
        self.hostAddress = hostAddress
        self.peerAddress = peerAddress
        self.disconnecting = False
        self.disconnected = False
        self.aborted = False
        self.writeClosed = False  # loseWriteConnection was called
        self.readClosed = False  # the peer half-closed; readConnectionLost was delivered
        self.paused = False  # our protocol asked us to stop delivering data
        self.producer: Any = None
        self.streaming: bool | None = None
        self.noDelay = False
        self.keepAlive = False
        self._outgoing: list[bytes] = []
        self._buffered = 0
        self._producerPaused = False  # we paused the streaming producer for backpressure
        self._halfCloseDelivered = False

    @property
    def connected(self) -> bool:
        """True until ``connectionLost`` has been delivered."""
        return not self.disconnected

    def __repr__(self) -> str:
        side = "server" if self.isServer else "client"
        return f"<FakeTransport {side} {self.hostAddress} -> {self.peerAddress}>"

    # -- ITransport --------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Buffer ``data`` for the peer (dropped once closed for writing)."""
        _checkBytes(data)
        if self.disconnected or self.writeClosed or not data:
            return
        self._outgoing.append(bytes(data))
        self._buffered += len(data)
        if (
            self._buffered > self.bufferSize
            and self.streaming
            and self.producer is not None
            and not self._producerPaused
        ):
            self._producerPaused = True
            self.producer.pauseProducing()

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Buffer each item of ``data``."""
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        """Close after the buffered data has been delivered."""
        self.disconnecting = True

    def abortConnection(self) -> None:
        """Drop the buffered data and close on the next pump."""
        self.aborted = True
        self.disconnecting = True
        self._outgoing = []
        self._buffered = 0

    def loseWriteConnection(self) -> None:
        """Half-close: the peer sees end-of-input once the buffer is delivered."""
        self.writeClosed = True

    def getHost(self) -> Address:
        """This end's address."""
        return self.hostAddress

    def getPeer(self) -> Address:
        """The other end's address."""
        return self.peerAddress

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Record the TCP_NODELAY setting."""
        self.noDelay = bool(enabled)

    def getTcpNoDelay(self) -> bool:
        """The recorded TCP_NODELAY setting."""
        return self.noDelay

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Record the SO_KEEPALIVE setting."""
        self.keepAlive = bool(enabled)

    def getTcpKeepAlive(self) -> bool:
        """The recorded SO_KEEPALIVE setting."""
        return self.keepAlive

    def logPrefix(self) -> str:
        """A short name for log lines."""
        return "FakeTransport"

    # -- IConsumer ---------------------------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Register ``producer``; a pull producer is asked for data at once."""
        if self.producer is not None:
            raise RuntimeError(f"cannot register producer {producer!r}: {self.producer!r} is")
        if self.disconnected:
            producer.stopProducing()
            return
        self.producer = producer
        self.streaming = streaming
        self._producerPaused = False
        if not streaming:
            producer.resumeProducing()

    def unregisterProducer(self) -> None:
        """Forget the producer."""
        self.producer = None
        self.streaming = None
        self._producerPaused = False

    # -- IPushProducer (reading side) ----------------------------------------------------------

    def pauseProducing(self) -> None:
        """Stop delivering data to our protocol until ``resumeProducing``."""
        self.paused = True

    def resumeProducing(self) -> None:
        """Deliver data to our protocol again."""
        self.paused = False

    def stopProducing(self) -> None:
        """Close the connection (as a real transport does)."""
        self.loseConnection()

    # -- used by IOPump ------------------------------------------------------------------------

    def _takeOutgoing(self) -> bytes:
        data = b"".join(self._outgoing)
        self._outgoing = []
        self._buffered = 0
        return data


class IOPump:
    """Moves bytes between the two ends of an in-memory connection, when told to.

    ``client``/``server`` are the protocols, ``clientIO``/``serverIO`` their transports.
    ``pump()`` makes one round; ``flush()`` pumps until nothing moves. With a ``clock``, each
    round also runs its calls that are due (``clock.advance(0)``).
    """

    def __init__(
        self,
        client: Any,
        server: Any,
        clientIO: FakeTransport,
        serverIO: FakeTransport,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.server = server
        self.clientIO = clientIO
        self.serverIO = serverIO
        self.clock = clock

    def pump(self) -> bool:
        """Deliver what each side wrote, serve producers, then carry out closes.

        Returns True if anything happened (bytes delivered, a producer asked for more, a
        connection or half closed).
        """
        if self.clock is not None:
            self.clock.advance(0)
        moved = False
        ends = ((self.clientIO, self.serverIO), (self.serverIO, self.clientIO))
        for src, dst in ends:
            # A side that asked to close reads no more (as a real transport stops reading).
            if src._outgoing and not (dst.paused or dst.disconnecting or dst.disconnected):
                dst.protocol.dataReceived(src._takeOutgoing())
                moved = True
        for src, _ in ends:
            if src._outgoing or src.disconnected or src.producer is None:
                continue
            if not src.streaming:
                src.producer.resumeProducing()
                moved = moved or bool(src._outgoing) or src.producer is None
            elif src._producerPaused:
                src._producerPaused = False
                src.producer.resumeProducing()
                moved = True
        for src, dst in ends:
            if src.disconnected:
                continue
            if src.aborted:
                self._close(src, ConnectionAborted(), dst, ConnectionLost())
                moved = True
            elif src._outgoing:
                continue
            elif src.disconnecting and (src.producer is None or src.streaming):
                self._close(src, ConnectionDone(), dst, ConnectionDone())
                moved = True
            elif src.writeClosed and not src._halfCloseDelivered:
                src._halfCloseDelivered = True
                moved = True
                self._halfClose(src, dst)
        return moved

    def flush(self, maxRounds: int = 10_000) -> None:
        """Pump until a round moves nothing; raise ``RuntimeError`` after ``maxRounds``."""
        for _ in range(maxRounds):
            if not self.pump():
                return
        raise RuntimeError(f"IOPump.flush: still busy after {maxRounds} rounds")

    def _halfClose(self, src: FakeTransport, dst: FakeTransport) -> None:
        readLost = getattr(dst.protocol, "readConnectionLost", None)
        if readLost is None or dst.disconnected:
            # The peer cannot half-close: the connection ends (as on a real transport).
            self._close(src, ConnectionDone(), dst, ConnectionDone())
            return
        dst.readClosed = True
        readLost()
        writeLost = getattr(src.protocol, "writeConnectionLost", None)
        if writeLost is not None:
            writeLost()
        if src.readClosed:  # both directions are now shut
            self._close(src, ConnectionDone(), dst, ConnectionDone())

    def _close(
        self,
        first: FakeTransport,
        firstReason: BaseException,
        second: FakeTransport,
        secondReason: BaseException,
    ) -> None:
        for transport, reason in ((first, firstReason), (second, secondReason)):
            if transport.disconnected:
                continue
            transport.disconnected = True
            transport.disconnecting = True
            transport._outgoing = []
            transport._buffered = 0
            producer = transport.producer
            if producer is not None:
                transport.producer = None
                producer.stopProducing()
            transport.protocol.connectionLost(Failure(reason))


def connect(
    serverProtocol: Any,
    clientProtocol: Any,
    *,
    serverAddress: Address = _SERVER_ADDRESS,
    clientAddress: Address = _CLIENT_ADDRESS,
    greet: bool = True,
    clock: Clock | None = None,
) -> IOPump:
    """Connect two protocols in memory and return the ``IOPump`` between them.

    The server gets ``makeConnection`` first, then the client; with ``greet`` (the default)
    the pump is flushed once so greetings written in ``connectionMade`` are delivered.
    """
    serverIO = FakeTransport(serverProtocol, True, serverAddress, clientAddress)
    clientIO = FakeTransport(clientProtocol, False, clientAddress, serverAddress)
    serverProtocol.makeConnection(serverIO)
    clientProtocol.makeConnection(clientIO)
    pump = IOPump(clientProtocol, serverProtocol, clientIO, serverIO, clock)
    if greet:
        pump.flush()
    return pump


def connectedServerAndClient(
    serverClass: Callable[[], Any],
    clientClass: Callable[[], Any],
    *,
    greet: bool = True,
    clock: Clock | None = None,
) -> tuple[Any, Any, IOPump]:
    """Build a server and a client protocol, ``connect`` them; returns (client, server, pump)."""
    server = serverClass()
    client = clientClass()
    pump = connect(server, client, greet=greet, clock=clock)
    return client, server, pump


if TYPE_CHECKING:
    from ..protocol import IConsumer, IPushProducer, ITCPTransport

    def _conforms(t: FakeTransport) -> tuple[ITCPTransport, IConsumer, IPushProducer]:
        return (t, t, t)
