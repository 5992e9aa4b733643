"""UDP and multicast: ``listenUDP``, ``listenMulticast``, ``adoptDatagramPort`` (paper §3).

A ``Port`` is a bound, non-blocking datagram socket; it is both the reactor's selectable and
the ``DatagramProtocol``'s transport (``IUDPTransport``):

- Reading: each readiness event reads up to ``maxReads`` datagrams (``recvfrom`` until the
  socket would block), so one busy port cannot starve the others. Each goes to
  ``protocol.datagramReceived(data, (host, port))``; IPv6 addresses are ``(host, port)`` too.
  An exception there is logged with its traceback and the port keeps listening (a datagram
  is self-contained: one bad packet must not end the service).
- Writing: ``write(data, addr)`` is one ``sendto`` (``send`` once ``connect``-ed). As in UDP
  itself, a datagram the kernel cannot queue now (``EWOULDBLOCK``, ``ENOBUFS``) is dropped
  silently; nothing is buffered. ``EMSGSIZE`` raises ``MessageLengthError``; other OS
  errors raise ``OSError``. ``addr`` must be an IP literal (``ValueError`` otherwise).
- Connected UDP: ``connect(host, port)`` (an IP literal, else ``ValueError``) fixes the peer;
  the kernel's "port unreachable" (``ECONNREFUSED`` from a later ``recv``/``send``) calls
  ``protocol.connectionRefused()``.
- ``stopListening()`` stops reading and closes the socket at once (the port number is free
  on return); its Deferred fires on the next reactor iteration, after ``protocol.doStop()``
  (hence ``stopProtocol``) has run. Reactor shutdown stops every port the same way.
- Errors: binding raises ``CannotListenError``; a protocol exception in ``startProtocol``
  propagates from ``listenUDP`` (the socket is closed); ``MulticastJoinError`` and
  ``MessageLengthError`` are ``plait.protocol``'s.

``MulticastPort`` adds ``IMulticastTransport``: ``joinGroup``/``leaveGroup`` (Deferreds that
fail with ``MulticastJoinError``), TTL, loopback mode and the outgoing interface.
``listenMultiple=True`` sets ``SO_REUSEADDR`` and ``SO_REUSEPORT`` so several processes can
bind one group port. For IPv4 an interface is named by its address (a host name is resolved
with the reactor's resolver); for IPv6 by its name or index (``'lo'``, ``'2'``; empty: the
kernel's choice).
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Callable
from typing import Any

from plait.defer import Deferred, Failure, fail, succeed
from plait.log import Logger, LogLevel
from plait.protocol import (
    CannotListenError,
    ConnectionDone,
    IPv4Address,
    IPv6Address,
    MessageLengthError,
    MulticastJoinError,
)

from ._tcp import isIPv4, isIPv6

__all__ = ["MulticastPort", "Port", "UDPReactorMixin"]

_log = Logger("plait.reactor")

# Ports have a ``socket`` attribute (as stream transports do), which shadows the module in
# class scope for the type checker.
_Socket = socket.socket

# send errors after which the datagram is just gone (UDP makes no delivery promise)
_DROP = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.ENOBUFS})
# recv errors that are about one earlier datagram (an ICMP error queued on the socket)
_RECV_TRANSIENT = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EMSGSIZE}
)


def _ifIndex(interface: str) -> int:
    """An IPv6 interface index from a name (``'lo'``) or a number; 0 for ``''``."""
    if not interface:
        return 0
    if interface.isdigit():
        return int(interface)
    return socket.if_nametoindex(interface)


class _DatagramSocket:
    """What UDP and Unix datagram ports share: the socket, reading, closing."""

    addressFamily: int = socket.AF_INET
    socketType: int = socket.SOCK_DGRAM
    maxReads = 64

    socket: _Socket | None = None
    fileno: Callable[[], int]
    connected = False
    disconnected = False
    _reading = False

    def __init__(self, protocol: Any, maxPacketSize: int, reactor: Any) -> None:
        self.protocol = protocol
        self.maxPacketSize = maxPacketSize
        self.reactor = reactor
        self.fileno = self._noFileno
        self._stopped: Deferred[None] | None = None

    @staticmethod
    def _noFileno() -> int:
        return -1

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fileno()} {self.logPrefix()}>"

    def logPrefix(self) -> str:
        """The protocol's class name, for log messages."""
        return type(self.protocol).__name__

    def _setSocket(self, sock: _Socket) -> None:
        sock.setblocking(False)
        self.socket = sock
        self.fileno = sock.fileno
        self.connected = True

    def _connectToProtocol(self) -> None:
        try:
            self.protocol.makeConnection(self)
        except BaseException:
            # e.g. a protocol already attached elsewhere: do not leak the bound socket
            self.disconnected = True
            self._closeSocket()
            raise
        self.startReading()

    def startReading(self) -> None:
        """Ask the reactor for read events."""
        if not self._reading and self.socket is not None:
            self._reading = True
            self.reactor.addReader(self)

    def stopReading(self) -> None:
        """Stop asking the reactor for read events."""
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self)

    def doWrite(self) -> None:
        """Never watched for writing: writes that would block are dropped."""
        return None

    def _deliver(self, data: bytes, addr: Any) -> None:
        raise NotImplementedError

    def _recvError(self, e: OSError) -> bool:
        """Handle a ``recvfrom`` error; True to keep reading this round."""
        if e.errno in _RECV_TRANSIENT:
            return True
        _log.failure("recvfrom failed on {port!r}", Failure(e), level=LogLevel.error, port=self)
        return False

    def doRead(self) -> None:
        """Read up to ``maxReads`` datagrams and deliver each."""
        for _ in range(self.maxReads):
            sock = self.socket
            if sock is None or not self._reading:
                return None
            try:
                data, addr = sock.recvfrom(self.maxPacketSize)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                if self._recvError(e):
                    continue
                return None
            try:
                self._deliver(data, addr)
            except Exception:
                _log.failure(
                    "Unhandled error in {proto}.datagramReceived (datagram dropped)",
                    level=LogLevel.error,
                    proto=self.logPrefix(),
                )
        return None

    def stopListening(self) -> Deferred[None]:
        """Stop reading and close the socket now (the port number is free at once); the
        Deferred fires on the next reactor iteration, after ``protocol.doStop()``."""
        if self.disconnected:
            return succeed(None)
        if self._stopped is None:
            self._stopped = Deferred()
            self._closeSocket()
            self.reactor.callLater(0, self.connectionLost, Failure(ConnectionDone()))
        d: Deferred[None] = Deferred()

        def fire(result: object) -> object:
            d.callback(None)
            return result

        self._stopped.addBoth(fire)
        return d

    loseConnection = stopListening

    def _closeSocket(self) -> None:
        self.connected = False
        self.stopReading()
        sock, self.socket = self.socket, None
        self.fileno = self._noFileno
        if sock is not None:
            sock.close()
            self._closed()

    def connectionLost(self, reason: Failure | None = None) -> None:
        """Close the socket and stop the protocol (once)."""
        if self.disconnected:
            return
        self.disconnected = True
        self._closeSocket()
        try:
            self.protocol.doStop()
        except Exception:
            _log.failure("Unhandled error in {proto}.stopProtocol", proto=self.logPrefix())
        stopped = self._stopped
        if stopped is None:
            self._stopped = succeed(None)
        elif not stopped.called:
            stopped.callback(None)

    def _closed(self) -> None:
        """The socket was just closed (a hook for the Unix port's file)."""

    def setBroadcastAllowed(self, enabled: bool) -> None:
        """Allow or forbid sending to broadcast addresses (``SO_BROADCAST``)."""
        self._sock().setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, int(bool(enabled)))

    def getBroadcastAllowed(self) -> bool:
        """Whether sending to broadcast addresses is allowed."""
        return bool(self._sock().getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))

    def _sock(self) -> _Socket:
        if self.socket is None:
            raise RuntimeError(f"{self!r} is not listening")
        return self.socket


class Port(_DatagramSocket):
    """A UDP port: the reactor's selectable and its ``DatagramProtocol``'s transport."""

    def __init__(
        self,
        port: int,
        proto: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        reactor: Any = None,
    ) -> None:
        super().__init__(proto, maxPacketSize, reactor)
        self.port = port
        self.interface = interface
        self._connectedAddr: tuple[str, int] | None = None
        if interface and ":" in interface:
            if not isIPv6(interface):
                raise ValueError(f"{interface!r} is not an IPv6 address")
            self.addressFamily = socket.AF_INET6
        elif interface and not isIPv4(interface):
            raise ValueError(f"{interface!r} is not an IP address")
        self._realPortNumber: int | None = None

    def __repr__(self) -> str:
        where = self._realPortNumber if self._realPortNumber is not None else "not listening"
        return f"<{type(self).__name__} {self.logPrefix()} on {where}>"

    def _prepare(self, sock: _Socket) -> None:
        """Socket options set before binding (multicast sets its reuse options here)."""

    def _bindSocket(self) -> _Socket:
        try:
            sock = socket.socket(self.addressFamily, self.socketType)
        except OSError as e:
            raise CannotListenError(self.interface, self.port, e) from e
        try:
            self._prepare(sock)
            sock.bind((self.interface, self.port))
        except OSError as e:
            sock.close()
            raise CannotListenError(self.interface, self.port, e) from e
        return sock

    def startListening(self) -> None:
        """Bind the socket and start the protocol; ``CannotListenError`` if binding fails."""
        sock = self._bindSocket()
        self._adopt(sock)

    def _adopt(self, sock: _Socket) -> None:
        self._setSocket(sock)
        self._realPortNumber = sock.getsockname()[1]
        self._connectToProtocol()

    def _deliver(self, data: bytes, addr: Any) -> None:
        if len(addr) > 2:
            addr = addr[:2]
        self.protocol.datagramReceived(data, addr)

    def _recvError(self, e: OSError) -> bool:
        if e.errno == errno.ECONNREFUSED and self._connectedAddr is not None:
            self._refused()
            return True
        return super()._recvError(e)

    def _refused(self) -> None:
        refused = getattr(self.protocol, "connectionRefused", None)
        if refused is None:
            return
        try:
            refused()
        except Exception:
            _log.failure("Unhandled error in {proto}.connectionRefused", proto=self.logPrefix())

    def _checkAddress(self, addr: tuple[str, int]) -> tuple[str, int]:
        host = addr[0]
        if self.addressFamily == socket.AF_INET6:
            if isIPv6(host):
                return addr
            if isIPv4(host):
                raise ValueError(f"{host!r} is IPv4, this port is IPv6")
        else:
            if host == "<broadcast>" or isIPv4(host):
                return addr
            if isIPv6(host):
                raise ValueError(f"{host!r} is IPv6, this port is IPv4")
        raise ValueError(f"{host!r} is not an IP address (resolve names before writing)")

    def write(self, datagram: bytes, addr: tuple[str, int] | None = None) -> None:
        """Send one datagram to ``addr`` (or to the connected peer when ``addr`` is None).

        A datagram the kernel cannot queue right now is dropped, as UDP may do anywhere on
        the path. ``MessageLengthError`` if it is too long for the socket.
        """
        sock = self._sock()
        connected = self._connectedAddr
        dest: tuple[str, int] | None = None
        if connected is not None:
            if addr is not None and tuple(addr) != connected:
                raise ValueError(f"this port is connected to {connected}, cannot send to {addr}")
        elif addr is None:
            raise ValueError("an address is required on a port that is not connected")
        else:
            dest = self._checkAddress(addr)
        while True:
            try:
                if dest is None:
                    sock.send(datagram)
                else:
                    sock.sendto(datagram, dest)
                return
            except InterruptedError:
                continue
            except OSError as e:
                code = e.errno
                if code in _DROP:
                    return
                if code == errno.EMSGSIZE:
                    raise MessageLengthError(f"message too long ({len(datagram)} bytes)") from e
                if code == errno.ECONNREFUSED and connected is not None:
                    self._refused()
                    return
                raise

    def writeSequence(self, seq: list[bytes], addr: tuple[str, int] | None = None) -> None:
        """Send the concatenation of ``seq`` as one datagram."""
        self.write(b"".join(seq), addr)

    def connect(self, host: str, port: int) -> None:
        """Send to and receive from ``(host, port)`` only; ``host`` must be an IP literal.

        Afterwards ``write(data)`` needs no address, and a refusal from the peer calls the
        protocol's ``connectionRefused``.
        """
        if self._connectedAddr is not None:
            raise RuntimeError("already connected; reconnecting is not supported")
        addr = self._checkAddress((host, port))
        self._sock().connect(addr)
        self._connectedAddr = (host, port)

    def getHost(self) -> IPv4Address | IPv6Address:
        """The bound address (``IPv4Address``/``IPv6Address`` of type ``'UDP'``)."""
        name = self._sock().getsockname()
        if self.addressFamily == socket.AF_INET6:
            return IPv6Address("UDP", name[0], name[1], name[2], name[3])
        return IPv4Address("UDP", name[0], name[1])

    def getPeer(self) -> IPv4Address | IPv6Address | None:
        """The connected peer, or None."""
        if self._connectedAddr is None:
            return None
        host, port = self._connectedAddr
        if self.addressFamily == socket.AF_INET6:
            return IPv6Address("UDP", host, port)
        return IPv4Address("UDP", host, port)

    def _closed(self) -> None:
        self._realPortNumber = None


class MulticastPort(Port):
    """A UDP port that can join multicast groups (``IMulticastTransport``)."""

    def __init__(
        self,
        port: int,
        proto: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        reactor: Any = None,
        listenMultiple: bool = False,
    ) -> None:
        super().__init__(port, proto, interface, maxPacketSize, reactor)
        self.listenMultiple = listenMultiple

    def _prepare(self, sock: _Socket) -> None:
        if self.listenMultiple:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)

    def _v6(self) -> bool:
        return self.addressFamily == socket.AF_INET6

    def getOutgoingInterface(self) -> str:
        """The IPv4 address multicast is sent from (``'0.0.0.0'``: the routing default);
        for IPv6 the interface index as a string."""
        sock = self._sock()
        if self._v6():
            return str(sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF))
        return socket.inet_ntoa(sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))

    def setOutgoingInterface(self, addr: str) -> Deferred[int]:
        """Send multicast from the interface with address ``addr`` (resolved if a name; for
        IPv6 an interface name or index); fires with 1."""
        if self._v6():
            return succeed(addr).addCallback(self._setOutgoingInterface)
        return self._resolved(addr).addCallback(self._setOutgoingInterface)

    def _setOutgoingInterface(self, addr: str) -> int:
        sock = self._sock()
        if self._v6():
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, _ifIndex(addr))
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
        return 1

    def getLoopbackMode(self) -> bool:
        """Whether multicast sent here is also delivered to this host's listeners."""
        if self._v6():
            opt = self._sock().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP)
        else:
            opt = self._sock().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP)
        return bool(opt)

    def setLoopbackMode(self, mode: bool) -> None:
        """Deliver (or not) this port's multicast to listeners on this host."""
        if self._v6():
            self._sock().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, int(mode))
        else:
            self._sock().setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, struct.pack("B", int(bool(mode)))
            )

    def getTTL(self) -> int:
        """The multicast time-to-live (hop limit for IPv6)."""
        if self._v6():
            ttl: int = self._sock().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS)
        else:
            ttl = self._sock().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL)
        return ttl

    def setTTL(self, ttl: int) -> None:
        """Set the multicast time-to-live (0..255; 1, the default, stays on the local net)."""
        if not 0 <= ttl <= 255:
            raise ValueError(f"TTL must be in 0..255, not {ttl}")
        if self._v6():
            self._sock().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        else:
            self._sock().setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("B", ttl)
            )

    def joinGroup(self, addr: str, interface: str = "") -> Deferred[None]:
        """Join the group ``addr`` on the interface with address ``interface`` (empty: the
        kernel's choice); fails with ``MulticastJoinError``."""
        return self._membership(addr, interface, join=True)

    def leaveGroup(self, addr: str, interface: str = "") -> Deferred[None]:
        """Leave the group ``addr``; fails with ``MulticastJoinError`` if not a member."""
        return self._membership(addr, interface, join=False)

    def _membership(self, addr: str, interface: str, join: bool) -> Deferred[None]:
        def withInterface(group: str) -> Deferred[None]:
            if self._v6():  # an interface name or index, nothing to resolve
                return succeed(interface).addCallback(self._setMembership, group, join)
            return self._resolved(interface).addCallback(self._setMembership, group, join)

        return self._resolved(addr).addCallback(withInterface)

    def _setMembership(self, interface: str, group: str, join: bool) -> None:
        sock = self._sock()
        try:
            if self._v6():
                index = _ifIndex(interface)
                mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", index)
                opt = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
                sock.setsockopt(socket.IPPROTO_IPV6, opt, mreq)
            else:
                mreq = socket.inet_aton(group) + socket.inet_aton(interface or "0.0.0.0")
                opt = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
                sock.setsockopt(socket.IPPROTO_IP, opt, mreq)
        except (OSError, ValueError) as e:
            raise MulticastJoinError(group, interface, *e.args) from e

    def _resolved(self, name: str) -> Deferred[str]:
        if isIPv4(name) or isIPv6(name) or name == "":
            return succeed(name)
        resolve = getattr(self.reactor, "resolve", None)
        if resolve is None:
            return fail(ValueError(f"{name!r} is not an IP address"))
        d: Deferred[str] = resolve(name)
        return d


class UDPReactorMixin:
    """``IReactorUDP``, ``IReactorMulticast`` and ``adoptDatagramPort`` for POSIX reactors."""

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Port:
        """Bind ``protocol`` to UDP ``port`` on ``interface`` (an IP literal; ``'::'`` or
        another IPv6 literal for IPv6); returns the port, which is also the transport."""
        p = Port(port, protocol, interface, maxPacketSize, self)
        p.startListening()
        return p

    def listenMulticast(
        self,
        port: int,
        protocol: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        listenMultiple: bool = False,
    ) -> MulticastPort:
        """Like ``listenUDP``, with the multicast methods; ``listenMultiple`` lets several
        sockets bind ``port`` (``SO_REUSEADDR``/``SO_REUSEPORT``)."""
        p = MulticastPort(port, protocol, interface, maxPacketSize, self, listenMultiple)
        p.startListening()
        return p

    def adoptDatagramPort(
        self,
        fileDescriptor: int,
        addressFamily: socket.AddressFamily,
        protocol: Any,
        maxPacketSize: int = 8192,
    ) -> Port:
        """Receive datagrams on an already bound UDP socket (the descriptor is duplicated)."""
        if addressFamily not in (socket.AF_INET, socket.AF_INET6):
            raise ValueError(f"cannot adopt a datagram socket of family {addressFamily!r}")
        sock = socket.socket(addressFamily, socket.SOCK_DGRAM, fileno=fileDescriptor)
        try:
            dup = sock.dup()
        finally:
            sock.detach()
        name = dup.getsockname()
        p = Port(name[1], protocol, name[0], maxPacketSize, self)
        p._adopt(dup)
        return p
