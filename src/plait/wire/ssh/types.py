"""RFC 4251 data types, message numbers and disconnect reasons (see ``plait.wire.ssh``)."""

from plait.wire.ssh._types import (
    MSG,
    DisconnectReason,
    SSHDisconnectError,
    SSHReader,
    SSHWriter,
    encodeMPInt,
    encodeNameList,
    encodeString,
    encodeUInt32,
)

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
