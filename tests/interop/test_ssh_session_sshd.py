"""plait's client-side connection service against OpenSSH's ``sshd``: exec with exit status
and stderr, a PTY of the asked size, and -L / -R forwarding to a loopback echo server."""

from __future__ import annotations

from typing import Any

from plait.defer import Deferred
from plait.protocol import ClientFactory, Factory, Protocol
from plait.ssh.connection import SSHConnection
from plait.ssh.forwarding import forwardLocal, forwardRemote
from plait.ssh.session import SSHClientSession, openSession
from plait.ssh.transport import SSHClientFactory
from plait.ssh.userauth import SSHUserAuthClient
from plait.wire.ssh.keys import loadPrivateKey

from .sshpeers import OpenSSHServer, newReactor, runUntil, sshd

__all__ = ["sshd"]  # the fixture, imported for pytest


class Connection(SSHConnection):
    """Fires ``started`` with itself once the service runs."""

    def __init__(self) -> None:
        super().__init__()
        self.started: Deferred[Connection] = Deferred()

    def serviceStarted(self) -> None:
        super().serviceStarted()
        self.started.callback(self)


def login(server: OpenSSHServer, reactor: Any) -> Connection:
    """Connect to ``server`` as its user with its client key."""
    connection = Connection()
    key = loadPrivateKey(server.clientKey.read_bytes())
    expected = set(server.hostPublicKeys.values())
    factory = SSHClientFactory(
        lambda k: k in expected,
        lambda: SSHUserAuthClient(server.user, connection, keys=[key]),
        reactor=reactor,
    )
    reactor.connectTCP("127.0.0.1", server.port, factory)
    return connection


def execute(server: OpenSSHServer, command: bytes, pty: bool = False) -> SSHClientSession:
    """Run ``command`` on ``server``; the finished session."""
    reactor = newReactor()
    session = SSHClientSession()
    stderr: list[bytes] = []
    session.stderrReceived = stderr.append
    session.stderr = stderr  # type: ignore[attr-defined]

    def started(conn: Connection) -> Deferred[Any]:
        def opened(s: SSHClientSession) -> Any:
            if pty:
                s.requestPty(b"xterm", 101, 33)
            return s.execCommand(command)

        return openSession(conn, session).addCallback(opened)

    login(server, reactor).started.addCallback(started)
    try:
        runUntil(reactor, session.finished)
    finally:
        reactor.close()
    return session


def test_exec_status_and_stderr(sshd: OpenSSHServer) -> None:
    """exec: stdout, stderr as extended data (after sshd's own debug lines), exit-status."""
    session = execute(sshd, b"echo out; echo err >&2; exit 7")
    assert b"".join(session.received) == b"out\n"
    assert b"".join(session.stderr).endswith(b"err\n")  # type: ignore[attr-defined]
    assert session.exitStatus == 7


def test_exec_on_pty(sshd: OpenSSHServer) -> None:
    """pty-req then exec: the command sees a tty of the requested size."""
    session = execute(sshd, b"stty size; tty", pty=True)
    lines = b"".join(session.received).split(b"\r\n")
    lines = [line for line in lines if not line.startswith(b"debug")]  # sshd's DEBUG1 lines
    assert lines[0] == b"33 101"
    assert lines[1].startswith(b"/dev/")
    assert session.exitStatus == 0


class Echo(Protocol):
    """Echoes."""

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class Probe(Protocol):
    """Sends a payload and fires ``done`` with the echo once it is all back."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.received = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self.payload)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= len(self.payload) and not self.done.called:
            assert self.transport is not None
            self.transport.loseConnection()
            self.done.callback(self.received)


def _forward(server: OpenSSHServer, remote: bool) -> bytes:
    reactor = newReactor()
    echo = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    probe = Probe(bytes(range(256)) * 2000)

    def started(conn: Connection) -> Any:
        target = echo.getHost().port
        if remote:
            d = forwardRemote(conn, "127.0.0.1", 0, "127.0.0.1", target)
        else:
            d = Deferred()
            d.callback(forwardLocal(conn, 0, "127.0.0.1", target).getHost().port)

        def connect(port: int) -> Deferred[bytes]:
            reactor.connectTCP("127.0.0.1", port, ClientFactory.forProtocol(lambda: probe))
            return probe.done

        return d.addCallback(connect)

    finished = login(server, reactor).started.addCallback(started)
    try:
        result: bytes = runUntil(reactor, finished)
    finally:
        reactor.close()
    return result


def test_local_forward(sshd: OpenSSHServer) -> None:
    """forwardLocal (-L): a direct-tcpip channel through sshd reaches the echo server."""
    assert _forward(sshd, remote=False) == bytes(range(256)) * 2000


def test_remote_forward(sshd: OpenSSHServer) -> None:
    """forwardRemote (-R) with port 0: sshd listens, reports the port, forwards back."""
    assert _forward(sshd, remote=True) == bytes(range(256)) * 2000
