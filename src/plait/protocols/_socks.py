"""A SOCKS4/4a/5 server (CONNECT only) that refuses every destination no rule admits."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from plait.defer import Deferred, Failure
from plait.log import Logger
from plait.protocol import Factory
from plait.protocols._portforward import ProxyClient, _RelaySide, relay
from plait.wire.socks import (
    CONNECT,
    METHOD_NO_ACCEPTABLE,
    METHOD_NONE,
    METHOD_USERNAME_PASSWORD,
    SOCKS4_GRANTED,
    SOCKS4_REJECTED,
    SOCKS5_ADDRESS_NOT_SUPPORTED,
    SOCKS5_COMMAND_NOT_SUPPORTED,
    SOCKS5_CONNECTION_REFUSED,
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

__all__ = ["SOCKSFactory", "SOCKSServer", "parseUsers"]

_log = Logger(namespace="plait.protocols.socks")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parseUsers(text: str) -> dict[bytes, bytes]:
    """Parse ``user:password`` lines (blank lines and ``#`` comments skipped)."""
    users: dict[bytes, bytes] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user:
            raise ValueError(f"users file line {number}: expected user:password")
        users[user.encode()] = password.encode()
    return users


class SOCKSServer(_RelaySide):
    """One SOCKS client connection: handshake through ``plait.wire.socks``, then a relay.

    Reading from the client pauses while a destination resolves and connects; the handshake
    (up to the start of relaying) must finish within ``factory.handshakeTimeout`` seconds.
    """

    factory: SOCKSFactory

    def __init__(self) -> None:
        self._parser = SOCKSParser()
        self._timer: Any = None
        self._version = 0
        self._relaying = False
        self._connecting: Deferred[Any] | None = None

    def connectionMade(self) -> None:
        self._timer = self.factory.reactor.callLater(self.factory.handshakeTimeout, self._timedOut)

    def _timedOut(self) -> None:
        self._timer = None
        _log.info("SOCKS handshake from {peer} timed out", peer=self._peerName())
        transport: Any = self.transport
        transport.abortConnection()

    def _cancelTimer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _peerName(self) -> str:
        peer = self.transport.getPeer() if self.transport is not None else None
        host = getattr(peer, "host", None)
        return f"{host}:{getattr(peer, 'port', '')}" if host is not None else repr(peer)

    def dataReceived(self, data: bytes) -> None:
        if self._relaying:
            super().dataReceived(data)
            return
        try:
            events = self._parser.receiveData(data)
            self._handle(events)
        except SOCKSProtocolError as e:
            _log.info("SOCKS protocol error from {peer}: {error}", peer=self._peerName(), error=e)
            self._close()

    def _close(self) -> None:
        self._cancelTimer()
        if self.transport is not None:
            self.transport.loseConnection()

    def _handle(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, MethodsOffered):
                self._version = 5
                self._methodsOffered(event)
            elif isinstance(event, CredentialsReceived):
                self._credentials(event)
            elif isinstance(event, SOCKSRequestReceived):
                self._version = event.version
                self._request(event)

    def _methodsOffered(self, event: MethodsOffered) -> None:
        assert self.transport is not None
        wanted = METHOD_USERNAME_PASSWORD if self.factory.users is not None else METHOD_NONE
        if wanted not in event.methods:
            _log.info(
                "SOCKS5 client {peer} offers no acceptable method ({methods})",
                peer=self._peerName(),
                methods=event.methods.hex(),
            )
            self.transport.write(socks5MethodReply(METHOD_NO_ACCEPTABLE))
            self._close()
            return
        self.transport.write(socks5MethodReply(wanted))
        self._handle(self._parser.chooseMethod(wanted))

    def _credentials(self, event: CredentialsReceived) -> None:
        assert self.transport is not None and self.factory.users is not None
        stored = self.factory.users.get(event.username)
        # Compare against something even for an unknown user, so timing tells nothing.
        ok = hmac.compare_digest(stored if stored is not None else b"\x00" * 32, event.password)
        ok = ok and stored is not None
        self.transport.write(socks5AuthReply(ok))
        if not ok:
            _log.info(
                "SOCKS5 authentication failed for {user!r} from {peer}",
                user=event.username.decode("utf-8", "replace"),
                peer=self._peerName(),
            )
            self._close()
            return
        self._handle(self._parser.authenticated())

    def _refuse(self, code5: int, why: str, **kwargs: Any) -> None:
        assert self.transport is not None
        _log.info("SOCKS request from {peer} refused: " + why, peer=self._peerName(), **kwargs)
        if self._version == 4:
            self.transport.write(socks4Reply(SOCKS4_REJECTED))
        else:
            self.transport.write(socks5Reply(code5))
        self._close()

    def _request(self, event: SOCKSRequestReceived) -> None:
        assert self.transport is not None
        if event.version == 4 and self.factory.users is not None:
            self._refuse(SOCKS5_NOT_ALLOWED, "SOCKS4 cannot authenticate and --users is set")
            return
        if event.command != CONNECT:
            # BIND and UDP ASSOCIATE are not offered.
            self._refuse(SOCKS5_COMMAND_NOT_SUPPORTED, "command {c} not supported", c=event.command)
            return
        if event.version == 5 and event.addressType not in (1, 3, 4):
            self._refuse(SOCKS5_ADDRESS_NOT_SUPPORTED, "address type {t}", t=event.addressType)
            return
        transport: Any = self.transport
        transport.pauseProducing()
        d: Deferred[str] = self.factory.reactor.resolve(event.host)
        d.addCallbacks(
            lambda address: self._resolved(event, address),
            lambda f: self._refuse(
                SOCKS5_HOST_UNREACHABLE,
                "cannot resolve {host}: {error}",
                host=event.host,
                error=f.getErrorMessage(),
            ),
        )

    def _resolved(self, event: SOCKSRequestReceived, address: str) -> None:
        if not self.connected:
            return
        ip = ipaddress.ip_address(address)
        if not self.factory.allows(ip):
            self._refuse(
                SOCKS5_NOT_ALLOWED,
                "destination {host} ({address}) port {port} is not admitted by any --allow rule",
                host=event.host,
                address=address,
                port=event.port,
            )
            return
        from plait.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, connectProtocol

        endpointClass = TCP4ClientEndpoint if ip.version == 4 else TCP6ClientEndpoint
        endpoint = endpointClass(self.factory.reactor, address, event.port)
        d: Deferred[Any] = connectProtocol(endpoint, ProxyClient())
        self._connecting = d
        d.addCallbacks(
            lambda client: self._connected(client),
            lambda f: self._connectFailed(event, f),
        )

    def _connectFailed(self, event: SOCKSRequestReceived, failure: Failure) -> None:
        if not self.connected:
            return
        self._refuse(
            SOCKS5_CONNECTION_REFUSED,
            "cannot connect to {host} port {port}: {error}",
            host=event.host,
            port=event.port,
            error=failure.getErrorMessage(),
        )

    def _connected(self, client: ProxyClient) -> None:
        assert client.transport is not None
        if not self.connected or self.transport is None:
            client.transport.loseConnection()
            return
        self._cancelTimer()
        bound = client.transport.getHost()
        host, port = getattr(bound, "host", "0.0.0.0"), getattr(bound, "port", 0)
        if self._version == 4:
            self.transport.write(
                socks4Reply(SOCKS4_GRANTED, port, host if ":" not in host else "0.0.0.0")
            )
        else:
            self.transport.write(socks5Reply(SOCKS5_SUCCEEDED, host, port))
        self._relaying = True
        relay(self, client)
        pending = self._parser.takeTrailingData()
        if pending:
            client.transport.write(pending)

    def readConnectionLost(self) -> None:
        if self._relaying:
            super().readConnectionLost()
        else:
            self._close()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.connected = 0
        self._cancelTimer()
        connecting, self._connecting = self._connecting, None
        if connecting is not None and not connecting.called:
            connecting.cancel()  # the client left while we were connecting for it
        super().connectionLost(reason)


class SOCKSFactory(Factory):
    """Builds ``SOCKSServer`` protocols.

    ``reactor`` provides ``callLater``, ``resolve`` and ``connectTCP``. ``allow`` lists the
    networks (CIDR strings or ``ipaddress`` networks) a destination must be in, checked on the
    resolved address; with none, every request is refused. ``users`` (name -> password bytes)
    turns on RFC 1929 authentication, which SOCKS5 then requires and SOCKS4 cannot do.
    """

    protocol = SOCKSServer

    def __init__(
        self,
        reactor: Any,
        allow: Iterable[str | _Network] = (),
        users: Mapping[bytes, bytes] | None = None,
        handshakeTimeout: float = 30.0,
    ) -> None:
        self.reactor = reactor
        self.allow: list[_Network] = [
            n if not isinstance(n, str) else ipaddress.ip_network(n, strict=False) for n in allow
        ]
        self.users = dict(users) if users is not None else None
        self.handshakeTimeout = handshakeTimeout

    def allows(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        """True if some ``allow`` network contains ``address``."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == n.version and address in n for n in self.allow)
