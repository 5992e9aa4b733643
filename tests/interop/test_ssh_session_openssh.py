"""OpenSSH's ``ssh`` against plait's SSH server with UnixConchUser sessions: exec with exit
status, stdin, a forced command from authorized_keys, a login shell on a PTY (pexpect), and
-L / -R port forwarding to a loopback echo server."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from plait.auth import AuthorizedKeysChecker, Portal
from plait.protocol import Factory, Protocol
from plait.ssh.connection import SSHConnection
from plait.ssh.service import SSHService
from plait.ssh.session import SessionRestrictions, UnixConchUser
from plait.ssh.transport import SSHServerFactory
from plait.ssh.userauth import SSHUserAuthServer
from plait.wire.ssh.keys import PrivateKey

from .sshpeers import SSH, TIMEOUT, freePort, inThread, needSSH, newReactor

pytestmark = needSSH

USER = getpass.getuser()


class Realm:
    """Builds a UnixConchUser for the test's own account, restricted by the key's options."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.avatars: list[UnixConchUser] = []

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        restrictions = SessionRestrictions.fromOptions(getattr(avatarId, "options", None))
        avatar = UnixConchUser(
            bytes(avatarId).decode(),
            os.getuid(),
            os.getgid(),
            str(self.home),
            "/bin/sh",
            restrictions=restrictions,
        )
        self.avatars.append(avatar)
        return interfaces[0], avatar, avatar.logout


class Echo(Protocol):
    """Echoes; counts live connections in ``factory.live``."""

    factory: Any

    def connectionMade(self) -> None:
        self.factory.live += 1

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.live -= 1


class Tracked(SSHConnection):
    """Counts live connection services in ``live[0]``."""

    def __init__(self, avatar: Any, live: list[int]) -> None:
        super().__init__(avatar)
        self.live = live
        live[0] += 1

    def serviceStopped(self) -> None:
        if not self._stopped:
            self.live[0] -= 1
        super().serviceStopped()


class Server:
    """A plait SSH server (key auth from an authorized_keys file) and the client key."""

    def __init__(self, tmp_path: Path, options: str = "") -> None:
        key = PrivateKey.generate("ed25519")
        self.keyPath = tmp_path / "id_ed25519"
        self.keyPath.write_bytes(key.toOpenSSH())
        self.keyPath.chmod(0o600)
        line = key.publicKey().toOpenSSH().decode()
        authorized = tmp_path / "authorized_keys"
        authorized.write_text(f"{options} {line}\n" if options else line + "\n")
        authorized.chmod(0o600)
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.realm = Realm(self.home)
        self.portal = Portal(self.realm, [AuthorizedKeysChecker(authorized)])
        self.reactor = newReactor()
        self.echo = Factory.forProtocol(Echo)
        self.echo.live = 0  # type: ignore[attr-defined]
        self.live = [0]
        self.echoPort = self.reactor.listenTCP(0, self.echo, interface="127.0.0.1").getHost().port

        def userauth() -> SSHService:
            return SSHUserAuthServer(self.portal, ("IAvatar",), self.connection)

        factory = SSHServerFactory(
            [PrivateKey.generate("ed25519")], {b"ssh-userauth": userauth}, reactor=self.reactor
        )
        self.listening = self.reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.port = self.listening.getHost().port

    def connection(self, avatar: Any) -> SSHService:
        return Tracked(avatar, self.live)

    def settled(self, timeout: float = 10) -> bool:
        """Wait (in the worker thread) until every SSH and echo connection has ended here, so
        none is left open when the reactor stops (paused sockets are not closed then)."""
        deadline = time.monotonic() + timeout
        while self.live[0] or self.echo.live:  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def argv(self, *options: str, command: str | None = None) -> list[str]:
        argv = [str(SSH), "-F", "/dev/null", "-p", str(self.port), "-i", str(self.keyPath)]
        argv += ["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        argv += ["-o", "ConnectTimeout=10", *options, f"{USER}@127.0.0.1"]
        return argv + ([command] if command is not None else [])

    def run(self, work: Any) -> Any:
        try:
            return inThread(self.reactor, work)
        finally:
            self.listening.stopListening()
            self.reactor.close()


def test_exec_exit_status_and_stderr(tmp_path: Path) -> None:
    """ssh HOST COMMAND: stdout, stderr and the exit status come through."""
    server = Server(tmp_path)
    argv = server.argv(command='echo "hello $USER"; echo oops >&2; pwd; exit 42')
    result = server.run(
        lambda: subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    )
    assert result.returncode == 42, result.stderr[-2000:]
    out = result.stdout.splitlines()
    assert out[0] == f"hello {USER}"
    assert os.path.realpath(out[1]) == os.path.realpath(server.home)
    assert "oops" in result.stderr


def test_exec_stdin(tmp_path: Path) -> None:
    """ssh's stdin is the command's stdin, EOF included."""
    server = Server(tmp_path)
    argv = server.argv(command="tr a-z A-Z; echo done")
    data = "abc\n" * 50000
    result = server.run(
        lambda: subprocess.run(argv, input=data, capture_output=True, text=True, timeout=TIMEOUT)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == data.upper() + "done\n"


def test_forced_command(tmp_path: Path) -> None:
    """command= in authorized_keys runs instead of the client's command."""
    server = Server(tmp_path, 'command="echo forced: $SSH_ORIGINAL_COMMAND"')
    argv = server.argv(command="id")
    result = server.run(
        lambda: subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    )
    assert result.stdout == "forced: id\n", result.stderr[-2000:]


def test_shell_with_pty(tmp_path: Path) -> None:
    """ssh -tt with no command: a login shell on a PTY of the terminal's size."""
    pexpect = pytest.importorskip("pexpect")
    server = Server(tmp_path)
    argv = server.argv("-tt")

    def work() -> tuple[str, int | None]:
        child = pexpect.spawn(argv[0], argv[1:], dimensions=(33, 101), timeout=20)
        try:
            child.sendline("stty size; tty; echo $0 marker-$((6*7))")
            child.expect("marker-42")
            before = child.before.decode(errors="replace")
            child.sendline("exit 5")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        return before, child.exitstatus

    before, status = server.run(work)
    assert "33 101" in before
    assert "/dev/pts/" in before or "/dev/tty" in before
    assert "-sh" in before
    assert status == 5


def _echoThrough(port: int) -> bytes:
    """Connect to ``port`` (retrying while ssh sets it up), send, read the echo."""
    deadline = time.monotonic() + 15
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with sock:
        payload = os.urandom(300000)
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received if received == payload else b"mismatch"


@pytest.mark.parametrize("direction", ["-L", "-R"])
def test_port_forwarding(tmp_path: Path, direction: str) -> None:
    """ssh -L and -R relay a connection to the loopback echo server both ways."""
    server = Server(tmp_path)
    forwardPort = freePort()
    spec = f"{forwardPort}:127.0.0.1:{server.echoPort}"
    argv = server.argv("-o", "ExitOnForwardFailure=yes", direction, spec, command="sleep 20")

    def work() -> tuple[bytes, str]:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            echoed = _echoThrough(forwardPort)
        finally:
            proc.kill()
            _, err = proc.communicate(timeout=TIMEOUT)
        return echoed, err, server.settled()

    echoed, err, settled = server.run(work)
    assert echoed != b"mismatch" and len(echoed) == 300000, err[-2000:]
    assert settled
