"""TCP and Unix listening ports and client connectors on asyncio, for ``AsyncioReactor``.

Servers: plait binds the socket (``CannotListenError``, addresses, Unix socket files, the
pid lock) and hands it to ``loop.create_server`` / ``loop.create_unix_server``: accepting and
every accepted connection's reads and writes are asyncio's (uvloop's C code under uvloop).

Clients: the non-blocking ``connect()`` itself stays plait's (``ConnectAttempt`` on the
loop's ``add_writer``), so everything ``connectTCP``/``connectUNIX`` promise holds unchanged:
the timeout, ``bindAddress``, name resolution through the reactor's resolver and trying each
address in turn, the errno's ``ConnectError`` subclass, ``checkPID``, a full Unix backlog
retried. The connected socket is then handed to ``loop.create_connection`` /
``loop.create_unix_connection``, so the connection runs on asyncio's transports like an
accepted one. (Letting asyncio connect would lose the errno on multi-address failures, and
uvloop resolves even numeric addresses through its thread pool.)
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

from plait.defer import Deferred, Failure
from plait.log import Logger
from plait.protocol import ConnectError, ConnectionDone, ConnectionLost

from ._asyncio_stream import (
    AsyncioStreamConnection,
    AsyncioTCPConnection,
    AsyncioUNIXConnection,
)
from ._streamclient import ConnectAttempt
from ._tcp import TCPConnectAttempt, TCPConnector, TCPPort
from ._unix import UNIXConnectAttempt, UNIXConnector, UNIXPort

__all__ = [
    "AsyncioStreamMixin",
    "AsyncioTCPPort",
    "AsyncioUNIXPort",
]

_log = Logger("plait.reactor")

# Ports have a ``socket`` attribute, which shadows the module in class scope for mypy.
_Socket = socket.socket


class _AsyncioServing:
    """A plait ``StreamPort`` (binding, errors, addresses) whose socket asyncio serves."""

    reactor: Any
    factory: Any
    backlog: int
    connected: bool
    socket: _Socket | None
    _reading: bool
    asyncioConnectionClass: type[AsyncioStreamConnection]

    _server: Any = None
    _serverTask: Any = None
    _pendingSocket: _Socket | None = None
    _serveStarted = False

    if TYPE_CHECKING:

        def connectionLost(self, reason: object) -> None: ...

    def _createServer(
        self, loop: asyncio.AbstractEventLoop, sock: _Socket
    ) -> Any:  # a coroutine of an asyncio.Server
        raise NotImplementedError

    def _newConnection(self) -> AsyncioStreamConnection:
        """asyncio's protocol factory: a connection that builds its protocol once made."""
        return self.asyncioConnectionClass(None, self.reactor, None, self)

    def _startReading(self) -> None:
        if self._reading:
            return
        self._reading = True
        self.reactor._asyncioPorts.add(self)
        loop: asyncio.AbstractEventLoop = self.reactor._loop
        self._serverTask = task = loop.create_task(self._serve(loop))
        task.add_done_callback(self._serving)

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> Any:
        self._serveStarted = True
        sock = self._pendingSocket or self.socket
        assert sock is not None
        return await self._createServer(loop, sock)

    def _serving(self, task: asyncio.Task[Any]) -> None:
        self._serverTask = None
        if task.cancelled() or task.exception() is not None:
            if not task.cancelled():
                _log.failure(
                    "asyncio could not serve {port!r}", Failure(task.exception()), port=self
                )
            sock = self.socket if self.socket is not None else self._pendingSocket
            if sock is not None:
                sock.close()
            return
        self._server = server = task.result()
        if not self.connected:
            server.close()
            self._server = None

    def _stopReading(self) -> None:
        if not self._reading:
            return
        self._reading = False
        self.reactor._asyncioPorts.discard(self)
        # asyncio owns the socket now: the server closes it (never plait, never twice).
        self._pendingSocket = self.socket
        self.socket = None
        if self._server is not None:
            self._server.close()
            self._server = None
        elif self._serverTask is not None and not self._serveStarted:
            # Stopped before asyncio took the socket: close it now, so connects are refused.
            self._serverTask.cancel()
            self._serverTask = None
            if self._pendingSocket is not None:
                self._pendingSocket.close()

    def stopListening(self) -> Deferred[None]:
        """Stop listening; the Deferred fires once the loop has closed the socket."""
        self.connectionLost(Failure(ConnectionDone()))
        d: Deferred[None] = Deferred()
        self.reactor.callLater(0, d.callback, None)
        return d

    loseConnection = stopListening


class AsyncioTCPPort(_AsyncioServing, TCPPort):
    """A plait ``TCPPort`` served by ``loop.create_server``."""

    asyncioConnectionClass = AsyncioTCPConnection

    def _createServer(self, loop: asyncio.AbstractEventLoop, sock: _Socket) -> Any:
        return loop.create_server(self._newConnection, sock=sock, backlog=self.backlog)


class AsyncioUNIXPort(_AsyncioServing, UNIXPort):
    """A plait ``UNIXPort`` (socket file, mode, pid lock) served by
    ``loop.create_unix_server``."""

    asyncioConnectionClass = AsyncioUNIXConnection

    def _createServer(self, loop: asyncio.AbstractEventLoop, sock: _Socket) -> Any:
        return loop.create_unix_server(self._newConnection, sock=sock, backlog=self.backlog)


class _AsyncioAttempt:
    """Mixed into a ``ConnectAttempt``: once connected, the socket goes to asyncio."""

    connector: Any
    reactor: Any
    socket: socket.socket | None
    done: bool

    def _startConnection(self, sock: _Socket, peer: Any, protocol: Any) -> None:
        self.socket = None  # asyncio's from here on
        connector = self.connector
        conn = connector.asyncioConnectionClass(protocol, self.reactor, peer)
        conn.connector = connector
        connector.transport = conn
        reactor = self.reactor
        loop: asyncio.AbstractEventLoop = reactor._loop
        task = loop.create_task(connector._createConnection(loop, lambda: conn, sock))
        pending = reactor._asyncioConnecting
        pending[task] = (conn, sock)
        task.add_done_callback(reactor._connectionCreated)


class _AsyncioTCPAttempt(_AsyncioAttempt, TCPConnectAttempt):
    """``connectTCP``'s attempt, ending on an asyncio transport."""


class _AsyncioUNIXAttempt(_AsyncioAttempt, UNIXConnectAttempt):
    """``connectUNIX``'s attempt, ending on an asyncio transport."""


class AsyncioTCPConnector(TCPConnector):
    """``IConnector`` of ``connectTCP`` whose connection runs on an asyncio transport."""

    asyncioConnectionClass = AsyncioTCPConnection

    def _makeAttempt(self) -> ConnectAttempt:
        return _AsyncioTCPAttempt(self)

    def _createConnection(
        self, loop: asyncio.AbstractEventLoop, adapter: Any, sock: socket.socket
    ) -> Any:
        return loop.create_connection(adapter, sock=sock)


class AsyncioUNIXConnector(UNIXConnector):
    """``IConnector`` of ``connectUNIX`` whose connection runs on an asyncio transport."""

    asyncioConnectionClass = AsyncioUNIXConnection

    def _makeAttempt(self) -> ConnectAttempt:
        return _AsyncioUNIXAttempt(self)

    def _createConnection(
        self, loop: asyncio.AbstractEventLoop, adapter: Any, sock: socket.socket
    ) -> Any:
        return loop.create_unix_connection(adapter, sock=sock)


_ConnectingEntry = tuple[AsyncioStreamConnection, socket.socket]


class AsyncioStreamMixin:
    """``listenTCP``/``connectTCP``/``listenUNIX``/``connectUNIX`` on asyncio transports: the
    POSIX reactor mixins' methods with these port and connector classes."""

    _tcpPortClass: type[TCPPort] = AsyncioTCPPort
    _tcpConnectorClass: type[TCPConnector] = AsyncioTCPConnector
    _unixPortClass: type[UNIXPort] = AsyncioUNIXPort
    _unixConnectorClass: type[UNIXConnector] = AsyncioUNIXConnector

    _loop: asyncio.AbstractEventLoop
    _asyncioConnections: set[AsyncioStreamConnection]
    _asyncioPorts: set[_AsyncioServing]
    # create_connection tasks in flight: the connection and socket each will carry.
    _asyncioConnecting: dict[asyncio.Task[Any], _ConnectingEntry]
    _uvloop: bool  # the loop is uvloop's (which owns a socket handed to it differently)

    def _connectionCreated(self, task: asyncio.Task[Any]) -> None:
        conn, sock = self._asyncioConnecting.pop(task)
        if self._uvloop:
            # uvloop attaches the socket object only once create_connection returns, so a
            # connection closed inside connection_made leaves the object believing it owns a
            # descriptor libuv already closed: drop the object's claim (libuv owns the fd).
            sock.detach()
        if not task.cancelled() and task.exception() is None:
            return  # connection_made has run: the connection is live (or already lost)
        if not self._uvloop:
            sock.close()  # asyncio closed it already, or never took it: idempotent
        connector = conn.connector
        if conn._transport is None and connector is not None and not conn.disconnected:
            conn.connector = None
            conn.disconnected = True
            reason = Failure(ConnectError(None, "the connection could not be set up"))
            if not task.cancelled():
                reason = Failure(task.exception())
            connector._connectionFailed(reason)

    def _disconnectAsyncio(self) -> None:
        """At shutdown: stop every port, abort every connection; protocols hear it at once."""
        ports = list(self._asyncioPorts)
        self._asyncioPorts.clear()
        for port in ports:
            port.connectionLost(Failure(ConnectionLost("the reactor shut down")))
        for conn, _ in list(self._asyncioConnecting.values()):
            connector = conn.connector
            if conn._transport is None and connector is not None and not conn.disconnected:
                # Not made yet: its adapter aborts it when asyncio makes it (a loop turn).
                conn.connector = None
                conn.disconnected = True
                connector._connectionFailed(Failure(ConnectionLost("the reactor shut down")))
        connections = list(self._asyncioConnections)
        self._asyncioConnections.clear()
        for conn in connections:
            transport = conn._transport
            if transport is not None:
                transport.abort()
            conn._lostConnectionWith(Failure(ConnectionLost("the reactor shut down")))
