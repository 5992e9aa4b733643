"""plait's SSH client and server end to end over loopback TCP (real transport, userauth and
connection services): exec with exit status, bulk data, a keepalive timeout that closes
the server's side of a silent client's connection, and ``plait.ssh.client`` sending channel
data before the server has answered (or even received) its exec/subsystem request."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.auth import InMemoryUsernamePasswordDatabase, Portal
from plait.defer import Deferred
from plait.protocol import Factory, Protocol
from plait.reactor import reactorClassNamed
from plait.ssh.client import SSHCommandClientEndpoint
from plait.ssh.client import connect as clientConnect
from plait.ssh.connection import RequestFailedError, SSHConnection
from plait.ssh.session import SSHClientSession, UnixConchUser, openSession
from plait.ssh.sftp import FileTransferClient, inProcessSubsystem
from plait.ssh.transport import SSHClientFactory, SSHServerFactory
from plait.ssh.userauth import SSHUserAuthClient, SSHUserAuthServer
from plait.wire.ssh.keys import PrivateKey

from .connfakes import runUntil

USER = "tester"
PASSWORD = "pass word"


@pytest.fixture
def reactor() -> Iterator[Any]:
    """A fresh reactor, closed after the test."""
    r = reactorClassNamed("epoll" if hasattr(__import__("select"), "epoll") else "poll")()
    yield r
    if r._started:
        r.crash()
    r.close()


@pytest.fixture(scope="module")
def hostKey() -> PrivateKey:
    """The server's host key."""
    return PrivateKey.generate("ed25519")


class Realm:
    """A UnixConchUser for this account."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        avatar = UnixConchUser(USER, os.getuid(), os.getgid(), str(self.home), "/bin/sh")
        avatar.subsystemLookup[b"sftp"] = inProcessSubsystem
        return interfaces[0], avatar, avatar.logout


def serve(reactor: Any, hostKey: PrivateKey, home: Path, **connectionOptions: Any) -> Any:
    """Listen with a plait SSH server; the returned list collects its connection services."""
    portal = Portal(Realm(home), [InMemoryUsernamePasswordDatabase({USER: PASSWORD})])
    services: list[SSHConnection] = []

    def nextService(avatar: Any) -> SSHConnection:
        services.append(SSHConnection(avatar, **connectionOptions))
        return services[-1]

    def userauth() -> SSHUserAuthServer:
        return SSHUserAuthServer(portal, ("IAvatar",), nextService)

    factory = SSHServerFactory([hostKey], {b"ssh-userauth": userauth}, reactor=reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    return port, services


def connect(reactor: Any, port: int, connection: SSHConnection) -> None:
    """Connect a plait SSH client that logs in by password and starts ``connection``."""

    def service() -> SSHUserAuthClient:
        return SSHUserAuthClient(USER, connection, getPassword=lambda prompt: PASSWORD)

    factory = SSHClientFactory(lambda key: True, service, reactor=reactor)
    reactor.connectTCP("127.0.0.1", port, factory)


def test_exec_end_to_end(reactor: Any, hostKey: PrivateKey, tmp_path: Path) -> None:
    """A plait client execs a command on a plait server and gets output and exit status."""
    port, _ = serve(reactor, hostKey, tmp_path)
    client = SSHConnection()
    session = SSHClientSession()
    results: list[Any] = []
    session.finished.addCallback(results.append)

    class Started(SSHConnection):
        def serviceStarted(self) -> None:
            super().serviceStarted()
            openSession(self, session).addCallback(lambda s: s.execCommand(b"echo hi; exit 4"))

    connect(reactor, port.getHost().port, Started())
    del client
    runUntil(reactor, lambda: bool(results), timeout=20)
    assert results == [4]
    assert b"".join(session.received) == b"hi\n"


def test_bulk_download(reactor: Any, hostKey: PrivateKey, tmp_path: Path) -> None:
    """64 MB of command output arrives whole through windows and the TCP producer."""
    size = 64 * 1024 * 1024
    port, _ = serve(reactor, hostKey, tmp_path)
    received = [0]
    results: list[Any] = []

    class Counting(SSHClientSession):
        def dataReceived(self, data: bytes) -> None:
            received[0] += len(data)

    session = Counting()
    session.finished.addCallback(results.append)

    class Started(SSHConnection):
        def serviceStarted(self) -> None:
            super().serviceStarted()
            command = f"head -c {size} /dev/zero".encode()
            openSession(self, session).addCallback(lambda s: s.execCommand(command))

    started = time.monotonic()
    connect(reactor, port.getHost().port, Started())
    runUntil(reactor, lambda: bool(results), timeout=60)
    elapsed = time.monotonic() - started
    assert received[0] == size and results == [0]
    print(f"\n{size / elapsed / 1e6:.0f} MB/s exec download (plait client and server)")


def test_keepalive_timeout_closes_silent_client(
    reactor: Any, hostKey: PrivateKey, tmp_path: Path
) -> None:
    """A client that answers no keepalives (and ignores the DISCONNECT) is dropped: the
    server closes the TCP connection itself."""
    port, services = serve(reactor, hostKey, tmp_path, keepaliveInterval=0.05, keepaliveCountMax=2)
    stopped: Deferred[None] = Deferred()

    class Silent(SSHConnection):
        def packetReceived(self, messageNum: int, payload: bytes) -> None:
            if messageNum == 80:  # a keepalive: from now on ignore every byte (DISCONNECT too)
                transport: Any = self.transport
                transport.dataReceived = lambda data: None
            else:
                super().packetReceived(messageNum, payload)

        def serviceStopped(self) -> None:
            super().serviceStopped()
            if not stopped.called:
                stopped.callback(None)

    connect(reactor, port.getHost().port, Silent())
    runUntil(reactor, lambda: stopped.called and bool(services) and services[0]._stopped, 10)
    assert services[0].keepalivesOutstanding == 2


class _Upper(Protocol):
    """Writes its input and EOF as soon as it is connected; collects what comes back."""

    def __init__(self) -> None:
        self.received = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        transport: Any = self.transport
        transport.write(b"sent before exec\n")
        transport.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(self.received)


def test_command_endpoint_input_before_exec(
    reactor: Any, hostKey: PrivateKey, tmp_path: Path
) -> None:
    """SSHCommandClientEndpoint connects its protocol when the channel opens, so its input
    and EOF reach the server before the exec request: the server holds them for the
    command."""
    port, _ = serve(reactor, hostKey, tmp_path)
    endpoint = SSHCommandClientEndpoint.newConnection(
        reactor,
        "tr a-z A-Z",
        USER,
        "127.0.0.1",
        port.getHost().port,
        password=PASSWORD,
        verifyHostKey=lambda key: True,
    )
    protocol = _Upper()
    results: list[Any] = []
    endpoint.connect(Factory.forProtocol(lambda: protocol)).addCallback(lambda p: p.done).addBoth(
        results.append
    )
    runUntil(reactor, lambda: bool(results), timeout=20)
    assert results == [b"SENT BEFORE EXEC\n"]


def test_open_sftp_pipelined_and_refused(reactor: Any, hostKey: PrivateKey, tmp_path: Path) -> None:
    """openSFTP sends INIT right after the subsystem request (before its reply) and works
    against a plait server; once the server has no sftp, it fails with RequestFailedError."""
    (tmp_path / "file").write_bytes(b"contents")
    port, services = serve(reactor, hostKey, tmp_path)
    results: list[Any] = []

    def work(client: Any) -> Deferred[Any]:
        def opened(sftp: FileTransferClient) -> Deferred[Any]:
            assert sftp.serverVersion == 3
            out = io.BytesIO()
            d = sftp.get(str(tmp_path / "file").encode(), out)
            return d.addCallback(lambda _: results.append(out.getvalue()))

        def withoutSFTP(_: object) -> Deferred[Any]:
            services[0].avatar.subsystemLookup.clear()
            return client.openSFTP()

        d = client.openSFTP().addCallback(opened).addCallback(withoutSFTP)
        d.addErrback(lambda f: f.trap(RequestFailedError) and results.append("refused"))
        return d.addCallback(lambda _: client.close())

    connected = clientConnect(
        reactor,
        "127.0.0.1",
        port.getHost().port,
        USER,
        password=PASSWORD,
        verifyHostKey=lambda key: True,
    )
    connected.addCallback(work).addCallbacks(results.append, results.append)
    runUntil(reactor, lambda: len(results) == 3, timeout=20)
    assert results == [b"contents", "refused", None]
