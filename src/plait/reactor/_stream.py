"""The buffered stream transport shared by TCP and Unix sockets, and its listening port.

``Connection`` is a connected, non-blocking stream socket seen as a transport (paper §7,
Figure 8, done the way asyncio's selector transports do it): ``write`` tries ``send()`` at once
when nothing is buffered and only keeps (and waits for writability for) what the kernel did not
take; the rest lives in one ``bytearray`` whose front is dropped with ``del buf[:n]`` (O(1) in
CPython), so a big buffer is never re-sliced. Reading is one ``recv(bufferSize)`` per readiness
event (``bufferSize``, 256 KiB) straight into ``protocol.dataReceived``.

Ending a connection (every way is "losing" it; ``connectionLost`` runs exactly once):

- ``loseConnection``: stop reading, flush what is buffered (after a registered producer
  unregisters), close; reason ``ConnectionDone``.
- ``abortConnection``: drop the buffer and close now; reason ``ConnectionAborted``.
- ``loseWriteConnection``: flush, then ``shutdown(SHUT_WR)``; reading goes on.
- the peer's EOF: an ``IHalfCloseableProtocol`` (one with ``readConnectionLost``) is told and
  may keep writing; any other protocol's connection is closed with ``ConnectionDone`` once what
  it already wrote is flushed, so nothing written is lost.
- an OS error: ``ConnectionLost`` carrying the ``OSError`` (``.osError`` is its errno).
- an exception from the protocol (``dataReceived``, ``connectionMade``...): it is logged with
  its traceback and the connection is lost with that Failure (DESIGN.md §5). ``BaseException``s
  that are not ``Exception`` (``KeyboardInterrupt``, ``SystemExit``) pass through.

Backpressure: a registered streaming producer is paused when the buffer grows past
``highWaterMark`` and resumed once it drains below ``lowWaterMark``; a pull producer is asked
for more (``resumeProducing``) whenever the buffer empties.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any, Protocol

from plait.defer import Deferred, Failure, succeed
from plait.log import Logger, LogLevel
from plait.protocol import (
    CannotListenError,
    ConnectionAborted,
    ConnectionDone,
    ConnectionLost,
)
from plait.tls import startTLS

from ._writebuffer import WriteBufferMixin

__all__ = ["Connection", "IStreamReactor", "StreamPort"]

_log = Logger("plait.reactor")

# accept() errors that mean "out of a resource": log and back off instead of spinning.
_ACCEPT_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# accept() errors about the one connection being accepted: skip it and go on.
_ACCEPT_SKIP = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR})


class IStreamReactor(Protocol):
    """What a stream transport needs from its reactor."""

    def addReader(self, reader: Any) -> None: ...
    def addWriter(self, writer: Any) -> None: ...
    def removeReader(self, reader: Any) -> None: ...
    def removeWriter(self, writer: Any) -> None: ...
    def callLater(self, delay: float, f: Callable[..., object], *args: Any, **kw: Any) -> Any: ...


def _asFailure(reason: object) -> Failure:
    if isinstance(reason, Failure):
        return reason
    if isinstance(reason, BaseException):
        return Failure(reason)
    return Failure(ConnectionLost(reason))


def _idleSet(reactor: Any) -> set[Connection]:
    """The reactor's set of unwatched live connections (created with its shutdown trigger)."""
    idle: set[Connection] | None = getattr(reactor, "_idleStreams", None)
    if idle is None:
        idle = set()
        reactor._idleStreams = idle
        addTrigger = getattr(reactor, "addSystemEventTrigger", None)
        if addTrigger is not None:
            addTrigger("during", "shutdown", _loseIdle, idle)
    return idle


def _loseIdle(idle: set[Connection]) -> None:
    for connection in list(idle):
        connection.connectionLost(Failure(ConnectionLost("the reactor shut down")))
    idle.clear()


class Connection(WriteBufferMixin):
    """A connected stream socket as a transport (``ITCPTransport`` minus the TCP options).

    Also the reactor's selectable for its socket (``fileno``/``doRead``/``doWrite``/
    ``connectionLost``), a consumer (``registerProducer``) and a push producer
    (``pauseProducing`` stops reading).
    """

    # One recv() per readiness event. 256 KiB rather than 64 KiB: measured on the bulk echo
    # row it nearly halves the CPU per byte, and small messages cost the same (the bytes
    # object is shrunk to what arrived).
    bufferSize = 262144

    # State flags: class-level defaults, set on the instance only when they change, so that
    # making a connection (a benchmark row: new connections per second) stays cheap.
    connected = True
    disconnecting = False
    disconnected = False
    _reading = False
    _writing = False
    _aborting = False
    _readEOF = False
    _writeDisconnecting = False
    _writeDisconnected = False
    # True once writes are ignored (aborted, write side shut down, or lost): one check in write.
    _writeClosed = False
    # True when write() must buffer instead of sending at once: a send failed (doWrite reports
    # it), or a pull producer is registered (it is asked for more each time doWrite drains the
    # buffer, so its writes must go through doWrite).
    _bufferAll = False
    _pendingError: OSError | None = None
    # Reason to close with once the buffer is flushed (loseConnection / the peer's EOF);
    # _waitForProducer: loseConnection waits for a registered producer to unregister.
    _closeReason: Failure | None = None
    _waitForProducer = False
    # Addresses known in advance (an accepting port sets them); the subclasses read them.
    _peerAddr: Any = None
    _hostAddr: Any = None

    def __init__(self, sock: socket.socket, protocol: Any, reactor: IStreamReactor) -> None:
        self.socket = sock
        self.protocol = protocol
        self.reactor = reactor
        self.fileno: Callable[[], int] = sock.fileno
        self._recv = sock.recv
        self._send = sock.send
        self._buffer = bytearray()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fileno()} {self.logPrefix()}>"

    def logPrefix(self) -> str:
        """The protocol's class name, for log messages."""
        return type(self.protocol).__name__

    # -- reactor registration ----------------------------------------------------------------

    # A connection registered for neither reading nor writing (paused, or waiting for a
    # producer) is invisible to the reactor's shutdown (which loses what it watches), so it is
    # kept in the reactor's idle set, and lost from a 'shutdown' trigger.

    def startReading(self) -> None:
        """Ask the reactor for read events."""
        if not self._reading:
            self._reading = True
            self.reactor.addReader(self)
            if self._idle:
                self._busy()

    def stopReading(self) -> None:
        """Stop asking the reactor for read events."""
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self)
            if not self._writing and not self.disconnected:
                self._idleNow()

    def startWriting(self) -> None:
        """Ask the reactor for write events."""
        if not self._writing:
            self._writing = True
            self.reactor.addWriter(self)
            if self._idle:
                self._busy()

    def stopWriting(self) -> None:
        """Stop asking the reactor for write events."""
        if self._writing:
            self._writing = False
            self.reactor.removeWriter(self)
            if not self._reading and not self.disconnected:
                self._idleNow()

    _idle = False

    def _idleNow(self) -> None:
        self._idle = True
        _idleSet(self.reactor).add(self)

    def _busy(self) -> None:
        self._idle = False
        _idleSet(self.reactor).discard(self)

    # -- reading ---------------------------------------------------------------------------

    def doRead(self) -> None:
        """The socket is readable: read once and hand the bytes to the protocol."""
        try:
            data = self._recv(self.bufferSize)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            if not self.disconnected:
                self.connectionLost(Failure(ConnectionLost(e)))
            return None
        if data:
            try:
                self.protocol.dataReceived(data)
            except Exception:
                self._userError("dataReceived")
            return None
        self._eofReceived()
        return None

    def _eofReceived(self) -> None:
        if self._readEOF or self.disconnected:
            return
        self._readEOF = True
        readConnectionLost = getattr(self.protocol, "readConnectionLost", None)
        if readConnectionLost is None and not self._buffer:
            # The common end of a connection: nothing left to flush.
            self.connectionLost(Failure(ConnectionDone()))
            return
        self.stopReading()
        if readConnectionLost is not None:
            try:
                readConnectionLost()
            except Exception:
                self._userError("readConnectionLost")
                return
            if self._writeDisconnected and not self.disconnected:
                self.connectionLost(Failure(ConnectionDone()))
            return
        # Not half-closeable: the connection is over, but what was written still goes out.
        self.disconnecting = True
        self._closeReason = Failure(ConnectionDone())
        self._waitForProducer = False
        self.startWriting()

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
        if not self.disconnected:
            self.connectionLost(reason)

    # -- writing ---------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send ``data``: at once if the kernel takes it, the rest buffered in order."""
        if self._writeClosed:
            return
        buf = self._buffer
        if not buf:
            if not data:
                if not isinstance(data, (bytes, bytearray, memoryview)):
                    raise TypeError(f"write() takes bytes, not {type(data).__name__}")
                return
            if not self._bufferAll:
                try:
                    sent = self._send(data)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as e:
                    # Reported from doWrite, not from inside the protocol's write().
                    self._pendingError = e
                    self._bufferAll = True
                    sent = 0
                except TypeError:
                    raise TypeError(f"write() takes bytes, not {type(data).__name__}") from None
                if sent == len(data):
                    return
                if sent:
                    buf += memoryview(data)[sent:]
                else:
                    buf += data
            else:
                buf += data
        else:
            buf += data  # a str raises TypeError here
        if not self._writing:
            self._writing = True
            self.reactor.addWriter(self)
        if (
            self.streamingProducer
            and not self.producerPaused
            and len(buf) > self.highWaterMark
            and self.producer is not None
        ):
            self.producerPaused = True
            self.producer.pauseProducing()

    def setWriteBufferLimits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the producer water marks (defaults 64 KiB / 16 KiB; ``low`` defaults high/4)."""
        if high is None:
            high = self.highWaterMark if low is None else max(low * 4, low)
        if low is None:
            low = high // 4
        if not 0 <= low <= high:
            raise ValueError(f"need 0 <= low <= high, got high={high} low={low}")
        self.highWaterMark = high
        self.lowWaterMark = low

    def doWrite(self) -> None:
        """The socket is writable: flush the buffer, then finish any pending close."""
        if self.disconnected:
            return None
        if self._pendingError is not None:
            self.connectionLost(Failure(ConnectionLost(self._pendingError)))
            return None
        buf = self._buffer
        if buf:
            try:
                sent = self._send(buf)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                self.connectionLost(Failure(ConnectionLost(e)))
                return None
            del buf[:sent]
            if buf:
                if self.producerPaused and len(buf) < self.lowWaterMark:
                    self._resumeProducer()
                return None
        if self.producer is not None and (not self.streamingProducer or self.producerPaused):
            self._resumeProducer()
            if self._buffer or self.disconnected:
                return None
        self.stopWriting()
        self._flushed()
        return None

    def _resumeProducer(self) -> None:
        self.producerPaused = False
        try:
            self.producer.resumeProducing()
        except Exception:
            self._userError("resumeProducing")

    def _flushed(self) -> None:
        """The buffer is empty: do whatever was waiting for that."""
        if self.disconnected:
            return
        if self._closeReason is not None:
            if not (self._waitForProducer and self.producer is not None):
                self.connectionLost(self._closeReason)
            return
        if self._writeDisconnecting and not self._writeDisconnected:
            self._writeDisconnected = True
            self._writeClosed = True
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError as e:
                self.connectionLost(Failure(ConnectionLost(e)))
                return
            writeConnectionLost = getattr(self.protocol, "writeConnectionLost", None)
            if writeConnectionLost is not None:
                try:
                    writeConnectionLost()
                except Exception:
                    self._userError("writeConnectionLost")
                    return
            if self._readEOF and not self.disconnected:
                self.connectionLost(Failure(ConnectionDone()))

    # -- losing the connection ---------------------------------------------------------------

    def loseConnection(self) -> None:
        """Close once everything buffered is sent (and a registered producer unregistered)."""
        if self.disconnected or self.disconnecting:
            return
        self.disconnecting = True
        self._closeReason = Failure(ConnectionDone())
        self._waitForProducer = True
        self.stopReading()
        if self._buffer or self.producer is not None:
            self.startWriting()
        else:
            # Never call connectionLost from inside the caller's stack.
            self.reactor.callLater(0, self._closeIfFlushed)

    def _closeIfFlushed(self) -> None:
        if not self._buffer and not self.disconnected:
            self._flushed()

    def abortConnection(self) -> None:
        """Close now, dropping whatever is buffered; the reason is ``ConnectionAborted``."""
        if self.disconnected or self._aborting:
            return
        self._aborting = True
        self._writeClosed = True
        self.disconnecting = True
        self.stopReading()
        self.stopWriting()
        self._buffer = bytearray()
        self.reactor.callLater(0, self._abortNow)

    def _abortNow(self) -> None:
        if not self.disconnected:
            self.connectionLost(Failure(ConnectionAborted()))

    def loseWriteConnection(self) -> None:
        """Shut down the sending half once the buffer is flushed; keep reading."""
        if self.disconnected or self._writeDisconnecting:
            return
        self._writeDisconnecting = True
        if self._buffer:
            self.startWriting()
        else:
            self.reactor.callLater(0, self._closeIfFlushed)

    def connectionLost(self, reason: object) -> None:
        """Tear the connection down and tell the protocol; runs once, later calls do nothing."""
        if self.disconnected:
            return
        self.disconnected = True
        self._writeClosed = True
        self.connected = False
        self.disconnecting = True
        self.stopReading()
        self.stopWriting()
        if self._idle:
            self._busy()
        self._buffer = bytearray()
        try:
            self.socket.close()
        except OSError:
            pass
        failure = _asFailure(reason)
        self._stopProducer()
        try:
            self.protocol.connectionLost(failure)
        except Exception:
            _log.failure(
                "Unhandled error in connectionLost of {protocol!r}",
                level=LogLevel.error,
                protocol=self.protocol,
            )
        self._lost(failure)

    def _lost(self, reason: Failure) -> None:
        """Hook for subclasses, after the protocol was told (clients tell their connector)."""

    # -- IConsumer ---------------------------------------------------------------------------

    # registerProducer / unregisterProducer: WriteBufferMixin, with these two hooks.

    def _pullProducerAttached(self) -> None:
        self._bufferAll = True  # its writes go through doWrite, which asks it for more

    def _producerDetached(self) -> None:
        self._bufferAll = self._pendingError is not None
        if self._closeReason is not None and not self.disconnected:
            self.startWriting()

    # -- IPushProducer (the transport's own reading) -------------------------------------------

    def pauseProducing(self) -> None:
        """Stop reading from the socket (``dataReceived`` stops being called)."""
        self.stopReading()

    def resumeProducing(self) -> None:
        """Start reading from the socket again."""
        if not self.disconnecting and not self._readEOF and not self.disconnected:
            self.startReading()

    def stopProducing(self) -> None:
        """Lose the connection."""
        self.loseConnection()

    # -- TLS -------------------------------------------------------------------------------

    def startTLS(self, contextFactory: Any, normal: bool = True) -> Any:
        """Switch to TLS now (STARTTLS): what was written before goes out in the clear first.

        A connection made by a connector is the TLS client (``normal=False`` swaps the
        roles). The protocol's ``transport`` becomes the returned ``plait.tls.TLSProtocol``.
        """
        isClient = (getattr(self, "connector", None) is not None) == normal
        return startTLS(self, contextFactory, isClient)

    # -- addresses ---------------------------------------------------------------------------

    def getHost(self) -> Any:
        """The local address (set by the TCP/Unix subclasses)."""
        raise NotImplementedError

    def getPeer(self) -> Any:
        """The remote address (set by the TCP/Unix subclasses)."""
        raise NotImplementedError


class StreamPort:
    """A listening stream socket: accepts connections and gives each a protocol.

    Subclasses provide ``_bindSocket`` (create, bind; raise ``CannotListenError``),
    ``_peerAddress`` and ``connectionClass``.
    """

    numberAccepts = 100
    connectionClass: type[Connection] = Connection
    # Whether accepted connections get the port's address as theirs (Unix: a socket's own
    # name may be unreadable once its path is gone).
    _shareHostAddress = False
    _backoffMax = 1.0

    def __init__(self, reactor: IStreamReactor, factory: Any, backlog: int = 50) -> None:
        self.reactor = reactor
        self.factory = factory
        self.backlog = backlog
        self.connected = False
        self.disconnected = False
        self.socket: socket.socket | None = None
        self._reading = False
        self._backoff = 0.0
        self._resumeCall: Any = None
        self._hostAddress: Any = None

    def __repr__(self) -> str:
        state = "listening" if self.connected else "not listening"
        return f"<{type(self).__name__} of {type(self.factory).__name__} ({state})>"

    def logPrefix(self) -> str:
        """The factory's class name, for log messages."""
        return type(self.factory).__name__

    def fileno(self) -> int:
        """The listening socket's descriptor (-1 once closed)."""
        return -1 if self.socket is None else self.socket.fileno()

    def _bindSocket(self) -> socket.socket:
        raise NotImplementedError

    def _peerAddress(self, addr: Any) -> Any:
        """The peer's address object, from what ``accept()`` returned."""
        raise NotImplementedError

    def _listenError(self, e: OSError) -> CannotListenError:
        raise NotImplementedError

    def _hostOf(self, sock: socket.socket) -> Any:
        raise NotImplementedError

    def startListening(self) -> None:
        """Bind, listen and start accepting; raises ``CannotListenError`` on failure."""
        sock = self._bindSocket()
        try:
            sock.listen(self.backlog)
        except OSError as e:
            sock.close()
            raise self._listenError(e) from e
        self._adopt(sock)

    def _adopt(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.socket = sock
        self._family = sock.family
        self._type = sock.type
        self._accept = sock._accept  # type: ignore[attr-defined]
        self._hostAddress = self._hostOf(sock)
        self.factory.doStart()
        self.connected = True
        self._startReading()

    def _startReading(self) -> None:
        if not self._reading:
            self._reading = True
            self.reactor.addReader(self)

    def _stopReading(self) -> None:
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self)

    def doRead(self) -> None:
        """Accept up to ``numberAccepts`` pending connections."""
        accept = self._accept
        family = self._family
        for _ in range(self.numberAccepts):
            try:
                fd, addr = accept()
            except BlockingIOError:
                self._backoff = 0.0
                return None
            except OSError as e:
                if e.errno in _ACCEPT_SKIP:
                    continue
                if e.errno in _ACCEPT_EXHAUSTED:
                    self._backOff(e)
                    return None
                _log.failure("accept() failed on {port!r}", port=self, level=LogLevel.error)
                return None
            sock = socket.socket(family, socket.SOCK_STREAM, 0, fd)
            sock.setblocking(False)
            self._accepted(sock, addr)
            if not self.connected:
                return None
        self._backoff = 0.0
        return None

    def _accepted(self, sock: socket.socket, addr: Any) -> None:
        peer = self._peerAddress(addr)
        try:
            protocol = self.factory.buildProtocol(peer)
        except Exception:
            self._buildFailed(sock)
            return
        if protocol is None:
            sock.close()
            return
        transport = self.connectionClass(sock, protocol, self.reactor)
        transport._peerAddr = peer
        if self._shareHostAddress:
            transport._hostAddr = self._hostAddress
        transport._reading = True
        self.reactor.addReader(transport)
        try:
            protocol.makeConnection(transport)
        except Exception:
            transport._userError("makeConnection")

    def _buildFailed(self, sock: socket.socket) -> None:
        """``buildProtocol`` raised (the exception is being handled): log it, drop the socket."""
        _log.failure(
            "Unhandled error in buildProtocol of {factory!r}; closing the connection",
            level=LogLevel.error,
            factory=self.factory,
        )
        sock.close()

    def _backOff(self, e: OSError) -> None:
        self._backoff = min(self._backoffMax, max(0.01, self._backoff * 2))
        _log.error(
            "accept() on {port!r} failed: {error}; not accepting for {delay:.2f}s",
            port=self,
            error=e,
            delay=self._backoff,
        )
        self._stopReading()
        self._resumeCall = self.reactor.callLater(self._backoff, self._resumeAccepting)

    def _resumeAccepting(self) -> None:
        self._resumeCall = None
        if self.connected:
            self._startReading()

    def doWrite(self) -> None:
        """Listening sockets are never registered for writing."""
        return None

    def stopListening(self) -> Deferred[None]:
        """Close the listening socket; the Deferred fires once it is closed."""
        self.connectionLost(Failure(ConnectionDone()))
        return succeed(None)

    loseConnection = stopListening

    def connectionLost(self, reason: object) -> None:
        """Stop listening (also called by the reactor as it shuts down)."""
        if self.disconnected or not self.connected:
            return
        self.disconnected = True
        self.connected = False
        self._stopReading()
        if self._resumeCall is not None:
            self._resumeCall.cancel()
            self._resumeCall = None
        if self.socket is not None:
            self.socket.close()
        self._closed()
        try:
            self.factory.doStop()
        except Exception:
            _log.failure("Error in doStop of {factory!r}", factory=self.factory)

    def _closed(self) -> None:
        """Hook: the socket was closed (Unix ports remove their file)."""

    def getHost(self) -> Any:
        """The address the port listens on (still known once it stopped)."""
        return self._hostAddress
