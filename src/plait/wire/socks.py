"""Sans-IO SOCKS4, SOCKS4a and SOCKS5 (RFC 1928, RFC 1929) server-side parsing.

``SOCKSParser`` turns the client's bytes into events: ``MethodsOffered`` (SOCKS5 greeting),
``CredentialsReceived`` (RFC 1929), ``SOCKSRequestReceived`` (the destination). The caller
answers with ``chooseMethod``/``authenticated`` and the bytes from ``socks4Reply``,
``socks5MethodReply``, ``socks5AuthReply`` and ``socks5Reply``.

Errors: ``SOCKSProtocolError`` (a ``plait.wire.RemoteProtocolError``) for malformed input or
over-long fields; ``plait.wire.LocalProtocolError`` for calls out of order.
"""

from plait.wire._socks import (
    CONNECT,
    METHOD_NO_ACCEPTABLE,
    METHOD_NONE,
    METHOD_USERNAME_PASSWORD,
    SOCKS4_GRANTED,
    SOCKS4_REJECTED,
    SOCKS5_ADDRESS_NOT_SUPPORTED,
    SOCKS5_COMMAND_NOT_SUPPORTED,
    SOCKS5_CONNECTION_REFUSED,
    SOCKS5_GENERAL_FAILURE,
    SOCKS5_HOST_UNREACHABLE,
    SOCKS5_NOT_ALLOWED,
    SOCKS5_SUCCEEDED,
    CredentialsReceived,
    MethodsOffered,
    SOCKSParser,
    SOCKSProtocolError,
    SOCKSRequestReceived,
    socks4Reply,
    socks5AuthReply,
    socks5MethodReply,
    socks5Reply,
)

__all__ = [
    "CONNECT",
    "METHOD_NONE",
    "METHOD_NO_ACCEPTABLE",
    "METHOD_USERNAME_PASSWORD",
    "SOCKS4_GRANTED",
    "SOCKS4_REJECTED",
    "SOCKS5_ADDRESS_NOT_SUPPORTED",
    "SOCKS5_COMMAND_NOT_SUPPORTED",
    "SOCKS5_CONNECTION_REFUSED",
    "SOCKS5_GENERAL_FAILURE",
    "SOCKS5_HOST_UNREACHABLE",
    "SOCKS5_NOT_ALLOWED",
    "SOCKS5_SUCCEEDED",
    "CredentialsReceived",
    "MethodsOffered",
    "SOCKSParser",
    "SOCKSProtocolError",
    "SOCKSRequestReceived",
    "socks4Reply",
    "socks5AuthReply",
    "socks5MethodReply",
    "socks5Reply",
]
