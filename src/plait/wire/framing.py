"""The framing machines under their own name (``plait.wire.framing``); see ``plait.wire``."""

from plait.wire import (
    LengthLimitExceeded,
    LengthPrefixedDecoder,
    LineReceived,
    LineSplitter,
    LineTooLong,
    LocalProtocolError,
    NetstringDecoder,
    NetstringParseError,
    ProtocolError,
    RawDataReceived,
    RemoteProtocolError,
    StringReceived,
    encodeLengthPrefixed,
    encodeNetstring,
)

__all__ = [
    "LengthLimitExceeded",
    "LengthPrefixedDecoder",
    "LineReceived",
    "LineSplitter",
    "LineTooLong",
    "LocalProtocolError",
    "NetstringDecoder",
    "NetstringParseError",
    "ProtocolError",
    "RawDataReceived",
    "RemoteProtocolError",
    "StringReceived",
    "encodeLengthPrefixed",
    "encodeNetstring",
]
