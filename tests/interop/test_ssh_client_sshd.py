"""plait.ssh.client against OpenSSH's sshd: commands, known_hosts policies, SFTP, -L/-R and
the command endpoint."""

from __future__ import annotations

import io
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred, gatherResults
from plait.protocol import Factory, Protocol
from plait.ssh.client import (
    HostKeyError,
    KnownHostsVerifier,
    SSHCommandClientEndpoint,
    connect,
)
from plait.ssh.userauth import AuthenticationFailed
from plait.wire.ssh.keys import KnownHosts, PrivateKey, loadPrivateKey

from .sshpeers import SSH_KEYGEN, SSHD, OpenSSHServer, needSSHD, newReactor, openSSHServer, runUntil

pytestmark = needSSHD
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSSHServer]:
    """OpenSSH's sshd with its sftp-server and TCP forwarding, for this module."""
    if SSHD is None or SSH_KEYGEN is None:
        pytest.skip("OpenSSH server not installed")
    extra = "AllowTcpForwarding yes\n"
    if os.path.exists(SFTP_SERVER):
        extra += f"Subsystem sftp {SFTP_SERVER}\n"
    with openSSHServer(tmp_path_factory.mktemp("sshd"), extra) as server:
        yield server


def _key(server: OpenSSHServer) -> Any:
    return loadPrivateKey(server.clientKey.read_bytes())


def _knownHosts(tmp_path: Path, server: OpenSSHServer) -> Path:
    path = tmp_path / "known_hosts"
    lines = [
        KnownHosts.line("127.0.0.1", server.port, key) for key in server.hostPublicKeys.values()
    ]
    path.write_bytes(b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines))
    return path


def _session(reactor: Any, server: OpenSSHServer, known: Path, work: Any, **kw: Any) -> Any:
    """Connect, run ``work(client)`` (a Deferred), close; its result."""
    d = connect(
        reactor,
        "127.0.0.1",
        server.port,
        server.user,
        keys=[_key(server)],
        knownHosts=str(known),
        **kw,
    )

    def run(client: Any) -> Any:
        done = work(client)

        def close(result: object) -> Any:
            return client.close().addCallback(lambda _: result)

        return done.addBoth(close)

    return runUntil(reactor, d.addCallback(run))


def test_run_command(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """runCommand: stdout, stderr, stdin and the exit status come back."""
    reactor = newReactor()
    result = _session(
        reactor,
        sshd,
        _knownHosts(tmp_path, sshd),
        lambda c: c.runCommand("cat; echo oops >&2; exit 3", stdin=b"hello\n"),
    )
    assert (result.stdout, result.exitStatus) == (b"hello\n", 3)
    assert result.stderr.endswith(b"oops\n")  # sshd at LogLevel DEBUG1 adds its own lines


@pytest.mark.parametrize("cipher", ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"])
def test_run_command_ciphers(sshd: OpenSSHServer, tmp_path: Path, cipher: str) -> None:
    """Several commands over one connection, with the cipher chosen by the client."""
    reactor = newReactor()

    def work(client: Any) -> Deferred[Any]:
        return gatherResults([client.runCommand(f"echo {i}") for i in range(3)])

    results = _session(reactor, sshd, _knownHosts(tmp_path, sshd), work, ciphers=[cipher])
    assert [r.stdout for r in results] == [b"0\n", b"1\n", b"2\n"]


def test_unknown_host_key_refused(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """StrictHostKeyChecking=yes: a host missing from known_hosts is refused."""
    reactor = newReactor()
    known = tmp_path / "known_hosts"
    d = connect(
        reactor, "127.0.0.1", sshd.port, sshd.user, keys=[_key(sshd)], knownHosts=str(known)
    )
    with pytest.raises(HostKeyError) as info:
        runUntil(reactor, d)
    assert info.value.verdict == "unknown"
    assert not known.exists()


def test_changed_host_key_refused(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """A known_hosts entry with another key for the host: refused under every policy."""
    reactor = newReactor()
    known = tmp_path / "known_hosts"
    other = PrivateKey.generate("ed25519").publicKey()
    known.write_bytes(KnownHosts.line("127.0.0.1", sshd.port, other) + b"\n")
    d = connect(
        reactor,
        "127.0.0.1",
        sshd.port,
        sshd.user,
        keys=[_key(sshd)],
        knownHosts=str(known),
        hostKeyPolicy="no",
        hostKeyAlgorithms=["ssh-ed25519"],
    )
    with pytest.raises(HostKeyError) as info:
        runUntil(reactor, d)
    assert info.value.verdict == "mismatch"


def test_accept_new_records_key(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """accept-new: the unknown key is accepted and written; the next check matches it."""
    reactor = newReactor()
    known = tmp_path / "sub" / "known_hosts"
    result = _session(
        reactor, sshd, known, lambda c: c.runCommand("true"), hostKeyPolicy="accept-new"
    )
    assert result.exitStatus == 0
    verifier = KnownHostsVerifier(str(known), "127.0.0.1", sshd.port, "yes")
    assert any(verifier(key) for key in sshd.hostPublicKeys.values())


def test_wrong_key_authentication_failed(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """A key the server does not know: AuthenticationFailed."""
    reactor = newReactor()
    d = connect(
        reactor,
        "127.0.0.1",
        sshd.port,
        sshd.user,
        keys=[PrivateKey.generate("ed25519")],
        knownHosts=str(_knownHosts(tmp_path, sshd)),
    )
    with pytest.raises(AuthenticationFailed):
        runUntil(reactor, d)


def test_sftp_put_get(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """openSFTP: upload a file and download it again (OpenSSH's sftp-server)."""
    if not os.path.exists(SFTP_SERVER):
        pytest.skip("OpenSSH's sftp-server not installed")
    reactor = newReactor()
    data = bytes(range(256)) * 4096
    remote = str(tmp_path / "uploaded.bin").encode()

    def work(client: Any) -> Deferred[Any]:
        d = client.openSFTP()

        def transfer(sftp: Any) -> Deferred[Any]:
            out = io.BytesIO()
            d2 = sftp.put(io.BytesIO(data), remote)
            d2.addCallback(lambda _: sftp.get(remote, out))
            d2.addCallback(lambda n: (n, out.getvalue()))
            return d2

        return d.addCallback(transfer)

    count, got = _session(reactor, sshd, _knownHosts(tmp_path, sshd), work)
    assert count == len(data) and got == data
    assert (tmp_path / "uploaded.bin").read_bytes() == data


class _Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


def _roundTrip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := s.recv(65536):
            got += chunk
    return got


def _inThreadDeferred(reactor: Any, work: Any) -> Deferred[Any]:
    d: Deferred[Any] = Deferred()

    def run() -> None:
        try:
            result = work()
        except Exception as e:
            reactor.callFromThread(d.errback, e)
        else:
            reactor.callFromThread(d.callback, result)

    threading.Thread(target=run, daemon=True).start()
    return d


def test_forward_local_and_remote(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """-L and -R through sshd reach a local echo server both ways."""
    reactor = newReactor()
    echo = reactor.listenTCP(0, Factory.forProtocol(_Echo), interface="127.0.0.1")
    echoPort = echo.getHost().port
    payload = b"x" * 200_000

    def work(client: Any) -> Deferred[Any]:
        local = client.forwardLocal(0, "127.0.0.1", echoPort)
        localPort = local.getHost().port
        d = _inThreadDeferred(reactor, lambda: _roundTrip(localPort, payload))

        def remote(first: bytes) -> Deferred[Any]:
            d2 = client.forwardRemote("127.0.0.1", 0, "127.0.0.1", echoPort)
            d2.addCallback(
                lambda port: _inThreadDeferred(reactor, lambda: _roundTrip(port, payload))
            )
            return d2.addCallback(lambda second: (first, second))

        return d.addCallback(remote)

    try:
        first, second = _session(reactor, sshd, _knownHosts(tmp_path, sshd), work)
    finally:
        echo.stopListening()
    assert first == payload and second == payload


class _Collect(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"through the endpoint\n")
        self.transport.loseWriteConnection()  # type: ignore[attr-defined]

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: object = None) -> None:
        self.done.callback(self.data)


def test_command_endpoint(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """SSHCommandClientEndpoint runs a command with a Protocol on its stdin/stdout."""
    reactor = newReactor()
    endpoint = SSHCommandClientEndpoint.newConnection(
        reactor,
        "tr a-z A-Z",
        sshd.user,
        "127.0.0.1",
        sshd.port,
        keys=[_key(sshd)],
        knownHosts=str(_knownHosts(tmp_path, sshd)),
    )
    protocol = _Collect()
    d = endpoint.connect(Factory.forProtocol(lambda: protocol))
    d.addCallback(lambda p: p.done)
    assert runUntil(reactor, d) == b"THROUGH THE ENDPOINT\n"


def test_refused_subsystem_fails(sshd: OpenSSHServer, tmp_path: Path) -> None:
    """A subsystem the server does not have: the request fails with RequestFailedError."""
    from plait.ssh.connection import RequestFailedError
    from plait.ssh.session import SSHClientSession

    reactor = newReactor()

    def work(client: Any) -> Deferred[Any]:
        session = SSHClientSession()
        d = client.openSession(session)
        d.addCallback(lambda s: s.subsystem(b"no-such-subsystem"))
        d.addErrback(lambda f: f.trap(RequestFailedError) and "refused")
        return d

    assert _session(reactor, sshd, _knownHosts(tmp_path, sshd), work) == "refused"
