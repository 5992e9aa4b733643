"""The sans-IO SOCKS4/4a/5 parser: every message kind, every chunking, bounded fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.wire import LocalProtocolError, RemoteProtocolError
from plait.wire.socks import (
    METHOD_NONE,
    METHOD_USERNAME_PASSWORD,
    SOCKS4_GRANTED,
    SOCKS5_SUCCEEDED,
    CredentialsReceived,
    MethodsOffered,
    SOCKSParser,
    SOCKSProtocolError,
    SOCKSRequestReceived,
    socks4Reply,
    socks5AuthReply,
    socks5MethodReply,
    socks5Reply,
)

SOCKS4 = b"\x04\x01\x00\x50\x7f\x00\x00\x01alice\x00"
SOCKS4A = b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00example.org\x00"
GREETING = b"\x05\x02\x00\x02"
AUTH = b"\x01\x05alice\x06secret"
REQ5_NAME = b"\x05\x01\x00\x03\x0bexample.org\x00\x50"
REQ5_V4 = b"\x05\x01\x00\x01\x0a\x00\x00\x02\x1f\x90"
REQ5_V6 = b"\x05\x01\x00\x04" + b"\x00" * 15 + b"\x01" + b"\x00\x16"


def chunks(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """``data`` cut at the (sorted, clamped) offsets ``cuts``."""
    last = 0
    for cut in sorted({min(max(c, 0), len(data)) for c in cuts}):
        yield data[last:cut]
        last = cut
    yield data[last:]


def feed(parser: SOCKSParser, data: bytes, cuts: list[int]) -> list[Any]:
    """Feed ``data`` in pieces, collecting events."""
    events: list[Any] = []
    for piece in chunks(data, cuts):
        events += parser.receiveData(piece)
    return events


@given(st.lists(st.integers(0, 40)))
def test_socks4_any_chunking(cuts: list[int]) -> None:
    """A SOCKS4 CONNECT parses the same in any chunking; trailing bytes are kept."""
    parser = SOCKSParser()
    events = feed(parser, SOCKS4 + b"GET", cuts)
    assert events == [SOCKSRequestReceived(4, 1, "127.0.0.1", 80, False, b"alice")]
    assert parser.takeTrailingData() == b"GET"
    assert parser.takeTrailingData() == b""


@given(st.lists(st.integers(0, 40)))
def test_socks4a_any_chunking(cuts: list[int]) -> None:
    """A SOCKS4a request carries the host name after the user id."""
    parser = SOCKSParser()
    assert feed(parser, SOCKS4A, cuts) == [
        SOCKSRequestReceived(4, 1, "example.org", 443, True, b"")
    ]


def test_socks4_one_byte_at_a_time() -> None:
    """Byte-by-byte feeding gives exactly one event, on the last byte."""
    parser = SOCKSParser()
    seen = [parser.receiveData(SOCKS4A[i : i + 1]) for i in range(len(SOCKS4A))]
    assert all(not e for e in seen[:-1])
    assert seen[-1] == [SOCKSRequestReceived(4, 1, "example.org", 443, True, b"")]


@given(st.lists(st.integers(0, 30)), st.sampled_from([REQ5_NAME, REQ5_V4, REQ5_V6]))
def test_socks5_with_auth_any_chunking(cuts: list[int], request: bytes) -> None:
    """Greeting, credentials and request parse in any chunking, answered step by step."""
    parser = SOCKSParser()
    events = feed(parser, GREETING, cuts)
    assert events == [MethodsOffered(b"\x00\x02")]
    events = parser.chooseMethod(METHOD_USERNAME_PASSWORD)
    events += feed(parser, AUTH, cuts)
    assert events == [CredentialsReceived(b"alice", b"secret")]
    events = parser.authenticated()
    events += feed(parser, request, cuts)
    expected = {
        REQ5_NAME: SOCKSRequestReceived(5, 1, "example.org", 80, True, b"", 3),
        REQ5_V4: SOCKSRequestReceived(5, 1, "10.0.0.2", 8080, False, b"", 1),
        REQ5_V6: SOCKSRequestReceived(5, 1, "::1", 22, False, b"", 4),
    }[request]
    assert events == [expected]


def test_socks5_pipelined() -> None:
    """Bytes sent before our replies are parsed once the machine is told the answer."""
    parser = SOCKSParser()
    assert parser.receiveData(GREETING + REQ5_V4 + b"payload") == [MethodsOffered(b"\x00\x02")]
    events = parser.chooseMethod(METHOD_NONE)
    assert events == [SOCKSRequestReceived(5, 1, "10.0.0.2", 8080, False, b"", 1)]
    assert parser.takeTrailingData() == b"payload"


def test_socks5_unknown_address_type() -> None:
    """An unknown address type is reported (host empty) so the server can reply 8."""
    parser = SOCKSParser()
    parser.receiveData(b"\x05\x01\x00")
    parser.chooseMethod(METHOD_NONE)
    events = parser.receiveData(b"\x05\x01\x00\x09\x01\x02")
    assert events == [SOCKSRequestReceived(5, 1, "", 0, addressType=9)]


@pytest.mark.parametrize(
    "data",
    [
        b"\x06",  # unknown version
        b"\x05\x00",  # greeting without methods
        b"\x04\x01\x00\x50\x7f\x00\x00\x01" + b"u" * 300,  # user id without end
        b"\x04\x01\x00\x50\x00\x00\x00\x01\x00" + b"h" * 300,  # 4a host name without end
        b"\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00",  # 4a empty host name
        b"\x04\x01\x00\x50\x00\x00\x00\x01\x00bad host\x00",  # space in the name
        b"\x04\x01\x00\x50\x00\x00\x00\x01\x00\xff\x00",  # not ASCII
    ],
)
def test_malformed(data: bytes) -> None:
    """Malformed or over-long input is a SOCKSProtocolError; the machine then refuses input."""
    parser = SOCKSParser()
    with pytest.raises(SOCKSProtocolError) as info:
        parser.receiveData(data)
    assert isinstance(info.value, RemoteProtocolError)
    with pytest.raises(LocalProtocolError):
        parser.receiveData(b"x")


def test_socks5_request_errors() -> None:
    """A bad version in the request or an empty domain name is a protocol error."""
    for request in (b"\x04\x01\x00\x01\x00\x00\x00\x00\x00\x00", b"\x05\x01\x00\x03\x00"):
        parser = SOCKSParser()
        parser.receiveData(b"\x05\x01\x00")
        with pytest.raises(SOCKSProtocolError):
            parser.chooseMethod(METHOD_NONE)
            parser.receiveData(request)


def test_bad_auth_version() -> None:
    """Username/password sub-negotiation must be version 1."""
    parser = SOCKSParser()
    parser.receiveData(b"\x05\x01\x02")
    parser.chooseMethod(METHOD_USERNAME_PASSWORD)
    with pytest.raises(SOCKSProtocolError):
        parser.receiveData(b"\x02\x01a\x01b")


def test_too_much_before_reply() -> None:
    """A client flooding before our method reply is cut off (the buffer is bounded)."""
    parser = SOCKSParser()
    parser.receiveData(b"\x05\x01\x00")
    with pytest.raises(SOCKSProtocolError):
        parser.receiveData(b"x" * 600)


def test_calls_out_of_order() -> None:
    """chooseMethod/authenticated in the wrong state are LocalProtocolErrors."""
    parser = SOCKSParser()
    with pytest.raises(LocalProtocolError):
        parser.chooseMethod(METHOD_NONE)
    with pytest.raises(LocalProtocolError):
        parser.authenticated()


def test_no_acceptable_method_stops() -> None:
    """Choosing 0xFF ends the machine: further input is refused."""
    parser = SOCKSParser()
    parser.receiveData(b"\x05\x01\x00")
    assert parser.chooseMethod(0xFF) == []
    with pytest.raises(LocalProtocolError):
        parser.receiveData(b"\x05")


def test_replies() -> None:
    """Reply builders produce the RFC layouts."""
    assert socks4Reply(SOCKS4_GRANTED, 80, "1.2.3.4") == b"\x00\x5a\x00\x50\x01\x02\x03\x04"
    assert socks5MethodReply(METHOD_USERNAME_PASSWORD) == b"\x05\x02"
    assert socks5AuthReply(True) == b"\x01\x00"
    assert socks5AuthReply(False) == b"\x01\x01"
    assert (
        socks5Reply(SOCKS5_SUCCEEDED, "127.0.0.1", 1080) == b"\x05\x00\x00\x01\x7f\0\0\x01\x04\x38"
    )
    assert socks5Reply(1, "::1", 1)[3] == 4
