"""Unix datagram sockets: ``listenUNIXDatagram`` and ``connectUNIXDatagram``.

- ``listenUNIXDatagram(address, protocol, maxPacketSize=8192, mode=0o666)`` binds the path
  ``address`` (a name starting with a NUL byte is Linux's abstract namespace), ``chmod``s it to
  ``mode``, and delivers ``protocol.datagramReceived(data, senderPath)`` (``senderPath`` is
  the sender's bound path, or empty/None if the sender is not bound). ``write(data, path)``
  sends one datagram. The socket file is removed when the port stops.
- ``connectUNIXDatagram(address, protocol, maxPacketSize=8192, mode=0o666,
  bindAddress=None)`` connects to ``address`` (binding ``bindAddress`` first, so the peer can
  answer) for a ``ConnectedDatagramProtocol``: ``datagramReceived(data)``, ``write(data)``.
  If connecting fails the protocol's ``connectionFailed(Failure)`` is called.

Writes follow ``Port.write``: a datagram the kernel cannot queue now is dropped, ``EMSGSIZE``
raises ``MessageLengthError``, ``ECONNREFUSED`` on a connected socket (the peer went away)
calls ``connectionRefused`` when the protocol has one; other errors raise ``OSError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from typing import Any

from plait.defer import Failure
from plait.log import Logger
from plait.protocol import CannotListenError, MessageLengthError, UNIXAddress

from ._udp import _DROP, _DatagramSocket

__all__ = ["ConnectedUNIXDatagramPort", "UNIXDatagramPort", "UNIXDatagramReactorMixin"]

_log = Logger("plait.reactor")

_Address = str | bytes


def _isAbstract(address: _Address | None) -> bool:
    return bool(address) and address[0] in ("\0", 0)  # type: ignore[index]


class UNIXDatagramPort(_DatagramSocket):
    """A bound Unix datagram socket; the transport of its ``DatagramProtocol``."""

    addressFamily = socket.AF_UNIX

    def __init__(
        self,
        address: _Address | None,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        reactor: Any = None,
    ) -> None:
        super().__init__(protocol, maxPacketSize, reactor)
        self.address = address
        self.mode = mode
        self._ownsFile = False

    def _bindSocket(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if self.address is None:
            return sock
        try:
            sock.bind(self.address)
            if not _isAbstract(self.address):
                self._ownsFile = True
                os.chmod(self.address, self.mode)
        except OSError as e:
            sock.close()
            raise CannotListenError(None, self.address, e) from e
        return sock

    def startListening(self) -> None:
        """Bind and start the protocol; ``CannotListenError`` if binding fails."""
        self._setSocket(self._bindSocket())
        self._connectToProtocol()

    def _deliver(self, data: bytes, addr: Any) -> None:
        self.protocol.datagramReceived(data, addr)

    def _send(self, datagram: bytes, addr: _Address | None) -> None:
        sock = self._sock()
        while True:
            try:
                if addr is None:
                    sock.send(datagram)
                else:
                    sock.sendto(datagram, addr)
                return
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno in _DROP:
                    return
                if e.errno == errno.EMSGSIZE:
                    raise MessageLengthError(f"message too long ({len(datagram)} bytes)") from e
                if e.errno == errno.ECONNREFUSED and addr is None:
                    self._refused()
                    return
                raise

    def _refused(self) -> None:
        refused = getattr(self.protocol, "connectionRefused", None)
        if refused is not None:
            try:
                refused()
            except Exception:
                _log.failure("Unhandled error in {proto}.connectionRefused", proto=self.logPrefix())

    def write(self, datagram: bytes, address: _Address) -> None:
        """Send one datagram to the socket path ``address``."""
        self._send(datagram, address)

    def getHost(self) -> UNIXAddress:
        """The bound path."""
        name = self._sock().getsockname()
        return UNIXAddress(name or None)

    def _closed(self) -> None:
        if self._ownsFile and isinstance(self.address, str | bytes):
            self._ownsFile = False
            with contextlib.suppress(OSError):
                os.unlink(self.address)


class ConnectedUNIXDatagramPort(UNIXDatagramPort):
    """A Unix datagram socket connected to one peer, for a ``ConnectedDatagramProtocol``."""

    def __init__(
        self,
        address: _Address,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: _Address | None = None,
        reactor: Any = None,
    ) -> None:
        super().__init__(bindAddress, protocol, maxPacketSize, mode, reactor)
        self.remoteAddress = address

    def startListening(self) -> None:
        """Bind ``bindAddress`` if given, connect, and start the protocol; a failure goes to
        the protocol's ``connectionFailed``."""
        try:
            sock = self._bindSocket()
            try:
                sock.connect(self.remoteAddress)
            except OSError:
                sock.close()
                self._closed()
                raise
        except (OSError, CannotListenError):
            self.disconnected = True
            failed = getattr(self.protocol, "connectionFailed", None)
            if failed is not None:
                failed(Failure())
            return
        self._setSocket(sock)
        self._connectToProtocol()

    def _deliver(self, data: bytes, addr: Any) -> None:
        self.protocol.datagramReceived(data)

    def _recvError(self, e: OSError) -> bool:
        if e.errno == errno.ECONNREFUSED:
            self._refused()
            return True
        return super()._recvError(e)

    def write(self, datagram: bytes, address: _Address | None = None) -> None:
        """Send one datagram to the connected peer."""
        self._send(datagram, None)

    def getPeer(self) -> UNIXAddress:
        """The peer's path."""
        return UNIXAddress(self.remoteAddress)


class UNIXDatagramReactorMixin:
    """``IReactorUNIXDatagram`` for the POSIX reactors."""

    def listenUNIXDatagram(
        self, address: _Address, protocol: Any, maxPacketSize: int = 8192, mode: int = 0o666
    ) -> UNIXDatagramPort:
        """Receive datagrams on the socket path ``address``; returns the port (also the
        protocol's transport)."""
        p = UNIXDatagramPort(address, protocol, maxPacketSize, mode, self)
        p.startListening()
        return p

    def connectUNIXDatagram(
        self,
        address: _Address,
        protocol: Any,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: _Address | None = None,
    ) -> ConnectedUNIXDatagramPort:
        """Send datagrams to (and receive from) the socket path ``address``."""
        p = ConnectedUNIXDatagramPort(address, protocol, maxPacketSize, mode, bindAddress, self)
        p.startListening()
        return p
