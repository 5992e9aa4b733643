"""Sans-IO framing machines: delimited lines (with raw mode), netstrings, length prefixes.

Theory of operation
-------------------
Each machine owns one receive buffer, ``_buf``, and a read offset, ``_pos``: bytes before
``_pos`` are consumed, bytes after it are not yet parsed. Consuming a message only moves
``_pos``; nothing is copied except the message itself, so parsing a chunk holding a million
messages is linear in its size (no ``buf = buf[n:]`` per message, which is quadratic).

``feed(data)`` appends, choosing the cheapest linear way:

- everything consumed: the new chunk *becomes* the buffer (no copy at all; the common case);
- a short unconsumed tail (no longer than the new chunk): ``tail + data`` as ``bytes``, which
  costs O(len(data)) amortised, and keeps slicing messages out of ``bytes`` cheap;
- a long tail (a big message arriving in small chunks): a ``bytearray`` that grows in place,
  amortised O(1) per byte; the consumed prefix is dropped only when it is over half the buffer.

The line splitter also keeps ``_scan``, where the next delimiter search starts: after a failed
search it moves to just before the end (a delimiter may be split across chunks), so bytes of a
partial line are searched once, not once per chunk.

``takeLines`` is the bulk path: it splits up to a window of bytes into lines with one
``bytes.split`` and hands them out through an iterator, moving ``_pos`` past all of them at
once. Any other call made while lines are left in that iterator (a mode switch from inside a
callback, say) first *settles* the batch: it counts the lines not yet handed out
(``length_hint`` of the iterator), moves ``_pos`` back over them, and empties the list so the
iterator stops. The window doubles (up to 64 KiB) after each batch used up and drops to 512
bytes after one settled early, so re-splitting after a settle costs at most about as much as
the lines delivered since the previous one: still linear.

Events are pulled one at a time (``nextEvent``, or lazily through the iterator that
``receiveData`` returns), so a caller can change the machine between two events: switching the
splitter to raw mode after a ``LineReceived`` makes the very next byte raw data.

Every buffer is bounded: a line longer than ``maxLength`` is a ``LineTooLong`` event (the caller
decides what to do: the adapters lose the connection), a length prefix over ``maxLength`` is a
``LengthLimitExceeded`` event, and a bad or too-long netstring raises ``NetstringParseError``.
The length-prefix and netstring machines stop after such an error: feeding them again raises
``LocalProtocolError``.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from plait.wire._errors import LocalProtocolError, NetstringParseError

__all__ = [
    "LengthLimitExceeded",
    "LengthPrefixedDecoder",
    "LineReceived",
    "LineSplitter",
    "LineTooLong",
    "NetstringDecoder",
    "RawDataReceived",
    "StringReceived",
    "encodeLengthPrefixed",
    "encodeNetstring",
]


@dataclass(frozen=True, slots=True)
class LineReceived:
    """A complete line, without its delimiter."""

    line: bytes


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line (complete or not) exceeded ``maxLength``; ``data`` is everything that was buffered.

    The splitter's buffer is empty afterwards; later data is parsed afresh.
    """

    data: bytes


@dataclass(frozen=True, slots=True)
class RawDataReceived:
    """Bytes received while in raw mode (everything buffered at the time)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class StringReceived:
    """One complete netstring or length-prefixed string, framing removed."""

    string: bytes


@dataclass(frozen=True, slots=True)
class LengthLimitExceeded:
    """The peer announced a string of ``length`` bytes, over ``maxLength``; the decoder stops."""

    length: int


_MIN_WINDOW: Final = 512  # bytes: the first takeLines batch after a settle
_MAX_WINDOW: Final = 1 << 16


class _Buffer:
    """A receive buffer with a read offset; see the module docstring for the growth rules."""

    __slots__ = ("_buf", "_pos")

    def __init__(self) -> None:
        self._buf: bytes | bytearray = b""
        self._pos = 0

    def _append(self, data: bytes) -> int:
        """Append ``data``; returns how far the unconsumed bytes moved left (for offsets)."""
        buf = self._buf
        pos = self._pos
        tail = len(buf) - pos
        if tail == 0:
            self._buf = data if type(data) is bytes else bytes(data)
        elif tail <= len(data):
            self._buf = bytes(buf[pos:]) + data
        elif type(buf) is bytes:
            grown = bytearray(buf[pos:])
            grown += data
            self._buf = grown
        else:
            assert isinstance(buf, bytearray)
            if pos > len(buf) // 2:
                del buf[:pos]
            else:
                buf += data
                return 0
            buf += data
        self._pos = 0
        return pos

    def _take(self, start: int, end: int) -> bytes:
        buf = self._buf
        if start == 0 and end == len(buf) and type(buf) is bytes:
            return buf
        return bytes(buf[start:end])

    def _takeRest(self) -> bytes:
        rest = self._take(self._pos, len(self._buf))
        self._buf = b""
        self._pos = 0
        return rest

    @property
    def buffered(self) -> int:
        """How many bytes are received but not yet parsed."""
        return len(self._buf) - self._pos


class LineSplitter(_Buffer):
    """Splits a byte stream into lines ending in ``delimiter``, with a switchable raw mode.

    In line mode each complete line is a ``LineReceived``; a line over ``maxLength`` bytes
    (or a partial one that can no longer fit) is a ``LineTooLong``. In raw mode everything
    buffered is one ``RawDataReceived``. ``setRawMode``/``setLineMode`` may be called between
    any two events and apply from the next unconsumed byte.
    """

    __slots__ = (
        "_batch",
        "_batchIter",
        "_delimiter",
        "_idle",
        "_raw",
        "_scan",
        "_window",
        "maxLength",
    )

    def __init__(self, delimiter: bytes = b"\r\n", maxLength: int = 16384) -> None:
        super().__init__()
        if not delimiter:
            raise LocalProtocolError("the line delimiter must not be empty")
        if maxLength < 0:
            raise LocalProtocolError(f"maxLength must be >= 0, not {maxLength}")
        self._delimiter = bytes(delimiter)
        self.maxLength = maxLength
        self._raw = False
        self._scan = 0  # where the next delimiter search starts (>= _pos)
        # The last takeLines batch (None once settled) and the iterator handed out for it.
        self._batch: list[bytes] | None = None
        self._batchIter: Iterator[bytes] = iter(())
        self._window = _MIN_WINDOW
        # True once a search found no more lines in line mode: only new data can change that.
        self._idle = False

    @property
    def delimiter(self) -> bytes:
        """The line delimiter; setting it restarts the search at the first unparsed byte."""
        return self._delimiter

    @delimiter.setter
    def delimiter(self, value: bytes) -> None:
        if self._batch is not None:
            self.settle()
        if not value:
            raise LocalProtocolError("the line delimiter must not be empty")
        self._delimiter = bytes(value)
        self._scan = self._pos
        self._idle = False

    @property
    def rawMode(self) -> bool:
        """True in raw mode."""
        return self._raw

    def setRawMode(self) -> None:
        """From the next unconsumed byte on, deliver data as ``RawDataReceived``."""
        if self._batch is not None:
            self.settle()
        self._raw = True
        self._idle = False

    def setLineMode(self, extra: bytes = b"") -> None:
        """From the next unconsumed byte on, split lines; ``extra`` is fed after the buffer."""
        if self._batch is not None:
            self.settle()
        self._raw = False
        self._scan = self._pos
        self._idle = False
        if extra:
            self.feed(extra)

    def feed(self, data: bytes) -> bool:
        """Add received bytes; returns whether an event may now be ready.

        False means the splitter already knew it needed more data and ``data`` cannot end a
        line (it lacks the delimiter's last byte) nor overflow ``maxLength``: a caller fed
        one byte at a time can skip asking. Pull events with ``takeLines``/``nextEvent``.
        """
        if self._batch is not None:
            self.settle()
        buf = self._buf
        # The two commonest cases inline (this runs once per read): all consumed, or a
        # growing partial line.
        if self._pos == len(buf) and type(data) is bytes:
            self._buf = buf = data
            self._pos = self._scan = 0
        elif type(buf) is bytearray and self._pos <= len(buf) // 2 and len(data) < len(buf):
            buf += data
        elif data:
            self._scan -= self._append(data)
            buf = self._buf
        if (
            self._idle
            and self._delimiter[-1] not in data
            and len(buf) - self._pos < self.maxLength + len(self._delimiter)
        ):
            return False
        self._idle = False
        return True

    def receiveData(self, data: bytes) -> Iterator[LineReceived | LineTooLong | RawDataReceived]:
        """Feed ``data`` and return a lazy iterator over the events it completes.

        Lazy: a mode switch made between two events applies to the rest of the stream.
        """
        self.feed(data)
        return self._events()

    def _events(self) -> Iterator[LineReceived | LineTooLong | RawDataReceived]:
        while (event := self.nextEvent()) is not None:
            yield event

    def clear(self) -> bytes:
        """Drop and return everything buffered but not yet delivered."""
        if self._batch is not None:
            self.settle()
        self._idle = False
        self._scan = 0
        return self._takeRest()

    @property
    def buffered(self) -> int:
        """How many bytes are received but not yet delivered."""
        if self._batch is not None:
            self.settle()
        return len(self._buf) - self._pos

    def takeLines(self) -> Iterator[bytes]:
        """The fastest path: an iterator over the next complete lines, split in one go.

        The lines count as delivered as the iterator hands them out. Calling any other method
        of the splitter (a mode switch, ``feed``, ``clear``...) while lines are left in it
        settles the batch: the lines not yet handed out go back to the buffer and the
        iterator stops, so a change made after line k applies from the byte after line k.
        Call ``settle()`` when you stop iterating early for your own reasons. Empty when the
        next event is not a line (``nextEvent`` tells what it is).

        Batches are cut from a window that doubles after each batch used up and shrinks
        back when one is settled early, so the lines split for nothing stay a bounded
        fraction of the lines delivered: the whole parse stays linear.
        """
        if self._batch is not None:
            self.settle()
        if self._raw:
            return iter(())
        buf = self._buf
        pos = self._pos
        delimiter = self._delimiter
        n = len(delimiter)
        end = buf.rfind(delimiter, self._scan, pos + self._window + n)
        if end < 0:  # no line ends in the window: one (long) line at most
            line = self.nextLine()
            return iter(()) if line is None else iter((line,))
        end += n
        lines = (buf[pos:end] if type(buf) is bytes else bytes(buf[pos:end])).split(delimiter)
        end -= len(lines.pop())  # non-empty only for a self-overlapping delimiter
        maxLength = self.maxLength
        if lines and max(map(len, lines)) > maxLength:
            for k, line in enumerate(lines):
                if len(line) > maxLength:
                    del lines[k:]
                    break
            end = pos + sum(map(len, lines)) + n * len(lines)
        if not lines:
            return iter(())
        self._pos = self._scan = end
        self._batch = lines
        self._batchIter = it = iter(lines)
        return it

    def settle(self) -> None:
        """Return the lines of the last ``takeLines`` batch not yet handed out to the buffer."""
        lines = self._batch
        if lines is None:
            return
        self._batch = None
        left = operator.length_hint(self._batchIter)
        if left:
            self._pos -= sum(map(len, lines[-left:])) + left * len(self._delimiter)
            self._scan = self._pos
            self._idle = False
            lines.clear()  # the iterator handed out stops here
            self._window = _MIN_WINDOW
        elif self._window < _MAX_WINDOW:
            self._window *= 2

    def nextLine(self) -> bytes | None:
        """The fast path: the next line if the next event is a ``LineReceived``, else None.

        None means: more data is needed, or the next event is something else (raw data, a
        too-long line); ``nextEvent`` tells which, and ``pending`` is False in the first case.
        """
        if self._batch is not None:
            self.settle()
        if self._raw:
            return None
        buf = self._buf
        pos = self._pos
        delimiter = self._delimiter
        i = buf.find(delimiter, self._scan)
        if i < 0:
            end = len(buf)
            if end - pos < self.maxLength + len(delimiter):
                scan = end - len(delimiter) + 1
                self._scan = scan if scan > pos else pos
                self._idle = True
            return None
        if i - pos > self.maxLength:
            return None
        self._pos = self._scan = i + len(delimiter)
        if type(buf) is bytes:
            return buf[pos:i]
        return bytes(buf[pos:i])

    @property
    def pending(self) -> bool:
        """Whether ``nextEvent`` may return an event now (False: it needs more data)."""
        if self._batch is not None:
            self.settle()
        buf = self._buf
        pos = self._pos
        if pos == len(buf):
            return False
        if self._raw:
            return True
        n = len(self._delimiter)
        return self._scan + n <= len(buf) or len(buf) - pos >= self.maxLength + n

    def readLines(self) -> list[bytes]:
        """All complete lines up to the first event that is not a line (line mode; C speed).

        Same results as calling ``nextLine`` until it returns None, in one ``split``.
        """
        if self._batch is not None:
            self.settle()
        if self._raw:
            return []
        buf = self._buf
        pos = self._pos
        delimiter = self._delimiter
        end = buf.rfind(delimiter, self._scan)
        if end < pos:
            return []
        end += len(delimiter)
        lines = bytes(buf[pos:end]).split(delimiter)
        # The last piece is what follows the last delimiter split found scanning from the left:
        # empty, unless the delimiter overlaps itself (b"aa" in b"aaa"); it stays unconsumed.
        end -= len(lines.pop())
        maxLength = self.maxLength
        if lines and max(map(len, lines)) > maxLength:
            for n, line in enumerate(lines):
                if len(line) > maxLength:
                    del lines[n:]
                    break
            end = pos + sum(map(len, lines)) + len(delimiter) * len(lines)
        self._pos = self._scan = end
        return lines

    def nextEvent(self) -> LineReceived | LineTooLong | RawDataReceived | None:
        """The next event, or None when more data is needed."""
        if self._batch is not None:
            self.settle()
        buf = self._buf
        pos = self._pos
        if pos == len(buf):
            return None
        if self._raw:
            self._scan = 0
            return RawDataReceived(self._takeRest())
        delimiter = self._delimiter
        i = buf.find(delimiter, self._scan)
        if i < 0:
            if len(buf) - pos >= self.maxLength + len(delimiter):
                self._scan = 0
                return LineTooLong(self._takeRest())
            self._scan = max(pos, len(buf) - len(delimiter) + 1)
            return None
        if i - pos > self.maxLength:
            self._scan = 0
            return LineTooLong(self._takeRest())
        self._pos = self._scan = i + len(delimiter)
        return LineReceived(self._take(pos, i))


_PREFIX: Final = {1: struct.Struct("!B"), 2: struct.Struct("!H"), 4: struct.Struct("!I")}


def encodeLengthPrefixed(data: bytes, prefixLength: Literal[1, 2, 4]) -> bytes:
    """``data`` behind its big-endian length in ``prefixLength`` bytes.

    Raises ``LocalProtocolError`` when ``data`` is too long for the prefix.
    """
    prefix = _PREFIX.get(prefixLength)
    if prefix is None:
        raise LocalProtocolError(f"prefixLength must be 1, 2 or 4, not {prefixLength!r}")
    if len(data) >= 1 << (8 * prefixLength):
        raise LocalProtocolError(
            f"a {len(data)}-byte string does not fit a {prefixLength}-byte length prefix"
        )
    return prefix.pack(len(data)) + data


def encodeNetstring(data: bytes) -> bytes:
    """``data`` as a netstring: ``b'5:hello,'``."""
    return b"%d:%s," % (len(data), data)


class _Failing(_Buffer):
    __slots__ = ("_failed",)

    def __init__(self) -> None:
        super().__init__()
        self._failed: str | None = None

    def _checkUsable(self) -> None:
        if self._failed is not None:
            raise LocalProtocolError(f"the decoder stopped after an error: {self._failed}")

    def feed(self, data: bytes) -> None:
        """Add received bytes; raises ``LocalProtocolError`` after a peer error."""
        self._checkUsable()
        if data:
            self._append(data)

    def receiveData(self, data: bytes) -> Iterator[StringReceived | LengthLimitExceeded]:
        """Feed ``data`` and return a lazy iterator over the events it completes."""
        self.feed(data)
        return self._events()

    def _events(self) -> Iterator[StringReceived | LengthLimitExceeded]:
        while (event := self.nextEvent()) is not None:
            yield event

    def nextEvent(self) -> StringReceived | LengthLimitExceeded | None:
        raise NotImplementedError


class LengthPrefixedDecoder(_Failing):
    """Decodes strings framed by a big-endian unsigned length of 1, 2 or 4 bytes.

    A prefix announcing more than ``maxLength`` bytes is a ``LengthLimitExceeded`` event,
    after which the decoder stops (the stream cannot be resynchronised).
    """

    __slots__ = ("_prefix", "maxLength", "prefixLength")

    def __init__(self, prefixLength: Literal[1, 2, 4], maxLength: int = 99999) -> None:
        super().__init__()
        prefix = _PREFIX.get(prefixLength)
        if prefix is None:
            raise LocalProtocolError(f"prefixLength must be 1, 2 or 4, not {prefixLength!r}")
        self._prefix = prefix
        self.prefixLength = prefixLength
        self.maxLength = maxLength

    def encode(self, data: bytes) -> bytes:
        """``data`` framed for this decoder's peer; ``LocalProtocolError`` if it cannot fit."""
        return encodeLengthPrefixed(data, self.prefixLength)

    def nextString(self) -> bytes | None:
        """The fast path: the next string if the next event is a ``StringReceived``, else None.

        None means more data is needed or the next event is a ``LengthLimitExceeded``;
        ``nextEvent`` tells which.
        """
        buf = self._buf
        pos = self._pos
        start = pos + self.prefixLength
        if len(buf) < start or self._failed is not None:
            return None
        end = start + self._prefix.unpack_from(buf, pos)[0]
        if end - start > self.maxLength or len(buf) < end:
            return None
        self._pos = end
        if type(buf) is bytes:
            return buf[start:end]
        return bytes(buf[start:end])

    def nextEvent(self) -> StringReceived | LengthLimitExceeded | None:
        """The next complete string, a ``LengthLimitExceeded``, or None for more data."""
        if self._failed is not None:
            return None
        buf = self._buf
        pos = self._pos
        start = pos + self.prefixLength
        if len(buf) < start:
            return None
        (length,) = self._prefix.unpack_from(buf, pos)
        if length > self.maxLength:
            self._failed = f"a {length}-byte string is over the limit of {self.maxLength}"
            self._takeRest()
            return LengthLimitExceeded(length)
        end = start + length
        if len(buf) < end:
            return None
        self._pos = end
        return StringReceived(self._take(start, end))


_DIGITS: Final = frozenset(b"0123456789")


class NetstringDecoder(_Failing):
    """Decodes netstrings (``b'5:hello,'``) of at most ``maxLength`` bytes.

    Bad framing or an announced length over ``maxLength`` raises ``NetstringParseError``
    from ``nextEvent``; the decoder stops there.
    """

    __slots__ = ("_length", "maxLength")

    def __init__(self, maxLength: int = 99999) -> None:
        super().__init__()
        self.maxLength = maxLength
        self._length = -1  # the length of the string being read, -1 while reading digits

    def encode(self, data: bytes) -> bytes:
        """``data`` as a netstring."""
        return encodeNetstring(data)

    def _fail(self, why: str) -> NetstringParseError:
        self._failed = why
        self._takeRest()
        return NetstringParseError(why)

    def nextEvent(self) -> StringReceived | None:
        """The next complete string, or None for more data; raises ``NetstringParseError``."""
        if self._failed is not None:
            return None
        buf = self._buf
        pos = self._pos
        length = self._length
        if length < 0:
            maxDigits = len(str(self.maxLength))
            colon = buf.find(b":", pos, pos + maxDigits + 1)
            if colon < 0:
                head = bytes(buf[pos : pos + maxDigits + 1])
                if not _DIGITS.issuperset(head):
                    raise self._fail(f"bad netstring length {head!r}")
                if len(head) > maxDigits:
                    raise self._fail(f"netstring length {head!r}... is over {self.maxLength}")
                return None
            digits = bytes(buf[pos:colon])
            if not digits or not _DIGITS.issuperset(digits):
                raise self._fail(f"bad netstring length {digits!r}")
            if len(digits) > 1 and digits[0] == 0x30:
                raise self._fail(f"netstring length {digits!r} has a leading zero")
            length = int(digits)
            if length > self.maxLength:
                raise self._fail(f"a {length}-byte netstring is over the limit of {self.maxLength}")
            pos = self._pos = colon + 1
            self._length = length
        end = pos + length
        if len(buf) <= end:
            return None
        if buf[end] != 0x2C:
            raise self._fail(
                f"netstring of length {length} ends in {bytes(buf[end : end + 1])!r}, not b','"
            )
        self._pos = end + 1
        self._length = -1
        return StringReceived(self._take(pos, end))
