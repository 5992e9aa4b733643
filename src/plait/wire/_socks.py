"""Sans-IO SOCKS4/4a/5 server-side request parser.

The machine reads what a SOCKS client sends before relaying starts and gives back events; the
adapter decides (method, authentication, destination policy) and writes the replies built by
the ``*Reply`` functions. Every field is bounded by the protocol (names and credentials are at
most 255 bytes), and the SOCKS4 NUL-terminated fields by ``maxFieldLength``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from plait.wire._errors import LocalProtocolError, RemoteProtocolError

CONNECT = 1
BIND = 2
UDP_ASSOCIATE = 3

METHOD_NONE = 0x00
METHOD_USERNAME_PASSWORD = 0x02
METHOD_NO_ACCEPTABLE = 0xFF

SOCKS4_GRANTED = 90
SOCKS4_REJECTED = 91

SOCKS5_SUCCEEDED = 0
SOCKS5_GENERAL_FAILURE = 1
SOCKS5_NOT_ALLOWED = 2
SOCKS5_HOST_UNREACHABLE = 4
SOCKS5_CONNECTION_REFUSED = 5
SOCKS5_COMMAND_NOT_SUPPORTED = 7
SOCKS5_ADDRESS_NOT_SUPPORTED = 8


class SOCKSProtocolError(RemoteProtocolError):
    """The client sent something that is not a SOCKS request (or an over-long field)."""


@dataclass(frozen=True, slots=True)
class MethodsOffered:
    """A SOCKS5 greeting: the authentication methods the client offers.

    Answer with ``parser.chooseMethod(method)`` and send ``socks5MethodReply(method)``.
    """

    methods: bytes


@dataclass(frozen=True, slots=True)
class CredentialsReceived:
    """RFC 1929 username/password sub-negotiation; answer with ``socks5AuthReply``."""

    username: bytes
    password: bytes


@dataclass(frozen=True, slots=True)
class SOCKSRequestReceived:
    """A request: ``version`` 4 or 5, ``command`` (1 CONNECT, 2 BIND, 3 UDP ASSOCIATE).

    ``host`` is an IP address string, or a name (``isHostname``) for SOCKS4a and SOCKS5
    domain names; ``userid`` is SOCKS4's user id (empty for SOCKS5). For SOCKS5, an
    ``addressType`` that is not 1, 3 or 4 is reported with ``host`` empty so the adapter can
    answer ``SOCKS5_ADDRESS_NOT_SUPPORTED``.
    """

    version: int
    command: int
    host: str
    port: int
    isHostname: bool = False
    userid: bytes = b""
    addressType: int = 1


_Event = MethodsOffered | CredentialsReceived | SOCKSRequestReceived

# States
_VERSION = "version"
_V4 = "socks4"
_V5_GREETING = "socks5-greeting"
_V5_METHOD = "socks5-await-method"
_V5_AUTH = "socks5-auth"
_V5_REQUEST = "socks5-request"
_DONE = "done"
_ERROR = "error"


class SOCKSParser:
    """Feed client bytes with ``receiveData``; get events; bytes after the request are kept.

    After ``SOCKSRequestReceived`` the machine is done: later bytes (the client may pipeline
    its first payload) are returned by ``takeTrailingData``. The buffer never holds more than
    one request (at most about ``2 * maxFieldLength + 10`` bytes); a longer field is a
    ``SOCKSProtocolError``.
    """

    def __init__(self, maxFieldLength: int = 255) -> None:
        self.maxFieldLength = maxFieldLength
        self.state = _VERSION
        self._buffer = bytearray()
        self._trailing = bytearray()
        self._scanned = 0  # SOCKS4: how far NUL terminators were already searched for
        self._useridEnd = -1  # SOCKS4: where the user id's NUL is, once found

    def receiveData(self, data: bytes) -> list[_Event]:
        """Take bytes from the client; return the events they complete."""
        if self.state == _ERROR:
            raise LocalProtocolError("SOCKSParser: fed after a protocol error")
        if self.state == _DONE:
            self._trailing += data
            return []
        self._buffer += data
        events: list[_Event] = []
        try:
            while self._buffer and self._step(events):
                pass
        except SOCKSProtocolError:
            self.state = _ERROR
            raise
        return events

    def chooseMethod(self, method: int) -> list[_Event]:
        """Tell the machine which SOCKS5 method the server picked after ``MethodsOffered``.

        Returns the events of any bytes the client already pipelined after its greeting.
        """
        if self.state != _V5_METHOD:
            raise LocalProtocolError(f"chooseMethod in state {self.state}")
        if method == METHOD_USERNAME_PASSWORD:
            self.state = _V5_AUTH
        elif method == METHOD_NONE:
            self.state = _V5_REQUEST
        else:
            self.state = _ERROR
            return []
        return self.receiveData(b"")

    def authenticated(self) -> list[_Event]:
        """The credentials were accepted: the SOCKS5 request comes next (events of pipelined
        bytes are returned)."""
        if self.state != _V5_AUTH + "-checking":
            raise LocalProtocolError(f"authenticated in state {self.state}")
        self.state = _V5_REQUEST
        return self.receiveData(b"")

    def takeTrailingData(self) -> bytes:
        """Bytes received after the request (and left over in the buffer), then forget them."""
        data = bytes(self._buffer) + bytes(self._trailing)
        self._buffer.clear()
        self._trailing.clear()
        return data

    def _step(self, events: list[_Event]) -> bool:
        """Parse one message from the buffer if complete; False when more bytes are needed."""
        buf = self._buffer
        if self.state == _VERSION:
            if buf[0] == 4:
                self.state = _V4
            elif buf[0] == 5:
                self.state = _V5_GREETING
            else:
                raise SOCKSProtocolError(f"unknown SOCKS version {buf[0]}")
            return True
        if self.state == _V4:
            return self._socks4(events)
        if self.state == _V5_GREETING:
            if len(buf) < 2:
                return False
            n = buf[1]
            if n == 0:
                raise SOCKSProtocolError("SOCKS5 greeting offers no method")
            if len(buf) < 2 + n:
                return False
            events.append(MethodsOffered(bytes(buf[2 : 2 + n])))
            del buf[: 2 + n]
            self.state = _V5_METHOD
            return False
        if self.state == _V5_AUTH:
            return self._auth(events)
        if self.state == _V5_REQUEST:
            return self._socks5(events)
        if self.state in (_V5_METHOD, _V5_AUTH + "-checking"):
            # The client must wait for our reply; data now is a protocol violation unless
            # it is small (pipelining clients); hold at most one request's worth.
            if len(buf) > 2 * self.maxFieldLength + 10:
                raise SOCKSProtocolError("SOCKS5 client sent too much before our reply")
            return False
        return False

    def _socks4(self, events: list[_Event]) -> bool:
        buf = self._buffer
        if len(buf) < 9:
            return False
        # The user id ends at the first NUL after byte 8; SOCKS4a adds a host name after it.
        # Searches resume where the last one stopped, so byte-at-a-time input stays linear.
        end = self._useridEnd
        if end < 0:
            end = buf.find(0, max(8, self._scanned))
            if end < 0:
                self._scanned = len(buf)
                if len(buf) - 8 > self.maxFieldLength:
                    raise SOCKSProtocolError("SOCKS4 user id too long")
                return False
            self._useridEnd = end
            self._scanned = end + 1
        userid = bytes(buf[8:end])
        if len(userid) > self.maxFieldLength:
            raise SOCKSProtocolError("SOCKS4 user id too long")
        command = buf[1]
        port = int.from_bytes(buf[2:4], "big")
        ip = bytes(buf[4:8])
        consumed = end + 1
        isHostname = ip[:3] == b"\x00\x00\x00" and ip[3] != 0
        if isHostname:
            hostEnd = buf.find(0, self._scanned)
            if hostEnd < 0:
                self._scanned = len(buf)
                if len(buf) - end - 1 > self.maxFieldLength:
                    raise SOCKSProtocolError("SOCKS4a host name too long")
                return False
            name = bytes(buf[end + 1 : hostEnd])
            if not name or len(name) > self.maxFieldLength:
                raise SOCKSProtocolError("SOCKS4a host name empty or too long")
            host = _decodeName(name)
            consumed = hostEnd + 1
        else:
            host = str(ipaddress.IPv4Address(ip))
        del buf[:consumed]
        events.append(SOCKSRequestReceived(4, command, host, port, isHostname, userid))
        self._done()
        return False

    def _auth(self, events: list[_Event]) -> bool:
        buf = self._buffer
        if buf[0] != 1:
            raise SOCKSProtocolError(f"unknown username/password version {buf[0]}")
        if len(buf) < 2:
            return False
        ulen = buf[1]
        if len(buf) < 3 + ulen:
            return False
        plen = buf[2 + ulen]
        total = 3 + ulen + plen
        if len(buf) < total:
            return False
        events.append(CredentialsReceived(bytes(buf[2 : 2 + ulen]), bytes(buf[3 + ulen : total])))
        del buf[:total]
        self.state = _V5_AUTH + "-checking"
        return False

    def _socks5(self, events: list[_Event]) -> bool:
        buf = self._buffer
        if len(buf) < 5:
            return False
        if buf[0] != 5:
            raise SOCKSProtocolError(f"SOCKS5 request with version {buf[0]}")
        command, atyp = buf[1], buf[3]
        if atyp == 1:
            need = 4 + 4 + 2
        elif atyp == 4:
            need = 4 + 16 + 2
        elif atyp == 3:
            if buf[4] == 0:
                raise SOCKSProtocolError("SOCKS5 empty domain name")
            need = 5 + buf[4] + 2
        else:
            # The address length is unknown: nothing after it can be parsed.
            del buf[:]
            events.append(SOCKSRequestReceived(5, command, "", 0, addressType=atyp))
            self._done()
            return False
        if len(buf) < need:
            return False
        port = int.from_bytes(buf[need - 2 : need], "big")
        isHostname = atyp == 3
        if atyp == 1:
            host = str(ipaddress.IPv4Address(bytes(buf[4:8])))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(bytes(buf[4:20])))
        else:
            host = _decodeName(bytes(buf[5 : need - 2]))
        del buf[:need]
        events.append(SOCKSRequestReceived(5, command, host, port, isHostname, b"", atyp))
        self._done()
        return False

    def _done(self) -> None:
        self.state = _DONE
        self._trailing += self._buffer
        self._buffer.clear()


def _decodeName(name: bytes) -> str:
    try:
        text = name.decode("ascii")
    except UnicodeDecodeError:
        raise SOCKSProtocolError("host name is not ASCII") from None
    if any(c in text for c in "\x00/ ") or len(text) > 255:
        raise SOCKSProtocolError("invalid host name")
    return text


def socks4Reply(code: int, port: int = 0, host: str = "0.0.0.0") -> bytes:
    """A SOCKS4 reply: version byte 0, ``code`` (90 granted, 91 rejected), port, IPv4."""
    return bytes([0, code]) + port.to_bytes(2, "big") + ipaddress.IPv4Address(host).packed


def socks5MethodReply(method: int) -> bytes:
    """The SOCKS5 method selection message."""
    return bytes([5, method])


def socks5AuthReply(ok: bool) -> bytes:
    """The RFC 1929 status reply: 0 for success, 1 for failure."""
    return bytes([1, 0 if ok else 1])


def socks5Reply(code: int, host: str = "0.0.0.0", port: int = 0) -> bytes:
    """A SOCKS5 reply with ``code`` and the bound address (an IPv4 or IPv6 literal)."""
    address = ipaddress.ip_address(host)
    atyp = 1 if address.version == 4 else 4
    return bytes([5, code, 0, atyp]) + address.packed + port.to_bytes(2, "big")
