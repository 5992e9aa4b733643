"""Framing protocols (paper §7): thin adapters over the ``plait.wire`` framing machines.

``LineReceiver`` switches between line mode and raw mode as HTTP does; ``LineOnlyReceiver``
is the faster line-only variant; ``NetstringReceiver`` and ``Int8/16/32StringReceiver``
receive framed strings. The machines parse; these classes own the policy (what a limit hit
does) and the Twisted-compatible hooks.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from plait.log import Logger
from plait.protocol import Protocol
from plait.wire import (
    LengthLimitExceeded,
    LengthPrefixedDecoder,
    LineReceived,
    LineSplitter,
    LineTooLong,
    LocalProtocolError,
    NetstringDecoder,
    NetstringParseError,
    RawDataReceived,
    StringReceived,
    encodeNetstring,
)

__all__ = [
    "Int8StringReceiver",
    "Int16StringReceiver",
    "Int32StringReceiver",
    "IntNStringReceiver",
    "LineOnlyReceiver",
    "LineReceiver",
    "NetstringReceiver",
]

_log = Logger("plait.protocols.framing")


def _disconnecting(transport: object) -> bool:
    return bool(getattr(transport, "disconnecting", False))


class _NeverDisconnecting:
    """Stands in for a transport without a ``disconnecting`` attribute."""

    disconnecting = False


_NEVER_DISCONNECTING = _NeverDisconnecting()


class _PauseableMixin:
    """``pauseProducing``/``resumeProducing``/``stopProducing`` as Twisted's line protocols.

    A paused protocol buffers what arrives and delivers nothing until resumed.
    """

    paused: bool = False
    transport: Any

    def pauseProducing(self) -> None:
        """Stop delivering data and ask the transport to stop reading."""
        self.paused = True
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        """Deliver what was buffered while paused and let the transport read again."""
        self.paused = False
        self.transport.resumeProducing()
        self.dataReceived(b"")

    def stopProducing(self) -> None:
        """Stop for good: deliver nothing more and stop the transport."""
        self.paused = True
        self.transport.stopProducing()

    def dataReceived(self, data: bytes) -> None:
        raise NotImplementedError


class LineReceiver(_PauseableMixin, Protocol):
    """Receives lines ending in ``delimiter``, or raw data after ``setRawMode()``.

    Override ``lineReceived`` (and ``rawDataReceived`` if you use raw mode). A mode switch made
    inside ``lineReceived`` applies to the very next byte after that line; after
    ``transport.loseConnection()`` inside ``lineReceived`` no further line is delivered. A
    line over ``MAX_LENGTH`` bytes calls ``lineLengthExceeded``, which loses the connection.
    """

    delimiter: bytes = b"\r\n"
    MAX_LENGTH: int = 16384
    _splitter: LineSplitter | None = None
    _splitterDelimiter: bytes | None = None
    _busyReceiving: bool = False

    @property
    def line_mode(self) -> int:
        """1 in line mode, 0 in raw mode (Twisted's attribute name)."""
        splitter = self._splitter
        return 0 if splitter is not None and splitter.rawMode else 1

    def _getSplitter(self) -> LineSplitter:
        splitter = self._splitter
        if splitter is None:
            splitter = self._splitter = LineSplitter(self.delimiter, self.MAX_LENGTH)
        else:
            if splitter.delimiter != self.delimiter:
                splitter.delimiter = self.delimiter
            splitter.maxLength = self.MAX_LENGTH
        self._splitterDelimiter = self.delimiter
        return splitter

    def clearLineBuffer(self) -> bytes:
        """Drop and return everything received but not yet delivered."""
        return self._getSplitter().clear()

    def setRawMode(self) -> None:
        """Deliver the following bytes to ``rawDataReceived`` instead of splitting lines."""
        self._getSplitter().setRawMode()

    def setLineMode(self, extra: bytes = b"") -> Any:
        """Split lines again; ``extra`` (e.g. what followed a body) is parsed as received data."""
        self._getSplitter().setLineMode()
        if extra:
            return self.dataReceived(extra)
        return None

    def dataReceived(self, data: bytes) -> Any:
        """Buffer ``data`` and deliver every line (or raw chunk) it completes."""
        splitter = self._splitter
        if (
            splitter is None
            or self.delimiter is not self._splitterDelimiter
            or splitter.maxLength != self.MAX_LENGTH
        ):
            splitter = self._getSplitter()
        if not splitter.feed(data) or self._busyReceiving:
            # Nothing can be ready (a byte of a partial line), or we are called from a
            # callback (setLineMode(extra)) and the running loop delivers.
            return None
        self._busyReceiving = True
        try:
            # The hot loop: lines come in batches split in one go (takeLines); per line one
            # lineReceived call and three attribute checks. A mode switch (or clear, or feed)
            # made inside lineReceived settles the batch in the splitter, which stops the
            # for loop after that line; stopping for our own reasons settles it here.
            transport = self.transport
            watched = transport if hasattr(transport, "disconnecting") else _NEVER_DISCONNECTING
            while not self.paused:
                got = False
                delimiter = self.delimiter
                for line in splitter.takeLines():
                    got = True
                    why = self.lineReceived(line)
                    if why or watched.disconnecting or self.paused:
                        splitter.settle()
                        return why
                    if self.delimiter is not delimiter or splitter.maxLength != self.MAX_LENGTH:
                        splitter = self._getSplitter()  # settles; the next line uses them
                        break
                if got:
                    continue
                if not splitter.pending:
                    return None
                event = splitter.nextEvent()
                if type(event) is LineReceived:  # the line's length limit changed meanwhile
                    why = self.lineReceived(event.line)
                    if why or watched.disconnecting:
                        return why
                elif type(event) is LineTooLong:
                    return self.lineLengthExceeded(event.data)
                elif type(event) is RawDataReceived:
                    why = self.rawDataReceived(event.data)
                    if why:
                        return why
            return None
        finally:
            self._busyReceiving = False

    def lineReceived(self, line: bytes) -> Any:
        """A line arrived (without its delimiter); override."""
        raise NotImplementedError

    def rawDataReceived(self, data: bytes) -> Any:
        """Bytes arrived in raw mode; override if you call ``setRawMode``."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> None:
        """Write ``line`` followed by the delimiter."""
        assert self.transport is not None
        self.transport.write(line + self.delimiter)

    def lineLengthExceeded(self, line: bytes) -> Any:
        """A line longer than ``MAX_LENGTH`` arrived (``line`` is all that was buffered).

        The default logs it and loses the connection.
        """
        _log.warn(
            "{protocol}: line of at least {length} bytes exceeds MAX_LENGTH {limit};"
            " losing the connection",
            protocol=self.logPrefix(),
            length=len(line),
            limit=self.MAX_LENGTH,
        )
        assert self.transport is not None
        return self.transport.loseConnection()


class LineOnlyReceiver(Protocol):
    """A faster line receiver with no raw mode and no pausing; override ``lineReceived``."""

    delimiter: bytes = b"\r\n"
    MAX_LENGTH: int = 16384
    _splitter: LineSplitter | None = None

    def dataReceived(self, data: bytes) -> Any:
        """Buffer ``data`` and deliver every line it completes."""
        splitter = self._splitter
        if splitter is None:
            splitter = self._splitter = LineSplitter(self.delimiter, self.MAX_LENGTH)
        splitter.feed(data)
        transport = self.transport
        watched: Any = transport if hasattr(transport, "disconnecting") else _NEVER_DISCONNECTING
        lineReceived = self.lineReceived
        for line in splitter.readLines():
            if watched.disconnecting:
                return None
            lineReceived(line)
        if watched.disconnecting:
            return None
        event = splitter.nextEvent()
        if type(event) is LineTooLong:
            return self.lineLengthExceeded(event.data)
        return None

    def lineReceived(self, line: bytes) -> Any:
        """A line arrived (without its delimiter); override."""
        raise NotImplementedError

    def sendLine(self, line: bytes) -> None:
        """Write ``line`` followed by the delimiter."""
        assert self.transport is not None
        self.transport.write(line + self.delimiter)

    def lineLengthExceeded(self, line: bytes) -> Any:
        """A line longer than ``MAX_LENGTH`` arrived; the default logs and loses the connection."""
        _log.warn(
            "{protocol}: line of at least {length} bytes exceeds MAX_LENGTH {limit};"
            " losing the connection",
            protocol=self.logPrefix(),
            length=len(line),
            limit=self.MAX_LENGTH,
        )
        assert self.transport is not None
        return self.transport.loseConnection()


class NetstringReceiver(Protocol):
    """Receives netstrings (``b'5:hello,'``) of at most ``MAX_LENGTH`` bytes.

    Override ``stringReceived``; ``sendString`` frames outgoing strings. Bad framing from the
    peer is logged as an error and loses the connection.
    """

    MAX_LENGTH: int = 99999
    _decoder: NetstringDecoder | None = None
    brokenPeer: int = 0

    def dataReceived(self, data: bytes) -> None:
        """Buffer ``data`` and deliver every netstring it completes."""
        if self.brokenPeer:
            return
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = NetstringDecoder(self.MAX_LENGTH)
        decoder.feed(data)
        transport = self.transport
        try:
            while (event := decoder.nextEvent()) is not None:
                self.stringReceived(event.string)
                if _disconnecting(transport):
                    return
        except NetstringParseError as e:
            self.brokenPeer = 1
            _log.error(
                "{protocol}: bad netstring from the peer ({error}); losing the connection",
                protocol=self.logPrefix(),
                error=str(e),
            )
            assert transport is not None
            transport.loseConnection()

    def stringReceived(self, string: bytes) -> None:
        """A complete string arrived; override."""
        raise NotImplementedError

    def sendString(self, string: bytes) -> None:
        """Write ``string`` as a netstring."""
        assert self.transport is not None
        self.transport.write(encodeNetstring(string))


class IntNStringReceiver(_PauseableMixin, Protocol):
    """Receives strings behind a big-endian length prefix of ``prefixLength`` bytes.

    Use ``Int8StringReceiver``/``Int16StringReceiver``/``Int32StringReceiver``. A prefix over
    ``MAX_LENGTH`` calls ``lengthLimitExceeded``, which loses the connection; ``sendString``
    raises ``LocalProtocolError`` for a string too long for the prefix.
    """

    prefixLength: ClassVar[Literal[1, 2, 4]]
    MAX_LENGTH: int = 99999
    _decoder: LengthPrefixedDecoder | None = None
    _busyReceiving: bool = False
    _failed: bool = False

    def dataReceived(self, data: bytes) -> Any:
        """Buffer ``data`` and deliver every string it completes."""
        if self._failed:
            return None
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = LengthPrefixedDecoder(self.prefixLength, self.MAX_LENGTH)
        decoder.feed(data)
        if self._busyReceiving:
            return None
        self._busyReceiving = True
        transport = self.transport
        watched = transport if hasattr(transport, "disconnecting") else _NEVER_DISCONNECTING
        nextString = decoder.nextString
        try:
            while not self.paused:
                string = nextString()
                if string is not None:
                    self.stringReceived(string)
                    if watched.disconnecting:
                        return None
                    continue
                event = decoder.nextEvent()
                if event is None:
                    return None
                if type(event) is StringReceived:
                    self.stringReceived(event.string)
                    if watched.disconnecting:
                        return None
                else:
                    assert type(event) is LengthLimitExceeded
                    self._failed = True
                    return self.lengthLimitExceeded(event.length)
            return None
        finally:
            self._busyReceiving = False

    def stringReceived(self, string: bytes) -> None:
        """A complete string arrived; override."""
        raise NotImplementedError

    def sendString(self, string: bytes) -> None:
        """Write ``string`` behind its length; ``LocalProtocolError`` if it cannot fit."""
        if len(string) >= 1 << (8 * self.prefixLength):
            raise LocalProtocolError(
                f"a {len(string)}-byte string does not fit a {self.prefixLength}-byte prefix"
            )
        assert self.transport is not None
        self.transport.write(len(string).to_bytes(self.prefixLength, "big") + string)

    def lengthLimitExceeded(self, length: int) -> Any:
        """The peer announced a ``length``-byte string, over ``MAX_LENGTH``.

        The default logs it and loses the connection.
        """
        _log.warn(
            "{protocol}: peer announced a {length}-byte string, over MAX_LENGTH {limit};"
            " losing the connection",
            protocol=self.logPrefix(),
            length=length,
            limit=self.MAX_LENGTH,
        )
        assert self.transport is not None
        return self.transport.loseConnection()


class Int8StringReceiver(IntNStringReceiver):
    """Strings behind a 1-byte length (at most 255 bytes)."""

    prefixLength = 1


class Int16StringReceiver(IntNStringReceiver):
    """Strings behind a 2-byte big-endian length (at most 65535 bytes)."""

    prefixLength = 2


class Int32StringReceiver(IntNStringReceiver):
    """Strings behind a 4-byte big-endian length."""

    prefixLength = 4
