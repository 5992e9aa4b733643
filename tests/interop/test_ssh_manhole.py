"""OpenSSH's ``ssh -tt`` (driven by pexpect) against plait's manhole: in process through
``manholeFactory``, and the ``plait manhole`` command with ``--app``."""

from __future__ import annotations

import getpass
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plait.ssh.manhole import manholeFactory
from plait.wire.ssh.keys import PrivateKey

from ._plaitcmd import plaitCommand
from .sshpeers import SSH, inThread, needSSH, newReactor

pytestmark = needSSH
pexpect = pytest.importorskip("pexpect")

USER = getpass.getuser()
LEFT = "\x1b[D"
HOME = "\x1b[H"


def clientKey(tmp_path: Path) -> tuple[Path, Path]:
    """A client key file and an authorized_keys file holding its public key."""
    key = PrivateKey.generate("ed25519")
    keyPath = tmp_path / "id_ed25519"
    keyPath.write_bytes(key.toOpenSSH())
    keyPath.chmod(0o600)
    authorized = tmp_path / "authorized_keys"
    authorized.write_bytes(key.publicKey().toOpenSSH() + b"\n")
    authorized.chmod(0o600)
    return keyPath, authorized


def sshArgv(port: int, keyPath: Path) -> list[str]:
    """``ssh -tt`` to the manhole on 127.0.0.1:``port`` with ``keyPath``, trusting any host key."""
    return [
        str(SSH),
        "-tt",
        "-F",
        "/dev/null",
        "-p",
        str(port),
        "-i",
        str(keyPath),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=10",
        f"{USER}@127.0.0.1",
    ]


def expectLine(child: Any, text: str) -> None:
    """Expect ``text`` as a whole line of output (CRLF before and after)."""
    child.expect(b"\r\n" + re.escape(text.encode()) + b"\r\n")


def converse(argv: list[str]) -> tuple[int | None, str]:
    """The scripted manhole session; returns ssh's exit status and the whole transcript."""
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(24, 80), timeout=20)
    transcript: list[str] = []
    try:
        child.expect_exact(">>> ")
        child.send("1+1\r")
        expectLine(child, "2")
        child.expect_exact(">>> ")
        child.send("def triple(x):\r")
        child.expect_exact("... ")
        child.send("    return x * 3\r")
        child.expect_exact("... ")
        child.send("\r")
        child.expect_exact(">>> ")
        # Typed as "triple(41)", then edited with arrows to "triple(14)".
        child.send("triple(41x)" + LEFT + "\x7f" + LEFT * 2 + "\x1b[3~" + "\x1b[C" + "4" + "\r")
        expectLine(child, "42")
        child.expect_exact(">>> ")
        child.send("\x1b[A" + HOME + "print('again', " + "\x1b[F" + ")\r")
        expectLine(child, "again 42")
        child.expect_exact(">>> ")
        child.send("1/0\r")
        child.expect_exact("ZeroDivisionError: division by zero")
        child.expect_exact(">>> ")
        child.send("'é€' * 2\r".encode())
        expectLine(child, "'é€é€'")
        child.expect_exact(">>> ")
        child.send("for oops in x:\r")
        child.expect_exact("... ")
        child.send("abc\x03")
        expectLine(child, "KeyboardInterrupt")
        child.expect_exact(">>> ")
        # A narrow terminal (window-change): a line longer than it wraps and is still edited.
        child.setwinsize(24, 30)
        child.send("'" + "y" * 42 + "'" + HOME + "len(" + "\x1b[F" + ")\r")
        expectLine(child, "42")
        child.expect_exact(">>> ")
        child.send("state.ge\t'logins')\r")
        expectLine(child, "0")
        child.expect_exact(">>> ")
        child.send("\x04")
        child.expect(pexpect.EOF)
        transcript.append(child.before.decode(errors="replace"))
    finally:
        child.close()
    return child.exitstatus, "".join(transcript)


RUN: dict[str, Any] = {"capture_output": True, "text": True, "timeout": 30}


def test_openssh_client_in_process_manhole(tmp_path: Path) -> None:
    """ssh -tt into manholeFactory: values, a function over lines, arrow editing, Ctrl-D; then
    input from a pipe without a PTY, and ssh HOST CODE (exec) with its exit status."""
    keyPath, authorized = clientKey(tmp_path)
    reactor = newReactor()
    state = {"logins": 0}
    factory = manholeFactory(
        reactor, {"state": state}, authorizedKeys=authorized, banner="plait manhole test"
    )
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    argv = sshArgv(listening.getHost().port, keyPath)
    plain = [a for a in argv if a != "-tt"]

    def work() -> tuple[Any, ...]:
        status, _ = converse(argv)
        piped = subprocess.run(plain, input="x = 6\nx * 7\n", **RUN)
        execd = subprocess.run([*plain, "state['logins'] + 1; 1/0"], **RUN)
        return status, piped, execd

    try:
        status, piped, execd = inThread(reactor, work)
    finally:
        listening.stopListening()
        reactor.close()
    assert status == 0
    assert (piped.stdout, piped.returncode) == ("42\n", 0)
    assert execd.stdout.startswith("1\nTraceback (most recent call last):\n")
    assert execd.stdout.endswith("ZeroDivisionError: division by zero\n")
    assert execd.returncode == 1


def test_openssh_client_password_login(tmp_path: Path) -> None:
    """A password from the password file logs in (ssh asks; pexpect answers)."""
    from plait.auth import hashPassword

    passwords = tmp_path / "passwords"
    passwords.write_text(f"{USER}:{hashPassword('s3cret', rounds=10)}\n")
    reactor = newReactor()
    listening = reactor.listenTCP(
        0, manholeFactory(reactor, {"n": 6}, passwordFile=passwords), interface="127.0.0.1"
    )
    argv = sshArgv(listening.getHost().port, tmp_path / "none")
    argv[argv.index("BatchMode=yes")] = "BatchMode=no"
    argv[-1:-1] = ["-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no"]

    def work() -> int | None:
        child = pexpect.spawn(argv[0], argv[1:], timeout=20)
        try:
            child.expect("assword:")
            child.sendline("s3cret")
            child.expect_exact(">>> ")
            child.send("n * 7\r")
            expectLine(child, "42")
            child.send("\x04")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        return child.exitstatus

    try:
        status = inThread(reactor, work)
    finally:
        listening.stopListening()
        reactor.close()
    assert status == 0


def test_openssh_client_refused_without_key(tmp_path: Path) -> None:
    """A key that is not in authorized_keys gets no manhole."""
    _, authorized = clientKey(tmp_path)
    other = tmp_path / "other"
    other.write_bytes(PrivateKey.generate("ed25519").toOpenSSH())
    other.chmod(0o600)
    reactor = newReactor()
    listening = reactor.listenTCP(
        0, manholeFactory(reactor, {}, authorizedKeys=authorized), interface="127.0.0.1"
    )
    argv = sshArgv(listening.getHost().port, other)

    def attempt() -> tuple[int | None, str]:
        child = pexpect.spawn(argv[0], argv[1:], timeout=20)
        child.expect(pexpect.EOF)
        child.close()
        return child.exitstatus, child.before.decode(errors="replace")

    try:
        status, output = inThread(reactor, attempt)
    finally:
        listening.stopListening()
        reactor.close()
    assert status == 255
    assert "Permission denied" in output


def test_plait_manhole_command_with_app(tmp_path: Path) -> None:
    """``plait manhole --app FILE.py``: the application's names and the reactor are there."""
    keyPath, authorized = clientKey(tmp_path)
    hostKey = tmp_path / "host_key"
    hostKey.write_bytes(PrivateKey.generate("ed25519").toOpenSSH())
    hostKey.chmod(0o600)
    app = tmp_path / "app.py"
    app.write_text(
        "from plait.app import Application\n"
        "application = Application('demo')\n"
        "counter = {'requests': 41}\n"
    )
    args = ["manhole", "--listen", "tcp:0:interface=127.0.0.1", "--app", str(app)]
    args += ["--authorized-keys", str(authorized), "--host-key", str(hostKey)]
    with plaitCommand(*args) as (port, _lines):
        argv = sshArgv(port, keyPath)
        child = pexpect.spawn(argv[0], argv[1:], dimensions=(24, 80), timeout=20)
        try:
            child.expect_exact(">>> ")
            child.send("counter['requests'] += 1; counter\r")
            expectLine(child, "{'requests': 42}")
            child.expect_exact(">>> ")
            child.send("application.name, reactor.running, len(list(services))\r")
            expectLine(child, "('demo', True, 2)")
            child.expect_exact(">>> ")
            child.send("exit()\r")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        assert child.exitstatus == 0


def test_plait_manhole_needs_a_login_method() -> None:
    """Without --authorized-keys or --password-file the command refuses to start."""
    main = "import sys; from plait.app._cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", main, "manhole", "--listen", "tcp:0:interface=127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--authorized-keys or --password-file" in result.stdout + result.stderr
