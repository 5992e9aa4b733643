"""The sans-IO Telnet machine: RFC 1143 table over every (state, queue, input), parsing in
every chunking, IAC and CR handling, bounded subnegotiation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.wire import LocalProtocolError
from plait.wire.telnet import (
    AYT,
    DO,
    DONT,
    ECHO,
    IAC,
    NAWS,
    NOP,
    SB,
    SE,
    SGA,
    WILL,
    WONT,
    CommandReceived,
    DataReceived,
    OptionStateChanged,
    Q,
    SubnegotiationReceived,
    SubnegotiationTooLong,
    TelnetMachine,
    encodeData,
    encodeNAWS,
    encodeTerminalType,
    parseNAWS,
)

OPT = 42  # an option with no special meaning

# (state, opposite, positive?) -> (new state, new opposite, sends positive/negative/None, event)
# event: None, True (enabled) or False (disabled). RFC 1143 section 7, "receive" rows.
RECEIVE = [
    (Q.NO, False, True, "accept", Q.YES, False, "yes", True),
    (Q.NO, False, True, "refuse", Q.NO, False, "no", None),
    (Q.YES, False, True, "accept", Q.YES, False, None, None),
    (Q.WANTNO, False, True, "accept", Q.NO, False, None, False),
    (Q.WANTNO, True, True, "accept", Q.YES, False, None, True),
    (Q.WANTYES, False, True, "accept", Q.YES, False, None, True),
    (Q.WANTYES, True, True, "accept", Q.WANTNO, False, "no", None),
    (Q.NO, False, False, "accept", Q.NO, False, None, None),
    (Q.YES, False, False, "accept", Q.NO, False, "no", False),
    (Q.WANTNO, False, False, "accept", Q.NO, False, None, False),
    (Q.WANTNO, True, False, "accept", Q.WANTYES, False, "yes", None),
    (Q.WANTYES, False, False, "accept", Q.NO, False, None, False),
    (Q.WANTYES, True, False, "accept", Q.NO, False, None, False),
]


def setState(machine: TelnetMachine, local: bool, state: Q, opposite: bool) -> None:
    """Put one side of OPT into a given Q state (white-box: the table needs every state)."""
    side = machine._side(machine._us if local else machine._him, OPT)
    side.state, side.opposite = state, opposite


def sideOf(machine: TelnetMachine, local: bool) -> tuple[Q, bool]:
    """The (state, opposite) of one side of OPT."""
    side = machine._side(machine._us if local else machine._him, OPT)
    return side.state, side.opposite


@pytest.mark.parametrize("local", [True, False], ids=["us", "him"])
@pytest.mark.parametrize(
    ("state", "opposite", "positive", "policy", "newState", "newOpposite", "sends", "event"),
    RECEIVE,
)
def test_receive_table(
    local: bool,
    state: Q,
    opposite: bool,
    positive: bool,
    policy: str,
    newState: Q,
    newOpposite: bool,
    sends: str | None,
    event: bool | None,
) -> None:
    """Every receive row of RFC 1143's table, for our side (DO/DONT) and the peer's."""
    accept = frozenset({OPT}) if policy == "accept" else frozenset()
    machine = TelnetMachine(acceptLocal=accept, acceptRemote=accept)
    setState(machine, local, state, opposite)
    verb = (DO if positive else DONT) if local else (WILL if positive else WONT)
    events = machine.receiveData(bytes([IAC, verb, OPT]))
    assert sideOf(machine, local) == (newState, newOpposite)
    yes, no = (WILL, WONT) if local else (DO, DONT)
    expected = {None: b"", "yes": bytes([IAC, yes, OPT]), "no": bytes([IAC, no, OPT])}[sends]
    assert machine.dataToSend() == expected
    assert events == ([] if event is None else [OptionStateChanged(OPT, local, event)])


# (state, opposite, enable?) -> (new state, new opposite, sends, error?)
REQUEST = [
    (Q.NO, False, True, Q.WANTYES, False, "yes", False),
    (Q.YES, False, True, Q.YES, False, None, True),
    (Q.WANTNO, False, True, Q.WANTNO, True, None, False),
    (Q.WANTNO, True, True, Q.WANTNO, True, None, True),
    (Q.WANTYES, False, True, Q.WANTYES, False, None, True),
    (Q.WANTYES, True, True, Q.WANTYES, False, None, False),
    (Q.NO, False, False, Q.NO, False, None, True),
    (Q.YES, False, False, Q.WANTNO, False, "no", False),
    (Q.WANTNO, False, False, Q.WANTNO, False, None, True),
    (Q.WANTNO, True, False, Q.WANTNO, False, None, False),
    (Q.WANTYES, False, False, Q.WANTYES, True, None, False),
    (Q.WANTYES, True, False, Q.WANTYES, True, None, True),
]


@pytest.mark.parametrize("local", [True, False], ids=["us", "him"])
@pytest.mark.parametrize(
    ("state", "opposite", "enable", "newState", "newOpposite", "sends", "error"), REQUEST
)
def test_request_table(
    local: bool,
    state: Q,
    opposite: bool,
    enable: bool,
    newState: Q,
    newOpposite: bool,
    sends: str | None,
    error: bool,
) -> None:
    """Every request row of RFC 1143's table; the rows it calls errors raise."""
    machine = TelnetMachine()
    setState(machine, local, state, opposite)
    if local:
        request = machine.requestLocal if enable else machine.disableLocal
    else:
        request = machine.requestRemote if enable else machine.disableRemote
    if error:
        with pytest.raises(LocalProtocolError):
            request(OPT)
    else:
        request(OPT)
    assert sideOf(machine, local) == (newState, newOpposite)
    yes, no = (WILL, WONT) if local else (DO, DONT)
    expected = {None: b"", "yes": bytes([IAC, yes, OPT]), "no": bytes([IAC, no, OPT])}[sends]
    assert machine.dataToSend() == expected


def test_no_negotiation_loop() -> None:
    """Two machines that both want and refuse things settle after a bounded exchange."""
    a = TelnetMachine(acceptLocal=frozenset({ECHO}), acceptRemote=frozenset({SGA}))
    b = TelnetMachine(acceptLocal=frozenset({SGA}), acceptRemote=frozenset())
    a.requestLocal(ECHO)
    a.requestRemote(SGA)
    b.requestRemote(ECHO)
    b.requestLocal(NAWS)
    rounds = 0
    while True:
        fromA, fromB = a.dataToSend(), b.dataToSend()
        if not fromA and not fromB:
            break
        b.receiveData(fromA)
        a.receiveData(fromB)
        rounds += 1
        assert rounds < 10
    assert a.localEnabled(ECHO) and b.remoteEnabled(ECHO)
    assert a.remoteEnabled(SGA) and b.localEnabled(SGA)
    assert not a.remoteEnabled(NAWS) and b.localState(NAWS) is Q.NO


def test_enable_then_disable_while_pending() -> None:
    """Asking to disable while an enable is pending queues it; the answer then turns it off."""
    m = TelnetMachine()
    m.requestRemote(OPT)
    m.disableRemote(OPT)
    assert m.dataToSend() == bytes([IAC, DO, OPT])
    assert m.receiveData(bytes([IAC, WILL, OPT])) == []
    assert m.dataToSend() == bytes([IAC, DONT, OPT])
    assert m.receiveData(bytes([IAC, WONT, OPT])) == [OptionStateChanged(OPT, False, False)]


STREAM = (
    b"hello\xff\xffworld\r\x00x\r\ny"
    + bytes([IAC, NOP, IAC, AYT])
    + bytes([IAC, SB, NAWS]) + encodeNAWS(255, 24).replace(b"\xff", b"\xff\xff")
    + bytes([IAC, SE])
    + bytes([IAC, WILL, NAWS])
    + b"end"
)  # fmt: skip
EXPECTED: list[Any] = [
    DataReceived(b"hello\xffworld\rx\r\ny"),
    CommandReceived(NOP),
    CommandReceived(AYT),
    SubnegotiationReceived(NAWS, b"\x00\xff\x00\x18"),
    OptionStateChanged(NAWS, False, True),
    DataReceived(b"end"),
]


def merged(events: list[Any]) -> list[Any]:
    """Join adjacent DataReceived events (chunking may split data, nothing else)."""
    out: list[Any] = []
    for e in events:
        if isinstance(e, DataReceived) and out and isinstance(out[-1], DataReceived):
            out[-1] = DataReceived(out[-1].data + e.data)
        else:
            out.append(e)
    return out


def chunks(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """``data`` cut at the offsets ``cuts``."""
    last = 0
    for cut in sorted({min(max(c, 0), len(data)) for c in cuts}):
        yield data[last:cut]
        last = cut
    yield data[last:]


@given(st.lists(st.integers(0, len(STREAM))))
def test_any_chunking(cuts: list[int]) -> None:
    """The same events come out of every chunking of a mixed stream."""
    m = TelnetMachine(acceptRemote=frozenset({NAWS}))
    events: list[Any] = []
    for piece in chunks(STREAM, cuts):
        events += m.receiveData(piece)
    assert merged(events) == EXPECTED
    assert m.dataToSend() == bytes([IAC, DO, NAWS])


def test_one_byte_at_a_time() -> None:
    """Byte-by-byte input gives the same events."""
    m = TelnetMachine(acceptRemote=frozenset({NAWS}))
    events: list[Any] = []
    for i in range(len(STREAM)):
        events += m.receiveData(STREAM[i : i + 1])
    assert merged(events) == EXPECTED


@given(st.binary(max_size=200))
def test_encode_round_trip(data: bytes) -> None:
    """encodeData then parsing gives the bytes back, with bare CR kept as CR."""
    m = TelnetMachine()
    events = m.receiveData(encodeData(data) + bytes([IAC, NOP]))
    got = b"".join(e.data for e in events if isinstance(e, DataReceived))
    assert got == data


def test_subnegotiation_bounded() -> None:
    """An over-long subnegotiation is reported once, dropped, and parsing goes on."""
    m = TelnetMachine(maxSubnegotiation=8)
    events = m.receiveData(bytes([IAC, SB, 24]) + b"x" * 100 + bytes([IAC, SE]) + b"ok")
    assert events == [SubnegotiationTooLong(24, 8), DataReceived(b"ok")]


def test_subnegotiation_cut_by_command() -> None:
    """IAC followed by something other than SE/IAC ends the subnegotiation."""
    m = TelnetMachine()
    events = m.receiveData(bytes([IAC, SB, 24, 0, 65, IAC, NOP]) + b"z")
    assert events == [
        SubnegotiationReceived(24, b"\x00A"),
        CommandReceived(NOP),
        DataReceived(b"z"),
    ]


def test_stray_se_ignored() -> None:
    """IAC SE outside a subnegotiation is dropped."""
    assert TelnetMachine().receiveData(bytes([IAC, SE]) + b"a") == [DataReceived(b"a")]


def test_send_helpers() -> None:
    """sendData, sendCommand and sendSubnegotiation queue escaped bytes."""
    m = TelnetMachine()
    m.sendData(b"a\xffb\rc\r\n")
    m.sendCommand(NOP)
    m.sendSubnegotiation(24, b"\x00\xff")
    assert m.dataToSend() == (
        b"a\xff\xffb\r\x00c\r\n" + bytes([IAC, NOP, IAC, SB, 24, 0, 255, 255, IAC, SE])
    )
    assert m.dataToSend() == b""


def test_payload_helpers() -> None:
    """NAWS and TTYPE payloads encode and decode."""
    assert parseNAWS(encodeNAWS(80, 24)) == (80, 24)
    assert parseNAWS(b"\x00") is None
    assert encodeTerminalType("xterm") == b"\x00xterm"
