"""Transports over plain file descriptors: pipes, ttys, serial ports (paper §3, "access file
descriptors directly").

Two selectables do the I/O and know nothing of protocols:

- ``FDReader``: ``os.read`` whenever the descriptor is readable, bytes to a callback; the end
  of input (``b""``, or ``EIO`` from a pty master whose other side closed) is reported once
  as ``ConnectionDone``, an ``OSError`` as ``ConnectionLost``.
- ``FDWriter``: ``write`` tries ``os.write`` at once when nothing is buffered and keeps only
  what the kernel did not take (a ``bytearray`` drained from the front); producers are paused
  above ``highWaterMark`` and resumed below ``lowWaterMark``; ``loseConnection`` flushes first.

On top of them, ``FileDescriptorTransport`` is a protocol's transport over one descriptor (or
a read and a write descriptor, which is what ``StandardIO`` is). Its descriptors are made
non-blocking while in use and put back as they were before they are closed (``O_NONBLOCK`` is
shared with every process holding the same open file, e.g. a terminal). The end of input goes
to ``readConnectionLost`` for an ``IHalfCloseableProtocol``; any other protocol's connection is
lost with ``ConnectionDone`` once what it wrote is flushed.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from plait.defer import Failure
from plait.log import Logger, LogLevel
from plait.protocol import ConnectionAborted, ConnectionDone, ConnectionLost

from ._writebuffer import WriteBufferMixin

__all__ = [
    "FDReader",
    "FDReaderWriterMixin",
    "FDWriter",
    "FileDescriptorTransport",
    "PipeAddress",
    "connectFD",
]

_log = Logger("plait.reactor")


@dataclass(frozen=True)
class PipeAddress:
    """The address of either end of a pipe or other unnamed file descriptor."""


class _FDReactor(Protocol):
    def addReader(self, reader: Any) -> None: ...
    def addWriter(self, writer: Any) -> None: ...
    def removeReader(self, reader: Any) -> None: ...
    def removeWriter(self, writer: Any) -> None: ...
    def callLater(self, delay: float, f: Callable[..., object], *args: Any, **kw: Any) -> Any: ...


class _FDSelectable:
    """What a reactor needs of a descriptor's reader or writer besides doRead/doWrite."""

    fd: int

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fd}>"

    def fileno(self) -> int:
        """The descriptor (-1 once lost)."""
        return self.fd

    def logPrefix(self) -> str:
        """For log messages."""
        return type(self).__name__


class FDReader(_FDSelectable):
    """Reads a non-blocking descriptor whenever it is readable (see the module docstring).

    ``dataReceived(bytes)`` gets the data (an exception from it goes to the reactor's error
    boundary, which logs it and loses this reader); ``lost(Failure)`` is called once, when the
    reader ends for any reason. With ``closeOnLoss`` the descriptor is closed then.
    """

    bufferSize = 65536

    def __init__(
        self,
        reactor: _FDReactor,
        fd: int,
        dataReceived: Callable[[bytes], object],
        lost: Callable[[Failure], object],
        closeOnLoss: bool = True,
    ) -> None:
        self.reactor = reactor
        self.fd = fd
        self._dataReceived = dataReceived
        self._lost = lost
        self._closeOnLoss = closeOnLoss
        self.reading = False
        self.disconnected = False

    def startReading(self) -> None:
        """Ask the reactor for read events."""
        if not self.reading and not self.disconnected:
            self.reading = True
            self.reactor.addReader(self)

    def stopReading(self) -> None:
        """Stop asking for read events."""
        if self.reading:
            self.reading = False
            self.reactor.removeReader(self)

    def doRead(self) -> BaseException | None:
        """Read once; ``ConnectionDone`` at the end of input (the reactor then loses us)."""
        try:
            data = os.read(self.fd, self.bufferSize)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: a pty master whose slave side is all closed
                return ConnectionLost(e)
            data = b""
        if data:
            self._dataReceived(data)
            return None
        return ConnectionDone()

    def connectionLost(self, reason: Failure) -> None:
        """Stop reading, close (if owned) and report ``reason`` once."""
        if self.disconnected:
            return
        self.disconnected = True
        self.stopReading()
        if self._closeOnLoss:
            _close(self.fd)
        self.fd = -1
        self._lost(reason)


class FDWriter(_FDSelectable, WriteBufferMixin):
    """Writes to a non-blocking descriptor, buffering what the kernel does not take at once.

    ``lost(Failure)`` is called once when the writer ends: ``ConnectionDone`` after
    ``loseConnection`` has flushed, ``ConnectionAborted`` after ``abortConnection``,
    ``ConnectionLost`` on a write error. With ``watchForClose`` the descriptor is also watched
    for readability: a pipe's write end only becomes readable (an error) when its reader has
    gone, so that ends the writer at once rather than at the next write.
    """

    def __init__(
        self,
        reactor: _FDReactor,
        fd: int,
        lost: Callable[[Failure], object],
        closeOnLoss: bool = True,
        watchForClose: bool = False,
    ) -> None:
        self.reactor = reactor
        self.fd = fd
        self._lost = lost
        self._closeOnLoss = closeOnLoss
        self._buffer = bytearray()
        self._writing = False
        self._watching = False
        self.disconnecting = False
        self.disconnected = False
        self._pendingError: OSError | None = None
        if watchForClose:
            self._watching = True
            reactor.addReader(self)

    def _startWriting(self) -> None:
        if not self._writing:
            self._writing = True
            self.reactor.addWriter(self)

    def _stopWriting(self) -> None:
        if self._writing:
            self._writing = False
            self.reactor.removeWriter(self)

    def doRead(self) -> BaseException | None:
        """The reading end went away (only a write end's error makes it readable)."""
        return ConnectionLost("the reading end of the pipe was closed")

    def write(self, data: bytes) -> None:
        """Write ``data`` now if the descriptor takes it, buffer the rest in order."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if self.disconnected or self.disconnecting or not data:
            return
        buf = self._buffer
        if not buf and self._pendingError is None:
            try:
                written = os.write(self.fd, data)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as e:
                self._pendingError = e  # reported from doWrite, not inside the caller's write
                written = 0
            if written == len(data):
                if self.producer is not None and not self.streamingProducer:
                    self._startWriting()  # doWrite asks a pull producer for more
                return
            buf += memoryview(data)[written:]
        else:
            buf += data
        self._startWriting()
        if (
            self.producer is not None
            and self.streamingProducer
            and not self.producerPaused
            and len(buf) > self.highWaterMark
        ):
            self.producerPaused = True
            self.producer.pauseProducing()

    def doWrite(self) -> BaseException | None:
        """Writable: flush the buffer; then resume a producer or finish a pending close."""
        if self._pendingError is not None:
            return ConnectionLost(self._pendingError)
        buf = self._buffer
        if buf:
            try:
                written = os.write(self.fd, buf)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                return ConnectionLost(e)
            del buf[:written]
            if buf:
                if self.producerPaused and len(buf) < self.lowWaterMark:
                    self._resumeProducer()
                return None
        if self.producer is not None and (not self.streamingProducer or self.producerPaused):
            self._resumeProducer()
            if self._buffer or self.disconnected:
                return None
            if self.producer is not None and not self.streamingProducer:
                return None  # stay writable: a pull producer is asked again next time
        self._stopWriting()
        if self.disconnecting and self.producer is None:
            return ConnectionDone()
        return None

    def _resumeProducer(self) -> None:
        self.producerPaused = False
        self.producer.resumeProducing()

    def loseConnection(self) -> None:
        """Close once the buffer is flushed (and a registered producer unregistered)."""
        if self.disconnected or self.disconnecting:
            return
        self.disconnecting = True
        if self._buffer or self.producer is not None or self._pendingError is not None:
            self._startWriting()
        else:
            # From the loop, never re-entrantly inside the caller.
            self.reactor.callLater(0, self._closeIfFlushed)

    def _closeIfFlushed(self) -> None:
        if not self.disconnected and not self._buffer and self.producer is None:
            self.connectionLost(Failure(ConnectionDone()))

    def abortConnection(self) -> None:
        """Drop the buffer and close on the next iteration (``ConnectionAborted``)."""
        if self.disconnected:
            return
        self.disconnecting = True
        self._buffer = bytearray()
        self._stopWriting()
        self.reactor.callLater(0, self._abortNow)

    def _abortNow(self) -> None:
        self.connectionLost(Failure(ConnectionAborted()))

    def connectionLost(self, reason: Failure) -> None:
        """Stop, close (if owned), stop the producer, report ``reason`` once."""
        if self.disconnected:
            return
        self.disconnected = True
        self.disconnecting = True
        self._stopWriting()
        if self._watching:
            self._watching = False
            self.reactor.removeReader(self)
        self._buffer = bytearray()
        if self._closeOnLoss:
            _close(self.fd)
        self.fd = -1
        self._stopProducer()
        self._lost(reason)

    # registerProducer / unregisterProducer: WriteBufferMixin, with this hook.

    def _producerDetached(self) -> None:
        if self.disconnecting and not self.disconnected:
            if self._buffer:
                self._startWriting()
            else:
                self.reactor.callLater(0, self._closeIfFlushed)


def _close(fd: int) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass


class FDReaderWriterMixin:
    """A transport over one ``FDReader`` and one ``FDWriter``: a producer registered with it
    feeds the writer, and pausing it (as a producer) pauses the reader."""

    _reader: FDReader
    _writer: FDWriter

    def loseConnection(self) -> None:
        """Close once what was written is flushed (each transport implements it)."""
        raise NotImplementedError

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Attach a producer to the write side."""
        self._writer.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """Detach the producer."""
        self._writer.unregisterProducer()

    def pauseProducing(self) -> None:
        """Stop reading."""
        self._reader.stopReading()

    def stopProducing(self) -> None:
        """Lose the connection."""
        self.loseConnection()


class FileDescriptorTransport(FDReaderWriterMixin):
    """A protocol's transport over a file descriptor (a tty, a serial port, a pipe pair).

    ``FileDescriptorTransport(reactor, fd, protocol)`` reads and writes ``fd``; pass
    ``writeFD`` to write to another descriptor (``StandardIO`` does). The transport owns the
    descriptors: they are closed when the connection is lost (pass ``closeFDs=False`` to
    leave them open). ``protocol.makeConnection`` is called at once and reading starts.
    """

    def __init__(
        self,
        reactor: _FDReactor,
        fd: int,
        protocol: Any,
        writeFD: int | None = None,
        closeFDs: bool = True,
    ) -> None:
        self.reactor = reactor
        self.protocol = protocol
        self.readFD = fd
        self.writeFD = fd if writeFD is None else writeFD
        self._closeFDs = closeFDs
        self.connected = True
        self.disconnecting = False
        self.disconnected = False
        self._readDone = False
        self._writeDone = False
        self._writeClosing = False
        self._blocking: dict[int, bool] = {}
        for each in (self.readFD, self.writeFD):
            if each not in self._blocking:
                self._blocking[each] = os.get_blocking(each)
                os.set_blocking(each, False)
        self._reader = FDReader(reactor, self.readFD, self._dataReceived, self._readLost, False)
        self._writer = FDWriter(reactor, self.writeFD, self._writeLost, False)
        protocol.makeConnection(self)
        if not self.disconnecting:
            self._reader.startReading()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.readFD}/{self.writeFD} {self.logPrefix()}>"

    def logPrefix(self) -> str:
        """The protocol's class name."""
        return type(self.protocol).__name__

    # -- events from the halves ---------------------------------------------------------------

    def _dataReceived(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def _readLost(self, reason: Failure) -> None:
        self._readDone = True
        if self.disconnected:
            return
        if not reason.check(ConnectionDone):
            self._finish(reason)
            return
        readConnectionLost = getattr(self.protocol, "readConnectionLost", None)
        if readConnectionLost is None or self.disconnecting:
            self.loseConnection()
            return
        try:
            readConnectionLost()
        except Exception:
            self._userError("readConnectionLost")
            return
        if self._writeDone:
            self._finish(reason)

    def _writeLost(self, reason: Failure) -> None:
        self._writeDone = True
        if self.disconnected:
            return
        if self.disconnecting or not reason.check(ConnectionDone):
            self._finish(reason)
            return
        # loseWriteConnection finished flushing.
        if self.writeFD != self.readFD and self._closeFDs:
            self._release(self.writeFD)
        writeConnectionLost = getattr(self.protocol, "writeConnectionLost", None)
        if writeConnectionLost is not None:
            try:
                writeConnectionLost()
            except Exception:
                self._userError("writeConnectionLost")
                return
        if self._readDone:
            self._finish(reason)

    def _userError(self, where: str) -> None:
        reason = Failure()
        _log.failure(
            "Unhandled error in {where} of {protocol!r}; losing its connection",
            reason,
            level=LogLevel.error,
            where=where,
            protocol=self.protocol,
        )
        self._finish(reason)

    def _finish(self, reason: Failure) -> None:
        if self.disconnected:
            return
        self.disconnected = True
        self.connected = False
        self.disconnecting = True
        self._reader.connectionLost(reason)
        self._writer.connectionLost(reason)
        for each in list(self._blocking):
            self._release(each)
        try:
            self.protocol.connectionLost(reason)
        except Exception:
            _log.failure(
                "Unhandled error in connectionLost of {protocol!r}",
                level=LogLevel.error,
                protocol=self.protocol,
            )

    def _release(self, fd: int) -> None:
        """Put ``fd``'s blocking mode back and (if owned) close it."""
        blocking = self._blocking.pop(fd, None)
        if blocking is None:
            return
        try:
            os.set_blocking(fd, blocking)
        except OSError:
            pass
        if self._closeFDs:
            _close(fd)

    # -- ITransport ---------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Write ``data`` (buffered if the descriptor does not take it all at once)."""
        if not self._writeClosing:
            self._writer.write(data)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        """Write each chunk of ``iovec`` in order."""
        self.write(b"".join(iovec))

    def loseConnection(self) -> None:
        """Stop reading, flush what was written, close; the reason is ``ConnectionDone``."""
        if self.disconnected or self.disconnecting:
            return
        self.disconnecting = True
        self._reader.stopReading()
        if self._writeDone:
            self.reactor.callLater(0, self._finish, Failure(ConnectionDone()))
        else:
            self._writer.loseConnection()

    def abortConnection(self) -> None:
        """Drop what is buffered and close now; the reason is ``ConnectionAborted``."""
        if self.disconnected:
            return
        self.disconnecting = True
        self._reader.stopReading()
        self.reactor.callLater(0, self._finish, Failure(ConnectionAborted()))

    def loseWriteConnection(self) -> None:
        """Flush, then stop writing (``writeConnectionLost``); reading goes on.

        When the read and write descriptors differ (``StandardIO``), the write descriptor is
        closed so the reader at the other end sees the end of input.
        """
        if self.disconnected or self._writeClosing:
            return
        self._writeClosing = True
        self._writer.loseConnection()

    def getHost(self) -> PipeAddress:
        """A ``PipeAddress``."""
        return PipeAddress()

    def getPeer(self) -> PipeAddress:
        """A ``PipeAddress``."""
        return PipeAddress()

    # -- IConsumer / IPushProducer: FDReaderWriterMixin, and -----------------------------------

    def resumeProducing(self) -> None:
        """Read again."""
        if not self.disconnecting and not self._readDone:
            self._reader.startReading()


def connectFD(reactor: _FDReactor, fd: int, protocol: Any) -> FileDescriptorTransport:
    """Connect ``protocol`` to the file descriptor ``fd`` (read and written); returns the
    transport. The transport owns ``fd`` and closes it when the connection is lost."""
    return FileDescriptorTransport(reactor, fd, protocol)
