"""SSH channels (RFC 4254 §5): the base ``SSHChannel`` and the channel as a plait transport.

A channel buffers what it is asked to write until the peer's window allows it, sends it in
chunks no larger than the peer's maximum packet, and pauses a registered producer while the
window (or the TCP connection below) is full. It grants the peer more window as the
application consumes data, unless the application paused it (as a push producer).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from plait.defer import Failure
from plait.log import Logger
from plait.protocol import ConnectionDone
from plait.wire.ssh.connection import LocalWindow, RemoteWindow

if TYPE_CHECKING:
    from plait.protocol import IAddress, IProtocol
    from plait.ssh._connection import SSHConnection

__all__ = [
    "ChannelOpenError",
    "ChannelTransport",
    "RequestFailedError",
    "SSHChannel",
    "connectProtocolToChannel",
]

_log = Logger(namespace="plait.ssh.connection")

DEFAULT_WINDOW = 2 * 1024 * 1024
DEFAULT_MAX_PACKET = 32 * 1024


class ChannelOpenError(Exception):
    """A channel could not be opened: ``reasonCode`` (``OpenFailureReason``), ``description``.

    Raised by a channel lookup to refuse an incoming open (the peer gets this reason), and
    passed to ``SSHChannel.openFailed`` when the peer refused ours.
    """

    def __init__(self, reasonCode: int, description: str = "") -> None:
        super().__init__(reasonCode, description)
        self.reasonCode = reasonCode
        self.description = description

    def __str__(self) -> str:
        return f"channel open failed ({self.reasonCode}): {self.description}"


class RequestFailedError(Exception):
    """The peer answered a global or channel request with a failure message."""


class SSHChannel:
    """One channel of an ``SSHConnection`` (Conch's names).

    Subclasses set ``name`` (the channel type, e.g. ``b"session"``) and override the events:
    ``channelOpen(specificData)``, ``openFailed(reason)``, ``dataReceived(data)``,
    ``extReceived(dataType, data)``, ``eofReceived()``, ``closeReceived()``, ``closed()``
    (called exactly once, when both sides have closed or the connection ended), and
    ``request_<type>(data)`` for channel requests (``-`` in the type becomes ``_``; a true
    result or a Deferred firing one means success). ``write``/``writeExtended``/
    ``writeSequence`` queue data for sending; ``sendEOF`` and ``loseConnection`` take effect
    once the queue is flushed. With no overrides, events go to ``protocol`` if one was
    attached by ``connectProtocolToChannel``.
    """

    name: bytes = b""
    localWindowSize: int = DEFAULT_WINDOW
    localMaxPacket: int = DEFAULT_MAX_PACKET

    def __init__(
        self,
        localWindow: int = 0,
        localMaxPacket: int = 0,
        remoteWindow: int = 0,
        remoteMaxPacket: int = 0,
        conn: SSHConnection | None = None,
        data: bytes = b"",
        avatar: Any = None,
    ) -> None:
        self._local = LocalWindow(
            localWindow or self.localWindowSize, localMaxPacket or self.localMaxPacket
        )
        self._remote = RemoteWindow(remoteWindow, remoteMaxPacket)
        self.conn = conn
        self.data = data
        self.avatar = avatar
        self.id: int | None = None
        self.remoteId: int | None = None
        self.protocol: IProtocol | None = None
        self._queue: deque[tuple[int | None, memoryview]] = deque()
        self._queued = 0
        self._whenFlushed: list[Callable[[], None]] = []
        self.producer: Any = None
        self._streaming = False
        self._windowFull = False
        self._connectionPaused = False
        self._producerPaused = False
        self.paused = False  # the application asked us (as a producer) to stop
        self.closing = False
        self.eofSent = self.eofPending = False
        self.eofReceivedFlag = False
        self.localClosed = self.remoteClosed = False
        self._closedCalled = False
        self._inRequest = False
        self._afterRequest: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id} remote={self.remoteId}>"

    # -- windows, for the connection and for inspection ----------------------------------------

    @property
    def localWindowLeft(self) -> int:
        """How much the peer may still send before we grant more."""
        return self._local.available

    @property
    def remoteWindowLeft(self) -> int:
        """How much we may still send before the peer grants more."""
        return self._remote.available

    @property
    def remoteMaxPacket(self) -> int:
        """The largest data packet the peer accepts."""
        return self._remote.maxPacket

    @property
    def bufferSize(self) -> int:
        """Bytes written but not yet sent (waiting for window)."""
        return self._queued

    def _opened(self, remoteId: int, remoteWindow: int, remoteMaxPacket: int) -> None:
        self.remoteId = remoteId
        self._remote = RemoteWindow(remoteWindow, remoteMaxPacket)

    def _windowAdjusted(self, n: int) -> None:
        self._remote.adjust(n)
        self._flush()

    def _dataArrived(self, data: bytes, dataType: int | None) -> None:
        self._local.received(len(data))
        if not (self.localClosed or self.eofReceivedFlag):
            if dataType is None:
                self.dataReceived(data)
            else:
                self.extReceived(dataType, data)
        self._local.consumed(len(data))
        if not self.paused:
            self._grantWindow()

    def _grantWindow(self) -> None:
        if self.conn is None or self.localClosed:
            return
        n = self._local.adjustment()
        if n:
            self.conn.adjustWindow(self, n)

    # -- events (override) -----------------------------------------------------------------

    def channelOpen(self, specificData: bytes) -> None:
        """The channel is open; an attached ``protocol`` is connected now."""
        if self.protocol is not None and self.protocol.transport is None:  # type: ignore[attr-defined]
            self.protocol.makeConnection(ChannelTransport(self))

    def openFailed(self, reason: Failure | BaseException) -> None:
        """The peer refused to open the channel (or the connection ended first)."""
        _log.info("channel {channel!r} open failed: {reason}", channel=self, reason=reason)

    def dataReceived(self, data: bytes) -> None:
        """Data arrived; goes to the attached protocol by default."""
        if self.protocol is not None:
            self.protocol.dataReceived(data)

    def extReceived(self, dataType: int, data: bytes) -> None:
        """Extended data (``dataType`` 1: stderr) arrived; ignored by default."""
        _log.debug("channel {channel!r} ignores extended data {t}", channel=self, t=dataType)

    def eofReceived(self) -> None:
        """The peer will send no more data: a half-closeable protocol is told, others close."""
        proto = self.protocol
        if proto is None:
            return
        readLost = getattr(proto, "readConnectionLost", None)
        if readLost is not None:
            readLost()
        else:
            self.sendEOF()
            self.loseConnection()

    def closeReceived(self) -> None:
        """The peer closed the channel (our CLOSE is sent by the connection)."""

    def closed(self) -> None:
        """Both sides have closed (called once); the attached protocol's ``connectionLost``."""
        if self.protocol is not None:
            self.protocol.connectionLost(Failure(ConnectionDone("channel closed")))

    def requestReceived(self, requestType: bytes, data: bytes) -> Any:
        """Dispatch a channel request to ``request_<type>``; unknown types fail."""
        name = requestType.decode("ascii", "replace").replace("-", "_").replace("@", "_at_")
        handler = getattr(self, "request_" + name.replace(".", "_"), None)
        if handler is None:
            return False
        return handler(data)

    # -- writing (IConsumer) ---------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue ``data``; it is sent as the peer's window allows."""
        self._enqueue(None, data)

    def writeExtended(self, dataType: int, data: bytes) -> None:
        """Queue extended data of ``dataType`` (1: stderr)."""
        self._enqueue(dataType, data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Queue the concatenation of ``data``."""
        self._enqueue(None, b"".join(data))

    def _enqueue(self, dataType: int | None, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"channel data must be bytes, not {type(data).__name__}")
        if not data:
            return
        if self.closing or self.eofSent or self.eofPending or self.localClosed:
            _log.debug("dropped a write on closing channel {channel!r}", channel=self)
            return
        self._queue.append((dataType, memoryview(bytes(data))))
        self._queued += len(data)
        self._flush()

    def _flush(self) -> None:
        conn = self.conn
        if conn is None or self.remoteId is None or self.localClosed:
            return
        queue = self._queue
        remote = self._remote
        self._sendQueued(conn, queue, remote)  # a packet a write: see SSHConnection.batched
        self._afterSend(conn, queue)

    def _sendQueued(self, conn: Any, queue: Any, remote: RemoteWindow) -> None:
        while queue:
            dataType, view = queue[0]
            n = remote.allowance(len(view))
            if n == 0:
                break
            # A view, not a copy: the transport joins it once into the packet's plaintext
            # (the queue holds views of immutable bytes, so it cannot change under us).
            chunk = view[:n]
            remote.take(n)
            self._queued -= n
            if n == len(view):
                queue.popleft()
            else:
                queue[0] = (dataType, view[n:])
            if dataType is None:
                conn.sendData(self, chunk)
            else:
                conn.sendExtendedData(self, dataType, chunk.tobytes())

    def _afterSend(self, conn: Any, queue: Any) -> None:
        if queue:
            if not self._windowFull:
                self._windowFull = True
                self.stopWriting()
            return
        if self._windowFull:
            self._windowFull = False
            self.startWriting()
        if self._whenFlushed:
            callbacks, self._whenFlushed = self._whenFlushed, []
            for f in callbacks:
                f()
        if self.eofPending and not self.eofSent:
            self.eofSent = True
            conn.sendEOF(self)
        if self.closing and not self.localClosed:
            conn.sendClose(self)

    def afterRequest(self, f: Callable[[], None]) -> None:
        """Call ``f`` once the channel request being handled has been answered (at once if
        none is), so a program that ends inside its own ``exec`` handler closes the channel
        after the reply, not before it."""
        if self._inRequest:
            self._afterRequest.append(f)
        else:
            f()

    def _requestHandled(self) -> None:
        self._inRequest = False
        pending, self._afterRequest = self._afterRequest, []
        for f in pending:
            f()

    def whenFlushed(self, f: Callable[[], None]) -> None:
        """Call ``f`` once everything queued so far has been sent."""
        if self._queue or self.remoteId is None:
            self._whenFlushed.append(f)
        else:
            f()

    def stopWriting(self) -> None:
        """The peer's window is full: pause the registered producer."""
        self._updateProducer()

    def startWriting(self) -> None:
        """The peer's window has room again: resume the registered producer."""
        self._updateProducer()

    def _setConnectionPaused(self, paused: bool) -> None:
        self._connectionPaused = paused
        self._updateProducer()

    def _updateProducer(self) -> None:
        producer = self.producer
        if producer is None or not self._streaming:
            return
        shouldPause = self._windowFull or self._connectionPaused
        if shouldPause and not self._producerPaused:
            self._producerPaused = True
            producer.pauseProducing()
        elif not shouldPause and self._producerPaused:
            self._producerPaused = False
            producer.resumeProducing()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Attach a producer, paused while the peer's window or the TCP connection is full."""
        if self.producer is not None:
            raise RuntimeError(f"{self!r} already has a producer")
        self.producer = producer
        self._streaming = streaming
        self._producerPaused = False
        if streaming:
            self._updateProducer()
        else:
            producer.resumeProducing()

    def unregisterProducer(self) -> None:
        """Detach the producer."""
        self.producer = None
        self._producerPaused = False

    # -- as a push producer of received data ----------------------------------------------

    def pauseProducing(self) -> None:
        """Stop granting the peer window (it may still send what it was granted)."""
        self.paused = True

    def resumeProducing(self) -> None:
        """Grant window again."""
        self.paused = False
        self._grantWindow()

    def stopProducing(self) -> None:
        """Close the channel."""
        self.loseConnection()

    # -- ending ------------------------------------------------------------------------------

    def sendEOF(self) -> None:
        """Tell the peer we will send no more data (after what is queued)."""
        if self.eofSent or self.eofPending or self.localClosed:
            return
        self.eofPending = True
        self._flush()

    def loseConnection(self) -> None:
        """Close the channel once what is queued has been sent."""
        if self.closing or self.localClosed:
            return
        self.closing = True
        if self.remoteId is None:
            return  # closed as soon as the open is confirmed
        self._flush()

    def _finish(self) -> None:
        if self._closedCalled:
            return
        self._closedCalled = True
        self._queue.clear()
        self._queued = 0
        producer, self.producer = self.producer, None
        if producer is not None:
            try:
                producer.stopProducing()
            except Exception:
                _log.failure("error stopping the producer of {channel!r}", channel=self)
        self.closed()

    def getPeer(self) -> IAddress:
        """The address of the SSH connection's peer."""
        assert self.conn is not None and self.conn.transport is not None
        return self.conn.transport.getPeer()

    def getHost(self) -> IAddress:
        """Our address on the SSH connection."""
        assert self.conn is not None and self.conn.transport is not None
        return self.conn.transport.getHost()

    def logPrefix(self) -> str:
        """The prefix for log lines about this channel."""
        return f"SSHChannel {self.name.decode('ascii', 'replace')} ({self.id})"


class ChannelTransport:
    """A channel as a plait transport (``ITransport``, ``IConsumer``, ``IPushProducer``).

    ``write`` queues channel data; ``loseConnection`` sends EOF and closes the channel once the
    data is sent; ``loseWriteConnection`` sends EOF only; ``abortConnection`` closes at once.
    """

    def __init__(self, channel: SSHChannel) -> None:
        self.channel = channel
        self.connected = True
        self.disconnecting = False

    def write(self, data: bytes) -> None:
        """Send ``data`` on the channel."""
        self.channel.write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Send the concatenation of ``data``."""
        self.channel.writeSequence(data)

    def loseConnection(self) -> None:
        """EOF, then close, once what was written is sent."""
        self.disconnecting = True
        self.channel.sendEOF()
        self.channel.loseConnection()

    def loseWriteConnection(self) -> None:
        """Half-close: EOF once what was written is sent."""
        self.channel.sendEOF()

    def abortConnection(self) -> None:
        """Close the channel now, dropping what is queued."""
        self.disconnecting = True
        channel = self.channel
        channel._queue.clear()
        channel._queued = 0
        channel.loseConnection()

    def getPeer(self) -> IAddress:
        """The SSH connection's peer."""
        return self.channel.getPeer()

    def getHost(self) -> IAddress:
        """Our side of the SSH connection."""
        return self.channel.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Attach a producer of data for the channel."""
        self.channel.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """Detach the producer."""
        self.channel.unregisterProducer()

    @property
    def producer(self) -> Any:
        """The registered producer (None when there is none), as on TCP transports."""
        return self.channel.producer

    def pauseProducing(self) -> None:
        """Stop granting window to the peer."""
        self.channel.pauseProducing()

    def resumeProducing(self) -> None:
        """Grant window again."""
        self.channel.resumeProducing()

    def stopProducing(self) -> None:
        """Close the channel."""
        self.loseConnection()

    def logPrefix(self) -> str:
        """The channel's log prefix."""
        return self.channel.logPrefix()


def connectProtocolToChannel(protocol: IProtocol, channel: SSHChannel) -> ChannelTransport | None:
    """Run ``protocol`` over ``channel``: its data, EOF and close drive the protocol.

    If the channel is already open the protocol is connected at once (the transport is
    returned); otherwise it is connected when the channel opens. The channel must not override
    the events it forwards (``dataReceived``, ``eofReceived``, ``closed``).
    """
    channel.protocol = protocol
    if channel.remoteId is None:
        return None
    transport = ChannelTransport(channel)
    protocol.makeConnection(transport)
    return transport
