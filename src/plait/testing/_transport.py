"""``StringTransport``: a transport that keeps what a protocol writes, for tests to inspect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from ..defer import Failure
from ..protocol import ConnectionDone, IPv4Address, IPv6Address, UNIXAddress

__all__ = ["StringTransport", "StringTransportWithDisconnection"]

Address = IPv4Address | IPv6Address | UNIXAddress
ProducerState = Literal["producing", "paused", "stopped"]


def _checkBytes(data: object) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"transports write bytes, not {type(data).__name__}: {data!r:.60}")


class StringTransport:
    """An in-memory ``ITCPTransport`` that buffers writes and records every request.

    - ``value()`` is everything written so far; ``clear()`` forgets it.
    - ``loseConnection()`` sets ``disconnecting``; ``abortConnection()`` also sets ``aborted``;
      ``loseWriteConnection()`` sets ``writeConnectionLost``. Nothing is closed: the test decides
      what happens next (see ``StringTransportWithDisconnection`` and ``plait.testing.connect``).
    - ``registerProducer``/``unregisterProducer`` set ``producer`` and ``streaming``.
    - The transport is itself a producer for its protocol: ``pauseProducing``,
      ``resumeProducing`` and ``stopProducing`` record ``producerState``.
    """

    def __init__(
        self, hostAddress: Address | None = None, peerAddress: Address | None = None
    ) -> None:
        self.hostAddr: Address = (
            hostAddress if hostAddress is not None else IPv4Address("TCP", "10.0.0.1", 12345)
        )
        self.peerAddr: Address = (
            peerAddress if peerAddress is not None else IPv4Address("TCP", "192.168.1.1", 54321)
        )
        self._written: list[bytes] = []
        self.disconnecting = False
        self.aborted = False
        self.writeConnectionLost = False
        self.producer: Any = None
        self.streaming: bool | None = None
        self.producerState: ProducerState = "producing"
        self.noDelay = False
        self.keepAlive = False

    # -- what was written --------------------------------------------------------------------

    def value(self) -> bytes:
        """All bytes written since creation or the last ``clear()``."""
        if len(self._written) > 1:
            self._written = [b"".join(self._written)]
        return self._written[0] if self._written else b""

    def clear(self) -> None:
        """Forget the bytes written so far."""
        self._written = []

    # -- ITransport --------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Keep ``data``; anything but bytes-like raises ``TypeError``."""
        _checkBytes(data)
        self._written.append(bytes(data))

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Keep each item of ``data``, in order."""
        chunks = list(data)
        for chunk in chunks:
            _checkBytes(chunk)
        self._written.extend(bytes(c) for c in chunks)

    def loseConnection(self) -> None:
        """Record the request to close: ``disconnecting`` becomes True."""
        self.disconnecting = True

    def abortConnection(self) -> None:
        """Record the request to close at once: ``aborted`` and ``disconnecting`` become True."""
        self.aborted = True
        self.loseConnection()

    def loseWriteConnection(self) -> None:
        """Record the request to half-close: ``writeConnectionLost`` becomes True."""
        self.writeConnectionLost = True

    def getHost(self) -> Address:
        """This end's address (IPv4 TCP 10.0.0.1:12345 unless given)."""
        return self.hostAddr

    def getPeer(self) -> Address:
        """The other end's address (IPv4 TCP 192.168.1.1:54321 unless given)."""
        return self.peerAddr

    # -- ITCPTransport ---------------------------------------------------------------------

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

    # -- IConsumer ---------------------------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Record ``producer``; registering a second one raises ``RuntimeError``."""
        if self.producer is not None:
            raise RuntimeError(f"cannot register producer {producer!r}: {self.producer!r} is")
        self.producer = producer
        self.streaming = streaming

    def unregisterProducer(self) -> None:
        """Forget the producer; raises ``RuntimeError`` if none is registered."""
        if self.producer is None:
            raise RuntimeError("cannot unregister a producer: none is registered")
        self.producer = None
        self.streaming = None

    # -- IPushProducer (the transport produces data for its protocol) -------------------------

    def _checkCanProduce(self) -> None:
        if self.disconnecting:
            raise RuntimeError("cannot resume producing after loseConnection")
        if self.producerState == "stopped":
            raise RuntimeError("cannot resume a stopped producer")

    def pauseProducing(self) -> None:
        """Record a pause: ``producerState`` becomes ``'paused'``."""
        self._checkCanProduce()
        self.producerState = "paused"

    def resumeProducing(self) -> None:
        """Record a resume: ``producerState`` becomes ``'producing'``."""
        self._checkCanProduce()
        self.producerState = "producing"

    def stopProducing(self) -> None:
        """Record a stop: ``producerState`` becomes ``'stopped'`` for good."""
        self.producerState = "stopped"

    def logPrefix(self) -> str:
        """A short name for log lines."""
        return "StringTransport"


class StringTransportWithDisconnection(StringTransport):
    """A ``StringTransport`` whose ``loseConnection`` tells the protocol at once.

    Set ``protocol`` (or let ``makeConnection`` be called with this transport and set it
    yourself); ``loseConnection`` then calls ``protocol.connectionLost`` with a
    ``ConnectionDone`` failure, once.
    """

    def __init__(
        self, hostAddress: Address | None = None, peerAddress: Address | None = None
    ) -> None:
        super().__init__(hostAddress, peerAddress)
        self.protocol: Any = None
        self.connected = True

    def loseConnection(self) -> None:
        """Mark the transport closed and call ``protocol.connectionLost(ConnectionDone)``."""
        super().loseConnection()
        if self.connected:
            self.connected = False
            if self.protocol is not None:
                self.protocol.connectionLost(Failure(ConnectionDone("Connection was closed.")))


if TYPE_CHECKING:
    from ..protocol import IConsumer, IPushProducer, ITCPTransport

    def _conforms(t: StringTransport) -> tuple[ITCPTransport, IConsumer, IPushProducer]:
        return (t, t, t)
