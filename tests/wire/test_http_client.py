"""The sans-IO HTTP/1.1 client machine: framing, every chunking, malformed responses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.wire import LocalProtocolError, RemoteProtocolError
from plait.wire.http_client import (
    EndOfResponse,
    HTTPClientMachine,
    InformationalResponse,
    ResponseBodyReceived,
    ResponseReceived,
    formatRequestHead,
)

Event = InformationalResponse | ResponseReceived | ResponseBodyReceived | EndOfResponse


def _get(machine: HTTPClientMachine, method: bytes = b"GET") -> bytes:
    return machine.sendRequest(method, b"/", [(b"Host", b"example.com")])


def _summary(events: list[Event]) -> tuple[list[object], bytes]:
    kinds: list[object] = []
    body = b""
    for event in events:
        if isinstance(event, ResponseBodyReceived):
            body += event.data
        elif isinstance(event, ResponseReceived):
            kinds.append(("head", event.code, event.length))
        elif isinstance(event, InformationalResponse):
            kinds.append(("info", event.code))
        else:
            kinds.append(("end", event.keepAlive))
    return kinds, body


def _feed(data: bytes, cuts: list[int], method: bytes = b"GET") -> tuple[list[object], bytes]:
    machine = HTTPClientMachine()
    _get(machine, method)
    events: list[Event] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        events += machine.receiveData(data[start:cut])
        start = cut
    return _summary(events)


CHUNKED = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"
)


def test_request_head_with_length() -> None:
    """A request with a known body carries Content-Length and the body unchanged."""
    machine = HTTPClientMachine()
    head = machine.sendRequest(b"POST", b"/x", [(b"Host", b"h")], 3)
    assert head == b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
    assert machine.sendBody(b"abc") == b"abc"
    assert machine.endBody() == b""


def test_request_chunked_body() -> None:
    """A body of unknown size is sent chunked and ended by the zero chunk."""
    machine = HTTPClientMachine()
    head = machine.sendRequest(b"PUT", b"/", [], None)
    assert b"Transfer-Encoding: chunked\r\n" in head
    assert machine.sendBody(b"hi") == b"2\r\nhi\r\n"
    assert machine.endBody() == b"0\r\n\r\n"


def test_request_body_overrun_refused() -> None:
    """Writing more than the announced Content-Length is a local error."""
    machine = HTTPClientMachine()
    machine.sendRequest(b"POST", b"/", [], 1)
    with pytest.raises(LocalProtocolError):
        machine.sendBody(b"ab")


def test_request_splitting_refused() -> None:
    """CR/LF in a header value or a space in the target is refused, not sent."""
    with pytest.raises(LocalProtocolError):
        formatRequestHead(b"GET", b"/", [(b"X", b"a\r\nEvil: 1")])
    with pytest.raises(LocalProtocolError):
        formatRequestHead(b"GET", b"/a b", [])


def test_chunked_response_and_interim() -> None:
    """A 100 Continue is reported as interim; the chunked body is reassembled."""
    kinds, body = _feed(CHUNKED, [])
    assert kinds == [("info", 100), ("head", 200, None), ("end", True)]
    assert body == b"hello 0123456789"


@given(st.lists(st.integers(min_value=0, max_value=len(CHUNKED)), max_size=20))
def test_chunked_every_chunking(cuts: list[int]) -> None:
    """However the bytes are split, the events are the same."""
    assert _feed(CHUNKED, cuts) == _feed(CHUNKED, [])


def test_one_byte_at_a_time() -> None:
    """Feeding one byte at a time gives the same result as all at once."""
    assert _feed(CHUNKED, list(range(len(CHUNKED)))) == _feed(CHUNKED, [])


LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@given(st.lists(st.integers(min_value=0, max_value=len(LENGTH)), max_size=10))
def test_content_length_every_chunking(cuts: list[int]) -> None:
    """Content-Length bodies end exactly at their length in every chunking."""
    assert _feed(LENGTH, cuts) == ([("head", 200, 5), ("end", True)], b"hello")


def test_close_delimited_body() -> None:
    """Without framing the body runs to the close, and the connection is not reused."""
    machine = HTTPClientMachine()
    _get(machine)
    events = machine.receiveData(b"HTTP/1.1 200 OK\r\n\r\nabc")
    events += machine.receiveData(b"def")
    events += machine.connectionClosed()
    assert _summary(events) == ([("head", 200, None), ("end", False)], b"abcdef")


def test_truncated_length_body_raises() -> None:
    """A close before Content-Length bytes arrived is a remote protocol error."""
    machine = HTTPClientMachine()
    _get(machine)
    machine.receiveData(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(RemoteProtocolError):
        machine.connectionClosed()


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses(code: int) -> None:
    """204 and 304 have no body even with a Content-Length."""
    data = b"HTTP/1.1 %d X\r\nContent-Length: 7\r\n\r\n" % code
    assert _feed(data, []) == ([("head", code, 0), ("end", True)], b"")


def test_head_has_no_body() -> None:
    """A response to HEAD has no body whatever its Content-Length."""
    assert _feed(LENGTH[:-5], [], b"HEAD") == ([("head", 200, 0), ("end", True)], b"")


def test_http10_closes() -> None:
    """An HTTP/1.0 response without keep-alive ends the connection's reuse."""
    data = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert _feed(data, []) == ([("head", 200, 0), ("end", False)], b"")


def test_connection_close_header() -> None:
    """Connection: close from the server means no reuse."""
    data = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    assert _feed(data, [])[0][-1] == ("end", False)


def test_keep_alive_cycles() -> None:
    """After a keep-alive response the next request can be sent."""
    machine = HTTPClientMachine()
    for _ in range(3):
        _get(machine)
        events = machine.receiveData(LENGTH)
        assert isinstance(events[-1], EndOfResponse)
        machine.startNextCycle()


def test_second_request_while_in_flight_refused() -> None:
    """Only one request may be in flight."""
    machine = HTTPClientMachine()
    _get(machine)
    with pytest.raises(LocalProtocolError):
        _get(machine)


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX",
        b"HTTP/1.1 200 OK\r\nBad Header: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ],
)
def test_malformed_responses_rejected(data: bytes) -> None:
    """Malformed or ambiguous responses raise RemoteProtocolError, then refuse more input."""
    machine = HTTPClientMachine()
    _get(machine)
    with pytest.raises(RemoteProtocolError):
        machine.receiveData(data)
    with pytest.raises(RemoteProtocolError):
        machine.receiveData(b"more")


def test_head_size_limit() -> None:
    """A head larger than maxHeadSize is refused before its end arrives."""
    machine = HTTPClientMachine(maxHeadSize=100)
    _get(machine)
    with pytest.raises(RemoteProtocolError, match="too large"):
        machine.receiveData(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200)


def test_header_count_limit() -> None:
    """More than maxHeaderCount fields is refused."""
    machine = HTTPClientMachine(maxHeaderCount=3)
    _get(machine)
    with pytest.raises(RemoteProtocolError, match="too many"):
        machine.receiveData(b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 4 + b"\r\n")


def test_unsolicited_bytes_block_reuse() -> None:
    """Bytes after a complete response make the connection unusable."""
    machine = HTTPClientMachine()
    _get(machine)
    machine.receiveData(LENGTH + b"junk")
    with pytest.raises(RemoteProtocolError):
        machine.startNextCycle()


def test_long_body_is_linear() -> None:
    """A large Content-Length body fed in small pieces is parsed without re-scanning."""
    machine = HTTPClientMachine()
    _get(machine)
    size = 2_000_000
    machine.receiveData(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
    total = 0
    piece = b"x" * 1000
    for _ in range(size // 1000):
        for event in machine.receiveData(piece):
            if isinstance(event, ResponseBodyReceived):
                total += len(event.data)
    assert total == size
    assert machine.state == "DONE"


def test_connect_tunnel_has_no_body() -> None:
    """A 2xx answer to CONNECT ends at its head; the bytes after it belong to the tunnel."""
    machine = HTTPClientMachine()
    head = machine.sendRequest(b"CONNECT", b"example.com:443", [(b"Host", b"example.com:443")])
    assert b"Content-Length" not in head
    events = machine.receiveData(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03")
    assert isinstance(events[-1], EndOfResponse)
    assert machine.takeBufferedData() == b"\x16\x03"


@given(
    st.lists(
        st.sampled_from(
            [
                b"HTTP/1.1 200 OK\r\n",
                b"HTTP/1.0 100 Continue\r\n",
                b"Content-Length: 3\r\n",
                b"Transfer-Encoding: chunked\r\n",
                b"Connection: close\r\n",
                b"\r\n",
                b"3\r\nabc\r\n",
                b"0\r\n",
                b"abc",
                b"\x00",
                b" ",
                b":",
            ]
        ),
        max_size=12,
    ),
    st.sampled_from([b"GET", b"HEAD"]),
)
def test_arbitrary_input_only_raises_protocol_errors(pieces: list[bytes], method: bytes) -> None:
    """Whatever the server sends, the machine yields events or raises RemoteProtocolError."""
    machine = HTTPClientMachine(maxHeadSize=256)
    _get(machine, method)
    try:
        for piece in pieces:
            machine.receiveData(piece)
        machine.connectionClosed()
    except RemoteProtocolError:
        assert machine.state == "FAILED"


def test_request_connection_close_not_reused() -> None:
    """A request sent with Connection: close ends the connection's reuse."""
    machine = HTTPClientMachine()
    machine.sendRequest(b"GET", b"/", [(b"Connection", b"close")])
    events = machine.receiveData(LENGTH)
    assert isinstance(events[-1], EndOfResponse)
    assert events[-1].keepAlive is False
    with pytest.raises(LocalProtocolError):
        machine.startNextCycle()


def test_duplicate_equal_content_length_accepted() -> None:
    """Repeated identical Content-Length values are one length (RFC 9110 §8.6)."""
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok"
    assert _feed(data, []) == ([("head", 200, 2), ("end", True)], b"ok")


def test_trailer_size_bounded() -> None:
    """An endless trailer is refused once it exceeds maxHeadSize."""
    machine = HTTPClientMachine(maxHeadSize=100)
    _get(machine)
    machine.receiveData(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
    with pytest.raises(RemoteProtocolError):
        for _ in range(20):
            machine.receiveData(b"X-Trailer: 0123456789\r\n")


def test_chunk_size_line_bounded() -> None:
    """A chunk-size line without end is refused rather than buffered forever."""
    machine = HTTPClientMachine()
    _get(machine)
    machine.receiveData(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        machine.receiveData(b"1" + b";" * 2000)
