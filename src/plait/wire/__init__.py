"""Sans-IO protocol machines (layer L0): bytes in, events out, no I/O and no plait imports.

Framing (``plait.wire.framing``): ``LineSplitter`` (delimited lines with a raw mode; events
``LineReceived``, ``LineTooLong``, ``RawDataReceived``), ``LengthPrefixedDecoder`` (1/2/4-byte
big-endian prefixes; ``StringReceived``, ``LengthLimitExceeded``), ``NetstringDecoder``
(``StringReceived``), and the encoders ``encodeLengthPrefixed``/``encodeNetstring``.

Errors (shared by every machine here, as in h11)::

    ProtocolError
    ├── LocalProtocolError     we misused a machine (bad argument, too-long outgoing string,
    │                          feeding a machine that stopped after an error)
    └── RemoteProtocolError    the peer broke the protocol
        └── NetstringParseError
"""

from plait.wire._errors import (
    LocalProtocolError,
    NetstringParseError,
    ProtocolError,
    RemoteProtocolError,
)
from plait.wire._framing import (
    LengthLimitExceeded,
    LengthPrefixedDecoder,
    LineReceived,
    LineSplitter,
    LineTooLong,
    NetstringDecoder,
    RawDataReceived,
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
