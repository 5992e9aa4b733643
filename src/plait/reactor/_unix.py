"""Unix stream sockets (``listenUNIX``/``connectUNIX``) and adopting sockets made elsewhere.

- ``listenUNIX(address, factory, backlog=50, mode=0o666, wantPID=0)``: the socket file gets
  ``mode``. A leftover socket file nobody listens on (connecting is refused) is removed and
  replaced; one with a live listener, or a path that is not a socket, gives
  ``CannotListenError``. With ``wantPID`` the lock file ``address + ".lock"`` holds our pid and
  a second live listener is refused. Stopping the port removes the socket and lock files.
- ``connectUNIX(address, factory, timeout=30, checkPID=0)``: with ``checkPID``, the attempt
  fails with ``BadFileError`` unless a live process holds the lock file.
- An address starting with a NUL (``"\\0name"``) is in Linux's abstract namespace: no file,
  no mode, nothing to clean up.
- ``adoptStreamPort``/``adoptStreamConnection`` (``IReactorSocket``) take an already
  listening/connected TCP or Unix socket by descriptor. The descriptor is duplicated: the
  caller still owns (and should close) the one it passed.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import Any

from plait.log import Logger, LogLevel
from plait.protocol import BadFileError, CannotListenError, UNIXAddress

from ._stream import Connection, StreamPort
from ._streamclient import ClientConnection, ConnectAttempt, StreamConnector
from ._tcp import TCPConnection, TCPPort, tcpAddress

__all__ = [
    "SocketReactorMixin",
    "UNIXClientConnection",
    "UNIXConnection",
    "UNIXConnector",
    "UNIXPort",
    "UNIXReactorMixin",
]

_log = Logger("plait.reactor")

_Address = str | bytes


def _isAbstract(address: _Address) -> bool:
    return address[:1] in ("\0", b"\0")


def _name(sockname: Any) -> _Address | None:
    return sockname if sockname else None


def _pidAlive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lockHolder(lockPath: _Address) -> int | None:
    """The pid recorded in ``lockPath`` if that process is alive, else None."""
    try:
        with open(lockPath, "rb") as f:
            pid = int(f.read().strip() or b"0")
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and _pidAlive(pid) else None


def _acquireLock(lockPath: _Address) -> bool:
    """Create ``lockPath`` holding our pid; a lock whose process is gone is taken over."""
    for _ in range(3):
        try:
            fd = os.open(lockPath, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _lockHolder(lockPath) is not None:
                return False
            try:
                os.unlink(lockPath)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def _lockPath(address: _Address) -> _Address:
    return address + (b".lock" if isinstance(address, bytes) else ".lock")  # type: ignore[operator]


class _UNIXAddresses:
    """Host and peer of a Unix connection."""

    socket: socket.socket
    _hostAddr: UNIXAddress | None = None
    _peerAddr: UNIXAddress | None = None

    def getHost(self) -> UNIXAddress:
        """The local address (``UNIXAddress(None)`` for an unnamed client socket)."""
        if self._hostAddr is None:
            self._hostAddr = UNIXAddress(_name(self.socket.getsockname()))
        return self._hostAddr

    def getPeer(self) -> UNIXAddress:
        """The remote address (``UNIXAddress(None)`` for an unnamed peer)."""
        if self._peerAddr is None:
            self._peerAddr = UNIXAddress(_name(self.socket.getpeername()))
        return self._peerAddr


class UNIXConnection(_UNIXAddresses, Connection):
    """A Unix stream connection accepted by a ``UNIXPort`` (or adopted)."""


class UNIXClientConnection(_UNIXAddresses, ClientConnection):
    """A Unix stream connection made by ``connectUNIX``."""


class UNIXPort(StreamPort):
    """A listening Unix stream socket (``IListeningPort``)."""

    connectionClass = UNIXConnection
    _shareHostAddress = True

    def __init__(
        self,
        reactor: Any,
        address: _Address,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> None:
        super().__init__(reactor, factory, backlog)
        self.address = address
        self.mode = mode
        self.wantPID = wantPID
        self._ownsFile = False
        self._ownsLock = False

    def _listenError(self, e: object) -> CannotListenError:
        return CannotListenError(None, self.address, e)

    def _removeStale(self) -> None:
        """Unlink a socket file left behind by a listener that is gone."""
        try:
            st = os.stat(self.address)
        except OSError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            return  # not ours to remove; bind() will report EADDRINUSE
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.setblocking(False)  # a live listener with a full backlog must not block us
        try:
            probe.connect(self.address)
        except ConnectionRefusedError:
            try:
                os.unlink(self.address)
            except FileNotFoundError:
                pass
        except BlockingIOError:
            raise self._listenError(
                OSError(errno.EADDRINUSE, "another process is listening on this socket")
            ) from None
        except OSError:
            pass
        else:
            raise self._listenError(
                OSError(errno.EADDRINUSE, "another process is listening on this socket")
            )
        finally:
            probe.close()

    def _bindSocket(self) -> socket.socket:
        abstract = _isAbstract(self.address)
        if not abstract:
            if self.wantPID:
                if not _acquireLock(_lockPath(self.address)):
                    raise self._listenError(
                        OSError(errno.EADDRINUSE, "the pid lock file is held by a live process")
                    )
                self._ownsLock = True
            try:
                self._removeStale()
            except CannotListenError:
                self._releaseLock()
                raise
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self.address)
            if not abstract:
                self._ownsFile = True
                os.chmod(self.address, self.mode)
        except OSError as e:
            sock.close()
            self._releaseLock()
            raise self._listenError(e) from e
        return sock

    def _releaseLock(self) -> None:
        if self._ownsLock:
            self._ownsLock = False
            try:
                os.unlink(_lockPath(self.address))
            except OSError:
                pass

    def _peerAddress(self, addr: Any) -> UNIXAddress:
        return UNIXAddress(_name(addr))

    def _hostOf(self, sock: socket.socket) -> UNIXAddress:
        return UNIXAddress(self.address)

    def _closed(self) -> None:
        if self._ownsFile:
            self._ownsFile = False
            try:
                os.unlink(self.address)
            except OSError:
                pass
        self._releaseLock()

    def getHost(self) -> UNIXAddress:
        """The socket's address, as given to ``listenUNIX``."""
        address: UNIXAddress = self._hostAddress
        return address


class UNIXConnectAttempt(ConnectAttempt):
    """Connect to a Unix socket (checking the pid lock first when asked)."""

    connector: UNIXConnector

    def _begin(self) -> None:
        self._later = None
        if self.done:
            return
        address = self.connector.address
        if (
            self.connector.checkPID
            and not _isAbstract(address)
            and _lockHolder(_lockPath(address)) is None
        ):
            self.fail(BadFileError(None, f"no live process holds the lock of {address!r}"))
            return
        self.connectTo(socket.AF_UNIX, address)


class UNIXConnector(StreamConnector):
    """``IConnector`` of ``connectUNIX``."""

    connectionClass = UNIXClientConnection

    def __init__(
        self,
        reactor: Any,
        address: _Address,
        factory: Any,
        timeout: float | None = 30,
        checkPID: int = 0,
    ) -> None:
        super().__init__(reactor, factory, timeout)
        self.address = address
        self.checkPID = checkPID

    def _makeAttempt(self) -> ConnectAttempt:
        return UNIXConnectAttempt(self)

    def _peerOf(self, sock: socket.socket) -> UNIXAddress:
        return UNIXAddress(self.address)

    def getDestination(self) -> UNIXAddress:
        """The socket address this connector connects to."""
        return UNIXAddress(self.address)


class UNIXReactorMixin:
    """``IReactorUNIX`` (stream sockets) for the POSIX reactors (port and connector classes
    as ``TCPReactorMixin``'s)."""

    _unixPortClass: type[UNIXPort] = UNIXPort
    _unixConnectorClass: type[UNIXConnector] = UNIXConnector

    def listenUNIX(
        self,
        address: _Address,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> UNIXPort:
        """Listen on the Unix socket ``address``; returns the ``IListeningPort``."""
        p = self._unixPortClass(self, address, factory, backlog, mode, wantPID)
        p.startListening()
        return p

    def connectUNIX(
        self, address: _Address, factory: Any, timeout: float = 30, checkPID: int = 0
    ) -> UNIXConnector:
        """Connect to the Unix socket ``address``; returns the ``IConnector``."""
        c = self._unixConnectorClass(self, address, factory, timeout, checkPID)
        c.connect()
        return c


_STREAM_FAMILIES = (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX)


def _dupSocket(fileDescriptor: int, addressFamily: int) -> socket.socket:
    if addressFamily not in _STREAM_FAMILIES:
        raise ValueError(f"unsupported address family for a stream socket: {addressFamily!r}")
    sock = socket.socket(addressFamily, socket.SOCK_STREAM, 0, os.dup(fileDescriptor))
    sock.setblocking(False)
    return sock


class _AdoptedUNIXPort(UNIXPort):
    """A listening Unix socket made elsewhere: its file is not ours to remove."""

    def __init__(self, reactor: Any, sock: socket.socket, factory: Any) -> None:
        super().__init__(reactor, _name(sock.getsockname()) or "", factory)

    def _hostOf(self, sock: socket.socket) -> UNIXAddress:
        return UNIXAddress(_name(sock.getsockname()))


class SocketReactorMixin:
    """``IReactorSocket`` (stream part) for the POSIX reactors."""

    def adoptStreamPort(
        self, fileDescriptor: int, addressFamily: socket.AddressFamily, factory: Any
    ) -> StreamPort:
        """Accept connections on an already listening socket (the descriptor is duplicated)."""
        sock = _dupSocket(fileDescriptor, addressFamily)
        port: StreamPort
        if addressFamily == socket.AF_UNIX:
            port = _AdoptedUNIXPort(self, sock, factory)
        else:
            host = sock.getsockname()
            port = TCPPort(self, host[1], factory, interface=host[0])
        port._adopt(sock)
        return port

    def adoptStreamConnection(
        self, fileDescriptor: int, addressFamily: socket.AddressFamily, factory: Any
    ) -> None:
        """Serve an already connected socket (duplicated) with a protocol from ``factory``."""
        sock = _dupSocket(fileDescriptor, addressFamily)
        transport: Connection
        if addressFamily == socket.AF_UNIX:
            peer: Any = UNIXAddress(_name(sock.getpeername()))
        else:
            peer = tcpAddress(sock.getpeername())
        try:
            protocol = factory.buildProtocol(peer)
        except Exception:
            _log.failure(
                "Unhandled error in buildProtocol of {factory!r}",
                level=LogLevel.error,
                factory=factory,
            )
            sock.close()
            return
        if protocol is None:
            sock.close()
            return
        if addressFamily == socket.AF_UNIX:
            transport = UNIXConnection(sock, protocol, self)  # type: ignore[arg-type]
        else:
            transport = TCPConnection(sock, protocol, self)  # type: ignore[arg-type]
        transport.startReading()
        try:
            protocol.makeConnection(transport)
        except Exception:
            transport._userError("makeConnection")
