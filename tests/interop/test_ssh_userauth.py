"""User authentication against real peers: OpenSSH's ``ssh`` and paramiko log in to plait's
server (keys from an authorized_keys file with options, passwords, keyboard-interactive), and
plait's client logs in to OpenSSH's ``sshd`` by key."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from plait.auth import (
    AuthorizedKeysChecker,
    InMemoryUsernamePasswordDatabase,
    PAMChecker,
    Portal,
    pamAvailable,
)
from plait.defer import Deferred
from plait.ssh.service import SSHService
from plait.ssh.transport import SSHClientFactory, SSHServerFactory
from plait.ssh.userauth import AuthenticationFailed, SSHUserAuthClient, SSHUserAuthServer
from plait.wire.ssh.keys import PrivateKey, loadPrivateKey
from plait.wire.ssh.types import DisconnectReason

from .sshpeers import SSH, TIMEOUT, OpenSSHServer, inThread, needSSH, newReactor, runUntil, sshd

__all__ = ["sshd"]  # the fixture, re-exported for pytest

USER = "alice"
PASSWORD = "correct horse"


class Realm:
    """Remembers every avatar id it hands out and every logout."""

    def __init__(self) -> None:
        self.avatarIds: list[Any] = []
        self.loggedOut: list[Any] = []

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """The avatar is the avatar id."""
        self.avatarIds.append(avatarId)
        return interfaces[0], avatarId, lambda: self.loggedOut.append(avatarId)


class Authenticated(SSHService):
    """What runs after authentication here: says who logged in and hangs up."""

    name = b"ssh-connection"

    def __init__(self, avatar: Any) -> None:
        self.avatar = avatar

    def serviceStarted(self) -> None:
        """Disconnect with a message the client prints."""
        assert self.transport is not None
        who = bytes(self.avatar).decode()
        self.transport.sendDisconnect(DisconnectReason.BY_APPLICATION, f"authenticated as {who}")


class Idle(SSHService):
    """A next service that waits for the client to hang up (paramiko checks its state first)."""

    name = b"ssh-connection"

    def __init__(self, avatar: Any) -> None:
        self.avatar = avatar


def serve(
    portal: Portal | Any, work: Any, nextService: Any = Authenticated, **userauth: Any
) -> Any:
    """Run a plait SSH server with ``portal`` (or ``portal(reactor)``) while ``work(port)``
    runs in a thread."""
    reactor = newReactor()
    if not isinstance(portal, Portal):
        portal = portal(reactor)
    hostKeys = [PrivateKey.generate("ed25519")]

    def userauthService() -> SSHService:
        return SSHUserAuthServer(portal, ("IAvatar",), nextService, **userauth)

    factory = SSHServerFactory(hostKeys, {b"ssh-userauth": userauthService}, reactor=reactor)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    try:
        return inThread(reactor, lambda: work(port.getHost().port))
    finally:
        port.stopListening()
        reactor.close()


def sshArgv(port: int, *options: str) -> list[str]:
    """OpenSSH ``ssh -v`` to 127.0.0.1:port as alice, no config, no host key checks."""
    return [
        str(SSH),
        "-F",
        "/dev/null",
        "-v",
        "-p",
        str(port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "IdentitiesOnly=yes",
        *options,
        f"{USER}@127.0.0.1",
        "true",
    ]


@pytest.fixture
def clientKeys(tmp_path: Path) -> dict[str, Path]:
    """ed25519 and RSA client keys written as OpenSSH files (0600)."""
    paths = {}
    for kind, bits in (("ed25519", None), ("rsa", 2048)):
        key = PrivateKey.generate(kind, bits)
        path = tmp_path / f"id_{kind}"
        path.write_bytes(key.toOpenSSH())
        path.chmod(0o600)
        (tmp_path / f"id_{kind}.pub").write_bytes(key.publicKey().toOpenSSH() + b"\n")
        paths[kind] = path
    return paths


def authorizedKeys(tmp_path: Path, lines: list[str]) -> Path:
    """Write an authorized_keys file."""
    path = tmp_path / "authorized_keys"
    path.write_text("".join(line + "\n" for line in lines))
    path.chmod(0o600)
    return path


def pub(path: Path) -> str:
    """The public key line next to a private key file."""
    return Path(str(path) + ".pub").read_text().strip()


@needSSH
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_openssh_key_login_with_options(
    tmp_path: Path, clientKeys: dict[str, Path], kind: str
) -> None:
    """ssh logs in by key; the realm gets the line's options; from= uses the peer address."""
    keys = authorizedKeys(
        tmp_path, [f'from="127.0.0.1",no-pty,command="/bin/date" {pub(clientKeys[kind])}']
    )
    realm = Realm()
    portal = Portal(realm, [AuthorizedKeysChecker(keys)])
    argv = sshArgv(0, "-o", "BatchMode=yes", "-i", str(clientKeys[kind]))

    def run(port: int) -> subprocess.CompletedProcess[str]:
        argv[argv.index("-p") + 1] = str(port)
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)

    result = serve(portal, run)
    assert 'using "publickey"' in result.stderr, result.stderr[-3000:]
    assert "authenticated as alice" in result.stderr
    [avatarId] = realm.avatarIds
    assert avatarId == b"alice"
    assert avatarId.options.noPty and avatarId.options.command == "/bin/date"
    assert realm.loggedOut == [b"alice"]
    if kind == "rsa":
        assert "rsa-sha2-512" in result.stderr


@needSSH
def test_openssh_key_refused_from_elsewhere(tmp_path: Path, clientKeys: dict[str, Path]) -> None:
    """A from= that excludes 127.0.0.1 makes the key fail: Permission denied."""
    keys = authorizedKeys(tmp_path, [f'from="10.1.2.3" {pub(clientKeys["ed25519"])}'])
    realm = Realm()
    argv = sshArgv(0, "-o", "BatchMode=yes", "-i", str(clientKeys["ed25519"]))

    def run(port: int) -> subprocess.CompletedProcess[str]:
        argv[argv.index("-p") + 1] = str(port)
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)

    result = serve(Portal(realm, [AuthorizedKeysChecker(keys)]), run)
    assert "Permission denied (publickey)" in result.stderr, result.stderr[-3000:]
    assert realm.avatarIds == []


def askpass(tmp_path: Path, answer: str) -> dict[str, str]:
    """An environment making ssh read its password from a script (no terminal needed)."""
    script = tmp_path / "askpass.sh"
    script.write_text(f"#!/bin/sh\necho '{answer}'\n")
    script.chmod(0o755)
    env = dict(os.environ)
    env.update(SSH_ASKPASS=str(script), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    return env


@needSSH
@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
@pytest.mark.parametrize("good", [True, False])
def test_openssh_password(tmp_path: Path, method: str, good: bool) -> None:
    """ssh logs in with a password (through SSH_ASKPASS) by password and by
    keyboard-interactive; a wrong one is refused."""
    realm = Realm()
    portal = Portal(realm, [InMemoryUsernamePasswordDatabase({USER: PASSWORD})])
    env = askpass(tmp_path, PASSWORD if good else "wrong")
    argv = sshArgv(
        0,
        "-o",
        "BatchMode=no",
        "-o",
        f"PreferredAuthentications={method}",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "NumberOfPasswordPrompts=1",
    )

    def run(port: int) -> subprocess.CompletedProcess[str]:
        argv[argv.index("-p") + 1] = str(port)
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # no controlling terminal: ssh must use SSH_ASKPASS
        )

    result = serve(portal, run, failureDelay=0.2)
    if good:
        assert f'using "{method}"' in result.stderr, result.stderr[-3000:]
        assert realm.avatarIds == [b"alice"]
    else:
        assert "Permission denied" in result.stderr, result.stderr[-3000:]
        assert realm.avatarIds == []


PAM_EXEC = Path("/lib/x86_64-linux-gnu/security/pam_exec.so")


@needSSH
@pytest.mark.skipif(not pamAvailable() or not PAM_EXEC.exists(), reason="no libpam/pam_exec")
@pytest.mark.parametrize("method", ["keyboard-interactive", "password"])
def test_openssh_through_pam(tmp_path: Path, method: str) -> None:
    """ssh logs in through the system's PAM (a private service running pam_exec): by
    keyboard-interactive, PAM's own prompt reaches ssh; by password, PAM gets it directly."""
    script = tmp_path / "check.sh"
    script.write_text(
        "#!/bin/sh\n"
        "IFS= read -r pw || true\n"
        'pw=$(printf %s "$pw" | tr -d "\\000")\n'
        f'[ "$PAM_USER" = {USER} ] && [ "$pw" = "{PASSWORD}" ]\n'
    )
    script.chmod(0o755)
    confdir = tmp_path / "pam.d"
    confdir.mkdir()
    (confdir / "plaittest").write_text(
        f"auth required {PAM_EXEC} expose_authtok quiet {script}\naccount required pam_permit.so\n"
    )
    env = askpass(tmp_path, PASSWORD)
    argv = sshArgv(
        0,
        "-o",
        "BatchMode=no",
        "-o",
        f"PreferredAuthentications={method}",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "NumberOfPasswordPrompts=1",
    )
    realm = Realm()

    def run(port: int) -> subprocess.CompletedProcess[str]:
        argv[argv.index("-p") + 1] = str(port)
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def portalFor(reactor: Any) -> Portal:
        return Portal(realm, [PAMChecker(reactor, service="plaittest", confdir=str(confdir))])

    result = serve(portalFor, run)
    assert f'using "{method}"' in result.stderr, result.stderr[-3000:]
    assert realm.avatarIds == [b"alice"]


def paramikoLogin(port: int, how: str, secret: Any) -> tuple[bool, list[str]]:
    """Log in with paramiko's Transport; (authenticated, methods the server named)."""
    import paramiko

    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=TIMEOUT)
        try:
            if how == "publickey":
                transport.auth_publickey(USER, secret)
            elif how == "password":
                transport.auth_password(USER, secret)
            else:
                transport.auth_interactive(
                    USER, lambda title, instr, prompts: [secret] * len(prompts)
                )
        except paramiko.AuthenticationException as e:
            return False, list(getattr(e, "allowed_types", []))
        return transport.is_authenticated(), []
    finally:
        transport.close()


@pytest.mark.parametrize("how", ["publickey", "password", "keyboard-interactive"])
def test_paramiko_client(tmp_path: Path, clientKeys: dict[str, Path], how: str) -> None:
    """paramiko authenticates to plait's server by key, password and keyboard-interactive."""
    import paramiko

    keys = authorizedKeys(tmp_path, [pub(clientKeys["ed25519"])])
    realm = Realm()
    portal = Portal(
        realm,
        [AuthorizedKeysChecker(keys), InMemoryUsernamePasswordDatabase({USER: PASSWORD})],
    )
    secret: Any = PASSWORD
    if how == "publickey":
        secret = paramiko.Ed25519Key.from_private_key_file(str(clientKeys["ed25519"]))
    ok, _ = serve(portal, lambda port: paramikoLogin(port, how, secret), Idle)
    assert ok
    assert realm.avatarIds == [b"alice"]


def test_paramiko_wrong_passwords_hit_the_limit() -> None:
    """Wrong passwords are refused; after maxAttempts the server disconnects paramiko."""
    import paramiko

    portal = Portal(Realm(), [InMemoryUsernamePasswordDatabase({USER: PASSWORD})])

    def guess(port: int) -> tuple[list[str], bool]:
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        transport = paramiko.Transport(sock)
        outcomes = []
        try:
            transport.start_client(timeout=TIMEOUT)
            for _ in range(5):
                try:
                    transport.auth_password(USER, "guess")
                    outcomes.append("ok")
                except paramiko.AuthenticationException:
                    outcomes.append("refused")
                except paramiko.SSHException:
                    outcomes.append("gone")
                    break
            return outcomes, transport.is_active()
        finally:
            transport.close()

    outcomes, active = serve(portal, guess, failureDelay=0.1, maxAttempts=3)
    # The third failure is answered with DISCONNECT, not FAILURE.
    assert outcomes == ["refused", "refused", "gone"]
    assert not active


# -- plait's client against OpenSSH's sshd -----------------------------------------------------


class Done(SSHService):
    """Fires ``done`` when started (authentication succeeded) and closes the connection."""

    name = b"ssh-connection"

    def __init__(self, done: Deferred[Any]) -> None:
        self.done = done

    def serviceStarted(self) -> None:
        """Report and hang up."""
        assert self.transport is not None
        self.done.callback("authenticated")
        self.transport.loseConnection()


def plaitClient(server: OpenSSHServer, keys: list[PrivateKey]) -> Any:
    """Log in to sshd as its user with plait's client; the outcome (or the failure)."""
    reactor = newReactor()
    done: Deferred[Any] = Deferred()
    client = SSHUserAuthClient(server.user, Done(done), keys=keys)
    client.authenticated.addErrback(lambda f: done.called or done.errback(f))
    factory = SSHClientFactory(lambda key: True, lambda: client, reactor=reactor)
    reactor.connectTCP("127.0.0.1", server.port, factory)
    try:
        return runUntil(reactor, done)
    finally:
        reactor.close()


def test_plait_client_to_sshd_by_key(sshd: OpenSSHServer) -> None:
    """plait's client logs in to OpenSSH's sshd with an ed25519 key (after a stranger)."""
    stranger = PrivateKey.generate("ed25519")
    assert plaitClient(sshd, [stranger, loadPrivateKey(sshd.clientKey.read_bytes())]) == (
        "authenticated"
    )
    assert "Accepted publickey for" in sshd.output()


def test_plait_client_to_sshd_rsa(sshd: OpenSSHServer) -> None:
    """An RSA key signs with an rsa-sha2 algorithm that sshd accepts."""
    key = PrivateKey.generate("rsa", 2048)
    authorized = sshd.dir / "authorized_keys"
    original = authorized.read_bytes()
    authorized.write_bytes(original + key.publicKey().toOpenSSH() + b"\n")
    try:
        assert plaitClient(sshd, [key]) == "authenticated"
    finally:
        authorized.write_bytes(original)
    assert "Accepted publickey for" in sshd.output()
    assert "RSA SHA256:" in sshd.output()


def test_plait_client_to_sshd_refused(sshd: OpenSSHServer) -> None:
    """With only unknown keys the client fails with AuthenticationFailed."""
    with pytest.raises(AuthenticationFailed) as info:
        plaitClient(sshd, [PrivateKey.generate("ed25519")])
    assert "publickey" in info.value.serverMethods
