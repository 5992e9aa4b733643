"""RFC 4254 (the SSH connection protocol): message codecs and channel window accounting.

Every message of the connection protocol is a frozen dataclass with ``messageType`` (its
``MSG`` number), ``toPayload()`` (the payload without the message-number byte, as
``ISSHTransport.sendPacket`` takes it) and ``fromPayload(payload)``; ``parseMessage(number,
payload)`` picks the class. The request- and channel-type-specific data (``pty-req``,
``exec``, ``direct-tcpip``, ``tcpip-forward``...) have their own dataclasses with
``toData()``/``fromData()``. A malformed message raises ``SSHDisconnectError(PROTOCOL_ERROR)``.

``LocalWindow`` and ``RemoteWindow`` keep a channel's flow-control accounting (§5.2): data past
the window we granted or larger than our maximum packet is a protocol error, and a window
adjustment that would take the peer's window past 2**32-1 is refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import ClassVar, TypeVar

from plait.wire.ssh._types import MSG, DisconnectReason, SSHDisconnectError, SSHReader, SSHWriter

__all__ = [
    "EXTENDED_DATA_STDERR",
    "MAX_WINDOW",
    "ChannelClose",
    "ChannelData",
    "ChannelEOF",
    "ChannelExtendedData",
    "ChannelFailure",
    "ChannelOpen",
    "ChannelOpenConfirmation",
    "ChannelOpenFailure",
    "ChannelRequest",
    "ChannelSuccess",
    "ChannelWindowAdjust",
    "DirectTCPIP",
    "EnvRequest",
    "ExecRequest",
    "ExitSignal",
    "ExitStatus",
    "ForwardedTCPIP",
    "GlobalRequest",
    "LocalWindow",
    "OpenFailureReason",
    "PtyRequest",
    "RemoteWindow",
    "RequestFailure",
    "RequestSuccess",
    "SignalRequest",
    "SubsystemRequest",
    "TCPIPForward",
    "TerminalMode",
    "WindowChange",
    "X11Request",
    "XonXoff",
    "decodeTerminalModes",
    "encodeTerminalModes",
    "parseMessage",
]

MAX_WINDOW = 2**32 - 1
EXTENDED_DATA_STDERR = 1
# The most data we put in one packet whatever maximum the peer announces: the transport sends
# payloads of up to 256 KiB (OpenSSH's PACKET_MAX_SIZE, which bounds the whole packet), so a
# peer announcing 2**32-1 must not make us build a packet nobody can send or receive.
_MAX_SEND_PACKET = 256 * 1024 - 4096


def _protocolError(description: str) -> SSHDisconnectError:
    return SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, description)


class OpenFailureReason(enum.IntEnum):
    """SSH_MSG_CHANNEL_OPEN_FAILURE reason codes (RFC 4254 §5.1)."""

    ADMINISTRATIVELY_PROHIBITED = 1
    CONNECT_FAILED = 2
    UNKNOWN_CHANNEL_TYPE = 3
    RESOURCE_SHORTAGE = 4


class TerminalMode(enum.IntEnum):
    """Encoded terminal mode opcodes (RFC 4254 §8, RFC 8160 for IUTF8)."""

    TTY_OP_END = 0
    VINTR = 1
    VQUIT = 2
    VERASE = 3
    VKILL = 4
    VEOF = 5
    VEOL = 6
    VEOL2 = 7
    VSTART = 8
    VSTOP = 9
    VSUSP = 10
    VDSUSP = 11
    VREPRINT = 12
    VWERASE = 13
    VLNEXT = 14
    VFLUSH = 15
    VSWTCH = 16
    VSTATUS = 17
    VDISCARD = 18
    IGNPAR = 30
    PARMRK = 31
    INPCK = 32
    ISTRIP = 33
    INLCR = 34
    IGNCR = 35
    ICRNL = 36
    IUCLC = 37
    IXON = 38
    IXANY = 39
    IXOFF = 40
    IMAXBEL = 41
    IUTF8 = 42
    ISIG = 50
    ICANON = 51
    XCASE = 52
    ECHO = 53
    ECHOE = 54
    ECHOK = 55
    ECHONL = 56
    NOFLSH = 57
    TOSTOP = 58
    IEXTEN = 59
    ECHOCTL = 60
    ECHOKE = 61
    PENDIN = 62
    OPOST = 70
    OLCUC = 71
    ONLCR = 72
    OCRNL = 73
    ONOCR = 74
    ONLRET = 75
    CS7 = 90
    CS8 = 91
    PARENB = 92
    PARODD = 93
    TTY_OP_ISPEED = 128
    TTY_OP_OSPEED = 129


def encodeTerminalModes(modes: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> bytes:
    """The ``encoded terminal modes`` string body: (opcode, uint32 value)..., TTY_OP_END."""
    w = SSHWriter()
    for opcode, value in modes:
        if not 0 < opcode < 160:
            raise ValueError(f"terminal mode opcode {opcode} has no uint32 argument")
        w.byte(opcode).uint32(value)
    return w.byte(TerminalMode.TTY_OP_END).bytes()


def decodeTerminalModes(data: bytes) -> list[tuple[int, int]]:
    """Parse encoded terminal modes into (opcode, value) pairs, in order.

    Parsing stops at TTY_OP_END, at the end of the data, or at an opcode of 160 or above
    (whose argument format is undefined, RFC 4254 §8).
    """
    r = SSHReader(data)
    modes: list[tuple[int, int]] = []
    while r.remaining():
        opcode = r.byte()
        if opcode == TerminalMode.TTY_OP_END or opcode >= 160:
            break
        modes.append((opcode, r.uint32()))
    return modes


# -- messages ------------------------------------------------------------------------------

_Self = TypeVar("_Self", bound="_Record")


class _Record:
    """A sequence of RFC 4251 fields, one per dataclass field, laid out by ``_layout``.

    Each layout entry names the ``SSHWriter``/``SSHReader`` method for its field: ``string``,
    ``text`` (a UTF-8 string), ``uint32``, ``boolean``, or ``rest`` (everything that follows,
    last only). Records without ``rest`` refuse trailing bytes.
    """

    __slots__ = ()
    _layout: ClassVar[tuple[str, ...]] = ()

    def _encode(self) -> bytes:
        w = SSHWriter()
        for kind, f in zip(self._layout, fields(self), strict=True):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if kind == "rest":
                w.raw(value)
            elif kind == "text":
                w.string(value)
            else:
                getattr(w, kind)(value)
        return w.bytes()

    @classmethod
    def _decode(cls: type[_Self], data: bytes) -> _Self:
        r = SSHReader(data)
        values = [r.rest() if kind == "rest" else getattr(r, kind)() for kind in cls._layout]
        if cls._layout[-1:] != ("rest",):
            r.done()
        return cls(*values)


class _Message(_Record):
    """A connection-protocol message: ``toPayload()`` / ``fromPayload(payload)``."""

    __slots__ = ()
    messageType: ClassVar[int]

    def toPayload(self) -> bytes:
        """The payload, without the message-number byte."""
        return self._encode()

    @classmethod
    def fromPayload(cls: type[_Self], payload: bytes) -> _Self:
        """Parse a payload; a malformed one raises ``SSHDisconnectError``."""
        return cls._decode(payload)


class _Data(_Record):
    """Request- or channel-type-specific data: ``toData()`` / ``fromData(data)``."""

    __slots__ = ()

    def toData(self) -> bytes:
        """The type-specific data."""
        return self._encode()

    @classmethod
    def fromData(cls: type[_Self], data: bytes) -> _Self:
        """Parse type-specific data; a malformed one raises ``SSHDisconnectError``."""
        return cls._decode(data)


@dataclass(frozen=True, slots=True)
class GlobalRequest(_Message):
    """SSH_MSG_GLOBAL_REQUEST (§4): ``requestType`` with type-specific ``data``."""

    messageType: ClassVar[int] = MSG.GLOBAL_REQUEST
    _layout = ("string", "boolean", "rest")
    requestType: bytes
    wantReply: bool
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class RequestSuccess(_Message):
    """SSH_MSG_REQUEST_SUCCESS; ``data`` is request-specific (the bound port for port 0)."""

    messageType: ClassVar[int] = MSG.REQUEST_SUCCESS
    _layout = ("rest",)
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class RequestFailure(_Message):
    """SSH_MSG_REQUEST_FAILURE (trailing bytes are tolerated, as OpenSSH does)."""

    messageType: ClassVar[int] = MSG.REQUEST_FAILURE
    _layout = ("rest",)
    ignored: bytes = b""


@dataclass(frozen=True, slots=True)
class ChannelOpen(_Message):
    """SSH_MSG_CHANNEL_OPEN (§5.1)."""

    messageType: ClassVar[int] = MSG.CHANNEL_OPEN
    _layout = ("string", "uint32", "uint32", "uint32", "rest")
    channelType: bytes
    senderChannel: int
    initialWindow: int
    maxPacket: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class ChannelOpenConfirmation(_Message):
    """SSH_MSG_CHANNEL_OPEN_CONFIRMATION."""

    messageType: ClassVar[int] = MSG.CHANNEL_OPEN_CONFIRMATION
    _layout = ("uint32", "uint32", "uint32", "uint32", "rest")
    recipientChannel: int
    senderChannel: int
    initialWindow: int
    maxPacket: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class ChannelOpenFailure(_Message):
    """SSH_MSG_CHANNEL_OPEN_FAILURE with an ``OpenFailureReason`` code."""

    messageType: ClassVar[int] = MSG.CHANNEL_OPEN_FAILURE
    _layout = ("uint32", "uint32", "string", "string")
    recipientChannel: int
    reasonCode: int
    description: bytes = b""
    language: bytes = b""


@dataclass(frozen=True, slots=True)
class ChannelWindowAdjust(_Message):
    """SSH_MSG_CHANNEL_WINDOW_ADJUST (§5.2)."""

    messageType: ClassVar[int] = MSG.CHANNEL_WINDOW_ADJUST
    _layout = ("uint32", "uint32")
    recipientChannel: int
    bytesToAdd: int


@dataclass(frozen=True, slots=True)
class ChannelData(_Message):
    """SSH_MSG_CHANNEL_DATA."""

    messageType: ClassVar[int] = MSG.CHANNEL_DATA
    _layout = ("uint32", "string")
    recipientChannel: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ChannelExtendedData(_Message):
    """SSH_MSG_CHANNEL_EXTENDED_DATA; ``dataType`` 1 is stderr."""

    messageType: ClassVar[int] = MSG.CHANNEL_EXTENDED_DATA
    _layout = ("uint32", "uint32", "string")
    recipientChannel: int
    dataType: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ChannelEOF(_Message):
    """SSH_MSG_CHANNEL_EOF."""

    messageType: ClassVar[int] = MSG.CHANNEL_EOF
    _layout = ("uint32",)
    recipientChannel: int


@dataclass(frozen=True, slots=True)
class ChannelClose(_Message):
    """SSH_MSG_CHANNEL_CLOSE."""

    messageType: ClassVar[int] = MSG.CHANNEL_CLOSE
    _layout = ("uint32",)
    recipientChannel: int


@dataclass(frozen=True, slots=True)
class ChannelRequest(_Message):
    """SSH_MSG_CHANNEL_REQUEST (§5.4): ``requestType`` with type-specific ``data``."""

    messageType: ClassVar[int] = MSG.CHANNEL_REQUEST
    _layout = ("uint32", "string", "boolean", "rest")
    recipientChannel: int
    requestType: bytes
    wantReply: bool
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class ChannelSuccess(_Message):
    """SSH_MSG_CHANNEL_SUCCESS."""

    messageType: ClassVar[int] = MSG.CHANNEL_SUCCESS
    _layout = ("uint32",)
    recipientChannel: int


@dataclass(frozen=True, slots=True)
class ChannelFailure(_Message):
    """SSH_MSG_CHANNEL_FAILURE."""

    messageType: ClassVar[int] = MSG.CHANNEL_FAILURE
    _layout = ("uint32",)
    recipientChannel: int


Message = (
    GlobalRequest
    | RequestSuccess
    | RequestFailure
    | ChannelOpen
    | ChannelOpenConfirmation
    | ChannelOpenFailure
    | ChannelWindowAdjust
    | ChannelData
    | ChannelExtendedData
    | ChannelEOF
    | ChannelClose
    | ChannelRequest
    | ChannelSuccess
    | ChannelFailure
)

_CLASSES: dict[int, type[Message]] = {
    cls.messageType: cls
    for cls in (
        GlobalRequest,
        RequestSuccess,
        RequestFailure,
        ChannelOpen,
        ChannelOpenConfirmation,
        ChannelOpenFailure,
        ChannelWindowAdjust,
        ChannelData,
        ChannelExtendedData,
        ChannelEOF,
        ChannelClose,
        ChannelRequest,
        ChannelSuccess,
        ChannelFailure,
    )
}


def parseMessage(messageNum: int, payload: bytes) -> Message:
    """Parse a connection-protocol message (numbers 80-100); others raise ``ValueError``."""
    cls = _CLASSES.get(messageNum)
    if cls is None:
        raise ValueError(f"message {messageNum} is not a connection-protocol message")
    return cls.fromPayload(payload)


# -- request- and channel-type-specific data -------------------------------------------------


@dataclass(frozen=True, slots=True)
class TCPIPForward(_Data):
    """``tcpip-forward`` / ``cancel-tcpip-forward`` global request data (§7.1)."""

    _layout = ("text", "uint32")
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class DirectTCPIP(_Data):
    """``direct-tcpip`` channel-open data (§7.2): where to connect, and who asked."""

    _layout = ("text", "uint32", "text", "uint32")
    host: str
    port: int
    originatorAddress: str
    originatorPort: int


@dataclass(frozen=True, slots=True)
class ForwardedTCPIP(_Data):
    """``forwarded-tcpip`` channel-open data (§7.2): the forwarded address that was hit."""

    _layout = ("text", "uint32", "text", "uint32")
    connectedAddress: str
    connectedPort: int
    originatorAddress: str
    originatorPort: int


@dataclass(frozen=True, slots=True)
class PtyRequest(_Data):
    """``pty-req`` data (§6.2); ``modes`` are decoded (opcode, value) pairs."""

    _layout = ("string", "uint32", "uint32", "uint32", "uint32", "string")
    term: bytes
    columns: int
    rows: int
    width: int = 0
    height: int = 0
    modes: tuple[tuple[int, int], ...] = field(default=())

    def toData(self) -> bytes:
        """The request data (modes encoded)."""
        w = SSHWriter().string(self.term).uint32(self.columns).uint32(self.rows)
        w.uint32(self.width).uint32(self.height).string(encodeTerminalModes(self.modes))
        return w.bytes()

    @classmethod
    def fromData(cls, data: bytes) -> PtyRequest:
        """Parse request data (modes decoded)."""
        r = SSHReader(data)
        term, cols, rows, width, height = r.string(), r.uint32(), r.uint32(), r.uint32(), r.uint32()
        modes = tuple(decodeTerminalModes(r.string()))
        r.done()
        return cls(term, cols, rows, width, height, modes)


@dataclass(frozen=True, slots=True)
class X11Request(_Data):
    """``x11-req`` data (§6.3.1); plait's server refuses it, but parses it."""

    _layout = ("boolean", "string", "string", "uint32")
    singleConnection: bool
    authProtocol: bytes
    authCookie: bytes
    screen: int


@dataclass(frozen=True, slots=True)
class EnvRequest(_Data):
    """``env`` data (§6.4)."""

    _layout = ("string", "string")
    name: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class ExecRequest(_Data):
    """``exec`` data (§6.5): the command line."""

    _layout = ("string",)
    command: bytes


@dataclass(frozen=True, slots=True)
class SubsystemRequest(_Data):
    """``subsystem`` data (§6.5): the subsystem name (``sftp``)."""

    _layout = ("string",)
    name: bytes


@dataclass(frozen=True, slots=True)
class WindowChange(_Data):
    """``window-change`` data (§6.7)."""

    _layout = ("uint32", "uint32", "uint32", "uint32")
    columns: int
    rows: int
    width: int = 0
    height: int = 0


@dataclass(frozen=True, slots=True)
class XonXoff(_Data):
    """``xon-xoff`` data (§6.8): whether the client may do flow control locally."""

    _layout = ("boolean",)
    clientCanDo: bool


@dataclass(frozen=True, slots=True)
class SignalRequest(_Data):
    """``signal`` data (§6.9): a signal name without ``SIG`` (``INT``, ``TERM``...)."""

    _layout = ("text",)
    name: str


@dataclass(frozen=True, slots=True)
class ExitStatus(_Data):
    """``exit-status`` data (§6.10)."""

    _layout = ("uint32",)
    status: int


@dataclass(frozen=True, slots=True)
class ExitSignal(_Data):
    """``exit-signal`` data (§6.10): signal name without ``SIG``, core dumped, message."""

    _layout = ("text", "boolean", "text", "string")
    signalName: str
    coreDumped: bool = False
    errorMessage: str = ""
    language: bytes = b""


# -- windows ---------------------------------------------------------------------------------


class LocalWindow:
    """The window we granted the peer for one channel (what it may still send us).

    ``received(n)`` accounts for incoming data (a protocol error past the window or larger
    than ``maxPacket``); ``consumed(n)`` records that the application has taken ``n`` bytes;
    ``adjustment()`` returns how much to grant back in a WINDOW_ADJUST once half of the
    initial window has been consumed (0 when no adjust is due), and counts it as granted.
    """

    __slots__ = ("_consumed", "available", "initial", "maxPacket")

    def __init__(self, initial: int, maxPacket: int) -> None:
        if not 0 <= initial <= MAX_WINDOW or not 0 < maxPacket <= MAX_WINDOW:
            raise ValueError("window and maximum packet must fit a uint32")
        self.initial = initial
        self.maxPacket = maxPacket
        self.available = initial
        self._consumed = 0

    def received(self, n: int) -> None:
        """``n`` bytes of (extended) data arrived; raises if the peer overran the window."""
        if n > self.maxPacket:
            raise _protocolError(f"channel data of {n} bytes exceeds maximum packet")
        if n > self.available:
            raise _protocolError(f"channel data of {n} bytes exceeds window {self.available}")
        self.available -= n

    def consumed(self, n: int) -> None:
        """The application took ``n`` bytes of what was received."""
        self._consumed += n

    def adjustment(self) -> int:
        """Bytes to grant back now (0 if under half of the initial window was consumed)."""
        if self._consumed == 0 or self._consumed < self.initial // 2:
            return 0
        grant = min(self._consumed, MAX_WINDOW - self.available)
        self._consumed -= grant
        self.available += grant
        return grant


class RemoteWindow:
    """The window the peer granted us (what we may still send) and its maximum packet
    (capped at what one transport packet can carry, whatever the peer announced)."""

    __slots__ = ("available", "maxPacket")

    def __init__(self, initial: int, maxPacket: int) -> None:
        self.available = initial
        self.maxPacket = min(maxPacket, _MAX_SEND_PACKET)

    def adjust(self, n: int) -> None:
        """Apply a WINDOW_ADJUST; one taking the window past 2**32-1 is a protocol error."""
        if self.available + n > MAX_WINDOW:
            raise _protocolError("window adjustment past 2**32-1")
        self.available += n

    def allowance(self, wanted: int) -> int:
        """How many of ``wanted`` bytes may go in the next packet."""
        return max(0, min(wanted, self.available, self.maxPacket))

    def take(self, n: int) -> None:
        """``n`` bytes were sent."""
        if n > self.available:
            raise ValueError("sending past the remote window")
        self.available -= n
