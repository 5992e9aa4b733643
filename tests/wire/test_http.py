"""The sans-IO HTTP/1.1 request machine: framing, limits, smuggling corpus, every chunking."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.wire import LocalProtocolError, RemoteProtocolError
from plait.wire.http import (
    DONE,
    HEAD,
    BodyReceived,
    EndOfRequest,
    HTTPRequestError,
    HTTPRequestParser,
    RequestReceived,
    encodeChunk,
    formatResponseHead,
)

Summary = list[tuple[str, object]]


def summarise(events: list[object]) -> Summary:
    """Events as comparable tuples, body pieces joined."""
    out: Summary = []
    for event in events:
        if isinstance(event, RequestReceived):
            out.append(("request", (event.method, event.target, event.version, event.headers)))
        elif isinstance(event, BodyReceived):
            if out and out[-1][0] == "body":
                out[-1] = ("body", out[-1][1] + event.data)  # type: ignore[operator]
            else:
                out.append(("body", event.data))
        elif isinstance(event, EndOfRequest):
            out.append(("end", None))
    return out


def parseAll(data: bytes, cuts: list[int] | None = None, **limits: int) -> Summary:
    """Feed ``data`` cut at ``cuts``, moving to the next request after each end."""
    parser = HTTPRequestParser(**limits)
    points = sorted({min(max(c, 0), len(data)) for c in cuts or []} | {0, len(data)})
    events: list[object] = []
    for start, stop in pairwise(points):
        events.extend(parser.receiveData(data[start:stop]))
        while parser.state == DONE:
            parser.startNextCycle()
            events.extend(parser.receiveData(b""))
    return summarise(events)


PIPELINE = (
    b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n"
    b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer-X: y\r\n\r\n"
    b"GET /d HTTP/1.0\r\n\r\n"
)
EXPECTED: Summary = [
    ("request", (b"GET", b"/a?x=1", b"1.1", [(b"host", b"h"), (b"accept", b"*/*")])),
    ("end", None),
    ("request", (b"POST", b"/b", b"1.1", [(b"host", b"h"), (b"content-length", b"5")])),
    ("body", b"hello"),
    ("end", None),
    ("request", (b"PUT", b"/c", b"1.1", [(b"host", b"h"), (b"transfer-encoding", b"chunked")])),
    ("body", b"abc0123456789abcdef"),
    ("end", None),
    ("request", (b"GET", b"/d", b"1.0", [])),
    ("end", None),
]


def test_pipeline_in_one_piece() -> None:
    """Four pipelined requests (plain, Content-Length, chunked with trailer, 1.0) parse."""
    assert parseAll(PIPELINE) == EXPECTED


def test_pipeline_bytewise() -> None:
    """Fed one byte at a time the events are the same."""
    assert parseAll(PIPELINE, list(range(len(PIPELINE)))) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(PIPELINE)), max_size=30))
def test_pipeline_every_chunking(cuts: list[int]) -> None:
    """Any chunking of the pipeline gives the same events."""
    assert parseAll(PIPELINE, cuts) == EXPECTED


def test_holds_pipelined_request_until_next_cycle() -> None:
    """After a request ends, further bytes wait (bufferedSize) until startNextCycle."""
    parser = HTTPRequestParser()
    first = parser.receiveData(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    assert [type(e) for e in first] == [RequestReceived, EndOfRequest]
    assert parser.state == DONE and parser.bufferedSize > 0
    assert parser.receiveData(b"") == []
    parser.startNextCycle()
    second = parser.receiveData(b"")
    assert isinstance(second[0], RequestReceived) and second[0].target == b"/2"


def test_start_next_cycle_outside_done_is_local_error() -> None:
    """startNextCycle before a request ended is our mistake: LocalProtocolError."""
    parser = HTTPRequestParser()
    assert parser.state == HEAD
    with pytest.raises(LocalProtocolError):
        parser.startNextCycle()


def test_keep_alive_and_expect() -> None:
    """keepAlive follows version and Connection; expectContinue needs a body on 1.1."""
    cases = [
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", True, False),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", False, False),
        (b"GET / HTTP/1.0\r\n\r\n", False, False),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", True, False),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            True,
            True,
        ),
        (b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", True, False),
    ]
    for data, keepAlive, expect in cases:
        event = HTTPRequestParser().receiveData(data)[0]
        assert isinstance(event, RequestReceived)
        assert (event.keepAlive, event.expectContinue) == (keepAlive, expect), data


def test_expect_100_continue_spellings() -> None:
    """100-continue is matched case-insensitively, also repeated or in a list."""
    for expect in (
        b"Expect: 100-Continue\r\n",
        b"Expect: 100-continue , 100-CONTINUE\r\n",
        b"Expect: 100-continue\r\nExpect: 100-continue\r\n",
    ):
        data = b"POST / HTTP/1.1\r\nHost: h\r\n" + expect + b"Content-Length: 1\r\n\r\nx"
        event = HTTPRequestParser().receiveData(data)[0]
        assert isinstance(event, RequestReceived) and event.expectContinue, expect


EXPECT_PIPELINE = (
    b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n"
    b"POST /no HTTP/1.1\r\nHost: h\r\nExpect: 102-processing\r\nContent-Length: 40\r\n\r\n"
    b"GET /hidden HTTP/1.1\r\nHost: h\r\n\r\n"
)


def parseUntilError(data: bytes, cuts: list[int]) -> tuple[Summary, int | None]:
    """Feed ``data`` cut at ``cuts``; the events before an HTTPRequestError and its status."""
    parser = HTTPRequestParser()
    points = sorted({min(max(c, 0), len(data)) for c in cuts} | {0, len(data)})
    events: list[object] = []
    try:
        for start, stop in pairwise(points):
            events.extend(parser.receiveData(data[start:stop]))
            while parser.state == DONE:
                parser.startNextCycle()
                events.extend(parser.receiveData(b""))
    except HTTPRequestError as e:
        return summarise(events), e.statusCode
    return summarise(events), None


EXPECT_BEFORE_ERROR: Summary = [
    ("request", (b"GET", b"/ok", b"1.1", [(b"host", b"h")])),
    ("end", None),
]


def test_unknown_expectation_bytewise() -> None:
    """Fed a byte at a time, the first request parses and the second gets 417, nothing after."""
    cuts = list(range(len(EXPECT_PIPELINE)))
    assert parseUntilError(EXPECT_PIPELINE, cuts) == (EXPECT_BEFORE_ERROR, 417)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(EXPECT_PIPELINE)), max_size=30))
def test_unknown_expectation_every_chunking(cuts: list[int]) -> None:
    """Any chunking: 417 for the unknown expectation (RFC 9110 10.1.1), after request one only."""
    assert parseUntilError(EXPECT_PIPELINE, cuts) == (EXPECT_BEFORE_ERROR, 417)


def test_leading_empty_lines_ignored() -> None:
    """A CRLF left over before a request line is skipped (RFC 9112 2.2)."""
    assert parseAll(b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")[0][0] == "request"


def test_header_value_whitespace_trimmed() -> None:
    """Optional whitespace around a field value is dropped; names are lower-cased."""
    (event, _) = HTTPRequestParser().receiveData(b"GET / HTTP/1.1\r\nHOST: \t h \t\r\n\r\n")
    assert isinstance(event, RequestReceived) and event.headers == [(b"host", b"h")]


BAD: list[tuple[str, bytes, int]] = [
    (
        "CL+TE",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    (
        "TE+CL",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
        400,
    ),
    (
        "double CL",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n",
        400,
    ),
    ("CL list", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 4\r\n\r\n", 400),
    ("CL sign", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\n", 400),
    ("CL hex", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x4\r\n\r\n", 400),
    ("CL huge", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
    ("TE gzip", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (
        "TE twice",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
    ),
    ("TE space", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
    ("TE on 1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("bare LF head", b"GET / HTTP/1.1\nHost: h\n\n", 400),
    ("bare LF field", b"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400),
    ("bare CR field", b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400),
    ("NUL value", b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400),
    ("NUL target", b"GET /\x00 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
    ("empty name", b"GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", 400),
    ("no host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("bad method", b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ("bad version", b"GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
    ("no version", b"GET /\r\nHost: h\r\n\r\n", 400),
    ("double space", b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    (
        "bad chunk size",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    ),
    (
        "chunk size sign",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        400,
    ),
    (
        "chunk size 0x",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n",
        400,
    ),
    (
        "chunk overflow",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 17 + b"\r\n",
        400,
    ),
    (
        "chunk no CRLF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        400,
    ),
    (
        "chunk bare LF",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n",
        400,
    ),
    (
        "chunk line long",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"a" * 5000,
        400,
    ),
    (
        "bad trailer",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n",
        400,
    ),
    (
        "Expect other",
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx",
        417,
    ),
    ("Expect on GET", b"GET / HTTP/1.1\r\nHost: h\r\nExpect: foo\r\n\r\n", 417),
    ("Expect on 1.0", b"GET / HTTP/1.0\r\nExpect: foo\r\n\r\n", 417),
    (
        "Expect param",
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue;x=1\r\nContent-Length: 1\r\n\r\n",
        417,
    ),
    (
        "Expect list",
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, foo\r\nContent-Length: 1\r\n\r\n",
        417,
    ),
    (
        "Expect twice",
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nExpect: x\r\nContent-Length: 1\r\n\r\n",
        417,
    ),
    ("long line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: h\r\n\r\n", 414),
    ("long line open", b"GET /" + b"a" * 9000, 414),
    ("huge head", b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n", 431),
    ("huge head open", b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X: " + b"a" * 70000, 431),
    ("many headers", b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X: a\r\n" * 101 + b"\r\n", 431),
    ("body too large", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n\r\n", 413),
    (
        "chunked too large",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + b"4000000\r\n",
        413,
    ),
]


@pytest.mark.parametrize(("name", "data", "status"), BAD, ids=[b[0] for b in BAD])
def test_malformed_rejected(name: str, data: bytes, status: int) -> None:
    """Each malformed or smuggling request raises HTTPRequestError with its status, once."""
    parser = HTTPRequestParser(maxBodySize=1_000_000)
    with pytest.raises(HTTPRequestError) as info:
        parser.receiveData(data)
    assert info.value.statusCode == status
    assert isinstance(info.value, RemoteProtocolError)
    with pytest.raises(LocalProtocolError):
        parser.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")


@pytest.mark.parametrize(("name", "data", "status"), BAD, ids=[b[0] for b in BAD])
def test_malformed_rejected_bytewise(name: str, data: bytes, status: int) -> None:
    """Fed a byte at a time, the same error comes, with no request event after it."""
    parser = HTTPRequestParser(maxBodySize=1_000_000)
    events: list[object] = []
    with pytest.raises(HTTPRequestError) as info:
        for i in range(len(data)):
            events.extend(parser.receiveData(data[i : i + 1]))
    assert info.value.statusCode == status
    assert not any(isinstance(e, EndOfRequest) for e in events)


def test_smuggled_request_not_parsed() -> None:
    """A second request hidden in a CL+TE body never becomes a request."""
    data = (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    parser = HTTPRequestParser()
    with pytest.raises(HTTPRequestError):
        parser.receiveData(data)


def test_linear_on_slow_head() -> None:
    """A head arriving byte by byte is searched incrementally (no quadratic re-scan)."""
    parser = HTTPRequestParser()
    head = b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X-Long: " + b"a" * 60000 + b"\r\n\r\n"
    for i in range(len(head) - 1):
        assert parser.receiveData(head[i : i + 1]) == []
        assert parser._searchFrom >= i - 3
    assert isinstance(parser.receiveData(head[-1:])[0], RequestReceived)


def test_long_blank_run_in_a_header_value() -> None:
    """Blanks around a value are stripped, and a long blank run before a bad byte fails fast."""
    parser = HTTPRequestParser()
    head = b"GET / HTTP/1.1\r\nHost:  h \t\r\nX-A:" + b" " * 60000 + b"b  \r\n\r\n"
    request = parser.receiveData(head)[0]
    assert isinstance(request, RequestReceived)
    assert request.headers == [(b"host", b"h"), (b"x-a", b"b")]
    # The old pattern split optional whitespace from the value: this took minutes to refuse.
    parser = HTTPRequestParser()
    with pytest.raises(HTTPRequestError) as info:
        parser.receiveData(b"GET / HTTP/1.1\r\nHost: h\r\nX-A:" + b" " * 60000 + b"\x01\r\n\r\n")
    assert info.value.statusCode == 400


def test_format_response_head() -> None:
    """The serializer writes a status line and headers, and refuses response splitting."""
    head = formatResponseHead(b"1.1", 200, None, [(b"Content-Length", b"2")])
    assert head == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    with pytest.raises(LocalProtocolError):
        formatResponseHead(b"1.1", 200, None, [(b"X", b"a\r\nSet-Cookie: evil")])
    with pytest.raises(LocalProtocolError):
        formatResponseHead(b"1.1", 200, None, [(b"Bad Name", b"a")])
    assert encodeChunk(b"hello") == b"5\r\nhello\r\n" and encodeChunk(b"") == b""
