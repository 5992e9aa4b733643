"""TelnetProtocol and TelnetTransport on in-memory transports and a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import TimeoutError
from plait.log import formatEvent, globalLogPublisher
from plait.protocol import Protocol
from plait.protocols.telnet import OptionRefusedError, TelnetProtocol, TelnetTransport
from plait.testing import Clock, StringTransport, failureResultOf, successResultOf
from plait.wire import LocalProtocolError
from plait.wire.telnet import (
    AYT,
    DO,
    DONT,
    ECHO,
    IAC,
    NAWS,
    SB,
    SE,
    TTYPE,
    WILL,
    WONT,
)


class Recording(TelnetProtocol):
    """Records every application-level event."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []

    def applicationDataReceived(self, data: bytes) -> None:
        self.events.append(("data", data))

    def telnet_NAWS(self, width: int, height: int) -> None:
        self.events.append(("naws", width, height))

    def terminalType(self, ttype: str) -> None:
        self.events.append(("ttype", ttype))

    def commandReceived(self, command: int) -> None:
        self.events.append(("command", command))


def started(cls: type[TelnetProtocol] = Recording) -> tuple[Any, StringTransport, Clock]:
    """A protocol connected to a StringTransport with a Clock."""
    proto = cls()
    clock = Clock()
    proto.clock = clock
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport, clock


def test_enable_local_fires_on_agreement() -> None:
    """enableLocal sends WILL and fires when the peer says DO."""
    proto, transport, _ = started()
    d = proto.enableLocal(ECHO)
    assert transport.value() == bytes([IAC, WILL, ECHO])
    proto.dataReceived(bytes([IAC, DO, ECHO]))
    assert successResultOf(d) is None
    assert proto.machine.localEnabled(ECHO)


def test_enable_remote_refused() -> None:
    """enableRemote fails with OptionRefusedError when the peer says WONT."""
    proto, transport, _ = started()
    d = proto.enableRemote(ECHO)
    assert transport.value() == bytes([IAC, DO, ECHO])
    proto.dataReceived(bytes([IAC, WONT, ECHO]))
    failureResultOf(d, OptionRefusedError)


def test_negotiation_timeout() -> None:
    """No answer within negotiationTimeout fails the Deferred with TimeoutError."""
    proto, _, clock = started()
    d = proto.enableLocal(ECHO)
    clock.advance(proto.negotiationTimeout + 1)
    failureResultOf(d, TimeoutError)
    proto.dataReceived(bytes([IAC, DO, ECHO]))  # a late answer is still applied, quietly
    assert proto.machine.localEnabled(ECHO)


def test_disable_and_forbidden_request() -> None:
    """disableLocal fires on WONT's answer; enabling an enabled option fails at once."""
    proto, _transport, _ = started()
    proto.enableLocal(ECHO)
    proto.dataReceived(bytes([IAC, DO, ECHO]))
    failureResultOf(proto.enableLocal(ECHO), LocalProtocolError)
    d = proto.disableLocal(ECHO)
    proto.dataReceived(bytes([IAC, DONT, ECHO]))
    assert successResultOf(d) is None
    assert not proto.machine.localEnabled(ECHO)


def test_naws_and_ttype() -> None:
    """NAWS sizes and the TTYPE reply reach the callbacks; TTYPE SEND is asked for."""
    proto, transport, _ = started()
    proto.dataReceived(bytes([IAC, WILL, NAWS, IAC, WILL, TTYPE]))
    assert transport.value() == bytes([IAC, DO, NAWS, IAC, DO, TTYPE, IAC, SB, TTYPE, 1, IAC, SE])
    proto.dataReceived(bytes([IAC, SB, NAWS, 0, 132, 0, 40, IAC, SE]))
    proto.dataReceived(bytes([IAC, SB, TTYPE, 0]) + b"XTERM" + bytes([IAC, SE]))
    assert proto.events == [("naws", 132, 40), ("ttype", "XTERM")]


def test_naws_ignored_unless_enabled() -> None:
    """A NAWS subnegotiation from a peer that never enabled NAWS is ignored."""
    proto, _, _ = started()
    proto.dataReceived(bytes([IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]))
    assert proto.events == []


def test_unaccepted_option_refused() -> None:
    """An option the peer offers that we do not accept is refused with DONT."""
    proto, transport, _ = started()
    proto.dataReceived(bytes([IAC, WILL, ECHO]))
    assert transport.value() == bytes([IAC, DONT, ECHO])


def test_data_and_commands_in_order() -> None:
    """Application bytes and commands arrive in wire order, unescaped."""
    proto, _, _ = started()
    proto.dataReceived(b"a\xff\xffb" + bytes([IAC, AYT]) + b"c\r\x00")
    assert proto.events == [("data", b"a\xffb"), ("command", AYT), ("data", b"c\r")]


def test_oversized_subnegotiation_logged() -> None:
    """A subnegotiation over the limit is logged and dropped; the connection goes on."""
    seen: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(seen.append)
    try:
        proto, _, _ = started()
        proto.dataReceived(bytes([IAC, SB, TTYPE]) + b"x" * 5000 + bytes([IAC, SE]) + b"ok")
    finally:
        globalLogPublisher.removeObserver(seen.append)
    assert proto.events == [("data", b"ok")]
    assert any("longer than 1024" in formatEvent(e) for e in seen)


def test_pending_cancelled_on_loss() -> None:
    """Negotiations still pending when the connection is lost are cancelled."""
    from plait.defer import CancelledError

    proto, _, _ = started()
    d = proto.enableLocal(ECHO)
    proto.connectionLost(None)
    failureResultOf(d, CancelledError)


class App(Protocol):
    """An application protocol that records clean bytes and the NAWS size."""

    def __init__(self) -> None:
        self.received = b""
        self.size: tuple[int, int] | None = None
        self.lost = False

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"hi\xff\r")

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def telnet_NAWS(self, width: int, height: int) -> None:
        self.size = (width, height)

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = True


def test_telnet_transport_wraps_application() -> None:
    """The wrapped protocol writes plain bytes and sees clean bytes and NAWS."""
    wrapper = TelnetTransport(App)
    transport = StringTransport()
    wrapper.makeConnection(transport)
    app = wrapper.protocol
    assert isinstance(app, App)
    assert transport.value() == b"hi\xff\xff\r\x00"
    wrapper.dataReceived(
        b"x\xff\xffy" + bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 25, IAC, SE])
    )
    assert app.received == b"x\xffy"
    assert app.size == (80, 25)
    wrapper.connectionLost(None)
    assert app.lost


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_chunked_delivery(chunk: int) -> None:
    """Chunked input through the adapter gives the same application events."""
    proto, _, _ = started()
    stream = bytes([IAC, WILL, NAWS]) + b"ab" + bytes([IAC, SB, NAWS, 0, 90, 0, 30, IAC, SE])
    for i in range(0, len(stream), chunk):
        proto.dataReceived(stream[i : i + chunk])
    data = b"".join(e[1] for e in proto.events if e[0] == "data")
    assert data == b"ab"
    assert ("naws", 90, 30) in proto.events
