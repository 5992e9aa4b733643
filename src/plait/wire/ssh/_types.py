"""RFC 4251 §5 data types, message numbers and disconnect reasons shared by every SSH machine."""

from __future__ import annotations

import enum
import struct

from plait.wire._errors import RemoteProtocolError

__all__ = [
    "MSG",
    "DisconnectReason",
    "SSHDisconnectError",
    "SSHReader",
    "SSHWriter",
    "encodeMPInt",
    "encodeNameList",
    "encodeString",
    "encodeUInt32",
]

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_unpackU32 = _U32.unpack_from


class MSG(enum.IntEnum):
    """SSH message numbers (RFC 4250 §4.1, RFC 4256, RFC 8308)."""

    DISCONNECT = 1
    IGNORE = 2
    UNIMPLEMENTED = 3
    DEBUG = 4
    SERVICE_REQUEST = 5
    SERVICE_ACCEPT = 6
    EXT_INFO = 7
    KEXINIT = 20
    NEWKEYS = 21
    KEXDH_INIT = 30  # also KEX_ECDH_INIT and the hybrid/PQ kex init
    KEXDH_REPLY = 31  # also KEX_ECDH_REPLY
    USERAUTH_REQUEST = 50
    USERAUTH_FAILURE = 51
    USERAUTH_SUCCESS = 52
    USERAUTH_BANNER = 53
    USERAUTH_PK_OK = 60  # also USERAUTH_INFO_REQUEST (keyboard-interactive)
    USERAUTH_INFO_RESPONSE = 61
    GLOBAL_REQUEST = 80
    REQUEST_SUCCESS = 81
    REQUEST_FAILURE = 82
    CHANNEL_OPEN = 90
    CHANNEL_OPEN_CONFIRMATION = 91
    CHANNEL_OPEN_FAILURE = 92
    CHANNEL_WINDOW_ADJUST = 93
    CHANNEL_DATA = 94
    CHANNEL_EXTENDED_DATA = 95
    CHANNEL_EOF = 96
    CHANNEL_CLOSE = 97
    CHANNEL_REQUEST = 98
    CHANNEL_SUCCESS = 99
    CHANNEL_FAILURE = 100


class DisconnectReason(enum.IntEnum):
    """SSH_MSG_DISCONNECT reason codes (RFC 4250 §4.2.2)."""

    HOST_NOT_ALLOWED_TO_CONNECT = 1
    PROTOCOL_ERROR = 2
    KEY_EXCHANGE_FAILED = 3
    RESERVED = 4
    MAC_ERROR = 5
    COMPRESSION_ERROR = 6
    SERVICE_NOT_AVAILABLE = 7
    PROTOCOL_VERSION_NOT_SUPPORTED = 8
    HOST_KEY_NOT_VERIFIABLE = 9
    CONNECTION_LOST = 10
    BY_APPLICATION = 11
    TOO_MANY_CONNECTIONS = 12
    AUTH_CANCELLED_BY_USER = 13
    NO_MORE_AUTH_METHODS_AVAILABLE = 14
    ILLEGAL_USER_NAME = 15


class SSHDisconnectError(RemoteProtocolError):
    """The connection must end with SSH_MSG_DISCONNECT ``reason`` (sent or received).

    Raised by a machine when the peer broke the protocol (the machine has then queued the
    DISCONNECT message for the peer), and used in events when the peer disconnected us.
    """

    def __init__(self, reason: int, description: str = "") -> None:
        self.reason = reason
        self.description = description
        try:
            name = DisconnectReason(reason).name
        except ValueError:
            name = str(reason)
        super().__init__(f"{name}: {description}" if description else name)


def encodeUInt32(value: int) -> bytes:
    """A uint32."""
    return _U32.pack(value)


def encodeString(value: bytes) -> bytes:
    """A length-prefixed string."""
    return _U32.pack(len(value)) + value


def encodeNameList(names: list[str] | tuple[str, ...]) -> bytes:
    """A comma-separated US-ASCII name-list."""
    return encodeString(",".join(names).encode("ascii"))


def encodeMPInt(value: int) -> bytes:
    """A two's-complement multiple-precision integer, minimal length (RFC 4251 §5)."""
    if value == 0:
        return b"\x00\x00\x00\x00"
    length = (value.bit_length() + 8) // 8  # room for the sign bit
    return encodeString(value.to_bytes(length, "big", signed=True))


class SSHWriter:
    """Builds a message payload: ``SSHWriter(MSG.X).string(b"..").uint32(1).bytes()``."""

    __slots__ = ("_parts",)

    def __init__(self, msg: int | None = None) -> None:
        self._parts: list[bytes] = [] if msg is None else [bytes((msg,))]

    def byte(self, value: int) -> SSHWriter:
        """Append one byte."""
        self._parts.append(bytes((value,)))
        return self

    def boolean(self, value: bool) -> SSHWriter:
        """Append a boolean."""
        self._parts.append(b"\x01" if value else b"\x00")
        return self

    def uint32(self, value: int) -> SSHWriter:
        """Append a uint32."""
        self._parts.append(_U32.pack(value))
        return self

    def uint64(self, value: int) -> SSHWriter:
        """Append a uint64."""
        self._parts.append(_U64.pack(value))
        return self

    def string(self, value: bytes | str) -> SSHWriter:
        """Append a string (``str`` is encoded as UTF-8)."""
        if isinstance(value, str):
            value = value.encode("utf-8")
        self._parts.append(_U32.pack(len(value)))
        self._parts.append(value)
        return self

    def mpint(self, value: int) -> SSHWriter:
        """Append an mpint."""
        self._parts.append(encodeMPInt(value))
        return self

    def nameList(self, names: list[str] | tuple[str, ...]) -> SSHWriter:
        """Append a name-list."""
        self._parts.append(encodeNameList(names))
        return self

    def raw(self, value: bytes) -> SSHWriter:
        """Append bytes as they are."""
        self._parts.append(value)
        return self

    def bytes(self) -> bytes:
        """The payload built so far."""
        return b"".join(self._parts)


class SSHReader:
    """Reads RFC 4251 types from a payload; a short or malformed payload raises.

    Every read past the end raises ``SSHDisconnectError(PROTOCOL_ERROR)``, a
    ``RemoteProtocolError``, so a truncated message from the peer never becomes an ``IndexError``.
    """

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = data
        self._pos = pos

    def _need(self, n: int) -> int:
        pos = self._pos
        if n < 0 or pos + n > len(self._data):
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "truncated message")
        self._pos = pos + n
        return pos

    def byte(self) -> int:
        """Read one byte."""
        return self._data[self._need(1)]

    def boolean(self) -> bool:
        """Read a boolean (any non-zero byte is true)."""
        return self._data[self._need(1)] != 0

    def uint32(self) -> int:
        """Read a uint32."""
        # Inlined bounds check and unpack: this is the hottest read on the server's path.
        pos = self._pos
        end = pos + 4
        if end > len(self._data):
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "truncated message")
        value: int = _unpackU32(self._data, pos)[0]
        self._pos = end
        return value

    def uint64(self) -> int:
        """Read a uint64."""
        return int(_U64.unpack_from(self._data, self._need(8))[0])

    def string(self) -> bytes:
        """Read a string."""
        data = self._data
        start = self._pos + 4
        if start > len(data):
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "truncated message")
        end = start + _unpackU32(data, start - 4)[0]
        if end > len(data):
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "truncated message")
        self._pos = end
        return data[start:end]

    def text(self) -> str:
        """Read a string holding UTF-8 text."""
        raw = self.string()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "invalid UTF-8") from None

    def mpint(self) -> int:
        """Read an mpint."""
        return int.from_bytes(self.string(), "big", signed=True)

    def nameList(self) -> list[str]:
        """Read a name-list (empty string -> empty list)."""
        raw = self.string()
        if not raw:
            return []
        try:
            return raw.decode("ascii").split(",")
        except UnicodeDecodeError:
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "non-ASCII name") from None

    def raw(self, n: int) -> bytes:
        """Read ``n`` bytes as they are."""
        pos = self._need(n)
        return self._data[pos : pos + n]

    def rest(self) -> bytes:
        """Read everything left."""
        pos = self._pos
        self._pos = len(self._data)
        return self._data[pos:]

    def remaining(self) -> int:
        """How many bytes are left."""
        return len(self._data) - self._pos

    def done(self) -> None:
        """Raise if anything is left (a message with trailing garbage)."""
        if self._pos != len(self._data):
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "trailing bytes in message")
