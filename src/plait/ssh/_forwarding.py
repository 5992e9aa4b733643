"""TCP/IP port forwarding over SSH (RFC 4254 §7), server and client sides.

Server: ``direct-tcpip`` channels connect to the requested host and port (if the avatar's
``allowConnect`` agrees; the channel is confirmed only once connected), and ``tcpip-forward``
listens where the avatar's ``allowListen`` agrees (loopback by default), opening a
``forwarded-tcpip`` channel to the client per accepted connection. Client: ``forwardLocal``
(``ssh -L``) and ``forwardRemote`` (``ssh -R``).

Each forwarded connection is a ``plait.protocols.portforward`` relay between the TCP
connection and the channel (run as a transport): flow control both ways (the SSH side pauses
reading the TCP socket while the peer's window is full, and stops granting window while the
TCP socket's send buffer is full), EOF passed on as a half-close.
"""

from __future__ import annotations

from typing import Any

from plait.defer import Deferred, Failure
from plait.log import Logger
from plait.protocol import CannotListenError, Factory, Protocol
from plait.protocols.portforward import ProxyClient, relay
from plait.ssh._channel import ChannelOpenError, SSHChannel, connectProtocolToChannel
from plait.wire.ssh.connection import (
    DirectTCPIP,
    ForwardedTCPIP,
    OpenFailureReason,
    TCPIPForward,
)
from plait.wire.ssh.types import encodeUInt32

__all__ = [
    "ClientForwarding",
    "ForwardingChannel",
    "ServerForwarding",
    "forwardLocal",
    "forwardRemote",
    "openDirectTCPIP",
]

_log = Logger(namespace="plait.ssh.forwarding")

_LOOPBACK_NAMES = {"localhost": "127.0.0.1", "": "0.0.0.0", "*": "0.0.0.0"}


def _reactorOf(conn: Any) -> Any:
    return conn.transport.reactor


class _TCPSide(ProxyClient):
    """The TCP end of a forwarded connection. Once the channel is open it is relayed
    (``plait.protocols.portforward.relay``: backpressure both ways, EOF as a half-close) to a
    relay side run over the channel; what it read before (reading is paused at once, so
    little) and whether it saw EOF or was lost are kept until then."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.eof = False
        self.lost = False

    def dataReceived(self, data: bytes) -> None:
        if self.peer is None:
            self.pending.append(data)
        else:
            super().dataReceived(data)

    def readConnectionLost(self) -> None:
        """The TCP peer half-closed: EOF on the channel (once it is relayed)."""
        self.eof = True
        super().readConnectionLost()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost = True
        super().connectionLost(reason)


class ForwardingChannel(SSHChannel):
    """A ``direct-tcpip`` or ``forwarded-tcpip`` channel relaying to a TCP connection."""

    def __init__(self, *args: Any, channelType: bytes = b"direct-tcpip", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name = channelType
        self.tcp: _TCPSide | None = None

    def attach(self, tcp: _TCPSide) -> None:
        """Join ``tcp`` (connected) to this (open) channel, with backpressure both ways."""
        if tcp.lost:
            self.sendEOF()
            self.loseConnection()
            return
        self.tcp = tcp
        side = ProxyClient()
        connectProtocolToChannel(side, self)
        pending, tcp.pending = tcp.pending, []
        for data in pending:
            self.write(data)
        relay(tcp, side)
        if tcp.eof:
            self.sendEOF()

    def channelOpen(self, specificData: bytes) -> None:
        """Start relaying if the TCP side is already there."""
        if self.tcp is not None:
            tcp, self.tcp = self.tcp, None
            self.attach(tcp)

    def openFailed(self, reason: Failure | BaseException) -> None:
        """The peer refused: drop the TCP connection that was waiting."""
        _log.info("forwarding channel refused: {reason}", reason=reason)
        tcp, self.tcp = self.tcp, None
        if tcp is not None and tcp.transport is not None:
            tcp.transport.loseConnection()

    def closed(self) -> None:
        """The channel is gone: the relay closes the TCP connection (or, if it never started,
        the waiting one is closed here)."""
        tcp, self.tcp = self.tcp, None
        if self.protocol is None and tcp is not None and tcp.transport is not None:
            tcp.transport.loseConnection()
        super().closed()


# -- server side ---------------------------------------------------------------------------


def openDirectTCPIP(
    remoteWindow: int, remoteMaxPacket: int, data: bytes, avatar: Any, conn: Any
) -> Deferred[SSHChannel]:
    """A ``direct-tcpip`` channel factory for ``ConchUser.channelLookup``: connects first,
    so a refused connection is an open failure (CONNECT_FAILED) as in OpenSSH."""
    request = DirectTCPIP.fromData(data)
    if avatar is not None and not avatar.allowConnect(request.host, request.port):
        raise ChannelOpenError(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, "not permitted")
    channel = _ServerDirectChannel(
        remoteWindow=remoteWindow, remoteMaxPacket=remoteMaxPacket, avatar=avatar, conn=conn
    )
    return _connectFor(channel, conn, request.host, request.port)


def _connectFor(channel: ForwardingChannel, conn: Any, host: str, port: int) -> Deferred[Any]:
    """Connect to ``host:port``, then fire with ``channel`` holding the (paused) connection;
    a failed connection is the open's failure (CONNECT_FAILED)."""
    from plait.endpoints import HostnameEndpoint, connectProtocol

    tcp = _TCPSide()
    endpoint = HostnameEndpoint(_reactorOf(conn), host, port, timeout=30)
    d: Deferred[Any] = connectProtocol(endpoint, tcp)

    def connected(_: object) -> SSHChannel:
        transport: Any = tcp.transport
        transport.pauseProducing()  # until the channel is confirmed and attached
        channel.tcp = tcp
        return channel

    def failed(failure: Failure) -> None:
        raise ChannelOpenError(OpenFailureReason.CONNECT_FAILED, failure.getErrorMessage())

    return d.addCallbacks(connected, failed)


class _ServerDirectChannel(ForwardingChannel):
    """The server's ``direct-tcpip`` channel: connected before it is confirmed."""


class _ListenerFactory(Factory):
    """Accepts connections on a forwarded port and opens a channel for each."""

    def __init__(self, conn: Any, channelType: bytes, makeData: Any) -> None:
        self.conn = conn
        self.channelType = channelType
        self.makeData = makeData
        self.noisy = False

    def buildProtocol(self, addr: Any) -> Protocol:
        tcp = _AcceptedSide(self, addr)
        return tcp


class _AcceptedSide(_TCPSide):
    """An accepted connection: pause it and open the channel that will carry it."""

    def __init__(self, factory: _ListenerFactory, addr: Any) -> None:
        super().__init__()
        self.listener = factory
        self.addr = addr

    def connectionMade(self) -> None:
        transport: Any = self.transport
        transport.pauseProducing()
        conn = self.listener.conn
        channel = ForwardingChannel(channelType=self.listener.channelType)
        channel.tcp = self
        host = getattr(self.addr, "host", "127.0.0.1")
        port = getattr(self.addr, "port", 0)
        conn.openChannel(channel, self.listener.makeData(host, port))


class ServerForwarding:
    """The ``tcpip-forward`` listeners of one SSH connection (closed when it ends)."""

    def __init__(self, avatar: Any, conn: Any) -> None:
        self.avatar = avatar
        self.conn = conn
        self.listeners: dict[tuple[str, int], Any] = {}
        conn.notifyOnStop(self.stopAll)

    def requestReceived(self, requestType: bytes, data: bytes) -> bool | bytes:
        """Answer ``tcpip-forward`` (with the port when 0 was asked) or ``cancel-...``."""
        request = TCPIPForward.fromData(data)
        if requestType == b"cancel-tcpip-forward":
            port = self.listeners.pop((request.address, request.port), None)
            if port is None:
                return False
            # a port-0 forward is kept under both (address, 0) and (address, bound)
            for key in [k for k, p in self.listeners.items() if p is port]:
                del self.listeners[key]
            port.stopListening()
            return True
        if not self.avatar.allowListen(request.address, request.port):
            return False
        if (request.address, request.port) in self.listeners or len(self.listeners) >= 32:
            return False
        interface = _LOOPBACK_NAMES.get(request.address, request.address)
        requested = request

        def makeData(host: str, port: int) -> bytes:
            return ForwardedTCPIP(requested.address, bound, host, port).toData()

        factory = _ListenerFactory(self.conn, b"forwarded-tcpip", makeData)
        try:
            port = _reactorOf(self.conn).listenTCP(request.port, factory, interface=interface)
        except CannotListenError as e:
            _log.info(
                "tcpip-forward on {a}:{p} failed: {e}", a=request.address, p=request.port, e=e
            )
            return False
        bound = port.getHost().port
        self.listeners[(request.address, request.port or bound)] = port
        if request.port == 0:
            self.listeners[(request.address, 0)] = port
            return encodeUInt32(bound)
        return True

    def stopAll(self) -> None:
        """Stop every listener."""
        ports = {id(p): p for p in self.listeners.values()}
        self.listeners.clear()
        for port in ports.values():
            port.stopListening()


# -- client side ---------------------------------------------------------------------------


class ClientForwarding:
    """The client's remote forwards (``-R``): which local target each server port goes to."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.targets: dict[tuple[str, int], tuple[str, int]] = {}
        conn.channelLookup[b"forwarded-tcpip"] = self.openForwarded

    def openForwarded(
        self, remoteWindow: int, remoteMaxPacket: int, data: bytes, avatar: Any, conn: Any
    ) -> Deferred[SSHChannel]:
        """A ``forwarded-tcpip`` open from the server: connect to the local target first."""
        request = ForwardedTCPIP.fromData(data)
        target = self.targets.get((request.connectedAddress, request.connectedPort))
        if target is None:
            raise ChannelOpenError(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, "not forwarded")
        channel = ForwardingChannel(
            remoteWindow=remoteWindow,
            remoteMaxPacket=remoteMaxPacket,
            conn=conn,
            channelType=b"forwarded-tcpip",
        )
        return _connectFor(channel, conn, target[0], target[1])


def forwardLocal(
    conn: Any, port: int, remoteHost: str, remotePort: int, interface: str = "127.0.0.1"
) -> Any:
    """``ssh -L``: listen on ``interface:port`` here; each connection becomes a
    ``direct-tcpip`` channel to ``remoteHost:remotePort`` on the server's side. Returns the
    listening port (``stopListening()`` ends the forward)."""

    def makeData(host: str, originPort: int) -> bytes:
        return DirectTCPIP(remoteHost, remotePort, host, originPort).toData()

    factory = _ListenerFactory(conn, b"direct-tcpip", makeData)
    listening = _reactorOf(conn).listenTCP(port, factory, interface=interface)
    conn.notifyOnStop(listening.stopListening)
    return listening


def forwardRemote(
    conn: Any, address: str, port: int, localHost: str, localPort: int
) -> Deferred[int]:
    """``ssh -R``: ask the server to listen on ``address:port`` and send each connection back
    to ``localHost:localPort`` here. Fires with the port the server bound (useful for 0)."""
    forwarding = conn.channelLookup.get(b"forwarded-tcpip")
    owner = getattr(forwarding, "__self__", None)
    if not isinstance(owner, ClientForwarding):
        owner = ClientForwarding(conn)
    d: Deferred[bytes] = conn.sendGlobalRequest(
        b"tcpip-forward", TCPIPForward(address, port).toData(), wantReply=True
    )

    def bound(data: bytes) -> int:
        actual = int.from_bytes(data[:4], "big") if port == 0 and len(data) >= 4 else port
        owner.targets[(address, actual)] = (localHost, localPort)
        return actual

    return d.addCallback(bound)
