"""Sans-IO Telnet (RFC 854, 855; options ECHO 857, SGA 858, TTYPE 1091, NAWS 1073).

``TelnetMachine`` parses the peer's bytes into events (``DataReceived``, ``CommandReceived``,
``SubnegotiationReceived``, ``SubnegotiationTooLong``, ``OptionStateChanged``) and negotiates
options by the Q method of RFC 1143 (states ``Q.NO/YES/WANTNO/WANTYES`` with a queue bit per
side and option), so negotiation never loops. It undoes IAC doubling and CR NUL; ``encodeData``
does the reverse. Answers it owes the peer are read with ``dataToSend()``.

Errors: ``plait.wire.LocalProtocolError`` for a request that RFC 1143 calls an error (enabling
an enabled option, asking twice). Nothing the peer sends raises: an over-long subnegotiation is
the ``SubnegotiationTooLong`` event and is dropped.
"""

from plait.wire._telnet import (
    AO,
    AYT,
    BRK,
    DM,
    DO,
    DONT,
    EC,
    ECHO,
    EL,
    GA,
    IAC,
    IP,
    NAWS,
    NOP,
    SB,
    SE,
    SGA,
    TTYPE,
    TTYPE_IS,
    TTYPE_SEND,
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

__all__ = [
    "AO",
    "AYT",
    "BRK",
    "DM",
    "DO",
    "DONT",
    "EC",
    "ECHO",
    "EL",
    "GA",
    "IAC",
    "IP",
    "NAWS",
    "NOP",
    "SB",
    "SE",
    "SGA",
    "TTYPE",
    "TTYPE_IS",
    "TTYPE_SEND",
    "WILL",
    "WONT",
    "CommandReceived",
    "DataReceived",
    "OptionStateChanged",
    "Q",
    "SubnegotiationReceived",
    "SubnegotiationTooLong",
    "TelnetMachine",
    "encodeData",
    "encodeNAWS",
    "encodeTerminalType",
    "parseNAWS",
]
