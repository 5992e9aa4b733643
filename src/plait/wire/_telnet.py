"""Sans-IO Telnet (RFC 854/855): IAC escaping, commands, subnegotiation and option
negotiation by the Q method of RFC 1143 (which cannot loop)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from plait.wire._errors import LocalProtocolError

IAC, DONT, DO, WONT, WILL, SB = 255, 254, 253, 252, 251, 250
GA, EL, EC, AYT, AO, IP, BRK, DM, NOP, SE = 249, 248, 247, 246, 245, 244, 243, 242, 241, 240

ECHO = 1  # RFC 857
SGA = 3  # RFC 858, suppress go-ahead
TTYPE = 24  # RFC 1091, terminal type
NAWS = 31  # RFC 1073, window size
TTYPE_IS, TTYPE_SEND = 0, 1

_COMMANDS = frozenset({GA, EL, EC, AYT, AO, IP, BRK, DM, NOP})


@dataclass(frozen=True, slots=True)
class DataReceived:
    """Application bytes (IAC IAC undone, CR NUL turned into CR)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CommandReceived:
    """A two-byte command: NOP, AYT, IP, BRK, GA, EC, EL, DM, AO (or an unknown byte)."""

    command: int


@dataclass(frozen=True, slots=True)
class SubnegotiationReceived:
    """``IAC SB option payload IAC SE`` (IAC IAC in the payload undone)."""

    option: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class SubnegotiationTooLong:
    """A subnegotiation passed the limit; it is dropped up to its ``IAC SE``."""

    option: int
    limit: int


@dataclass(frozen=True, slots=True)
class OptionStateChanged:
    """An option became enabled or disabled on our side (``local``) or the peer's."""

    option: int
    local: bool
    enabled: bool


TelnetEvent = (
    DataReceived
    | CommandReceived
    | SubnegotiationReceived
    | SubnegotiationTooLong
    | OptionStateChanged
)


class Q(Enum):
    """RFC 1143 per-side option state."""

    NO = "no"
    YES = "yes"
    WANTNO = "wantno"
    WANTYES = "wantyes"


class _Side:
    __slots__ = ("opposite", "state")

    def __init__(self) -> None:
        self.state = Q.NO
        self.opposite = False  # the RFC's queue bit: OPPOSITE when True


# Parser states
_DATA, _IAC, _NEGOTIATE, _SB_OPTION, _SB, _SB_IAC, _CR = range(7)


class TelnetMachine:
    """Feed peer bytes to ``receiveData``; read ``dataToSend()`` and write it to the peer.

    ``acceptLocal``/``acceptRemote`` are the options we agree to enable on our side / let the
    peer enable when asked. ``requestLocal``/``requestRemote``/``disableLocal``/
    ``disableRemote`` start negotiations; the outcome arrives as ``OptionStateChanged``.
    A subnegotiation longer than ``maxSubnegotiation`` bytes gives ``SubnegotiationTooLong``
    and is dropped.
    """

    def __init__(
        self,
        acceptLocal: frozenset[int] = frozenset(),
        acceptRemote: frozenset[int] = frozenset(),
        maxSubnegotiation: int = 1024,
    ) -> None:
        self.acceptLocal = set(acceptLocal)
        self.acceptRemote = set(acceptRemote)
        self.maxSubnegotiation = maxSubnegotiation
        self._us: dict[int, _Side] = {}
        self._him: dict[int, _Side] = {}
        self._state = _DATA
        self._verb = 0
        self._sbOption = 0
        self._sb = bytearray()
        self._sbOverflow = False
        self._out = bytearray()

    # -- state queries -----------------------------------------------------------------------

    def localState(self, option: int) -> Q:
        """Our side's Q state for ``option``."""
        return self._side(self._us, option).state

    def remoteState(self, option: int) -> Q:
        """The peer's Q state for ``option``."""
        return self._side(self._him, option).state

    def localEnabled(self, option: int) -> bool:
        """True if we have ``option`` enabled."""
        return self.localState(option) is Q.YES

    def remoteEnabled(self, option: int) -> bool:
        """True if the peer has ``option`` enabled."""
        return self.remoteState(option) is Q.YES

    @staticmethod
    def _side(table: dict[int, _Side], option: int) -> _Side:
        side = table.get(option)
        if side is None:
            side = table[option] = _Side()
        return side

    # -- output ------------------------------------------------------------------------------

    def dataToSend(self) -> bytes:
        """Bytes the machine wants sent (negotiation answers), then forget them."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def sendData(self, data: bytes) -> None:
        """Queue application bytes (escaped by ``encodeData``)."""
        self._out += encodeData(data)

    def sendCommand(self, command: int) -> None:
        """Queue ``IAC command``."""
        self._out += bytes([IAC, command])

    def sendSubnegotiation(self, option: int, payload: bytes) -> None:
        """Queue ``IAC SB option payload IAC SE`` (IACs in the payload doubled)."""
        self._out += bytes([IAC, SB, option]) + payload.replace(b"\xff", b"\xff\xff")
        self._out += bytes([IAC, SE])

    def _send(self, verb: int, option: int) -> None:
        self._out += bytes([IAC, verb, option])

    # -- requests (RFC 1143 section 7) -------------------------------------------------------

    def requestLocal(self, option: int) -> list[TelnetEvent]:
        """Ask to enable ``option`` on our side (send WILL)."""
        return self._ask(self._us, option, True, WILL, WONT)

    def requestRemote(self, option: int) -> list[TelnetEvent]:
        """Ask the peer to enable ``option`` (send DO)."""
        return self._ask(self._him, option, True, DO, DONT)

    def disableLocal(self, option: int) -> list[TelnetEvent]:
        """Disable ``option`` on our side (send WONT)."""
        return self._ask(self._us, option, False, WILL, WONT)

    def disableRemote(self, option: int) -> list[TelnetEvent]:
        """Ask the peer to disable ``option`` (send DONT)."""
        return self._ask(self._him, option, False, DO, DONT)

    def _ask(
        self, table: dict[int, _Side], option: int, enable: bool, yes: int, no: int
    ) -> list[TelnetEvent]:
        side = self._side(table, option)
        s, opp = side.state, side.opposite
        if enable:
            if s is Q.NO:
                side.state = Q.WANTYES
                self._send(yes, option)
            elif s is Q.YES:
                raise LocalProtocolError(f"option {option} is already enabled")
            elif s is Q.WANTNO:
                if opp:
                    raise LocalProtocolError(f"option {option}: enable already queued")
                side.opposite = True
            else:  # WANTYES
                if not opp:
                    raise LocalProtocolError(f"option {option}: already negotiating")
                side.opposite = False
        else:
            if s is Q.NO:
                raise LocalProtocolError(f"option {option} is already disabled")
            if s is Q.YES:
                side.state = Q.WANTNO
                self._send(no, option)
            elif s is Q.WANTNO:
                if not opp:
                    raise LocalProtocolError(f"option {option}: already negotiating")
                side.opposite = False
            else:  # WANTYES
                if opp:
                    raise LocalProtocolError(f"option {option}: disable already queued")
                side.opposite = True
        return []

    # -- receiving (RFC 1143 section 7) ------------------------------------------------------

    def _received(self, verb: int, option: int, events: list[TelnetEvent]) -> None:
        if verb in (WILL, WONT):
            table, local, accept, yes, no = self._him, False, self.acceptRemote, DO, DONT
        else:
            table, local, accept, yes, no = self._us, True, self.acceptLocal, WILL, WONT
        side = self._side(table, option)
        before = side.state
        positive = verb in (WILL, DO)
        s, opp = side.state, side.opposite
        if positive:
            if s is Q.NO:
                if option in accept:
                    side.state = Q.YES
                    self._send(yes, option)
                else:
                    self._send(no, option)
            elif s is Q.WANTNO:
                # An error by the peer (it answered our refusal with agreement); settle.
                side.state = Q.YES if opp else Q.NO
                side.opposite = False
            elif s is Q.WANTYES:
                if opp:
                    side.state = Q.WANTNO
                    side.opposite = False
                    self._send(no, option)
                else:
                    side.state = Q.YES
        else:
            if s is Q.YES:
                side.state = Q.NO
                self._send(no, option)
            elif s is Q.WANTNO:
                if opp:
                    side.state = Q.WANTYES
                    side.opposite = False
                    self._send(yes, option)
                else:
                    side.state = Q.NO
            elif s is Q.WANTYES:
                side.state = Q.NO
                side.opposite = False
        after = side.state
        if after is not before and after in (Q.YES, Q.NO):
            events.append(OptionStateChanged(option, local, after is Q.YES))

    # -- parsing -----------------------------------------------------------------------------

    def receiveData(self, data: bytes) -> list[TelnetEvent]:
        """Take bytes from the peer; return the events they complete (in order)."""
        events: list[TelnetEvent] = []
        plain = bytearray()
        i, n = 0, len(data)
        while i < n:
            state = self._state
            if state == _DATA:
                # Copy runs without IAC or CR in one slice: linear and fast for bulk text.
                j = i
                while j < n and data[j] != IAC and data[j] != 13:
                    j += 1
                plain += data[i:j]
                if j == n:
                    break
                if data[j] == IAC:
                    self._state = _IAC
                else:
                    plain.append(13)
                    self._state = _CR
                i = j + 1
                continue
            b = data[i]
            i += 1
            if state == _CR:
                self._state = _DATA
                if b == 0:
                    continue  # CR NUL is a bare CR
                i -= 1  # CR LF or anything else: reparse this byte as data
                continue
            if state == _IAC:
                if b == IAC:
                    plain.append(IAC)
                    self._state = _DATA
                elif b in (WILL, WONT, DO, DONT):
                    self._verb = b
                    self._state = _NEGOTIATE
                elif b == SB:
                    self._state = _SB_OPTION
                else:
                    self._flush(plain, events)
                    self._state = _DATA
                    if b != SE:  # a stray SE is ignored
                        events.append(CommandReceived(b))
                continue
            if state == _NEGOTIATE:
                self._flush(plain, events)
                self._state = _DATA
                self._received(self._verb, b, events)
                continue
            if state == _SB_OPTION:
                self._sbOption = b
                self._sb.clear()
                self._sbOverflow = False
                self._state = _SB
                continue
            if state == _SB:
                if b == IAC:
                    self._state = _SB_IAC
                else:
                    self._sbAppend(b, plain, events)
                continue
            # _SB_IAC
            if b == SE:
                self._flush(plain, events)
                if not self._sbOverflow:
                    events.append(SubnegotiationReceived(self._sbOption, bytes(self._sb)))
                self._sb.clear()
                self._state = _DATA
            elif b == IAC:
                self._sbAppend(IAC, plain, events)
                self._state = _SB
            else:
                # Not allowed inside SB; end the subnegotiation (as telnetd does) and treat
                # the byte as a command.
                self._flush(plain, events)
                if not self._sbOverflow:
                    events.append(SubnegotiationReceived(self._sbOption, bytes(self._sb)))
                self._sb.clear()
                self._state = _IAC
                i -= 1
        self._flush(plain, events)
        return events

    def _sbAppend(self, b: int, plain: bytearray, events: list[TelnetEvent]) -> None:
        if self._sbOverflow:
            return
        if len(self._sb) >= self.maxSubnegotiation:
            self._sbOverflow = True
            self._sb.clear()
            self._flush(plain, events)
            events.append(SubnegotiationTooLong(self._sbOption, self.maxSubnegotiation))
            return
        self._sb.append(b)

    @staticmethod
    def _flush(plain: bytearray, events: list[TelnetEvent]) -> None:
        if plain:
            events.append(DataReceived(bytes(plain)))
            plain.clear()


_BARE_CR = re.compile(rb"\r(?!\n)")


def encodeData(data: bytes) -> bytes:
    """Escape application bytes for the wire: IAC doubled, a CR not before LF sent as CR NUL."""
    return _BARE_CR.sub(b"\r\x00", data.replace(b"\xff", b"\xff\xff"))


def encodeNAWS(width: int, height: int) -> bytes:
    """The NAWS subnegotiation payload (two 16-bit big-endian numbers)."""
    return width.to_bytes(2, "big") + height.to_bytes(2, "big")


def parseNAWS(payload: bytes) -> tuple[int, int] | None:
    """(width, height) from a NAWS payload, or None if it is not 4 bytes."""
    if len(payload) != 4:
        return None
    return int.from_bytes(payload[:2], "big"), int.from_bytes(payload[2:], "big")


def encodeTerminalType(name: str) -> bytes:
    """The TTYPE IS payload for ``name``."""
    return bytes([TTYPE_IS]) + name.encode("ascii")
