"""SSH userauth messages: every message round-trips; truncated or garbage input is refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.wire.ssh.types import MSG, DisconnectReason, SSHDisconnectError, SSHWriter
from plait.wire.ssh.userauth import (
    MAX_PROMPTS,
    KeyboardInteractiveRequest,
    NoneRequest,
    PasswordRequest,
    PublicKeyRequest,
    UnknownMethodRequest,
    UserauthBanner,
    UserauthFailure,
    UserauthInfoRequest,
    UserauthInfoResponse,
    UserauthPasswdChangeReq,
    UserauthPKOK,
    UserauthSuccess,
    parseInfoResponse,
    parseServerMessage,
    parseUserauthRequest,
    publicKeySignatureData,
)

REQUESTS: list[Any] = [
    NoneRequest(b"alice", b"ssh-connection"),
    PublicKeyRequest(b"alice", b"ssh-connection", b"ssh-ed25519", b"\x00\x00\x00\x0bblob"),
    PublicKeyRequest(b"alice", b"ssh-connection", b"rsa-sha2-512", b"blob", b"signature"),
    PasswordRequest(b"alice", b"ssh-connection", b"secret"),
    PasswordRequest(b"alice", b"ssh-connection", b"old", b"new"),
    KeyboardInteractiveRequest(b"alice", b"ssh-connection"),
    KeyboardInteractiveRequest(b"alice", b"ssh-connection", b"en", b"pam,skey"),
    UnknownMethodRequest(b"alice", b"ssh-connection", b"hostbased", b"\x00\x00\x00\x01x"),
]

# (method in progress, message)
SERVER: list[tuple[bytes | None, Any]] = [
    (None, UserauthFailure(("publickey", "password"))),
    (None, UserauthFailure(("keyboard-interactive",), True)),
    (None, UserauthFailure(())),
    (None, UserauthSuccess()),
    (None, UserauthBanner("Welcome — authorised users only\r\n", b"en")),
    (b"publickey", UserauthPKOK(b"ssh-ed25519", b"blob")),
    (b"password", UserauthPasswdChangeReq("Password expired, change it: ")),
    (
        b"keyboard-interactive",
        UserauthInfoRequest("PAM", "Log in", (("Password: ", False), ("Code: ", True))),
    ),
    (b"keyboard-interactive", UserauthInfoRequest("", "", ())),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_request_round_trip(request_: Any) -> None:
    """encode then parseUserauthRequest gives the same request."""
    assert request_.messageNumber == MSG.USERAUTH_REQUEST
    assert parseUserauthRequest(request_.encode()) == request_


@pytest.mark.parametrize(("method", "message"), SERVER, ids=lambda m: type(m).__name__)
def test_server_message_round_trip(method: bytes | None, message: Any) -> None:
    """encode then parseServerMessage (with the method in progress) gives the same message."""
    assert parseServerMessage(message.messageNumber, message.encode(), method) == message


def test_message_numbers() -> None:
    """Message numbers are RFC 4252's and RFC 4256's."""
    assert UserauthFailure(()).messageNumber == 51
    assert UserauthSuccess().messageNumber == 52
    assert UserauthBanner("").messageNumber == 53
    assert UserauthPKOK(b"", b"").messageNumber == 60
    assert UserauthInfoRequest("", "", ()).messageNumber == 60
    assert UserauthInfoResponse(()).messageNumber == 61


def test_info_response_round_trip() -> None:
    """INFO_RESPONSE round-trips and hides its answers in repr."""
    response = UserauthInfoResponse((b"secret", b""))
    assert parseInfoResponse(response.encode()) == response
    assert "secret" not in repr(response)
    assert "secret" not in repr(PasswordRequest(b"u", b"s", b"secret"))


def test_known_encoding() -> None:
    """A password request's bytes are exactly RFC 4252 §8's layout."""
    payload = PasswordRequest(b"u", b"ssh-connection", b"pw").encode()
    assert payload == (
        b"\x00\x00\x00\x01u"
        b"\x00\x00\x00\x0essh-connection"
        b"\x00\x00\x00\x08password"
        b"\x00"
        b"\x00\x00\x00\x02pw"
    )
    assert UserauthFailure(("publickey", "password"), False).encode() == (
        b"\x00\x00\x00\x12publickey,password\x00"
    )


def test_signature_data() -> None:
    """The signed data is session id then the request with the boolean TRUE (RFC 4252 §7)."""
    data = publicKeySignatureData(b"SID", b"u", b"ssh-connection", b"ssh-ed25519", b"BLOB")
    expected = (
        SSHWriter()
        .string(b"SID")
        .byte(50)
        .string(b"u")
        .string(b"ssh-connection")
        .string(b"publickey")
        .boolean(True)
        .string(b"ssh-ed25519")
        .string(b"BLOB")
        .bytes()
    )
    assert data == expected


def assertProtocolError(f: Any, *args: Any) -> None:
    """``f(*args)`` raises SSHDisconnectError(PROTOCOL_ERROR)."""
    with pytest.raises(SSHDisconnectError) as info:
        f(*args)
    assert info.value.reason == DisconnectReason.PROTOCOL_ERROR


@pytest.mark.parametrize("request_", REQUESTS[:-1], ids=lambda r: type(r).__name__)
def test_truncated_requests(request_: Any) -> None:
    """Every proper prefix of a request and trailing garbage are protocol errors."""
    payload = request_.encode()
    for n in range(len(payload)):
        assertProtocolError(parseUserauthRequest, payload[:n])
    assertProtocolError(parseUserauthRequest, payload + b"\x00")


@pytest.mark.parametrize(("method", "message"), SERVER, ids=lambda m: type(m).__name__)
def test_truncated_server_messages(method: bytes | None, message: Any) -> None:
    """Every proper prefix of a server message and trailing garbage are protocol errors."""
    payload = message.encode()
    for n in range(len(payload)):
        assertProtocolError(parseServerMessage, message.messageNumber, payload[:n], method)
    assertProtocolError(parseServerMessage, message.messageNumber, payload + b"x", method)


def test_message_60_needs_a_method() -> None:
    """Message 60 outside publickey/password/keyboard-interactive is unexpected."""
    assertProtocolError(parseServerMessage, 60, UserauthPKOK(b"a", b"b").encode(), None)
    assertProtocolError(parseServerMessage, 60, UserauthPKOK(b"a", b"b").encode(), b"none")
    assertProtocolError(parseServerMessage, 99, b"", None)


def test_prompt_count_bounded() -> None:
    """More than MAX_PROMPTS prompts or responses is refused before reading them."""
    many = SSHWriter().string(b"").string(b"").string(b"").uint32(MAX_PROMPTS + 1).bytes()
    assertProtocolError(parseServerMessage, 60, many, b"keyboard-interactive")
    assertProtocolError(parseInfoResponse, SSHWriter().uint32(2**32 - 1).bytes())


def test_bad_utf8_and_names() -> None:
    """Invalid UTF-8 in a banner and non-ASCII method names are protocol errors."""
    banner = SSHWriter().string(b"\xff\xfe").string(b"").bytes()
    assertProtocolError(parseServerMessage, MSG.USERAUTH_BANNER, banner, None)
    failure = SSHWriter().string(b"caf\xc3\xa9").boolean(False).bytes()
    assertProtocolError(parseServerMessage, MSG.USERAUTH_FAILURE, failure, None)


@given(st.binary(max_size=200))
def test_garbage_requests(data: bytes) -> None:
    """Arbitrary bytes parse to a request or raise SSHDisconnectError, nothing else."""
    try:
        request = parseUserauthRequest(data)
    except SSHDisconnectError:
        return
    assert parseUserauthRequest(request.encode()) == request


@given(
    st.sampled_from([51, 52, 53, 60, 61]),
    st.binary(max_size=120),
    st.sampled_from([None, b"publickey", b"password", b"keyboard-interactive"]),
)
def test_garbage_server_messages(num: int, data: bytes, method: bytes | None) -> None:
    """Arbitrary server payloads parse or raise SSHDisconnectError, nothing else."""
    try:
        parseServerMessage(num, data, method)
    except SSHDisconnectError:
        pass
