"""RFC 4254 message codecs, type-specific data, terminal modes and window accounting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.wire.ssh.connection import (
    MAX_WINDOW,
    ChannelClose,
    ChannelData,
    ChannelEOF,
    ChannelExtendedData,
    ChannelFailure,
    ChannelOpen,
    ChannelOpenConfirmation,
    ChannelOpenFailure,
    ChannelRequest,
    ChannelSuccess,
    ChannelWindowAdjust,
    DirectTCPIP,
    EnvRequest,
    ExecRequest,
    ExitSignal,
    ExitStatus,
    ForwardedTCPIP,
    GlobalRequest,
    LocalWindow,
    OpenFailureReason,
    PtyRequest,
    RemoteWindow,
    RequestFailure,
    RequestSuccess,
    SignalRequest,
    SubsystemRequest,
    TCPIPForward,
    TerminalMode,
    WindowChange,
    X11Request,
    XonXoff,
    decodeTerminalModes,
    encodeTerminalModes,
    parseMessage,
)
from plait.wire.ssh.types import MSG, SSHDisconnectError

MESSAGES = [
    GlobalRequest(b"tcpip-forward", True, TCPIPForward("127.0.0.1", 0).toData()),
    GlobalRequest(b"keepalive@openssh.com", True),
    RequestSuccess(b"\x00\x00\x10\x00"),
    RequestSuccess(),
    RequestFailure(),
    ChannelOpen(b"session", 7, 2097152, 32768),
    ChannelOpen(b"direct-tcpip", 1, 10, 20, DirectTCPIP("example.com", 80, "::1", 5).toData()),
    ChannelOpenConfirmation(7, 3, 1000, 32768),
    ChannelOpenFailure(7, OpenFailureReason.CONNECT_FAILED, b"refused", b"en"),
    ChannelWindowAdjust(3, 4096),
    ChannelData(3, b"hello"),
    ChannelExtendedData(3, 1, b"oops"),
    ChannelEOF(3),
    ChannelClose(3),
    ChannelRequest(3, b"exec", True, ExecRequest(b"ls -l").toData()),
    ChannelSuccess(3),
    ChannelFailure(3),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_message_round_trip(message: object) -> None:
    """Every message encodes and parses back to itself through parseMessage."""
    payload = message.toPayload()  # type: ignore[attr-defined]
    assert parseMessage(message.messageType, payload) == message  # type: ignore[attr-defined]


def test_known_bytes() -> None:
    """Layouts match RFC 4254: CHANNEL_DATA is uint32 recipient + string data."""
    assert ChannelData(1, b"ab").toPayload() == b"\x00\x00\x00\x01\x00\x00\x00\x02ab"
    assert ChannelOpen(b"x", 2, 3, 4).toPayload() == (
        b"\x00\x00\x00\x01x\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04"
    )
    assert ChannelRequest(0, b"shell", True).toPayload() == b"\0\0\0\0\0\0\0\x05shell\x01"
    assert MSG.CHANNEL_DATA == ChannelData.messageType == 94


def test_truncated_and_trailing_are_protocol_errors() -> None:
    """A short message or trailing bytes raise SSHDisconnectError, not IndexError."""
    with pytest.raises(SSHDisconnectError):
        ChannelData.fromPayload(b"\x00\x00\x00\x01\x00\x00\x00\x09ab")
    with pytest.raises(SSHDisconnectError):
        ChannelEOF.fromPayload(b"\x00\x00\x00\x01!")
    with pytest.raises(SSHDisconnectError):
        ChannelWindowAdjust.fromPayload(b"\x00\x00")
    with pytest.raises(ValueError):
        parseMessage(MSG.KEXINIT, b"")


def test_request_failure_tolerates_trailing_bytes() -> None:
    """REQUEST_FAILURE with trailing bytes still parses (OpenSSH is lenient too)."""
    assert isinstance(parseMessage(MSG.REQUEST_FAILURE, b"junk"), RequestFailure)


DATA = [
    TCPIPForward("0.0.0.0", 2222),
    DirectTCPIP("localhost", 22, "10.0.0.1", 5555),
    ForwardedTCPIP("127.0.0.1", 8080, "192.0.2.3", 40000),
    PtyRequest(b"xterm-256color", 120, 40, 0, 0, ((TerminalMode.ECHO, 1), (128, 38400))),
    X11Request(False, b"MIT-MAGIC-COOKIE-1", b"abcd", 0),
    EnvRequest(b"LANG", b"C.UTF-8"),
    ExecRequest(b"echo hi"),
    SubsystemRequest(b"sftp"),
    WindowChange(100, 30, 800, 600),
    XonXoff(True),
    SignalRequest("INT"),
    ExitStatus(3),
    ExitSignal("KILL", True, "killed", b""),
]


@pytest.mark.parametrize("data", DATA, ids=lambda m: type(m).__name__)
def test_specific_data_round_trip(data: object) -> None:
    """Every request/channel-type data encodes and parses back to itself."""
    assert type(data).fromData(data.toData()) == data  # type: ignore[attr-defined]


def test_specific_data_refuses_trailing_bytes() -> None:
    """Type-specific data with trailing bytes is a protocol error."""
    with pytest.raises(SSHDisconnectError):
        ExitStatus.fromData(ExitStatus(0).toData() + b"\x00")


def test_terminal_modes() -> None:
    """Modes encode as opcode + uint32, end with TTY_OP_END, and stop at opcode >= 160."""
    encoded = encodeTerminalModes([(TerminalMode.VINTR, 3), (TerminalMode.TTY_OP_ISPEED, 9600)])
    assert encoded == b"\x01\x00\x00\x00\x03\x80\x00\x00\x25\x80\x00"
    assert decodeTerminalModes(encoded) == [(1, 3), (128, 9600)]
    assert decodeTerminalModes(b"\x35\x00\x00\x00\x01\xa0junk") == [(53, 1)]
    assert decodeTerminalModes(b"") == []
    with pytest.raises(SSHDisconnectError):
        decodeTerminalModes(b"\x35\x00\x00")
    with pytest.raises(ValueError):
        encodeTerminalModes([(200, 1)])


@given(st.binary(max_size=64))
def test_parsers_never_crash(data: bytes) -> None:
    """Arbitrary bytes parse or raise SSHDisconnectError, for every message and mode string."""
    for number in (*range(MSG.GLOBAL_REQUEST, MSG.REQUEST_FAILURE + 1), *range(90, 101)):
        try:
            parseMessage(number, data)
        except SSHDisconnectError:
            pass
    try:
        decodeTerminalModes(data)
        PtyRequest.fromData(data)
    except SSHDisconnectError:
        pass


def test_local_window_accounting() -> None:
    """Data past the window or larger than max packet is refused; adjust after half used."""
    window = LocalWindow(100, 40)
    window.received(40)
    window.consumed(40)
    assert window.adjustment() == 0
    window.received(30)
    window.consumed(30)
    assert window.available == 30
    assert window.adjustment() == 70
    assert window.available == 100
    with pytest.raises(SSHDisconnectError):
        window.received(41)
    window.received(40)
    window.received(40)
    with pytest.raises(SSHDisconnectError, match="window"):
        window.received(21)


def test_remote_window_accounting() -> None:
    """Allowance respects window and max packet; adjust past 2**32-1 is refused."""
    window = RemoteWindow(100, 30)
    assert window.allowance(1000) == 30
    window.take(30)
    window.take(30)
    window.take(30)
    assert window.allowance(1000) == 10
    window.take(10)
    assert window.allowance(5) == 0
    window.adjust(MAX_WINDOW)
    assert window.available == MAX_WINDOW
    with pytest.raises(SSHDisconnectError):
        window.adjust(1)
    with pytest.raises(ValueError):
        RemoteWindow(1, 1).take(2)


def test_remote_max_packet_capped_to_a_sendable_size() -> None:
    """A peer announcing a 4 GiB maximum packet still gets packets one transport can carry."""
    window = RemoteWindow(MAX_WINDOW, MAX_WINDOW)
    n = window.allowance(10 * 1024 * 1024)
    assert 32 * 1024 <= n <= 256 * 1024 - 4096
    assert RemoteWindow(MAX_WINDOW, 32768).allowance(10**6) == 32768
