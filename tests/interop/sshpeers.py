"""SSH interop fixtures: an OpenSSH ``sshd`` on loopback, ``ssh`` command lines, a paramiko
server, and small helpers to run a plait reactor while a blocking peer runs in a thread.

API (for every SSH interop test):

- ``OpenSSHServer`` (``port``, ``dir``, ``user``, ``clientKey`` path, ``hostKeys`` {keyType:
  path}, ``hostPublicKeys`` {keyType: ``PublicKey``}, ``output()`` sshd's log so far);
  ``openSSHServer(directory, extraConfig="")`` is a context manager starting one;
  the pytest fixture ``sshd`` (module scope) yields one (skips when sshd is not installed).
  The client key ``clientKey`` (ed25519) is in its authorized_keys for ``user`` (whoever runs
  the tests).
- ``sshCommand(port, *options, user="nobody", command="true", verbose=True)``: an OpenSSH
  ``ssh`` argv with ``-F /dev/null``, BatchMode, no known_hosts; ``runSSH(...)`` runs it.
- ``newReactor()``, ``runUntil(reactor, deferred)``, ``inThread(reactor, work)``, ``freePort()``.
- ``RefusingUserAuth``: an ``ssh-userauth`` server service that refuses every request.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.reactor import reactorClassNamed
from plait.ssh.service import SSHService
from plait.wire.ssh.keys import PublicKey, parsePublicKey
from plait.wire.ssh.types import MSG, SSHWriter

SSH = shutil.which("ssh")
SSHD = "/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else shutil.which("sshd")
SSH_KEYGEN = shutil.which("ssh-keygen")
TIMEOUT = 30.0

needSSH = pytest.mark.skipif(SSH is None, reason="OpenSSH client not installed")
needSSHD = pytest.mark.skipif(
    SSHD is None or SSH_KEYGEN is None, reason="OpenSSH server not installed"
)


def freePort() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def newReactor() -> Any:
    """A fresh epoll (or poll/select) reactor for one test."""
    from plait.reactor import reactorNames

    name = next(n for n in ("epoll", "poll", "select") if n in reactorNames())
    return reactorClassNamed(name)()


def runUntil(reactor: Any, d: Deferred[Any], timeout: float = TIMEOUT) -> Any:
    """Run ``reactor`` until ``d`` fires (or fail after ``timeout`` seconds); its result."""
    box: list[Any] = []

    def done(result: object) -> None:
        box.append(result)
        if reactor.running:
            reactor.stop()

    reactor.callWhenRunning(d.addBoth, done)
    guard = reactor.callLater(timeout, lambda: reactor.running and reactor.stop())
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    assert box, f"timed out after {timeout}s"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def inThread(reactor: Any, work: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """Run blocking ``work`` in a thread while the reactor runs; its result (or error)."""
    finished: Deferred[Any] = Deferred()

    def run() -> None:
        try:
            result = work()
        except BaseException as e:
            reactor.callFromThread(finished.errback, Failure(e))
        else:
            reactor.callFromThread(finished.callback, result)

    worker = threading.Thread(target=run, daemon=True)
    reactor.callWhenRunning(worker.start)
    try:
        return runUntil(reactor, finished, timeout)
    finally:
        worker.join(timeout)


def sshCommand(
    port: int,
    *options: str,
    user: str = "nobody",
    command: str = "true",
    verbose: bool = True,
    identity: Path | None = None,
) -> list[str]:
    """An ``ssh`` argv for 127.0.0.1:``port`` that never prompts and trusts any host key."""
    argv = [str(SSH), "-F", "/dev/null", "-p", str(port)]
    if verbose:
        argv.append("-vvv")
    argv += ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"]
    argv += ["-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10"]
    if identity is not None:
        argv += ["-i", str(identity), "-o", "IdentitiesOnly=yes"]
    else:
        argv += ["-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null"]
    argv += list(options)
    argv += [f"{user}@127.0.0.1", command]
    return argv


def runSSH(port: int, *options: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``sshCommand(...)``; stdout/stderr captured as text."""
    return subprocess.run(
        sshCommand(port, *options, **kwargs), capture_output=True, text=True, timeout=TIMEOUT
    )


class RefusingUserAuth(SSHService):
    """An ``ssh-userauth`` server that answers every request with USERAUTH_FAILURE."""

    name = b"ssh-userauth"
    requests = 0

    def packetReceived(self, messageNum: int, payload: bytes) -> None:
        """Refuse (``publickey`` may continue)."""
        assert self.transport is not None
        if messageNum == MSG.USERAUTH_REQUEST:
            self.requests += 1
            failure = SSHWriter().nameList(["publickey"]).boolean(False).bytes()
            self.transport.sendPacket(MSG.USERAUTH_FAILURE, failure)
        else:
            super().packetReceived(messageNum, payload)


# -- OpenSSH sshd ----------------------------------------------------------------------------


@dataclass
class OpenSSHServer:
    """A running ``sshd -D -e`` on 127.0.0.1 (see ``openSSHServer``)."""

    port: int
    dir: Path
    user: str
    clientKey: Path
    hostKeys: dict[str, Path]
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def hostPublicKeys(self) -> dict[str, PublicKey]:
        """Host public keys by key type (``ssh-ed25519``, ``ecdsa-sha2-nistp256``...)."""
        return {
            t: parsePublicKey(Path(str(p) + ".pub").read_bytes()) for t, p in self.hostKeys.items()
        }

    def output(self) -> str:
        """Everything sshd logged so far."""
        return "".join(self.lines)


_HOST_KEYS = {
    "ssh-ed25519": ["-t", "ed25519"],
    "ecdsa-sha2-nistp256": ["-t", "ecdsa", "-b", "256"],
    "ecdsa-sha2-nistp384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa-sha2-nistp521": ["-t", "ecdsa", "-b", "521"],
    "ssh-rsa": ["-t", "rsa", "-b", "2048"],
}


def _keygen(path: Path, args: list[str]) -> None:
    if not path.exists():
        subprocess.run(
            [str(SSH_KEYGEN), "-q", *args, "-N", "", "-f", str(path)], check=True, timeout=60
        )


@contextmanager
def openSSHServer(directory: Path, extraConfig: str = "") -> Iterator[OpenSSHServer]:
    """Start OpenSSH's sshd on a free loopback port with host keys of every type."""
    directory.mkdir(parents=True, exist_ok=True)
    hostKeys = {}
    for keyType, args in _HOST_KEYS.items():
        path = directory / f"ssh_host_{keyType}_key"
        _keygen(path, args)
        hostKeys[keyType] = path
    clientKey = directory / "id_ed25519"
    _keygen(clientKey, ["-t", "ed25519"])
    authorized = directory / "authorized_keys"
    authorized.write_bytes(Path(str(clientKey) + ".pub").read_bytes())
    authorized.chmod(0o600)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation directory
    user = getpass.getuser()
    for _attempt in range(5):
        port = freePort()
        config = directory / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\n"
            + "".join(f"HostKey {p}\n" for p in hostKeys.values())
            + f"PidFile {directory}/sshd.pid\nAuthorizedKeysFile {authorized}\n"
            "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "LogLevel DEBUG1\n" + extraConfig
        )
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        server = OpenSSHServer(port, directory, user, clientKey, hostKeys, process)

        def pump(server: OpenSSHServer = server) -> None:
            assert server.process.stderr is not None
            for line in server.process.stderr:
                server.lines.append(line)

        pumper = threading.Thread(target=pump, daemon=True)
        pumper.start()
        deadline = time.monotonic() + 10
        up = False
        while time.monotonic() < deadline and process.poll() is None:
            if "Server listening on" in server.output():
                up = True
                break
            time.sleep(0.05)
        if up:
            break
        process.kill()
        process.wait(10)
        pumper.join(10)
        assert process.stderr is not None
        process.stderr.close()
    else:
        raise RuntimeError(f"sshd did not start:\n{server.output()}")
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        pumper.join(10)
        assert process.stderr is not None
        process.stderr.close()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSSHServer]:
    """OpenSSH's sshd on loopback for this module (skipped when not installed)."""
    if SSHD is None or SSH_KEYGEN is None:
        pytest.skip("OpenSSH server not installed")
    with openSSHServer(tmp_path_factory.mktemp("sshd")) as server:
        yield server


# -- a minimal client side (for transport tests; the real ones live in plait.ssh) -------------


class ProbeUserAuth(SSHService):
    """An ``ssh-userauth`` client: tries ``none``, then ``publickey`` with ``key`` if given.

    ``done`` fires with ``("failure", methods)`` (the connection is then closed) or, on success,
    ``("success", None)`` unless ``nextService`` is given, which is then started instead.
    """

    name = b"ssh-userauth"

    def __init__(
        self,
        done: Deferred[Any],
        user: str,
        key: Any = None,
        nextService: Callable[[], SSHService] | None = None,
    ) -> None:
        self.done = done
        self.user = user
        self.key = key
        self.nextService = nextService
        self.triedKey = False

    def _request(self, method: bytes, extra: bytes = b"") -> None:
        assert self.transport is not None
        payload = SSHWriter().string(self.user).string(b"ssh-connection").string(method)
        self.transport.sendPacket(MSG.USERAUTH_REQUEST, payload.bytes() + extra)

    def serviceStarted(self) -> None:
        """Start with ``none``."""
        self._request(b"none")

    def packetReceived(self, messageNum: int, payload: bytes) -> None:
        """Follow the server's answers."""
        from plait.wire.ssh.types import SSHReader

        assert self.transport is not None
        if messageNum == MSG.USERAUTH_FAILURE:
            methods = SSHReader(payload).nameList()
            if self.key is not None and not self.triedKey and "publickey" in methods:
                self.triedKey = True
                alg = self.key.signatureAlgorithms()[0]
                blob = self.key.publicKey().blob()
                signed = (
                    SSHWriter()
                    .string(self.transport.sessionID)
                    .byte(MSG.USERAUTH_REQUEST)
                    .string(self.user)
                    .string(b"ssh-connection")
                    .string(b"publickey")
                    .boolean(True)
                    .string(alg)
                    .string(blob)
                    .bytes()
                )
                extra = SSHWriter().boolean(True).string(alg).string(blob)
                self._request(b"publickey", extra.string(self.key.sign(signed, alg)).bytes())
                return
            self.done.callback(("failure", methods))
            self.transport.loseConnection()
        elif messageNum == MSG.USERAUTH_SUCCESS:
            authenticated = getattr(self.transport, "authenticationSucceeded", None)
            if authenticated is not None:
                authenticated()
            if self.nextService is not None:
                self.transport.setService(self.nextService())
            else:
                self.done.callback(("success", None))
        elif messageNum != MSG.USERAUTH_BANNER:
            super().packetReceived(messageNum, payload)


class ExecCollector(SSHService):
    """An ``ssh-connection`` client that runs one ``exec`` and counts its stdout.

    ``done`` fires with ``(bytes received, sha256 hex, exit status)`` when the channel closes.
    """

    name = b"ssh-connection"
    window = 4 * 1024 * 1024

    def __init__(self, done: Deferred[Any], command: str) -> None:
        import hashlib

        self.done = done
        self.command = command
        self.received = 0
        self.digest = hashlib.sha256()
        self.unacked = 0
        self.exitStatus: int | None = None
        self.hashing = True
        self.remote = 0

    def serviceStarted(self) -> None:
        """Open a session channel."""
        assert self.transport is not None
        opening = SSHWriter().string(b"session").uint32(0).uint32(self.window).uint32(32768)
        self.transport.sendPacket(MSG.CHANNEL_OPEN, opening.bytes())

    def packetReceived(self, messageNum: int, payload: bytes) -> None:
        """Drive the one channel."""
        from plait.wire.ssh.types import SSHReader

        assert self.transport is not None
        send = self.transport.sendPacket
        r = SSHReader(payload)
        if messageNum == MSG.CHANNEL_OPEN_CONFIRMATION:
            r.uint32()
            self.remote = r.uint32()
            request = SSHWriter().uint32(self.remote).string(b"exec").boolean(False)
            send(MSG.CHANNEL_REQUEST, request.string(self.command).bytes())
            send(MSG.CHANNEL_EOF, SSHWriter().uint32(self.remote).bytes())
        elif messageNum == MSG.CHANNEL_DATA:
            r.uint32()
            data = r.string()
            self.received += len(data)
            if self.hashing:
                self.digest.update(data)
            self.unacked += len(data)
            if self.unacked >= self.window // 2:
                send(
                    MSG.CHANNEL_WINDOW_ADJUST,
                    SSHWriter().uint32(self.remote).uint32(self.unacked).bytes(),
                )
                self.unacked = 0
        elif messageNum == MSG.CHANNEL_REQUEST:
            r.uint32()
            kind = r.string()
            wantReply = r.boolean()
            if kind == b"exit-status":
                self.exitStatus = r.uint32()
            elif wantReply:
                send(MSG.CHANNEL_FAILURE, SSHWriter().uint32(self.remote).bytes())
        elif messageNum == MSG.CHANNEL_CLOSE:
            send(MSG.CHANNEL_CLOSE, SSHWriter().uint32(self.remote).bytes())
            self.done.callback((self.received, self.digest.hexdigest(), self.exitStatus))
            self.transport.loseConnection()
        elif messageNum == MSG.CHANNEL_OPEN_FAILURE:
            self.done.errback(Failure(RuntimeError(f"channel open failed: {payload!r}")))
            self.transport.loseConnection()
        elif messageNum == MSG.GLOBAL_REQUEST:
            r.string()
            if r.boolean():
                send(MSG.REQUEST_FAILURE, b"")
        elif messageNum not in (
            MSG.CHANNEL_WINDOW_ADJUST,
            MSG.CHANNEL_EXTENDED_DATA,
            MSG.CHANNEL_EOF,
            MSG.CHANNEL_SUCCESS,
            MSG.CHANNEL_FAILURE,
        ):
            super().packetReceived(messageNum, payload)
