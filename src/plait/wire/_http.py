"""A sans-IO HTTP/1.1 server-side machine: request bytes in, events out; response heads out.

``HTTPRequestParser.receiveData(data)`` returns a list of events for one request at a time:
``RequestReceived`` (the head), then ``BodyReceived`` pieces, then ``EndOfRequest``. After
``EndOfRequest`` the machine holds any further bytes (a pipelined request) until the server
calls ``startNextCycle()`` once the response is sent: requests are answered in order, and the
server can stop reading while ``bufferedSize`` is large. Bytes the peer gets wrong raise
``HTTPRequestError`` (a ``RemoteProtocolError``) carrying the status to answer with
(400, 413, 414, 417, 431, 501, 505); after it the machine refuses more input. The checks are the
ones that keep a front server and a back server agreeing on where a request ends (no request
smuggling): one Content-Length, decimal only; Transfer-Encoding exactly ``chunked`` and never
with Content-Length; CRLF line ends only; no NUL or other control bytes; no whitespace before
a header's colon; no obs-fold; strict hexadecimal chunk sizes of bounded length.

Every step is linear: the head is searched for its end once from where the last search
stopped, each line is matched once, and bodies are sliced without copying the whole buffer.
"""

from __future__ import annotations

import re
from typing import Final

from plait.wire._errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "RESPONSES",
    "BodyReceived",
    "EndOfRequest",
    "HTTPRequestError",
    "HTTPRequestParser",
    "RequestReceived",
    "encodeChunk",
    "formatResponseHead",
]

RESPONSES: Final[dict[int, bytes]] = {
    100: b"Continue",
    101: b"Switching Protocols",
    200: b"OK",
    201: b"Created",
    202: b"Accepted",
    203: b"Non-Authoritative Information",
    204: b"No Content",
    205: b"Reset Content",
    206: b"Partial Content",
    300: b"Multiple Choices",
    301: b"Moved Permanently",
    302: b"Found",
    303: b"See Other",
    304: b"Not Modified",
    307: b"Temporary Redirect",
    308: b"Permanent Redirect",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    406: b"Not Acceptable",
    408: b"Request Timeout",
    409: b"Conflict",
    410: b"Gone",
    411: b"Length Required",
    412: b"Precondition Failed",
    413: b"Content Too Large",
    414: b"URI Too Long",
    415: b"Unsupported Media Type",
    416: b"Range Not Satisfiable",
    417: b"Expectation Failed",
    426: b"Upgrade Required",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
    505: b"HTTP Version Not Supported",
}


class HTTPRequestError(RemoteProtocolError):
    """The peer's request breaks HTTP/1.1; answer with ``statusCode`` and close."""

    def __init__(self, statusCode: int, message: str) -> None:
        super().__init__(message)
        self.statusCode = statusCode


class RequestReceived:
    """A request head: method, target, version (``b"1.1"``), headers (lower-case names)."""

    __slots__ = ("expectContinue", "headers", "keepAlive", "method", "target", "version")

    def __init__(
        self,
        method: bytes,
        target: bytes,
        version: bytes,
        headers: list[tuple[bytes, bytes]],
        keepAlive: bool,
        expectContinue: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
        self.expectContinue = expectContinue

    def __repr__(self) -> str:
        return f"RequestReceived({self.method!r}, {self.target!r}, {self.version!r})"


class BodyReceived:
    """A piece of the request body (chunked framing already removed)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"BodyReceived({self.data!r})"


class EndOfRequest:
    """The request (head and body) is complete; trailers, if any, were read and dropped."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EndOfRequest()"


_END = EndOfRequest()

Event = RequestReceived | BodyReceived | EndOfRequest

# States. The table below says which method handles each; DONE waits for startNextCycle.
HEAD, LENGTH_BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER, DONE, FAILED = range(8)

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([^\x00-\x20\x7f]+) HTTP/(\d)\.(\d)")
# The value keeps its surrounding whitespace (stripped afterwards): a pattern that split
# optional whitespace from the value would backtrack quadratically on a long run of blanks.
_HEADER_LINE = re.compile(rb"(" + _TOKEN + rb"):([^\x00-\x08\x0a-\x1f\x7f]*)")
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?")
_DIGITS = re.compile(rb"[0-9]{1,18}")
_SAFE_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")
_MAX_CHUNK_LINE = 4096
_FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection", b"expect", b"host"))
_MAX_LEADING_EMPTY = 8


class HTTPRequestParser:
    """Parse the requests of one HTTP/1.x connection, one at a time (see the module doc).

    Limits: ``maxRequestLine`` (414), ``maxHeaderBytes`` for the whole head and
    ``maxHeaders`` lines (431), ``maxBodySize`` bytes of body (413; None for no limit).
    """

    __slots__ = (
        "_bodySeen",
        "_buffer",
        "_lineEnd",
        "_remaining",
        "_searchFrom",
        "_trailerBytes",
        "maxBodySize",
        "maxHeaderBytes",
        "maxHeaders",
        "maxRequestLine",
        "state",
    )

    def __init__(
        self,
        maxRequestLine: int = 8190,
        maxHeaderBytes: int = 65536,
        maxHeaders: int = 100,
        maxBodySize: int | None = None,
    ) -> None:
        self.maxRequestLine = maxRequestLine
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
        self.maxBodySize = maxBodySize
        self.state = HEAD
        self._buffer = b""
        self._searchFrom = 0
        self._lineEnd = -1
        self._remaining = 0
        self._bodySeen = 0
        self._trailerBytes = 0

    @property
    def bufferedSize(self) -> int:
        """Bytes received but not yet turned into events (e.g. a pipelined request)."""
        return len(self._buffer)

    @property
    def hasBufferedData(self) -> bool:
        """Whether bytes of a following request are waiting (the connection is not idle)."""
        return bool(self._buffer)

    def startNextCycle(self) -> None:
        """The response to the last request is sent: parse the next one from now on."""
        if self.state != DONE:
            raise LocalProtocolError(f"startNextCycle in state {self.state}, not DONE")
        self.state = HEAD
        self._searchFrom = 0

    def receiveData(self, data: bytes) -> list[Event]:
        """Feed bytes; return the events they complete (none while in DONE)."""
        state = self.state
        if state == FAILED:
            raise LocalProtocolError("the parser failed earlier; it takes no more data")
        if self._buffer:
            self._buffer += data
        else:
            self._buffer = data
        events: list[Event] = []
        try:
            while True:
                state = self.state
                if state == LENGTH_BODY:
                    if self._remaining and not self._buffer:
                        break
                    self._lengthBody(events)
                    continue
                if not self._buffer or state == DONE:
                    break
                if state == HEAD:
                    if not self._head(events):
                        break
                elif state == CHUNK_DATA:
                    self._chunkData(events)
                elif state == CHUNK_SIZE:
                    if not self._chunkSize():
                        break
                elif state == CHUNK_END:
                    if not self._chunkEnd():
                        break
                elif not self._trailer(events):  # TRAILER
                    break
        except HTTPRequestError:
            self.state = FAILED
            self._buffer = b""
            raise
        return events

    # -- the head --------------------------------------------------------------------------

    def _head(self, events: list[Event]) -> bool:
        buf = self._buffer
        if buf[:2] == b"\r\n":
            # RFC 9112 2.2: a server SHOULD ignore at least one empty line before a request.
            skipped = 0
            while buf.startswith(b"\r\n") and skipped < _MAX_LEADING_EMPTY:
                buf = buf[2:]
                skipped += 1
            self._buffer = buf
            self._searchFrom = 0
            self._lineEnd = -1
            if not buf:
                return False
        end = buf.find(b"\r\n\r\n", self._searchFrom)
        if end < 0:
            self._partialHead(buf)
            return False
        if end + 4 > self.maxHeaderBytes:
            if buf.find(b"\r\n") > self.maxRequestLine:
                raise HTTPRequestError(414, "request line too long")
            raise HTTPRequestError(431, "request head too large")
        self._buffer = buf[end + 4 :]
        self._searchFrom = 0
        self._lineEnd = -1
        lineEnd = buf.find(b"\r\n", 0, end)
        if lineEnd < 0:
            lineEnd = end
        if lineEnd > self.maxRequestLine:
            raise HTTPRequestError(414, "request line too long")
        match = _REQUEST_LINE.fullmatch(buf, 0, lineEnd)
        if match is None:
            raise HTTPRequestError(400, "malformed request line")
        method, target, major, minor = match.groups()
        if major != b"1":
            raise HTTPRequestError(505, "unsupported HTTP version")
        version = b"1.1" if minor != b"0" else b"1.0"
        headers: list[tuple[bytes, bytes]] = []
        contentLength: bytes | None = None
        transferEncoding: bytes | None = None
        connection = b""
        expect = b""
        hosts = 0
        if lineEnd < end:
            lines = buf[lineEnd + 2 : end].split(b"\r\n")
            if len(lines) > self.maxHeaders:
                raise HTTPRequestError(431, "too many header fields")
            headerLine = _HEADER_LINE.fullmatch
            framing = _FRAMING
            for line in lines:
                m = headerLine(line)
                if m is None:
                    if line[:1] in (b" ", b"\t"):
                        raise HTTPRequestError(400, "obsolete line folding in the head")
                    raise HTTPRequestError(400, "malformed header field")
                name = m[1].lower()
                value = m[2].strip(b" \t")
                headers.append((name, value))
                if name not in framing:
                    continue
                if name == b"host":
                    hosts += 1
                elif name == b"content-length":
                    if contentLength is not None:
                        raise HTTPRequestError(400, "more than one Content-Length")
                    contentLength = value
                elif name == b"transfer-encoding":
                    if transferEncoding is not None:
                        raise HTTPRequestError(400, "more than one Transfer-Encoding")
                    transferEncoding = value
                elif name == b"connection":
                    connection = connection + b"," + value if connection else value
                else:  # expect
                    expect = expect + b"," + value if expect else value
        if hosts != 1 and (hosts or version == b"1.1"):
            raise HTTPRequestError(400, "an HTTP/1.1 request needs exactly one Host")
        if transferEncoding is not None:
            if contentLength is not None:
                raise HTTPRequestError(400, "both Content-Length and Transfer-Encoding")
            if version == b"1.0":
                raise HTTPRequestError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if transferEncoding.lower() != b"chunked":
                raise HTTPRequestError(501, "unsupported Transfer-Encoding")
            self.state = CHUNK_SIZE
            self._bodySeen = 0
            hasBody = True
        elif contentLength is not None:
            if _DIGITS.fullmatch(contentLength) is None:
                raise HTTPRequestError(400, "invalid Content-Length")
            length = int(contentLength)
            if self.maxBodySize is not None and length > self.maxBodySize:
                raise HTTPRequestError(413, "request body too large")
            self._remaining = length
            self.state = LENGTH_BODY
            hasBody = length > 0
        else:
            self.state = DONE  # no body: the request is complete (EndOfRequest below)
            self._remaining = 0
            hasBody = False
        if connection:
            tokens = connection.lower()
            if version == b"1.1":
                keepAlive = b"close" not in tokens
            else:
                keepAlive = b"keep-alive" in tokens and b"close" not in tokens
        else:
            keepAlive = version == b"1.1"
        expectContinue = False
        if expect:
            # RFC 9110 10.1.1: 100-continue is the only expectation; any other gets 417.
            members = [m.strip(b" \t") for m in expect.lower().split(b",")]
            if any(m and m != b"100-continue" for m in members):
                raise HTTPRequestError(417, "unsupported expectation")
            expectContinue = hasBody and version == b"1.1" and b"100-continue" in members
        events.append(RequestReceived(method, target, version, headers, keepAlive, expectContinue))
        if not hasBody and self.state == DONE:
            events.append(_END)
        return True

    def _partialHead(self, buf: bytes) -> None:
        """Check the new bytes of an unfinished head (linear however the head is cut)."""
        # Each LF must follow a CR, and the first one ends the request line.
        start = self._searchFrom
        self._searchFrom = max(0, len(buf) - 3)
        lf = buf.find(b"\n", start)
        while lf >= 0:
            if lf == 0 or buf[lf - 1] != 13:
                raise HTTPRequestError(400, "bare LF in the request head")
            if self._lineEnd < 0:
                self._lineEnd = lf
            lf = buf.find(b"\n", lf + 1)
        lineEnd = self._lineEnd
        if lineEnd < 0 and len(buf) > self.maxRequestLine:
            raise HTTPRequestError(414, "request line too long")
        if len(buf) > self.maxHeaderBytes:
            if lineEnd > self.maxRequestLine:
                raise HTTPRequestError(414, "request line too long")
            raise HTTPRequestError(431, "request head too large")

    # -- bodies ----------------------------------------------------------------------------

    def _lengthBody(self, events: list[Event]) -> None:
        remaining = self._remaining
        if remaining:
            buf = self._buffer
            if len(buf) <= remaining:
                self._buffer = b""
                self._remaining = remaining - len(buf)
                events.append(BodyReceived(buf))
            else:
                self._buffer = buf[remaining:]
                self._remaining = 0
                events.append(BodyReceived(buf[:remaining]))
        if not self._remaining:
            self.state = DONE
            events.append(_END)

    def _chunkSize(self) -> bool:
        buf = self._buffer
        end = buf.find(b"\r\n", 0, _MAX_CHUNK_LINE + 2)
        if end < 0:
            if len(buf) > _MAX_CHUNK_LINE:
                raise HTTPRequestError(400, "chunk-size line too long")
            if b"\n" in buf:
                raise HTTPRequestError(400, "bare LF in a chunk-size line")
            return False
        m = _CHUNK_LINE.fullmatch(buf, 0, end)
        if m is None:
            raise HTTPRequestError(400, "invalid chunk size")
        size = int(m.group(1), 16)
        self._buffer = buf[end + 2 :]
        if size == 0:
            self.state = TRAILER
            self._trailerBytes = 0
            return True
        self._bodySeen += size
        if self.maxBodySize is not None and self._bodySeen > self.maxBodySize:
            raise HTTPRequestError(413, "request body too large")
        self._remaining = size
        self.state = CHUNK_DATA
        return True

    def _chunkData(self, events: list[Event]) -> None:
        buf = self._buffer
        remaining = self._remaining
        if len(buf) <= remaining:
            self._buffer = b""
            self._remaining = remaining - len(buf)
            events.append(BodyReceived(buf))
        else:
            self._buffer = buf[remaining:]
            self._remaining = 0
            events.append(BodyReceived(buf[:remaining]))
        if not self._remaining:
            self.state = CHUNK_END

    def _chunkEnd(self) -> bool:
        buf = self._buffer
        if len(buf) < 2:
            if buf != b"\r":
                raise HTTPRequestError(400, "chunk data not followed by CRLF")
            return False
        if buf[:2] != b"\r\n":
            raise HTTPRequestError(400, "chunk data not followed by CRLF")
        self._buffer = buf[2:]
        self.state = CHUNK_SIZE
        return True

    def _trailer(self, events: list[Event]) -> bool:
        buf = self._buffer
        end = buf.find(b"\r\n", self._searchFrom)
        if end < 0:
            if len(buf) + self._trailerBytes > self.maxHeaderBytes:
                raise HTTPRequestError(431, "trailer section too large")
            if buf.find(b"\n", self._searchFrom) >= 0:
                raise HTTPRequestError(400, "bare LF in the trailer section")
            self._searchFrom = max(0, len(buf) - 1)  # linear: look at new bytes only
            return False
        self._searchFrom = 0
        self._buffer = buf[end + 2 :]
        if end == 0:
            self.state = DONE
            events.append(_END)
            return True
        self._trailerBytes += end + 2
        if self._trailerBytes > self.maxHeaderBytes:
            raise HTTPRequestError(431, "trailer section too large")
        # Trailers are read and dropped (never merged into the headers), but must be sane.
        if _HEADER_LINE.fullmatch(buf, 0, end) is None:
            raise HTTPRequestError(400, "malformed trailer field")
        return True


STATES: Final[dict[int, str]] = {
    HEAD: "HEAD",
    LENGTH_BODY: "LENGTH_BODY",
    CHUNK_SIZE: "CHUNK_SIZE",
    CHUNK_DATA: "CHUNK_DATA",
    CHUNK_END: "CHUNK_END",
    TRAILER: "TRAILER",
    DONE: "DONE",
    FAILED: "FAILED",
}

_TOKEN_ONLY = re.compile(_TOKEN)


def formatResponseHead(
    version: bytes, code: int, reason: bytes | None, headers: list[tuple[bytes, bytes]]
) -> bytes:
    """The status line and header block of a response, ending with the empty line.

    Raises ``LocalProtocolError`` for a header name that is not a token or a value (or
    reason) with CR, LF or NUL in it: response splitting is refused, not escaped.
    """
    if reason is None:
        reason = RESPONSES.get(code, b"Unknown Status")
    elif _SAFE_VALUE.fullmatch(reason) is None:
        raise LocalProtocolError(f"invalid reason phrase {reason!r}")
    parts = [b"HTTP/%s %d %s" % (version, code, reason)]
    for name, value in headers:
        if _TOKEN_ONLY.fullmatch(name) is None or _SAFE_VALUE.fullmatch(value) is None:
            raise LocalProtocolError(f"invalid response header {name!r}: {value!r}")
        parts.append(name + b": " + value)
    parts.append(b"\r\n")
    return b"\r\n".join(parts)


def encodeChunk(data: bytes) -> bytes:
    """One chunk of a chunked body (empty data gives nothing; the end is ``b"0\\r\\n\\r\\n"``)."""
    if not data:
        return b""
    return b"%x\r\n%s\r\n" % (len(data), data)
