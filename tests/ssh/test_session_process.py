"""UnixConchUser sessions as real processes on a real reactor (bounded in time)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.reactor import reactorClassNamed
from plait.ssh.connection import RequestFailedError, SSHConnection
from plait.ssh.session import (
    SessionRestrictions,
    SSHClientSession,
    SSHSession,
    UnixConchUser,
    openSession,
)
from plait.wire.ssh.connection import ExitSignal

from .connfakes import LivePair, runUntil


@pytest.fixture
def reactor() -> Iterator[Any]:
    """A fresh epoll/poll reactor, closed after the test."""
    r = reactorClassNamed("epoll" if hasattr(__import__("select"), "epoll") else "poll")()
    yield r
    if r._started:
        r.crash()
    r.close()


class Run:
    """Open a session on a live pair and collect stdout, stderr and the end."""

    def __init__(self, reactor: Any, avatar: UnixConchUser) -> None:
        self.reactor = reactor
        self.client = SSHConnection()
        self.pair = LivePair(self.client, SSHConnection(avatar), reactor)
        self.session = SSHClientSession()
        self.stderr: list[bytes] = []
        self.session.stderrReceived = self.stderr.append
        self.result: list[Any] = []
        self.session.finished.addCallback(self.result.append)
        openSession(self.client, self.session)

    @property
    def stdout(self) -> bytes:
        return b"".join(self.session.received)

    def wait(self, condition: Any = None, timeout: float = 10.0) -> None:
        try:
            runUntil(self.reactor, condition or (lambda: bool(self.result)), timeout)
        except AssertionError as e:
            server: Any = self.pair.server
            state = [
                (c, c.process, getattr(c.process, "__dict__", None), c.bufferSize, c._exitSent)
                for c in server.channels.values()
            ]
            raise AssertionError(f"{e}: stdout={self.stdout!r} server={state!r}") from None


def avatarFor(tmp_path: Path, **kwargs: Any) -> UnixConchUser:
    return UnixConchUser(
        os.environ.get("USER", "user"), os.getuid(), os.getgid(), str(tmp_path), "/bin/sh", **kwargs
    )


def test_exec_status_stdout_stderr(reactor: Any, tmp_path: Path) -> None:
    """exec runs 'sh -c', stdout is data, stderr extended data, the exit status is passed."""
    run = Run(reactor, avatarFor(tmp_path))
    run.session.opened.addCallback(lambda s: s.execCommand(b"echo out; echo err >&2; exit 3"))
    run.wait()
    assert run.stdout == b"out\n"
    assert b"".join(run.stderr) == b"err\n"
    assert run.result == [3]


def test_exec_stdin_and_eof(reactor: Any, tmp_path: Path) -> None:
    """Channel data is the command's stdin; EOF closes it."""
    run = Run(reactor, avatarFor(tmp_path))

    def opened(session: SSHClientSession) -> None:
        session.execCommand(b"tr a-z A-Z")
        session.write(b"hello\n")
        session.sendEOF()

    run.session.opened.addCallback(opened)
    run.wait()
    assert run.stdout == b"HELLO\n"
    assert run.result == [0]


def test_stdin_and_eof_before_exec(reactor: Any, tmp_path: Path) -> None:
    """Data and EOF sent before the exec request are held and become the command's stdin."""
    run = Run(reactor, avatarFor(tmp_path))

    def opened(session: SSHClientSession) -> None:
        session.write(b"early\n")
        session.sendEOF()
        session.execCommand(b"tr a-z A-Z")

    run.session.opened.addCallback(opened)
    run.wait()
    assert run.stdout == b"EARLY\n"
    assert run.result == [0]


def test_environment_and_cwd(reactor: Any, tmp_path: Path) -> None:
    """USER/HOME/SHELL/PATH/SSH_CONNECTION are set, LANG passes the allow-list, cwd is home."""
    run = Run(reactor, avatarFor(tmp_path))

    def opened(session: SSHClientSession) -> None:
        session.setEnv(b"LANG", b"C")
        session.setEnv(b"EVIL", b"1").addErrback(lambda f: f.trap(RequestFailedError))
        session.execCommand(b'echo "$HOME|$SHELL|$LANG|${EVIL-unset}|$SSH_CONNECTION"; pwd')

    run.session.opened.addCallback(opened)
    run.wait()
    first, cwd = run.stdout.decode().splitlines()
    assert first == f"{tmp_path}|/bin/sh|C|unset|192.0.2.1 40000 192.0.2.2 22"
    assert os.path.realpath(cwd) == os.path.realpath(tmp_path)


def test_login_shell_argv0(reactor: Any, tmp_path: Path) -> None:
    """The shell request runs a login shell: argv[0] is '-sh'."""
    run = Run(reactor, avatarFor(tmp_path))

    def opened(session: SSHClientSession) -> None:
        session.shell()
        session.write(b'echo "argv0=$0"\nexit 7\n')

    run.session.opened.addCallback(opened)
    run.wait()
    assert b"argv0=-sh" in run.stdout
    assert run.result == [7]


def test_forced_command(reactor: Any, tmp_path: Path) -> None:
    """A forced command runs instead, with SSH_ORIGINAL_COMMAND set."""
    restrictions = SessionRestrictions(forcedCommand=b'echo "forced:$SSH_ORIGINAL_COMMAND"')
    run = Run(reactor, avatarFor(tmp_path, restrictions=restrictions))
    run.session.opened.addCallback(lambda s: s.execCommand(b"rm -rf /nothing"))
    run.wait()
    assert run.stdout == b"forced:rm -rf /nothing\n"


def test_signal_and_exit_signal(reactor: Any, tmp_path: Path) -> None:
    """A signal request reaches the process; its death is reported as exit-signal."""
    run = Run(reactor, avatarFor(tmp_path))
    sent: list[bool] = []

    def step() -> bool:
        if not sent and run.stdout == b"ready\n":
            sent.append(True)
            run.session.signal("TERM")
        return bool(run.result)

    run.session.opened.addCallback(lambda s: s.execCommand(b"echo ready; exec sleep 30"))
    run.wait(step)
    (result,) = run.result
    assert isinstance(result, ExitSignal)
    assert result.signalName == "TERM"


def test_large_output_flow_control(reactor: Any, tmp_path: Path) -> None:
    """3 MB of output (more than the 2 MB window) arrives whole."""
    run = Run(reactor, avatarFor(tmp_path))
    run.session.opened.addCallback(lambda s: s.execCommand(b"head -c 3000000 /dev/zero"))
    run.wait(timeout=20)
    assert len(run.stdout) == 3000000
    assert run.result == [0]


def test_pty_size_and_tty(reactor: Any, tmp_path: Path) -> None:
    """With pty-req the command runs on a tty of the requested size (set before it starts),
    named in SSH_TTY."""
    run = Run(reactor, avatarFor(tmp_path))

    def opened(session: SSHClientSession) -> None:
        session.requestPty(b"xterm", 100, 30)
        session.execCommand(b'stty size; tty; echo "TERM=$TERM SSH_TTY=$SSH_TTY"')

    run.session.opened.addCallback(opened)
    run.wait()
    lines = run.stdout.decode().split("\r\n")
    assert lines[0] == "30 100"
    assert lines[1].startswith("/dev/")
    assert lines[2] == f"TERM=xterm SSH_TTY={lines[1]}"
    assert run.result == [0]


def test_pty_window_change(reactor: Any, tmp_path: Path) -> None:
    """window-change resizes the PTY while the program runs."""
    run = Run(reactor, avatarFor(tmp_path))
    state: dict[str, bool] = {}

    def opened(session: SSHClientSession) -> None:
        session.requestPty(b"xterm", 80, 24)
        session.execCommand(b"stty size; read x; stty size")

    def step() -> bool:
        if not state.get("resized") and b"24 80" in run.stdout:
            state["resized"] = True
            run.session.windowChange(132, 50)
            run.session.write(b"\n")
        return bool(run.result)

    run.session.opened.addCallback(opened)
    run.wait(step)
    assert b"50 132" in run.stdout


def test_from_passwd_and_realm() -> None:
    """fromPasswd reads the account; UnixRealm builds restricted avatars and refuses unknown
    users (and, not as root, other users)."""
    import pwd

    from plait.auth import UnauthorizedLogin
    from plait.ssh.session import UnixRealm

    me = pwd.getpwuid(os.getuid())
    avatar = UnixConchUser.fromPasswd(me.pw_name)
    assert (avatar.uid, avatar.gid, avatar.home) == (me.pw_uid, me.pw_gid, me.pw_dir)

    class AvatarId(bytes):
        options = type("Options", (), {"command": "true", "noPty": True})()

    realm = UnixRealm()
    interface, built, logout = realm.requestAvatar(AvatarId(me.pw_name.encode()), None, "I")
    assert interface == "I" and built.username == me.pw_name and callable(logout)
    assert built.restrictions.forcedCommand == b"true" and built.restrictions.noPty
    with pytest.raises(UnauthorizedLogin):
        realm.requestAvatar(b"no-such-user-here", None, "I")
    with pytest.raises(UnauthorizedLogin):  # pwd cannot even look it up: still no such user
        realm.requestAvatar(me.pw_name.encode() + b"\0x", None, "I")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_session_as_other_user_owns_its_tty(reactor: Any) -> None:
    """As root, a session for 'nobody' runs with nobody's uid and gets its tty."""
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    avatar = UnixConchUser("nobody", nobody.pw_uid, nobody.pw_gid, "/", "/bin/sh")
    run = Run(reactor, avatar)

    def opened(session: SSHClientSession) -> None:
        session.requestPty()
        session.execCommand(b"id -u; stat -c %u $(tty)")

    run.session.opened.addCallback(opened)
    run.wait()
    assert run.stdout.split() == [str(nobody.pw_uid).encode()] * 2


def test_user_environment_needs_permission(reactor: Any, tmp_path: Path) -> None:
    """environment= from authorized_keys applies only with permitUserEnvironment."""
    restrictions = SessionRestrictions(environment={"FROM_KEY": "yes"})
    for permit, expected in ((False, b"unset\n"), (True, b"yes\n")):
        avatar = avatarFor(tmp_path, restrictions=restrictions, permitUserEnvironment=permit)
        assert (
            avatar.environment(SSHSession(), None).get("FROM_KEY", "unset")
            == expected.decode().strip()
        )


def test_terminal_modes_round_trip() -> None:
    """readTerminalModes and applyTerminalModes agree: modes read from one pty, changed and
    applied to another, read back the same (ECHO off, VINTR ^G, 8-bit characters)."""
    import termios

    from plait.ssh.session import applyTerminalModes, readTerminalModes
    from plait.wire.ssh.connection import TerminalMode

    fds = [*os.openpty(), *os.openpty()]
    try:
        modes = dict(readTerminalModes(fds[1]))
        assert TerminalMode.ECHO in modes and TerminalMode.TTY_OP_OSPEED in modes
        modes[TerminalMode.ECHO] = 0
        modes[TerminalMode.VINTR] = 7
        modes[TerminalMode.CS7], modes[TerminalMode.CS8] = 0, 1  # OpenSSH's usual pair
        applyTerminalModes(fds[3], tuple(modes.items()))
        again = dict(readTerminalModes(fds[3]))
        assert again[TerminalMode.ECHO] == 0 and again[TerminalMode.VINTR] == 7
        assert (again[TerminalMode.CS7], again[TerminalMode.CS8]) == (0, 1)
        assert termios.tcgetattr(fds[3])[2] & termios.CSIZE == termios.CS8
        assert not termios.tcgetattr(fds[3])[3] & termios.ECHO
        assert {k: v for k, v in again.items() if k < 128} == {
            k: v for k, v in modes.items() if k < 128
        }
    finally:
        for fd in fds:
            os.close(fd)


def test_nul_in_command_is_refused_cleanly(reactor: Any, tmp_path: Path) -> None:
    """A NUL in an exec command (which execve cannot take) fails the request with a warning,
    not with a handler failure (traceback) in the log."""
    from plait.log import globalLogPublisher

    failures: list[Any] = []

    def observe(event: dict[str, Any]) -> None:
        if "log_failure" in event:
            failures.append(event)

    run = Run(reactor, avatarFor(tmp_path))
    outcome: list[Any] = []

    def opened(session: SSHClientSession) -> None:
        d = session.execCommand(b"echo hi\x00; echo more")
        d.addCallbacks(outcome.append, lambda f: outcome.append(f.trap(RequestFailedError)))

    run.session.opened.addCallback(opened)
    globalLogPublisher.addObserver(observe)
    try:
        run.wait(lambda: bool(outcome))
    finally:
        globalLogPublisher.removeObserver(observe)
    assert outcome == [RequestFailedError]
    assert failures == []


def test_terminal_modes_a_pty_refuses_keep_the_others() -> None:
    """Control modes a pty refuses (PARENB alone gives EINVAL on Linux) do not fail the
    pty-req: the other modes still apply, and openSessionPTY never raises termios.error."""
    import termios

    from plait.ssh.session import applyTerminalModes, openSessionPTY
    from plait.wire.ssh.connection import PtyRequest, TerminalMode

    for modes in (((TerminalMode.PARENB, 1),), ((TerminalMode.CS7, 1),)):
        master, slave = os.openpty()
        try:
            before = termios.tcgetattr(slave)
            applyTerminalModes(slave, modes)
            assert termios.tcgetattr(slave)[3] == before[3]
        finally:
            os.close(master)
            os.close(slave)
        request = PtyRequest(b"xterm", 80, 24, 0, 0, ((TerminalMode.ECHO, 0), *modes))
        master, slave, name = openSessionPTY(request, None)
        try:
            assert name.startswith("/dev/")
        finally:
            os.close(master)
            os.close(slave)
