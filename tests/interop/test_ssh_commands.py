"""The SSH commands end to end: OpenSSH's ssh/scp/sftp and paramiko against ``plait sshd``,
``plait ssh``/``plait sftp`` against ``plait sshd`` and against OpenSSH's sshd."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from plait.wire.ssh.keys import KnownHosts, PrivateKey, parsePublicKey

from ._plaitcmd import plaitCommand
from .sshpeers import SSH, SSH_KEYGEN, SSHD, TIMEOUT, OpenSSHServer, freePort, openSSHServer

needSSH = pytest.mark.skipif(SSH is None, reason="OpenSSH client not installed")
SCP = shutil.which("scp")
SFTP = shutil.which("sftp")
USER = pwd.getpwuid(os.geteuid()).pw_name
CIPHERS = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr")
PLAIT = [sys.executable, "-c", "import sys; from plait.app._cli import main; sys.exit(main())"]


@dataclass
class PlaitServer:
    """A running ``plait sshd`` and what a client needs to reach it."""

    port: int
    stateDir: Path
    key: Path  # the client's private key (in the server's authorized_keys)
    knownHosts: Path  # a known_hosts file with the server's host keys
    lines: list[str]


@pytest.fixture(scope="module")
def plaitSSHD(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaitServer]:
    """``plait sshd`` on an ephemeral loopback port, host keys generated in a temp dir."""
    pytest.importorskip("cryptography")
    tmp = tmp_path_factory.mktemp("plait-sshd")
    key = PrivateKey.generate("ed25519")
    keyPath = tmp / "id_ed25519"
    keyPath.write_bytes(key.toOpenSSH())
    keyPath.chmod(0o600)
    authorized = tmp / "authorized_keys"
    authorized.write_bytes(key.publicKey().toOpenSSH() + b"\n")
    authorized.chmod(0o600)
    state = tmp / "state"
    args = ["sshd", "--listen", "tcp:0:interface=127.0.0.1", "--state-dir", str(state)]
    args += ["--authorized-keys", str(authorized)]
    with plaitCommand(*args, timeout=60) as (port, lines):
        known = tmp / "known_hosts"
        with known.open("wb") as f:
            for pub in sorted(state.glob("*.pub")):
                f.write(KnownHosts.line("127.0.0.1", port, parsePublicKey(pub.read_bytes())))
                f.write(b"\n")
        yield PlaitServer(port, state, keyPath, known, lines)


def _opts(server: PlaitServer, *extra: str) -> list[str]:
    return [
        "-F",
        "/dev/null",
        "-i",
        str(server.key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        f"UserKnownHostsFile={server.knownHosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=10",
        *extra,
    ]


def _ssh(
    server: PlaitServer, command: str, *extra: str, **kw: object
) -> subprocess.CompletedProcess[str]:
    argv = [str(SSH), "-p", str(server.port), *_opts(server, *extra), f"{USER}@127.0.0.1", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, **kw)  # type: ignore[call-overload, no-any-return]


# -- plait sshd: host keys ---------------------------------------------------------------------


def test_host_keys_generated(plaitSSHD: PlaitServer) -> None:
    """First start makes ed25519, ecdsa and rsa host keys, private ones mode 0600."""
    names = sorted(p.name for p in plaitSSHD.stateDir.iterdir())
    assert names == sorted(
        f"ssh_host_{k}_key{s}" for k in ("ed25519", "ecdsa", "rsa") for s in ("", ".pub")
    )
    for kind in ("ed25519", "ecdsa", "rsa"):
        mode = stat.S_IMODE((plaitSSHD.stateDir / f"ssh_host_{kind}_key").stat().st_mode)
        assert mode == 0o600


# -- OpenSSH's clients against plait sshd ------------------------------------------------------


@needSSH
@pytest.mark.parametrize("cipher", CIPHERS)
def test_openssh_exec_each_cipher(plaitSSHD: PlaitServer, cipher: str) -> None:
    """ssh -o Ciphers=X HOST CMD: output, stderr and exit status, with that cipher."""
    result = _ssh(plaitSSHD, 'echo "out $USER"; echo err >&2; exit 9', "-o", f"Ciphers={cipher}")
    assert result.returncode == 9, result.stderr
    assert result.stdout == f"out {USER}\n"
    assert "err" in result.stderr


@needSSH
@pytest.mark.parametrize(
    ("kex", "mac"),
    [
        ("curve25519-sha256", "hmac-sha2-256-etm@openssh.com"),
        ("ecdh-sha2-nistp256", "hmac-sha2-512"),
        ("diffie-hellman-group14-sha256", "hmac-sha2-256"),
    ],
)
def test_openssh_kex_and_mac(plaitSSHD: PlaitServer, kex: str, mac: str) -> None:
    """Key exchange and MAC chosen by the client (aes128-ctr, so a MAC is used)."""
    opts = ["-o", f"KexAlgorithms={kex}", "-o", f"MACs={mac}", "-o", "Ciphers=aes128-ctr"]
    result = _ssh(plaitSSHD, "echo ok", *opts)
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


@needSSH
@pytest.mark.parametrize("hostKey", ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"])
def test_openssh_host_key_types(plaitSSHD: PlaitServer, hostKey: str) -> None:
    """Each generated host key is offered and checks against known_hosts."""
    result = _ssh(plaitSSHD, "true", "-o", f"HostKeyAlgorithms={hostKey}")
    assert result.returncode == 0, result.stderr


@needSSH
def test_openssh_stdin_bulk(plaitSSHD: PlaitServer) -> None:
    """8 MB through stdin and back (flow control both ways)."""
    data = os.urandom(8 << 20)
    argv = [str(SSH), "-p", str(plaitSSHD.port), *_opts(plaitSSHD), f"{USER}@127.0.0.1", "cat"]
    result = subprocess.run(argv, input=data, capture_output=True, timeout=TIMEOUT)
    assert result.returncode == 0 and result.stdout == data


@pytest.mark.skipif(SCP is None, reason="scp not installed")
@pytest.mark.parametrize("legacy", [False, True], ids=["sftp-protocol", "scp-protocol"])
def test_scp_both_ways(plaitSSHD: PlaitServer, tmp_path: Path, legacy: bool) -> None:
    """scp up and down (over SFTP, and with -O over the remote scp program)."""
    data = os.urandom(300_000)
    local = tmp_path / "local.bin"
    local.write_bytes(data)
    remote = tmp_path / "remote.bin"
    back = tmp_path / "back.bin"
    base = [str(SCP), "-P", str(plaitSSHD.port), *(["-O"] if legacy else []), *_opts(plaitSSHD)]
    up = subprocess.run(
        [*base, str(local), f"{USER}@127.0.0.1:{remote}"], capture_output=True, timeout=TIMEOUT
    )
    assert up.returncode == 0, up.stderr
    down = subprocess.run(
        [*base, f"{USER}@127.0.0.1:{remote}", str(back)], capture_output=True, timeout=TIMEOUT
    )
    assert down.returncode == 0, down.stderr
    assert remote.read_bytes() == data and back.read_bytes() == data


@pytest.mark.skipif(SFTP is None, reason="sftp not installed")
def test_openssh_sftp_batch(plaitSSHD: PlaitServer, tmp_path: Path) -> None:
    """OpenSSH's sftp -b: mkdir, put, ls, get, rename, rm, rmdir on plait's SFTP server."""
    data = os.urandom(100_000)
    (tmp_path / "a.bin").write_bytes(data)
    work = tmp_path / "remote"
    batch = tmp_path / "batch"
    batch.write_text(
        f"mkdir {work}\ncd {work}\nput {tmp_path / 'a.bin'} a.bin\nls\n"
        f"get a.bin {tmp_path / 'b.bin'}\nrename a.bin c.bin\nrm c.bin\ncd ..\nrmdir {work}\n"
    )
    argv = [str(SFTP), "-P", str(plaitSSHD.port), "-b", str(batch), *_opts(plaitSSHD)]
    result = subprocess.run(
        [*argv, f"{USER}@127.0.0.1"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert "a.bin" in result.stdout
    assert (tmp_path / "b.bin").read_bytes() == data
    assert not work.exists()


@needSSH
def test_openssh_pty_shell(plaitSSHD: PlaitServer) -> None:
    """ssh -tt: a login shell on a PTY of the client's terminal size (pexpect)."""
    pexpect = pytest.importorskip("pexpect")
    argv = ["-tt", "-p", str(plaitSSHD.port), *_opts(plaitSSHD), f"{USER}@127.0.0.1"]
    child = pexpect.spawn(str(SSH), argv, timeout=20, encoding="utf-8", dimensions=(33, 101))
    try:
        child.sendline("stty size; tty; exit 3")
        child.expect("33 101")
        child.expect("/dev/pts/")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 3


# -- paramiko against plait sshd ----------------------------------------------------------------


def test_paramiko_exec_and_sftp(plaitSSHD: PlaitServer, tmp_path: Path) -> None:
    """paramiko: exec with exit status, then SFTP put/get."""
    paramiko = pytest.importorskip("paramiko")
    client = paramiko.SSHClient()
    client.load_host_keys(str(plaitSSHD.knownHosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        plaitSSHD.port,
        USER,
        key_filename=str(plaitSSHD.key),
        look_for_keys=False,
        allow_agent=False,
        timeout=TIMEOUT,
    )
    try:
        _, stdout, _ = client.exec_command("echo paramiko; exit 4", timeout=TIMEOUT)
        assert stdout.read() == b"paramiko\n"
        assert stdout.channel.recv_exit_status() == 4
        data = os.urandom(200_000)
        (tmp_path / "p.bin").write_bytes(data)
        sftp = client.open_sftp()
        sftp.put(str(tmp_path / "p.bin"), str(tmp_path / "q.bin"))
        sftp.get(str(tmp_path / "q.bin"), str(tmp_path / "r.bin"))
        sftp.close()
        assert (tmp_path / "r.bin").read_bytes() == data
    finally:
        client.close()


# -- plait ssh / plait sftp ------------------------------------------------------------------


def _plait(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*PLAIT, *args], capture_output=True, timeout=TIMEOUT, **kw)  # type: ignore[call-overload, no-any-return]


def _plaitSSHArgs(port: int, key: Path, known: Path, *extra: str) -> list[str]:
    return ["-p", str(port), "-i", str(key), "-o", f"UserKnownHostsFile={known}", *extra]


def test_plait_ssh_exec(plaitSSHD: PlaitServer) -> None:
    """plait ssh HOST CMD against plait sshd: stdin, stdout, stderr, exit status."""
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, plaitSSHD.knownHosts)
    result = _plait(
        "ssh", *args, f"{USER}@127.0.0.1", "tr a-z A-Z; echo e >&2; exit 6", input=b"abc\n"
    )
    assert (result.returncode, result.stdout) == (6, b"ABC\n"), result.stderr
    assert b"e\n" in result.stderr


def test_plait_ssh_refuses_unknown_and_changed_keys(plaitSSHD: PlaitServer, tmp_path: Path) -> None:
    """plait ssh: an unknown host key (BatchMode) and a changed one end with status 255."""
    empty = tmp_path / "empty_known_hosts"
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, empty, "-o", "BatchMode=yes")
    result = _plait("ssh", *args, f"{USER}@127.0.0.1", "echo should-not-run")
    assert result.returncode == 255
    assert b"should-not-run" not in result.stdout
    assert b"not in known_hosts" in result.stderr
    wrong = tmp_path / "wrong_known_hosts"
    other = PrivateKey.generate("ed25519").publicKey()
    wrong.write_bytes(KnownHosts.line("127.0.0.1", plaitSSHD.port, other) + b"\n")
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, wrong, "-o", "StrictHostKeyChecking=no")
    args += ["-o", "HostKeyAlgorithms=ssh-ed25519"]
    result = _plait("ssh", *args, f"{USER}@127.0.0.1", "echo should-not-run")
    assert result.returncode == 255
    assert b"HAS CHANGED" in result.stderr and b"should-not-run" not in result.stdout


def test_plait_ssh_accept_new(plaitSSHD: PlaitServer, tmp_path: Path) -> None:
    """StrictHostKeyChecking=accept-new records the key, which then matches."""
    known = tmp_path / "known_hosts"
    args = _plaitSSHArgs(
        plaitSSHD.port, plaitSSHD.key, known, "-o", "StrictHostKeyChecking=accept-new"
    )
    assert _plait("ssh", *args, f"{USER}@127.0.0.1", "true").returncode == 0
    assert known.exists()
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, known, "-o", "BatchMode=yes")
    assert _plait("ssh", *args, f"{USER}@127.0.0.1", "true").returncode == 0


def _echoServer() -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def _roundTrip(port: int, payload: bytes, deadline: float = 15.0) -> bytes:
    import time

    end = time.monotonic() + deadline
    while True:  # the forward appears once plait ssh has logged in
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)
    with s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


@pytest.mark.parametrize("direction", ["-L", "-R"])
def test_plait_ssh_forwarding(plaitSSHD: PlaitServer, direction: str) -> None:
    """plait ssh -N -L/-R through plait sshd to an echo server."""
    listener, echoPort = _echoServer()
    port = freePort()
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, plaitSSHD.knownHosts, "-N")
    args += [direction, f"{port}:127.0.0.1:{echoPort}", f"{USER}@127.0.0.1"]
    child = subprocess.Popen([*PLAIT, "ssh", *args], stderr=subprocess.PIPE)
    try:
        payload = os.urandom(100_000)
        assert _roundTrip(port, payload) == payload
    finally:
        child.terminate()
        child.wait(10)
        assert child.stderr is not None
        child.stderr.close()
        listener.close()


def test_plait_sftp_batch(plaitSSHD: PlaitServer, tmp_path: Path) -> None:
    """plait sftp -b against plait sshd; a failing command ends the batch with status 1."""
    data = os.urandom(150_000)
    (tmp_path / "up.bin").write_bytes(data)
    batch = tmp_path / "batch"
    batch.write_text(
        f"cd {tmp_path}\nmkdir d\nput up.bin d/x.bin\nls d\nget d/x.bin {tmp_path / 'down.bin'}\n"
        "-rm d/missing\nrm d/x.bin\nrmdir d\n"
    )
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, plaitSSHD.knownHosts)
    args[0] = "-P"
    result = _plait("sftp", *args, "-b", str(batch), f"{USER}@127.0.0.1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"x.bin" in result.stdout
    assert (tmp_path / "down.bin").read_bytes() == data
    batch.write_text("rm /nonexistent-plait-file\nls\n")
    result = _plait("sftp", *args, "-b", str(batch), f"{USER}@127.0.0.1")
    assert result.returncode == 1 and b"sftp> ls" not in result.stdout


# -- plait ssh / plait sftp against OpenSSH's sshd ------------------------------------------------


@pytest.fixture(scope="module")
def openSSHD(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSSHServer]:
    """OpenSSH's sshd with its sftp-server."""
    if SSHD is None or SSH_KEYGEN is None:
        pytest.skip("OpenSSH server not installed")
    extra = "AllowTcpForwarding yes\nLogLevel ERROR\n"
    if os.path.exists("/usr/lib/openssh/sftp-server"):
        extra += "Subsystem sftp /usr/lib/openssh/sftp-server\n"
    with openSSHServer(tmp_path_factory.mktemp("sshd"), extra) as server:
        yield server


def _sshdKnownHosts(server: OpenSSHServer, path: Path) -> Path:
    with path.open("wb") as f:
        for key in server.hostPublicKeys.values():
            f.write(KnownHosts.line("127.0.0.1", server.port, key) + b"\n")
    return path


def test_plait_ssh_against_sshd(openSSHD: OpenSSHServer, tmp_path: Path) -> None:
    """plait ssh against OpenSSH's sshd: exit status and stdin, each cipher."""
    known = _sshdKnownHosts(openSSHD, tmp_path / "known_hosts")
    for cipher in CIPHERS:
        args = _plaitSSHArgs(openSSHD.port, openSSHD.clientKey, known, "-o", f"Ciphers={cipher}")
        result = _plait("ssh", *args, f"{openSSHD.user}@127.0.0.1", "cat; exit 5", input=b"hi\n")
        assert (result.returncode, result.stdout) == (5, b"hi\n"), result.stderr


def test_plait_sftp_against_sshd(openSSHD: OpenSSHServer, tmp_path: Path) -> None:
    """plait sftp against OpenSSH's sftp-server: put, ls, get."""
    if not os.path.exists("/usr/lib/openssh/sftp-server"):
        pytest.skip("OpenSSH's sftp-server not installed")
    known = _sshdKnownHosts(openSSHD, tmp_path / "known_hosts")
    data = os.urandom(120_000)
    (tmp_path / "a.bin").write_bytes(data)
    batch = tmp_path / "batch"
    batch.write_text(f"cd {tmp_path}\nput a.bin b.bin\nls\nget b.bin c.bin\n")
    args = _plaitSSHArgs(openSSHD.port, openSSHD.clientKey, known)
    args[0] = "-P"
    result = _plait("sftp", *args, "-b", str(batch), f"{openSSHD.user}@127.0.0.1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"b.bin" in result.stdout
    assert (tmp_path / "c.bin").read_bytes() == data


# -- as root: another account --------------------------------------------------------------------


def _otherAccount() -> pwd.struct_passwd | None:
    shells = ("/bin/sh", "/bin/bash", "/usr/bin/bash", "/bin/dash", "/usr/bin/sh")
    for account in pwd.getpwall():
        if account.pw_uid not in (0, os.geteuid()) and account.pw_shell in shells:
            return account
    return None


@needSSH
@pytest.mark.skipif(os.geteuid() != 0, reason="logging in another user needs root")
def test_root_server_runs_sessions_as_the_user(plaitSSHD: PlaitServer) -> None:
    """As root, plait sshd runs another account's command under that account's uid/gid."""
    account = _otherAccount()
    if account is None:
        pytest.skip("no other account with a login shell")
    argv = [str(SSH), "-p", str(plaitSSHD.port), *_opts(plaitSSHD)]
    argv += [f"{account.pw_name}@127.0.0.1", "id -u; id -g"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == [str(account.pw_uid), str(account.pw_gid)]


def test_plait_ssh_pty_shell(plaitSSHD: PlaitServer) -> None:
    """plait ssh with a terminal: a PTY shell of our size, resized on SIGWINCH, exit status."""
    pexpect = pytest.importorskip("pexpect")
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, plaitSSHD.knownHosts)
    child = pexpect.spawn(
        sys.executable,
        [*PLAIT[1:], "ssh", *args, f"{USER}@127.0.0.1"],
        timeout=20,
        encoding="utf-8",
        dimensions=(31, 97),
    )
    try:
        child.sendline("PS1=READY; export PS1")  # typed ahead: the shell reads it once started
        child.expect("READY")
        child.sendline("stty size; tty")
        child.expect("31 97")
        child.expect("/dev/pts/")
        child.setwinsize(42, 111)
        child.sendline("stty size")
        child.expect("42 111")
        child.sendline("exit 7")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 7


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_plait_ssh_asks_about_unknown_host(
    plaitSSHD: PlaitServer, tmp_path: Path, answer: str
) -> None:
    """StrictHostKeyChecking=ask (the default) on a terminal: yes records the key, no refuses."""
    pexpect = pytest.importorskip("pexpect")
    known = tmp_path / "known_hosts"
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, known)
    child = pexpect.spawn(
        sys.executable,
        [*PLAIT[1:], "ssh", *args, f"{USER}@127.0.0.1", "echo logged-in"],
        timeout=20,
        encoding="utf-8",
    )
    try:
        child.expect("continue connecting")
        child.sendline(answer)
        child.expect(pexpect.EOF)
        output = child.before
    finally:
        child.close()
    if answer == "yes":
        assert child.exitstatus == 0 and "logged-in" in output
        assert known.exists()
    else:
        assert child.exitstatus == 255 and "logged-in" not in output
        assert not known.exists()


_PASSWORD_SERVER = """
import os, pwd, sys
from plait.app._cmd_ssh_unix import UnixSSHRealm, makeSSHServerFactory
from plait.auth import InMemoryUsernamePasswordDatabase, Portal
from plait.reactor import defaultReactorClass
from plait.wire.ssh.keys import PrivateKey

reactor = defaultReactorClass()()
users = InMemoryUsernamePasswordDatabase()
users.addUser(pwd.getpwuid(os.geteuid()).pw_name, "s3cret word")
portal = Portal(UnixSSHRealm(os.geteuid()), [users])
factory = makeSSHServerFactory(reactor, [PrivateKey.generate("ed25519")], portal)
port = reactor.listenTCP(0, factory, interface="127.0.0.1")
print(port.getHost().port, flush=True)
reactor.callLater(60, reactor.stop)
reactor.run()
"""


def test_plait_ssh_password_prompt(tmp_path: Path) -> None:
    """plait ssh asks for a password on the terminal and logs in with it."""
    pexpect = pytest.importorskip("pexpect")
    pytest.importorskip("cryptography")
    server = subprocess.Popen(
        [sys.executable, "-c", _PASSWORD_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        args = [
            "-p",
            str(port),
            "-i",
            str(tmp_path / "no-key"),
            "-o",
            "UserKnownHostsFile=/dev/null",
        ]
        args += ["-o", "StrictHostKeyChecking=no", f"{USER}@127.0.0.1", "echo in-with-password"]
        child = pexpect.spawn(
            sys.executable, [*PLAIT[1:], "ssh", *args], timeout=20, encoding="utf-8"
        )
        try:
            child.expect("password: ")
            child.sendline("s3cret word")
            child.expect(pexpect.EOF)
            output = child.before
        finally:
            child.close()
        assert child.exitstatus == 0 and "in-with-password" in output
    finally:
        server.terminate()
        server.wait(10)
        assert server.stdout is not None
        server.stdout.close()


def test_plait_ssh_remote_forward_port_zero(plaitSSHD: PlaitServer) -> None:
    """-R 0:HOST:PORT: the port the server chose is printed, and it forwards."""
    listener, echoPort = _echoServer()
    args = _plaitSSHArgs(plaitSSHD.port, plaitSSHD.key, plaitSSHD.knownHosts, "-N")
    args += ["-R", f"0:127.0.0.1:{echoPort}", f"{USER}@127.0.0.1"]
    child = subprocess.Popen([*PLAIT, "ssh", *args], stderr=subprocess.PIPE, text=True)
    try:
        assert child.stderr is not None
        line = child.stderr.readline()
        assert line.startswith("Allocated port "), line
        port = int(line.split()[2])
        assert _roundTrip(port, b"zero-port") == b"zero-port"
    finally:
        child.terminate()
        child.wait(10)
        assert child.stderr is not None
        child.stderr.close()
        listener.close()
