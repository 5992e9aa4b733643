"""A sans-IO HTTP/1.1 client machine: request bytes out, response events in.

``HTTPClientMachine`` handles one request/response cycle at a time:

- ``sendRequest(method, target, headers, bodyLength)`` returns the request head.
  ``bodyLength`` is the body's size (``Content-Length``), ``None`` for a chunked body of
  unknown size, or ``0`` for no body. ``sendBody(data)`` / ``endBody()`` frame the body.
- ``receiveData(data)`` returns events: ``InformationalResponse`` (1xx; 101 is not
  supported), ``ResponseReceived`` (the final head), ``ResponseBodyReceived`` pieces, then
  ``EndOfResponse`` (``keepAlive`` says whether the connection may carry another request).
- ``connectionClosed()`` ends a close-delimited body (returns the ``EndOfResponse``) or
  raises ``RemoteProtocolError`` when the response was cut short.
- ``startNextCycle()`` after ``EndOfResponse`` with ``keepAlive``.

Bytes the server gets wrong raise ``RemoteProtocolError`` and the machine refuses more
input: malformed status line, header without colon or with whitespace before it, obs-fold,
control bytes, more than one distinct ``Content-Length``, ``Transfer-Encoding`` other than
a final ``chunked`` or together with ``Content-Length``, bad chunk sizes, a head larger than
``maxHeadSize`` or with more than ``maxHeaderCount`` fields. Every step is linear: the head
end is searched from where the last search stopped, bodies are sliced once.
"""

from __future__ import annotations

import re
from typing import Final

from plait.wire._errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "EndOfResponse",
    "HTTPClientMachine",
    "InformationalResponse",
    "ResponseBodyReceived",
    "ResponseReceived",
    "formatRequestHead",
]

_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SAFE_VALUE: Final = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")
_TARGET: Final = re.compile(rb"[\x21-\x7e]+")
_STATUS: Final = re.compile(rb"HTTP/(1\.[01]) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")
_HEADER: Final = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*")
_CHUNK_SIZE: Final = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")

# Methods whose requests usually carry no body: no "Content-Length: 0" is sent for them.
_NO_BODY_METHODS: Final = frozenset({b"GET", b"HEAD", b"DELETE", b"OPTIONS", b"TRACE", b"CONNECT"})

# States of the response side.
_HEAD: Final = "HEAD"
_LENGTH: Final = "LENGTH"
_CHUNK_SIZE_STATE: Final = "CHUNK_SIZE"
_CHUNK_DATA: Final = "CHUNK_DATA"
_CHUNK_END: Final = "CHUNK_END"
_TRAILER: Final = "TRAILER"
_CLOSE: Final = "CLOSE"
_DONE: Final = "DONE"
_FAILED: Final = "FAILED"


class InformationalResponse:
    """A 1xx interim response (``100 Continue``, ``103 Early Hints``): skipped by clients."""

    __slots__ = ("code", "headers", "phrase")

    def __init__(self, code: int, phrase: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.code = code
        self.phrase = phrase
        self.headers = headers

    def __repr__(self) -> str:
        return f"InformationalResponse({self.code})"


class ResponseReceived:
    """The final response head: version (``b"1.1"``), code, phrase, headers (lower-case)."""

    __slots__ = ("code", "headers", "length", "phrase", "version")

    def __init__(
        self,
        version: bytes,
        code: int,
        phrase: bytes,
        headers: list[tuple[bytes, bytes]],
        length: int | None,
    ) -> None:
        self.version = version
        self.code = code
        self.phrase = phrase
        self.headers = headers
        self.length = length  # the body's size when known in advance, else None

    def __repr__(self) -> str:
        return f"ResponseReceived({self.version!r}, {self.code}, {self.phrase!r})"


class ResponseBodyReceived:
    """A piece of the response body (chunked framing removed)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"ResponseBodyReceived({len(self.data)} bytes)"


class EndOfResponse:
    """The response is complete; ``keepAlive`` says whether the connection can be reused."""

    __slots__ = ("keepAlive",)

    def __init__(self, keepAlive: bool) -> None:
        self.keepAlive = keepAlive

    def __repr__(self) -> str:
        return f"EndOfResponse(keepAlive={self.keepAlive})"


Event = InformationalResponse | ResponseReceived | ResponseBodyReceived | EndOfResponse


def formatRequestHead(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The request line and header block, ending with the empty line.

    Raises ``LocalProtocolError`` for a method or header name that is not a token, a target
    with spaces or control bytes, or a value with CR, LF or NUL: request splitting is refused.
    """
    if _TOKEN.fullmatch(method) is None:
        raise LocalProtocolError(f"invalid method {method!r}")
    if _TARGET.fullmatch(target) is None:
        raise LocalProtocolError(f"invalid request target {target!r}")
    parts = [method + b" " + target + b" HTTP/1.1"]
    for name, value in headers:
        if _TOKEN.fullmatch(name) is None:
            raise LocalProtocolError(f"invalid header name {name!r}")
        if _SAFE_VALUE.fullmatch(value) is None:
            raise LocalProtocolError(f"invalid value for header {name!r}")
        parts.append(name + b": " + value)
    parts.append(b"\r\n")
    return b"\r\n".join(parts)


class HTTPClientMachine:
    """One HTTP/1.1 client connection: see the module docstring for the contract."""

    def __init__(self, maxHeadSize: int = 65536, maxHeaderCount: int = 128) -> None:
        self.maxHeadSize = maxHeadSize
        self.maxHeaderCount = maxHeaderCount
        self._buffer = bytearray()
        self._searchFrom = 0
        self._state = _DONE  # no request in flight
        self._remaining = 0
        self._method = b""
        self._keepAlive = True
        self._requestBody: int | None = 0  # None: chunked
        self._bodySent = 0
        self._requestEnded = True
        self._trailerSize = 0

    @property
    def state(self) -> str:
        """The response side's state name (``HEAD``, ``LENGTH``, ``CHUNK_SIZE``... ``DONE``)."""
        return self._state

    @property
    def bufferedSize(self) -> int:
        """Bytes received but not yet parsed into events."""
        return len(self._buffer)

    # -- the request side

    def sendRequest(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        bodyLength: int | None = 0,
    ) -> bytes:
        """The request head; ``headers`` must not carry Content-Length/Transfer-Encoding."""
        if self._state != _DONE or not self._requestEnded:
            raise LocalProtocolError("a request is already in flight")
        for name, _ in headers:
            if name.lower() in (b"content-length", b"transfer-encoding"):
                raise LocalProtocolError("body framing is chosen by bodyLength, not headers")
        framing: list[tuple[bytes, bytes]] = []
        if bodyLength is None:
            framing.append((b"Transfer-Encoding", b"chunked"))
        elif bodyLength > 0 or method not in _NO_BODY_METHODS:
            framing.append((b"Content-Length", b"%d" % bodyLength))
        head = formatRequestHead(method, target, headers + framing)
        self._method = method
        self._requestBody = bodyLength
        self._bodySent = 0
        self._requestEnded = bodyLength == 0
        self._keepAlive = not any(
            name.lower() == b"connection" and b"close" in value.lower() for name, value in headers
        )
        self._state = _HEAD
        self._searchFrom = 0
        return head

    def sendBody(self, data: bytes) -> bytes:
        """Frame a piece of the request body."""
        if self._requestEnded:
            raise LocalProtocolError("no request body is expected")
        if not data:
            return b""
        if self._requestBody is None:
            return b"%x\r\n%s\r\n" % (len(data), data)
        self._bodySent += len(data)
        if self._bodySent > self._requestBody:
            raise LocalProtocolError("request body is longer than its Content-Length")
        return data

    def endBody(self) -> bytes:
        """End the request body (the last chunk for a chunked body)."""
        if self._requestEnded:
            raise LocalProtocolError("no request body is expected")
        self._requestEnded = True
        if self._requestBody is None:
            return b"0\r\n\r\n"
        if self._bodySent != self._requestBody:
            raise LocalProtocolError("request body is shorter than its Content-Length")
        return b""

    # -- the response side

    def _fail(self, message: str) -> RemoteProtocolError:
        self._state = _FAILED
        self._buffer.clear()
        return RemoteProtocolError(message)

    def receiveData(self, data: bytes) -> list[Event]:
        """Feed bytes from the server; returns the events they complete."""
        if self._state == _FAILED:
            raise RemoteProtocolError("the response was already malformed")
        self._buffer += data
        events: list[Event] = []
        while True:
            state = self._state
            if state == _HEAD:
                if not self._parseHead(events):
                    break
            elif state == _LENGTH:
                if not self._buffer:
                    break
                piece = bytes(self._buffer[: self._remaining])
                del self._buffer[: len(piece)]
                self._remaining -= len(piece)
                events.append(ResponseBodyReceived(piece))
                if self._remaining == 0:
                    self._finish(events)
            elif state == _CHUNK_SIZE_STATE:
                if not self._parseChunkSize():
                    break
            elif state == _CHUNK_DATA:
                if not self._buffer:
                    break
                piece = bytes(self._buffer[: self._remaining])
                del self._buffer[: len(piece)]
                self._remaining -= len(piece)
                events.append(ResponseBodyReceived(piece))
                if self._remaining == 0:
                    self._state = _CHUNK_END
            elif state == _CHUNK_END:
                if len(self._buffer) < 2:
                    break
                if self._buffer[:2] != b"\r\n":
                    raise self._fail("chunk data not followed by CRLF")
                del self._buffer[:2]
                self._state = _CHUNK_SIZE_STATE
            elif state == _TRAILER:
                if not self._parseTrailer(events):
                    break
            elif state == _CLOSE:
                if self._buffer:
                    events.append(ResponseBodyReceived(bytes(self._buffer)))
                    self._buffer.clear()
                break
            else:  # DONE: hold pipelined/unsolicited bytes until the next cycle
                if len(self._buffer) > self.maxHeadSize:
                    raise self._fail("unsolicited data from the server")
                break
        return events

    def _parseHead(self, events: list[Event]) -> bool:
        end = self._buffer.find(b"\r\n\r\n", self._searchFrom)
        if end < 0:
            if len(self._buffer) > self.maxHeadSize:
                raise self._fail("response head too large")
            self._searchFrom = max(0, len(self._buffer) - 3)
            return False
        if end + 4 > self.maxHeadSize:
            raise self._fail("response head too large")
        head = bytes(self._buffer[:end])
        del self._buffer[: end + 4]
        self._searchFrom = 0
        lines = head.split(b"\r\n")
        status = _STATUS.fullmatch(lines[0])
        if status is None:
            raise self._fail(f"malformed status line {lines[0][:80]!r}")
        version = status.group(1)
        code = int(status.group(2))
        phrase = status.group(3) or b""
        if code < 100:
            raise self._fail(f"invalid status code {code}")
        if len(lines) - 1 > self.maxHeaderCount:
            raise self._fail("too many response header fields")
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            match = _HEADER.fullmatch(line)
            if match is None or _SAFE_VALUE.fullmatch(match.group(2)) is None:
                raise self._fail(f"malformed header line {line[:80]!r}")
            headers.append((match.group(1).lower(), match.group(2)))
        if 100 <= code < 200:
            if code == 101:
                raise self._fail("101 Switching Protocols is not supported")
            events.append(InformationalResponse(code, phrase, headers))
            return True
        self._startBody(version, code, phrase, headers, events)
        return True

    def _startBody(
        self,
        version: bytes,
        code: int,
        phrase: bytes,
        headers: list[tuple[bytes, bytes]],
        events: list[Event],
    ) -> None:
        lengths: set[bytes] = set()
        codings: list[bytes] = []
        keepAlive = self._keepAlive and version == b"1.1"
        for name, value in headers:
            if name == b"content-length":
                lengths.update(part.strip() for part in value.split(b","))
            elif name == b"transfer-encoding":
                codings.extend(p.strip().lower() for p in value.split(b",") if p.strip())
            elif name == b"connection":
                tokens = {p.strip().lower() for p in value.split(b",")}
                if b"close" in tokens:
                    keepAlive = False
                elif b"keep-alive" in tokens and version == b"1.0" and self._keepAlive:
                    keepAlive = True
        self._keepAlive = keepAlive
        # A successful CONNECT turns the connection into a tunnel: no body follows.
        tunnel = self._method == b"CONNECT" and 200 <= code < 300
        noBody = self._method == b"HEAD" or code in (204, 304) or tunnel
        length: int | None = None
        if codings and lengths:
            raise self._fail("both Content-Length and Transfer-Encoding in the response")
        if len(lengths) > 1:
            raise self._fail("conflicting Content-Length values")
        if lengths:
            (text,) = lengths
            if not text.isdigit() or len(text) > 18:
                raise self._fail(f"invalid Content-Length {text[:40]!r}")
            length = int(text)
        if codings and not noBody and codings != [b"chunked"]:
            if codings[-1] == b"chunked" or b"chunked" in codings:
                raise self._fail(f"unsupported Transfer-Encoding {codings!r}")
            # A non-chunked coding last: the body runs until the connection closes.
            codings = []
            self._keepAlive = False
            events.append(ResponseReceived(version, code, phrase, headers, None))
            self._state = _CLOSE
            return
        if noBody:
            events.append(ResponseReceived(version, code, phrase, headers, 0))
            self._finish(events)
        elif codings:
            events.append(ResponseReceived(version, code, phrase, headers, None))
            self._state = _CHUNK_SIZE_STATE
        elif length is not None:
            events.append(ResponseReceived(version, code, phrase, headers, length))
            self._remaining = length
            if length == 0:
                self._finish(events)
            else:
                self._state = _LENGTH
        else:
            self._keepAlive = False
            events.append(ResponseReceived(version, code, phrase, headers, None))
            self._state = _CLOSE

    def _parseChunkSize(self) -> bool:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > 1024:
                raise self._fail("chunk size line too long")
            return False
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise self._fail(f"invalid chunk size line {line[:40]!r}")
        size = int(match.group(1), 16)
        if size == 0:
            self._state = _TRAILER
            self._trailerSize = 0
        else:
            self._remaining = size
            self._state = _CHUNK_DATA
        return True

    def _parseTrailer(self, events: list[Event]) -> bool:
        while True:
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > self.maxHeadSize:
                    raise self._fail("trailer too large")
                return False
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            if not line:
                self._finish(events)
                return True
            self._trailerSize += len(line) + 2
            if self._trailerSize > self.maxHeadSize or _HEADER.fullmatch(line) is None:
                raise self._fail("malformed or oversized trailer")

    def _finish(self, events: list[Event]) -> None:
        if not self._requestEnded:  # answered before the body was sent: framing is unknown
            self._keepAlive = False
        self._state = _DONE
        events.append(EndOfResponse(self._keepAlive))

    def connectionClosed(self) -> list[Event]:
        """The server closed: ends a close-delimited body, else raises if one was cut short."""
        if self._state == _CLOSE:
            events: list[Event] = []
            self._finish(events)
            return events
        if self._state in (_DONE, _FAILED):
            return []
        state = self._state
        self._state = _FAILED
        raise RemoteProtocolError(f"connection closed in the middle of the response ({state})")

    def takeBufferedData(self) -> bytes:
        """After a response (a CONNECT tunnel's 2xx), the bytes already received past it."""
        if self._state != _DONE:
            raise LocalProtocolError("the response is not complete")
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def startNextCycle(self) -> None:
        """Ready for the next request on this connection (after a keep-alive response)."""
        if self._state != _DONE or not self._keepAlive:
            raise LocalProtocolError("the connection cannot carry another request")
        if self._buffer:
            raise self._fail("unsolicited data from the server")
        self._requestEnded = True
