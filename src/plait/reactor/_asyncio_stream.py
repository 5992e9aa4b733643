"""Stream connections on asyncio's transports, for ``AsyncioReactor``.

``AsyncioStreamConnection`` is the plait transport facade over an asyncio transport (``write``
is the asyncio transport's own bound method, swapped for a no-op once the connection closes),
and is itself the ``asyncio.Protocol`` that turns asyncio's events into the plait protocol's.
TCP and Unix connections, accepted (made by a port in ``_asyncio_ports``) or connected
(``connectTCP``/``connectUNIX``), are all of this kind; under uvloop their reads and writes run
in uvloop's C code.

Semantics kept from the other backends: ``loseConnection`` flushes then closes
(``ConnectionDone``), ``abortConnection`` drops the buffer (``ConnectionAborted``), the peer's
EOF half-closes an ``IHalfCloseableProtocol`` and otherwise closes after flushing, an OS error
is ``ConnectionLost``, writes after ``loseConnection`` are ignored, and an exception from the
protocol is logged with its traceback and loses that connection. A client connection's end
also reaches its connector (``clientConnectionLost``). Backpressure: asyncio's
``pause_writing``/``resume_writing`` pause and resume a registered push producer; a pull
producer is asked for more whenever the buffer drains.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable
from typing import Any

from plait.defer import Failure
from plait.log import Logger, LogLevel
from plait.protocol import (
    ConnectionAborted,
    ConnectionDone,
    ConnectionLost,
    IPv4Address,
    IPv6Address,
    UNIXAddress,
)

from ._tcp import TCPSocketOptions, tcpAddress
from ._unix import _name

__all__ = [
    "AsyncioStreamConnection",
    "AsyncioTCPConnection",
    "AsyncioUNIXConnection",
]

_log = Logger("plait.reactor")

_IPPROTO_TCP = socket.IPPROTO_TCP
_TCP_NODELAY = socket.TCP_NODELAY


def _ignore(data: object) -> None:
    """``write`` once the connection is closing: dropped, as on every plait transport."""


class AsyncioStreamConnection(asyncio.Protocol):
    """A plait stream transport over an asyncio transport (``ITransport``, ``IConsumer``,
    ``IPushProducer``); subclasses add the addresses and options of their kind.

    It is also the ``asyncio.Protocol`` asyncio calls (one object per connection, not two:
    asyncio's names are snake_case, plait's camelCase). An accepted connection is made with
    its port and builds its plait protocol in ``connection_made``; a client connection comes
    with its protocol.
    """

    __slots__ = (
        "__weakref__",
        "_aborting",
        "_hostAddr",
        "_loseWhenMade",
        "_peerAddr",
        "_port",
        "_readEOF",
        "_socket",
        "_transport",
        "_writeEOF",
        "connected",
        "connector",
        "disconnected",
        "disconnecting",
        "producer",
        "producerPaused",
        "protocol",
        "reactor",
        "streamingProducer",
        "write",
    )

    write: Callable[[bytes], None]
    # Whether to switch Nagle back on when made (asyncio turns TCP_NODELAY on for TCP).
    _nagle = False

    def __init__(self, protocol: Any, reactor: Any, peer: Any, port: Any = None) -> None:
        self.protocol = protocol
        self.reactor = reactor
        self._peerAddr = peer
        self._port = port
        self._hostAddr: Any = None
        self.connector: Any = None
        self._transport: asyncio.Transport | None = None
        self._socket: Any = None
        self._aborting = False
        self._loseWhenMade = False  # loseConnection came before asyncio made the connection
        self._readEOF = False
        self._writeEOF = False
        self.write = _ignore
        self.connected = False
        self.disconnecting = False
        self.disconnected = False
        self.producer: Any = None
        self.streamingProducer = False
        self.producerPaused = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} to {self._peerAddr} for {self.protocol!r}>"

    def logPrefix(self) -> str:
        """The protocol's class name, for log messages."""
        return type(self.protocol).__name__

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        port = self._port
        if port is not None:
            if not port.connected:
                # Accepted by the loop just before the port stopped (or the reactor shut down).
                transport.abort()  # type: ignore[attr-defined]
                return
            try:
                peer = port._peerAddress(transport.get_extra_info("peername"))
                protocol = port.factory.buildProtocol(peer)
            except Exception:
                _log.failure(
                    "Unhandled error in buildProtocol of {factory!r}; closing the connection",
                    level=LogLevel.error,
                    factory=port.factory,
                )
                transport.abort()  # type: ignore[attr-defined]
                return
            if protocol is None:
                transport.abort()  # type: ignore[attr-defined]
                return
            self.protocol = protocol
            self._peerAddr = peer
            if port._shareHostAddress:
                self._hostAddr = port._hostAddress
        elif self.disconnected:
            # A client connection the reactor gave up on (it shut down meanwhile).
            transport.abort()  # type: ignore[attr-defined]
            return
        self._made(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:  # made (else never seen by a plait protocol)
            self._lostConnection(exc)

    def eof_received(self) -> bool:
        return self._eofReceived() if self._transport is not None else False

    # -- events from asyncio ---------------------------------------------------------------

    def _made(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._socket = sock = transport.get_extra_info("socket")
        if self._nagle and (self.reactor._uvloop or sock.proto == _IPPROTO_TCP):
            # plait's default, as on every backend, is Nagle on. uvloop turns TCP_NODELAY on
            # for every TCP transport: one setsockopt turns it off again (about 4 us per
            # connection, measured: 2 for uvloop's PseudoSocket, 1.8 for the call; the price
            # of the default, which stays observable and on the wire). asyncio's own loop
            # turns it on only for sockets made with proto=IPPROTO_TCP, and plait makes its
            # sockets with proto 0, so there it costs nothing (a property read).
            sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 0)
        self.write = transport.write
        self.connected = True
        self.reactor._asyncioConnections.add(self)
        try:
            self.protocol.makeConnection(self)
        except Exception:
            self._userError("makeConnection")
        if self._loseWhenMade:
            self.loseConnection()

    def _guardedDataReceived(self, data: bytes) -> None:
        try:
            self.protocol.dataReceived(data)
        except Exception:
            self._userError("dataReceived")

    def _eofReceived(self) -> bool:
        readConnectionLost = getattr(self.protocol, "readConnectionLost", None)
        if readConnectionLost is None:
            self.disconnecting = True
            self.write = _ignore
            return False  # asyncio closes once what was written is flushed: ConnectionDone
        self._readEOF = True
        try:
            readConnectionLost()
        except Exception:
            self._userError("readConnectionLost")
            return True
        if self._writeEOF and self._transport is not None:
            self._transport.close()  # both directions are done
        return True  # keep the write side open

    def _lostConnection(self, exc: Exception | None) -> None:
        if self.disconnected:
            return
        self.reactor._asyncioConnections.discard(self)
        self.disconnected = True
        self.connected = False
        self.disconnecting = True
        self.write = _ignore
        if self._aborting:
            reason = Failure(ConnectionAborted())
        elif exc is None:
            reason = Failure(ConnectionDone())
        elif isinstance(exc, OSError):
            reason = Failure(ConnectionLost(exc))
        else:
            reason = Failure(exc)
        producer = self.producer
        if producer is not None:
            self.producer = None
            try:
                producer.stopProducing()
            except Exception:
                _log.failure("Error in stopProducing of {producer!r}", producer=producer)
        try:
            self.protocol.connectionLost(reason)
        except Exception:
            _log.failure(
                "Unhandled error in connectionLost of {protocol!r}",
                level=LogLevel.error,
                protocol=self.protocol,
            )
        if self.connector is not None:
            self.connector._connectionLost(reason)

    def _userError(self, where: str) -> None:
        """Log the exception being handled (from protocol code) and lose the connection."""
        reason = Failure()
        _log.failure(
            "Unhandled error in {where} of {protocol!r}; losing its connection",
            reason,
            level=LogLevel.error,
            where=where,
            protocol=self.protocol,
        )
        transport = self._transport
        if transport is not None and not self.disconnected:
            transport.abort()
            # asyncio reports the abort later; the protocol learns the real reason now.
            self._aborting = False
            self._lostConnectionWith(reason)

    def _lostConnectionWith(self, reason: Failure) -> None:
        if self.disconnected:
            return
        self.reactor._asyncioConnections.discard(self)
        self.disconnected = True
        self.connected = False
        self.write = _ignore
        try:
            self.protocol.connectionLost(reason)
        except Exception:
            _log.failure(
                "Unhandled error in connectionLost of {protocol!r}", protocol=self.protocol
            )
        if self.connector is not None:
            self.connector._connectionLost(reason)

    def _pauseWriting(self) -> None:
        producer = self.producer
        if producer is not None and self.streamingProducer and not self.producerPaused:
            self.producerPaused = True
            producer.pauseProducing()

    def _resumeWriting(self) -> None:
        producer = self.producer
        if producer is not None and not self.streamingProducer:
            self._pull()
        elif producer is not None and self.producerPaused:
            self.producerPaused = False
            producer.resumeProducing()

    data_received = _guardedDataReceived
    pause_writing = _pauseWriting
    resume_writing = _resumeWriting

    # -- ITransport ------------------------------------------------------------------------

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        """Write each of ``iovec`` in order."""
        if self.write is not _ignore and self._transport is not None:
            self._transport.writelines(iovec)

    def loseConnection(self) -> None:
        """Close once what was written is flushed; the reason is ``ConnectionDone``."""
        if self.disconnecting:
            return
        if self._transport is None:
            self._loseWhenMade = True  # a client connection asyncio has not made yet
            return
        self.disconnecting = True
        self.write = _ignore
        self._transport.close()

    def abortConnection(self) -> None:
        """Close now, dropping what is buffered; the reason is ``ConnectionAborted``."""
        if self.disconnected or self._transport is None:
            return
        self._aborting = True
        self.write = _ignore
        self._transport.abort()

    def loseWriteConnection(self) -> None:
        """Send EOF once what was written is flushed; reading goes on."""
        transport = self._transport
        if transport is None or self.disconnecting or not transport.can_write_eof():
            return
        self.write = _ignore
        self._writeEOF = True
        if self._readEOF:
            self.loseConnection()  # both directions are done
            return
        transport.write_eof()

    def getHost(self) -> Any:
        """The local address."""
        raise NotImplementedError

    def getPeer(self) -> Any:
        """The remote address."""
        return self._peerAddr

    def getWriteBufferSize(self) -> int:
        """Bytes written and not yet sent."""
        return 0 if self._transport is None else self._transport.get_write_buffer_size()

    # -- IConsumer / IPushProducer ---------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Attach a producer, paused and resumed by asyncio's write-buffer limits."""
        if self.producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}, because {self.producer!r} "
                "is still registered"
            )
        if self.disconnected:
            producer.stopProducing()
            return
        self.producer = producer
        self.streamingProducer = bool(streaming)
        self.producerPaused = False
        if not streaming:
            if self._transport is not None:
                # asyncio says "resume" only once the buffer is empty: the moment to pull.
                self._transport.set_write_buffer_limits(high=0)
            self.reactor.callLater(0, self._pull)

    def _pull(self) -> None:
        # A pull producer is asked for more while what it wrote goes straight out; once some
        # is buffered, resume_writing (buffer drained) asks again.
        producer = self.producer
        if producer is None or self.streamingProducer or self.disconnected:
            return
        transport = self._transport
        if transport is None or transport.get_write_buffer_size() == 0:
            producer.resumeProducing()
            if self.producer is producer and not self.disconnected:
                transport = self._transport
                if transport is None or transport.get_write_buffer_size() == 0:
                    self.reactor.callLater(0, self._pull)

    def unregisterProducer(self) -> None:
        """Detach the producer."""
        pulling = self.producer is not None and not self.streamingProducer
        if pulling and self._transport is not None and not self.disconnected:
            self._transport.set_write_buffer_limits()
        self.producer = None
        self.streamingProducer = False
        self.producerPaused = False

    def pauseProducing(self) -> None:
        """Stop reading (``dataReceived`` stops being called)."""
        if self._transport is not None and not self.disconnecting:
            self._transport.pause_reading()

    def resumeProducing(self) -> None:
        """Start reading again."""
        if self._transport is not None and not self.disconnecting:
            self._transport.resume_reading()

    def stopProducing(self) -> None:
        """Lose the connection."""
        self.loseConnection()

    def startTLS(self, contextFactory: Any, normal: bool = True) -> Any:
        """Switch to TLS now (STARTTLS) through ``plait.tls`` over this transport.

        A connection made by a connector is the TLS client (``normal=False`` swaps the roles).
        """
        from plait.tls import startTLS

        return startTLS(self, contextFactory, (self.connector is not None) == normal)


class AsyncioTCPConnection(TCPSocketOptions, AsyncioStreamConnection):
    """A TCP connection on an asyncio transport (``ITCPTransport``)."""

    __slots__ = ()

    _nagle = True

    @property
    def socket(self) -> Any:
        """The connected socket (asyncio's socket object; None until asyncio made it)."""
        return self._socket

    def getHost(self) -> IPv4Address | IPv6Address:
        """The local address."""
        return tcpAddress(self._socket.getsockname())

    def getPeer(self) -> IPv4Address | IPv6Address:
        """The remote address."""
        peer: IPv4Address | IPv6Address = self._peerAddr
        return peer


class AsyncioUNIXConnection(AsyncioStreamConnection):
    """A Unix stream connection on an asyncio transport."""

    __slots__ = ()

    def getHost(self) -> UNIXAddress:
        """The local address (``UNIXAddress(None)`` for an unnamed client socket)."""
        host: UNIXAddress | None = self._hostAddr
        if host is None:
            host = self._hostAddr = UNIXAddress(_name(self._socket.getsockname()))
        return host

    def getPeer(self) -> UNIXAddress:
        """The remote address (``UNIXAddress(None)`` for an unnamed peer)."""
        peer: UNIXAddress = self._peerAddr
        return peer
