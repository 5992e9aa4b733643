"""The client side of stream sockets: connectors and connection attempts.

A ``StreamConnector`` (``IConnector``) owns the life of a client connection for its
``ClientFactory``: ``connect()`` starts the factory and calls ``startedConnecting``; the attempt
ends in ``clientConnectionFailed`` (with a ``ConnectError`` subclass chosen from the OS's
errno, ``TimeoutError`` when the connect timeout expires, ``DNSLookupError`` when the name does
not resolve) or in a connection whose end is reported by ``clientConnectionLost``. A factory can
call ``connector.connect()`` again from either callback; the factory is stopped once the
connector rests.

A ``ConnectAttempt`` is the reactor's selectable while a non-blocking ``connect()`` is in
flight: it waits for writability and reads ``SO_ERROR``. Everything happens on later reactor
turns, never inside ``connectTCP``/``connectUNIX`` itself.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

from plait.defer import Failure
from plait.log import Logger, LogLevel
from plait.protocol import (
    ConnectError,
    NotConnectingError,
    TimeoutError,
    UserError,
    getConnectError,
)

from ._stream import Connection, IStreamReactor

__all__ = ["ClientConnection", "ConnectAttempt", "StreamConnector"]

_log = Logger("plait.reactor")

_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EALREADY, errno.EINTR})


class ClientConnection(Connection):
    """A connection made by a connector; its end is reported to the connector too."""

    connector: StreamConnector
    _peerAddr: Any = None

    def _lost(self, reason: Failure) -> None:
        self.connector._connectionLost(reason)


class ConnectAttempt:
    """One non-blocking connect in flight; subclasses find the address to connect to."""

    def __init__(self, connector: StreamConnector) -> None:
        self.connector = connector
        self.reactor = connector.reactor
        self.socket: socket.socket | None = None
        self.done = False
        self._writing = False
        self._later: Any = self.reactor.callLater(0, self._begin)

    def logPrefix(self) -> str:
        """The factory's class name, for log messages."""
        return type(self.connector.factory).__name__

    def fileno(self) -> int:
        """The connecting socket's descriptor (-1 before it exists or once closed)."""
        return -1 if self.socket is None else self.socket.fileno()

    def _begin(self) -> None:
        """Find the address (subclasses may resolve a name first) and connect."""
        raise NotImplementedError

    def connectTo(self, family: int, sockaddr: Any, bindAddress: Any = None) -> None:
        """Create the socket and start the non-blocking connect to ``sockaddr``."""
        self._later = None
        if self.done:
            return
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            self.fail(getConnectError(e))
            return
        sock.setblocking(False)
        self.socket = sock
        if bindAddress is not None:
            try:
                sock.bind(bindAddress)
            except OSError as e:
                self.fail(getConnectError(e))
                return
        self._sockaddr = sockaddr
        self._tryConnect()

    def _tryConnect(self) -> None:
        self._later = None
        if self.done or self.socket is None:
            return
        err = self.socket.connect_ex(self._sockaddr)
        if err == 0 or err == errno.EISCONN:
            self._connected()
        elif err in _IN_PROGRESS:
            self._writing = True
            self.reactor.addWriter(self)
        elif err == errno.EAGAIN and self.socket.family == socket.AF_UNIX:
            # A Unix listener's backlog is full; the connect did not start. Try again soon.
            self._later = self.reactor.callLater(0.01, self._tryConnect)
        else:
            self.connectFailed(getConnectError((err, os.strerror(err))))

    def connectFailed(self, error: ConnectError) -> None:
        """The OS refused this address; subclasses may try another before failing."""
        self.fail(error)

    def _closeSocket(self) -> None:
        """Drop the socket of a failed connect (to try another address)."""
        self._stopWriting()
        if self.socket is not None:
            self.socket.close()
            self.socket = None

    def doRead(self) -> None:
        """Not registered for reading."""
        return None

    def doWrite(self) -> None:
        """The connect finished: see whether it worked."""
        if self.done or self.socket is None:
            return None
        self._stopWriting()
        err = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.connectFailed(getConnectError((err, os.strerror(err))))
        else:
            self._connected()
        return None

    def _stopWriting(self) -> None:
        if self._writing:
            self._writing = False
            self.reactor.removeWriter(self)

    def _connected(self) -> None:
        sock = self.socket
        assert sock is not None
        self.done = True
        self._stopWriting()
        made = self._buildProtocol(sock)
        if made is not None:
            self._startConnection(sock, *made)

    def _buildProtocol(self, sock: socket.socket) -> tuple[Any, Any] | None:
        """The connect worked: ``(peer, protocol)`` from the factory, or None when it raised or
        built nothing (``sock`` is then closed and the connector told)."""
        connector = self.connector
        try:
            peer = connector._peerOf(sock)
            protocol = connector.buildProtocol(peer)
        except Exception:
            reason = Failure()
            _log.failure(
                "Unhandled error in buildProtocol of {factory!r}",
                reason,
                level=LogLevel.error,
                factory=connector.factory,
            )
            sock.close()
            connector._connectionFailed(reason)
            return None
        if protocol is None:
            sock.close()
            connector._connectionFailed(Failure(ConnectError(None, "buildProtocol returned None")))
            return None
        return peer, protocol

    def _startConnection(self, sock: socket.socket, peer: Any, protocol: Any) -> None:
        """Run ``protocol`` over the connected ``sock`` (a reactor-specific transport may
        take the socket over instead)."""
        connector = self.connector
        transport = connector.connectionClass(sock, protocol, self.reactor)
        transport.connector = connector
        transport._peerAddr = peer
        connector.transport = transport
        transport._reading = True
        self.reactor.addReader(transport)
        try:
            protocol.makeConnection(transport)
        except Exception:
            transport._userError("makeConnection")

    def fail(self, error: BaseException | Failure) -> None:
        """End the attempt (if still in flight) with ``error``; the connector is told."""
        if self.done:
            return
        self.done = True
        if self._later is not None:
            self._later.cancel()
            self._later = None
        self._stopWriting()
        if self.socket is not None:
            self.socket.close()
        reason = error if isinstance(error, Failure) else Failure(error)
        self.connector._connectionFailed(reason)

    # Twisted's name for it.
    failIfNotConnected = fail

    def connectionLost(self, reason: object) -> None:
        """The reactor is shutting down mid-connect."""
        if isinstance(reason, Failure | BaseException):
            self.fail(reason)
        else:
            self.fail(UserError(None, "reactor shut down"))

    def stopConnecting(self) -> None:
        """Give up, reported as ``UserError``."""
        self.fail(UserError(None, "stopConnecting() was called"))


class StreamConnector:
    """``IConnector`` for stream clients; subclasses say what to connect to and how."""

    connectionClass: type[ClientConnection] = ClientConnection

    def __init__(self, reactor: IStreamReactor, factory: Any, timeout: float | None) -> None:
        self.reactor = reactor
        self.factory = factory
        self.timeout = timeout
        self.state = "disconnected"
        self.transport: ConnectAttempt | ClientConnection | None = None
        self.factoryStarted = False
        self._timeoutCall: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} to {self.getDestination()!r} ({self.state})>"

    def _makeAttempt(self) -> ConnectAttempt:
        raise NotImplementedError

    def _peerOf(self, sock: socket.socket) -> Any:
        raise NotImplementedError

    def getDestination(self) -> Any:
        """The address this connector connects to."""
        raise NotImplementedError

    def connect(self) -> None:
        """Start connecting (again); only when disconnected."""
        if self.state != "disconnected":
            raise RuntimeError(f"can't connect in this state: {self.state}")
        self.state = "connecting"
        if not self.factoryStarted:
            self.factory.doStart()
            self.factoryStarted = True
        attempt = self._makeAttempt()
        self.transport = attempt
        if self.timeout is not None:
            self._timeoutCall = self.reactor.callLater(self.timeout, self._timedOut, attempt)
        self.factory.startedConnecting(self)

    def _timedOut(self, attempt: ConnectAttempt) -> None:
        self._timeoutCall = None
        attempt.fail(TimeoutError(None, f"connect timed out after {self.timeout}s"))

    def _cancelTimeout(self) -> None:
        if self._timeoutCall is not None:
            self._timeoutCall.cancel()
            self._timeoutCall = None

    def stopConnecting(self) -> None:
        """Abandon the attempt in progress (``clientConnectionFailed`` gets ``UserError``)."""
        if self.state != "connecting" or not isinstance(self.transport, ConnectAttempt):
            raise NotConnectingError("we're not trying to connect")
        self.transport.stopConnecting()

    def disconnect(self) -> None:
        """Stop connecting, or lose the connection."""
        if self.state == "connecting":
            self.stopConnecting()
        elif self.state == "connected" and self.transport is not None:
            self.transport.loseConnection()  # type: ignore[union-attr]

    def buildProtocol(self, addr: Any) -> Any:
        """The connect worked: build the factory's protocol."""
        self.state = "connected"
        self._cancelTimeout()
        return self.factory.buildProtocol(addr)

    def _connectionFailed(self, reason: Failure) -> None:
        self._cancelTimeout()
        self.transport = None
        self.state = "disconnected"
        try:
            self.factory.clientConnectionFailed(self, reason)
        except Exception:
            _log.failure("Error in clientConnectionFailed of {factory!r}", factory=self.factory)
        self._maybeStopFactory()

    def _connectionLost(self, reason: Failure) -> None:
        self.transport = None
        self.state = "disconnected"
        try:
            self.factory.clientConnectionLost(self, reason)
        except Exception:
            _log.failure("Error in clientConnectionLost of {factory!r}", factory=self.factory)
        self._maybeStopFactory()

    def _maybeStopFactory(self) -> None:
        if self.state == "disconnected" and self.factoryStarted:
            self.factoryStarted = False
            try:
                self.factory.doStop()
            except Exception:
                _log.failure("Error in doStop of {factory!r}", factory=self.factory)
