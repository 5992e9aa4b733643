"""Port forwarding over an in-memory SSH connection pair, to a real loopback echo server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ClientFactory, Factory, Protocol
from plait.reactor import reactorClassNamed
from plait.ssh.connection import ChannelOpenError, RequestFailedError, SSHConnection
from plait.ssh.forwarding import ForwardingChannel, forwardLocal, forwardRemote
from plait.ssh.session import ConchUser
from plait.testing import failureResultOf
from plait.wire.ssh.connection import DirectTCPIP, OpenFailureReason, TCPIPForward

from .connfakes import LivePair, ServicePair, runUntil

SIZE = 4 * 1024 * 1024


class Echo(Protocol):
    """Echoes; half-closes after the peer's EOF."""

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def readConnectionLost(self) -> None:
        transport: Any = self.transport
        transport.loseWriteConnection()


class Sender(Protocol):
    """Sends SIZE bytes in chunks (with a producer), half-closes, hashes what comes back."""

    def __init__(self) -> None:
        self.sent = hashlib.sha256()
        self.received = hashlib.sha256()
        self.count = 0
        self.done = False
        self.remaining = SIZE
        self.paused = False

    def connectionMade(self) -> None:
        transport: Any = self.transport
        transport.registerProducer(self, True)
        self.resumeProducing()

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        transport: Any = self.transport
        chunk = bytes(range(256)) * 256
        while not self.paused and self.remaining > 0:
            data = chunk[: min(len(chunk), self.remaining)]
            self.remaining -= len(data)
            self.sent.update(data)
            transport.write(data)
        if self.remaining == 0 and not self.done:
            self.done = True
            transport.unregisterProducer()
            transport.loseWriteConnection()

    def stopProducing(self) -> None:
        self.paused = True

    def dataReceived(self, data: bytes) -> None:
        self.count += len(data)
        self.received.update(data)

    def readConnectionLost(self) -> None:
        assert self.transport is not None
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost = True


@pytest.fixture
def reactor() -> Iterator[Any]:
    """A fresh reactor, closed after the test."""
    r = reactorClassNamed("epoll" if hasattr(__import__("select"), "epoll") else "poll")()
    yield r
    if r._started:
        r.crash()
    r.close()


def echoPort(reactor: Any) -> int:
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    return int(port.getHost().port)


def test_local_forward_relays_both_ways(reactor: Any) -> None:
    """-L: a local connection becomes a direct-tcpip channel to the echo server; 4 MB
    (twice the window) go through and come back intact, and the half-close is passed on."""
    target = echoPort(reactor)
    client = SSHConnection()
    pair = LivePair(client, SSHConnection(ConchUser("u")), reactor)
    listening = forwardLocal(client, 0, "127.0.0.1", target)
    sender = Sender()
    reactor.connectTCP(
        "127.0.0.1", listening.getHost().port, ClientFactory.forProtocol(lambda: sender)
    )
    runUntil(reactor, lambda: getattr(sender, "lost", False), timeout=30)
    assert sender.count == SIZE
    assert sender.received.digest() == sender.sent.digest()
    assert pair.client.channels == {}  # type: ignore[attr-defined]


def test_remote_forward(reactor: Any) -> None:
    """-R: the server listens on loopback port 0, reports the port, and each connection
    there comes back as a forwarded-tcpip channel to the client's target."""
    target = echoPort(reactor)
    client = SSHConnection()
    server = SSHConnection(ConchUser("u"))
    LivePair(client, server, reactor)
    bound: list[int] = []
    forwardRemote(client, "127.0.0.1", 0, "127.0.0.1", target).addCallback(bound.append)
    sender = Sender()

    def connect(port: int) -> None:
        reactor.connectTCP("127.0.0.1", port, ClientFactory.forProtocol(lambda: sender))

    state: dict[str, bool] = {}

    def step() -> bool:
        if bound and not state.get("connected"):
            state["connected"] = True
            connect(bound[0])
        return getattr(sender, "lost", False)

    runUntil(reactor, step, timeout=30)
    assert bound[0] > 0
    assert sender.received.digest() == sender.sent.digest()
    assert server.serverForwarding is not None
    assert ("127.0.0.1", bound[0]) in server.serverForwarding.listeners


def test_direct_tcpip_connect_failed(reactor: Any) -> None:
    """A direct-tcpip to a closed port fails with CONNECT_FAILED, before confirmation."""
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    closed = port.getHost().port
    port.stopListening()
    client = SSHConnection()
    LivePair(client, SSHConnection(ConchUser("u")), reactor)
    failures: list[Any] = []

    class Probe(ForwardingChannel):
        def openFailed(self, reason: Any) -> None:
            failures.append(reason)

    client.openChannel(Probe(), DirectTCPIP("127.0.0.1", closed, "127.0.0.1", 1).toData())
    runUntil(reactor, lambda: bool(failures))
    assert failures[0].value.reasonCode == OpenFailureReason.CONNECT_FAILED


def test_listen_policy() -> None:
    """tcpip-forward outside loopback is refused by default; cancel of nothing fails."""
    client = SSHConnection()
    pair = ServicePair(client, SSHConnection(ConchUser("u")))
    wild = client.sendGlobalRequest(
        b"tcpip-forward", TCPIPForward("0.0.0.0", 0).toData(), wantReply=True
    )
    cancel = client.sendGlobalRequest(
        b"cancel-tcpip-forward", TCPIPForward("127.0.0.1", 1234).toData(), wantReply=True
    )
    pair.pump()
    assert wild is not None and cancel is not None
    failureResultOf(wild, RequestFailedError)
    failureResultOf(cancel, RequestFailedError)


def test_direct_tcpip_policy_hook() -> None:
    """The avatar's allowConnect refuses a direct-tcpip with ADMINISTRATIVELY_PROHIBITED."""

    class Picky(ConchUser):
        def allowConnect(self, host: str, port: int) -> bool:
            return port == 80

    client = SSHConnection()
    pair = ServicePair(client, SSHConnection(Picky("u")))
    failures: list[Any] = []

    class Probe(ForwardingChannel):
        def openFailed(self, reason: Any) -> None:
            failures.append(reason)

    client.openChannel(Probe(), DirectTCPIP("127.0.0.1", 22, "127.0.0.1", 1).toData())
    pair.pump()
    assert failures[0].value.reasonCode == OpenFailureReason.ADMINISTRATIVELY_PROHIBITED
    assert isinstance(failures[0].value, ChannelOpenError)


def test_privileged_ports_need_root_avatar() -> None:
    """A forward below port 1024 is refused for ordinary avatars, allowed for uid 0."""
    from plait.ssh.session import UnixConchUser

    assert not ConchUser("u").allowListen("127.0.0.1", 80)
    assert ConchUser("u").allowListen("127.0.0.1", 8080)
    assert ConchUser("u").allowListen("127.0.0.1", 0)
    assert not UnixConchUser("alice", 1000, 1000).allowListen("127.0.0.1", 80)
    assert UnixConchUser("root", 0, 0).allowListen("127.0.0.1", 80)
    assert not UnixConchUser("root", 0, 0).allowListen("0.0.0.0", 8080)


def test_cancel_of_port_zero_forward_forgets_both_names(reactor: Any) -> None:
    """Cancelling a port-0 forward by its bound port frees it entirely: no stale listener is
    left under (address, 0), and a new port-0 forward is accepted."""
    from plait.testing import successResultOf

    client = SSHConnection()
    server = SSHConnection(ConchUser("u"))
    pair = ServicePair(client, server, reactor)
    first = client.sendGlobalRequest(
        b"tcpip-forward", TCPIPForward("127.0.0.1", 0).toData(), wantReply=True
    )
    pair.pump()
    assert first is not None
    bound = int.from_bytes(successResultOf(first)[:4], "big")
    assert bound > 0
    cancel = client.sendGlobalRequest(
        b"cancel-tcpip-forward", TCPIPForward("127.0.0.1", bound).toData(), wantReply=True
    )
    pair.pump()
    assert cancel is not None
    successResultOf(cancel)
    assert server.serverForwarding.listeners == {}
    again = client.sendGlobalRequest(
        b"tcpip-forward", TCPIPForward("127.0.0.1", 0).toData(), wantReply=True
    )
    pair.pump()
    assert again is not None
    assert int.from_bytes(successResultOf(again)[:4], "big") > 0
    server.serviceStopped()
    assert server.serverForwarding.listeners == {}


def test_permitlisten_and_permitopen_follow_authorized_keys_rules() -> None:
    """permitlisten="PORT" means localhost:PORT and permitopen hosts match in any case, as
    sshd reads them (a bare port used to match nothing, so the key could not forward)."""
    from plait.ssh.session import SessionRestrictions
    from plait.wire.ssh.keys import PrivateKey, parseAuthorizedKeys

    blob = PrivateKey.generate("ed25519").publicKey().toOpenSSH()
    line = b'permitlisten="8080",permitopen="Example.COM:22",permitopen="[::1]:*" ' + blob
    (entry,) = parseAuthorizedKeys(line)
    avatar = ConchUser("u", restrictions=SessionRestrictions.fromOptions(entry.options))
    assert avatar.allowListen("localhost", 8080)
    assert not avatar.allowListen("localhost", 8081)
    assert not avatar.allowListen("127.0.0.1", 8080)
    assert avatar.allowConnect("example.com", 22)
    assert avatar.allowConnect("::1", 5432)
    assert not avatar.allowConnect("example.com", 23)
    assert not avatar.allowConnect("127.0.0.1", 22)
    broken = ConchUser("u", restrictions=SessionRestrictions(permitOpen=("nonsense",)))
    assert not broken.allowConnect("nonsense", 22)
