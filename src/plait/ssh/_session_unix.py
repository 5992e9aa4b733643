"""``UnixConchUser``: sessions as UNIX processes (login shell, commands, PTYs) for ``plait sshd``.

The login shell runs as ``shell`` with argv[0] ``-<name>`` (a login shell), commands as
``shell -c COMMAND``, in the user's home with the user's uid/gid, on a new PTY when the client
asked for one (its terminal modes and size applied; ``window-change`` resizes it). Without a
PTY the program's stderr is the channel's extended data 1. When the program ends the session
sends ``exit-status`` (or ``exit-signal``), EOF and CLOSE.
"""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import signal as signalModule
import struct
import termios
from typing import Any

from plait.defer import Failure
from plait.log import Logger
from plait.protocol import ProcessProtocol, ProcessTerminated
from plait.ssh._session import ConchUser, SessionRestrictions, SSHSession
from plait.wire.ssh.connection import ExitSignal, PtyRequest, TerminalMode, WindowChange

__all__ = [
    "UnixConchUser",
    "UnixRealm",
    "applyTerminalModes",
    "openSessionPTY",
    "readTerminalModes",
    "setWindowSize",
]

_log = Logger(namespace="plait.ssh.session")

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_CC = {
    TerminalMode.VINTR: "VINTR",
    TerminalMode.VQUIT: "VQUIT",
    TerminalMode.VERASE: "VERASE",
    TerminalMode.VKILL: "VKILL",
    TerminalMode.VEOF: "VEOF",
    TerminalMode.VEOL: "VEOL",
    TerminalMode.VEOL2: "VEOL2",
    TerminalMode.VSTART: "VSTART",
    TerminalMode.VSTOP: "VSTOP",
    TerminalMode.VSUSP: "VSUSP",
    TerminalMode.VREPRINT: "VREPRINT",
    TerminalMode.VWERASE: "VWERASE",
    TerminalMode.VLNEXT: "VLNEXT",
    TerminalMode.VDISCARD: "VDISCARD",
}
# (index into tcgetattr's list, flag name)
_FLAGS = {
    TerminalMode.IGNPAR: (0, "IGNPAR"),
    TerminalMode.PARMRK: (0, "PARMRK"),
    TerminalMode.INPCK: (0, "INPCK"),
    TerminalMode.ISTRIP: (0, "ISTRIP"),
    TerminalMode.INLCR: (0, "INLCR"),
    TerminalMode.IGNCR: (0, "IGNCR"),
    TerminalMode.ICRNL: (0, "ICRNL"),
    TerminalMode.IUCLC: (0, "IUCLC"),
    TerminalMode.IXON: (0, "IXON"),
    TerminalMode.IXANY: (0, "IXANY"),
    TerminalMode.IXOFF: (0, "IXOFF"),
    TerminalMode.IMAXBEL: (0, "IMAXBEL"),
    TerminalMode.IUTF8: (0, "IUTF8"),
    TerminalMode.OPOST: (1, "OPOST"),
    TerminalMode.OLCUC: (1, "OLCUC"),
    TerminalMode.ONLCR: (1, "ONLCR"),
    TerminalMode.OCRNL: (1, "OCRNL"),
    TerminalMode.ONOCR: (1, "ONOCR"),
    TerminalMode.ONLRET: (1, "ONLRET"),
    TerminalMode.CS7: (2, "CS7"),
    TerminalMode.CS8: (2, "CS8"),
    TerminalMode.PARENB: (2, "PARENB"),
    TerminalMode.PARODD: (2, "PARODD"),
    TerminalMode.ISIG: (3, "ISIG"),
    TerminalMode.ICANON: (3, "ICANON"),
    TerminalMode.XCASE: (3, "XCASE"),
    TerminalMode.ECHO: (3, "ECHO"),
    TerminalMode.ECHOE: (3, "ECHOE"),
    TerminalMode.ECHOK: (3, "ECHOK"),
    TerminalMode.ECHONL: (3, "ECHONL"),
    TerminalMode.NOFLSH: (3, "NOFLSH"),
    TerminalMode.TOSTOP: (3, "TOSTOP"),
    TerminalMode.IEXTEN: (3, "IEXTEN"),
    TerminalMode.ECHOCTL: (3, "ECHOCTL"),
    TerminalMode.ECHOKE: (3, "ECHOKE"),
    TerminalMode.PENDIN: (3, "PENDIN"),
}


def applyTerminalModes(fd: int, modes: tuple[tuple[int, int], ...]) -> None:
    """Set the encoded terminal ``modes`` on the terminal ``fd`` (unknown ones are skipped).

    A pty may refuse control modes (CS7, PARENB: EINVAL on Linux); the other modes are then
    applied without them. Raises ``termios.error`` only if even that fails."""
    attrs: list[Any] = termios.tcgetattr(fd)
    originalControl = attrs[2]
    cc = list(attrs[6])
    for opcode, value in modes:
        ccName = _CC.get(opcode)  # type: ignore[call-overload]
        if ccName is not None:
            index = getattr(termios, ccName, None)
            if index is not None and index < len(cc):
                cc[index] = bytes((value & 0xFF,)) if isinstance(cc[index], bytes) else value
            continue
        flag = _FLAGS.get(opcode)  # type: ignore[call-overload]
        if flag is None:
            continue
        which, name = flag
        bit = getattr(termios, name, None)
        if bit is None:
            continue
        if opcode in (TerminalMode.CS7, TerminalMode.CS8):
            if value:  # a character size is a field, not a flag: set it; "not CS7" says nothing
                attrs[which] = (attrs[which] & ~termios.CSIZE) | bit
            continue
        attrs[which] = attrs[which] | bit if value else attrs[which] & ~bit
    attrs[6] = cc
    try:
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except termios.error:
        if attrs[2] == originalControl:
            raise
        attrs[2] = originalControl
        termios.tcsetattr(fd, termios.TCSANOW, attrs)


def readTerminalModes(fd: int) -> tuple[tuple[int, int], ...]:
    """The terminal ``fd``'s modes as encoded-terminal-mode pairs, for a client's ``pty-req``
    (what OpenSSH's ``ssh -t`` sends: control characters, flags and speeds)."""
    attrs: list[Any] = termios.tcgetattr(fd)
    cc = attrs[6]
    modes: list[tuple[int, int]] = []
    for opcode, ccName in _CC.items():
        index = getattr(termios, ccName, None)
        if index is None or index >= len(cc):
            continue
        value = cc[index]
        modes.append((opcode, value[0] if isinstance(value, bytes) else int(value)))
    for opcode, (which, name) in _FLAGS.items():
        bit = getattr(termios, name, None)
        if bit is None:
            continue
        if opcode in (TerminalMode.CS7, TerminalMode.CS8):
            modes.append((opcode, 1 if attrs[which] & termios.CSIZE == bit else 0))
        else:
            modes.append((opcode, 1 if attrs[which] & bit == bit else 0))
    speeds = {
        getattr(termios, n): int(n[1:]) for n in dir(termios) if n[:1] == "B" and n[1:].isdigit()
    }
    modes.append((TerminalMode.TTY_OP_ISPEED, speeds.get(attrs[4], 38400)))
    modes.append((TerminalMode.TTY_OP_OSPEED, speeds.get(attrs[5], 38400)))
    return tuple(modes)


def setWindowSize(fd: int, rows: int, columns: int, width: int = 0, height: int = 0) -> None:
    """Resize the terminal ``fd`` (TIOCSWINSZ; the foreground process group gets SIGWINCH)."""
    size = struct.pack("HHHH", rows & 0xFFFF, columns & 0xFFFF, width & 0xFFFF, height & 0xFFFF)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, size)


PIPE_SIZE = 1024 * 1024


def _widenPipes(transport: Any) -> None:
    """Bigger pipes and reads for a process's stdio (Linux; best effort): a 64 KiB pipe read
    64 KiB per wake-up caps bulk output at a fraction of what the channel carries."""
    setSize = getattr(fcntl, "F_SETPIPE_SZ", None)
    for childFD in (0, 1, 2):
        pipe = getattr(transport, "pipes", {}).get(childFD)
        fd = getattr(pipe, "fd", None)
        if pipe is None or not isinstance(fd, int):
            continue
        if setSize is not None:
            try:
                fcntl.fcntl(fd, setSize, PIPE_SIZE)
            except OSError:
                continue  # over /proc/sys/fs/pipe-max-size for this user: keep the default
        if childFD:
            pipe.bufferSize = PIPE_SIZE


def _giveTTY(name: str, uid: int) -> None:
    """As root, make the session's tty the user's (group ``tty``, mode 0620), as sshd does,
    so programs that reopen it (``tty``-prompting ones, ``write``) work."""
    if os.geteuid() != 0 or uid == 0:
        return
    try:
        group = grp.getgrnam("tty").gr_gid
    except KeyError:
        group = -1
    try:
        os.chown(name, uid, group)
        os.chmod(name, 0o620 if group != -1 else 0o600)
    except OSError as e:
        _log.warn("cannot give {tty} to uid {uid}: {error}", tty=name, uid=uid, error=e)


def openSessionPTY(pty: PtyRequest, uid: int | None) -> tuple[int, int, str]:
    """A new pty set up as the client asked (modes, size) and owned by ``uid``: the
    ``(master, slave, ttyName)`` tuple ``spawnProcess(usePTY=...)`` takes."""
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        try:
            applyTerminalModes(slave, pty.modes)
        except termios.error as e:  # the client's modes, not our failure: keep the defaults
            _log.info("terminal modes not applied: {error}", error=e)
        setWindowSize(slave, pty.rows, pty.columns, pty.width, pty.height)
        if uid is not None:
            _giveTTY(name, uid)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    return master, slave, name


def _unspawnable(argv: list[str], env: dict[str, str]) -> bool:
    """Whether execve would refuse ``argv``/``env`` (a NUL anywhere, ``=`` in a name)."""
    return any("\0" in a for a in argv) or any(
        "\0" in k or "=" in k or not k or "\0" in v for k, v in env.items()
    )


class _InputProducer:
    """The session as the producer of a process's stdin: a full pipe pauses the channel's
    window; the pipe's end (the process exiting) does not close the channel."""

    def __init__(self, session: SSHSession) -> None:
        self.session = session

    def pauseProducing(self) -> None:
        self.session.pauseProducing()

    def resumeProducing(self) -> None:
        self.session.resumeProducing()

    def stopProducing(self) -> None:
        """The exit status, not the stdin pipe, ends the session."""


class _SessionProcessProtocol(ProcessProtocol):
    """Joins a process to a session: output to the channel, channel input to the process,
    backpressure both ways, and the exit status when it ends."""

    def __init__(self, session: SSHSession) -> None:
        self.session = session

    def connectionMade(self) -> None:
        transport: Any = self.transport
        session = self.session
        session.process = transport
        _widenPipes(transport)
        session.registerProducer(transport, True)
        transport.registerProducer(_InputProducer(session), True)

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == 2:
            self.session.writeStderr(data)
        else:
            self.session.write(data)

    def processEnded(self, reason: Failure) -> None:
        session = self.session
        transport: Any = self.transport
        if session.producer is transport:
            session.unregisterProducer()
        try:
            transport.unregisterProducer()
        except Exception:  # the writer may be gone already
            pass
        session.process = None
        value = reason.value
        if isinstance(value, ProcessTerminated) and value.signal is not None:
            try:
                name = signalModule.Signals(value.signal).name.removeprefix("SIG")
            except ValueError:
                name = str(value.signal)
            core = bool(value.status is not None and os.WCOREDUMP(value.status))
            session.sendExit(signal=ExitSignal(name, core, "", b""))
        else:
            code = getattr(value, "exitCode", None)
            session.sendExit(status=0 if code is None else int(code))


class UnixConchUser(ConchUser):
    """An avatar for a UNIX account: its sessions are processes run as ``uid``/``gid``.

    ``shell`` is the login shell, ``home`` the working directory. ``restrictions`` come from
    the key's ``authorized_keys`` options (``SessionRestrictions.fromOptions``); their
    ``environment=`` is applied only with ``permitUserEnvironment`` (sshd's
    PermitUserEnvironment, off by default). ``path`` is the ``PATH`` given to programs.
    Processes are spawned on the reactor of the SSH connection.
    """

    def __init__(
        self,
        username: bytes | str,
        uid: int | None = None,
        gid: int | None = None,
        home: str = "/",
        shell: str = "/bin/sh",
        *,
        restrictions: SessionRestrictions | None = None,
        path: str | None = None,
        permitUserEnvironment: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(username, restrictions=restrictions, **kwargs)
        self.permitUserEnvironment = permitUserEnvironment
        self.uid = uid
        self.gid = gid
        self.home = home
        self.shell = shell or "/bin/sh"
        self.path = path or (ROOT_PATH if uid == 0 else DEFAULT_PATH)

    @classmethod
    def fromPasswd(
        cls, username: bytes | str, restrictions: SessionRestrictions | None = None, **kwargs: Any
    ) -> UnixConchUser:
        """The avatar of a system account (uid, gid, home and shell from the password
        database); ``KeyError`` if there is no such user."""
        name = os.fsdecode(username)
        try:
            entry = pwd.getpwnam(name)
        except ValueError:  # a NUL in the name: no account has it
            raise KeyError(name) from None
        return cls(
            name,
            entry.pw_uid,
            entry.pw_gid,
            entry.pw_dir,
            entry.pw_shell or "/bin/sh",
            restrictions=restrictions,
            **kwargs,
        )

    def environment(self, session: SSHSession, originalCommand: bytes | None) -> dict[str, str]:
        """The environment of a session's process."""
        env: dict[str, str] = {
            "USER": self.username,
            "LOGNAME": self.username,
            "HOME": self.home,
            "SHELL": self.shell,
            "PATH": self.path,
        }
        for name, value in session.env.items():
            env[os.fsdecode(name)] = os.fsdecode(value)
        if self.permitUserEnvironment:
            env.update(self.restrictions.environment)
        conn = session.conn
        transport = conn.transport if conn is not None else None
        if transport is not None:
            peer: Any = transport.getPeer()
            host: Any = transport.getHost()
            peerHost, peerPort = getattr(peer, "host", "?"), getattr(peer, "port", 0)
            env["SSH_CLIENT"] = f"{peerHost} {peerPort} {getattr(host, 'port', 0)}"
            env["SSH_CONNECTION"] = (
                f"{peerHost} {peerPort} {getattr(host, 'host', '?')} {getattr(host, 'port', 0)}"
            )
        if session.pty is not None:
            env["TERM"] = os.fsdecode(session.pty.term) or "dumb"
        if originalCommand is not None:
            env["SSH_ORIGINAL_COMMAND"] = os.fsdecode(originalCommand)
        return env

    def _spawn(self, session: SSHSession, argv: list[str], originalCommand: bytes | None) -> bool:
        conn = session.conn
        if conn is None or conn.transport is None:
            return False
        reactor = conn.transport.reactor
        sameUser = self.uid is None or (self.uid == os.getuid() and self.uid == os.geteuid())
        uid = None if sameUser else self.uid
        gid = None if sameUser else self.gid
        env = self.environment(session, originalCommand)
        if _unspawnable(argv, env):
            # checked before the pty is opened: execve would refuse it only after that
            _log.warn("refused a command or environment with a NUL for {user}", user=self)
            return False
        try:
            # The pty is set up before the child starts (a quick `stty size` must see it).
            pty: tuple[int, int, str] | bool = False
            if session.pty is not None:
                pty = openSessionPTY(session.pty, self.uid)
                env["SSH_TTY"] = pty[2]
            reactor.spawnProcess(
                _SessionProcessProtocol(session),
                self.shell,
                argv,
                env=env,
                path=self.home if os.path.isdir(self.home) else "/",
                uid=uid,
                gid=gid,
                usePTY=pty,
            )
        except (OSError, ValueError) as e:
            # ValueError: a NUL in the client's command or terminal name (execve refuses it)
            _log.warn("cannot start {argv!r} for {user}: {error}", argv=argv, user=self, error=e)
            return False
        return True

    def openShell(self, session: SSHSession) -> bool:
        """Run the login shell (or the forced command)."""
        forced = self.restrictions.forcedCommand
        if forced is not None:
            return self._spawn(session, self._commandArgv(forced), None)
        name = os.path.basename(self.shell)
        return self._spawn(session, ["-" + name], None)

    def execCommand(self, session: SSHSession, command: bytes) -> bool:
        """Run ``shell -c command`` (the forced command instead, if any)."""
        forced = self.restrictions.forcedCommand
        if forced is not None:
            return self._spawn(session, self._commandArgv(forced), command)
        return self._spawn(session, self._commandArgv(command), None)

    def openSubsystem(self, session: SSHSession, name: bytes) -> bool:
        """A forced command wins over subsystems; otherwise ``subsystemLookup``."""
        forced = self.restrictions.forcedCommand
        if forced is not None:
            return self._spawn(session, self._commandArgv(forced), name)
        return super().openSubsystem(session, name)

    def _commandArgv(self, command: bytes) -> list[str]:
        return [os.path.basename(self.shell), "-c", os.fsdecode(command)]

    def mayListenPrivileged(self) -> bool:
        """Only root's forwards may bind ports below 1024."""
        return self.uid == 0

    def windowChanged(self, session: SSHSession, change: WindowChange) -> None:
        """Resize the session's PTY."""
        fd = getattr(session.process, "fd", None)
        if session.pty is not None and isinstance(fd, int) and fd >= 0:
            try:
                setWindowSize(fd, change.rows, change.columns, change.width, change.height)
            except OSError as e:
                _log.debug("window-change failed: {error}", error=e)

    def signalReceived(self, session: SSHSession, name: str) -> bool:
        """Send the signal to the session's process."""
        process = session.process
        if process is None:
            return False
        try:
            process.signalProcess(name)
        except Exception:
            return False
        return True

    def __repr__(self) -> str:
        return f"<UnixConchUser {self.username} uid={self.uid}>"


class UnixRealm:
    """A realm (``IRealm``) of system accounts for ``plait sshd``: each avatar id (a user
    name, possibly carrying ``authorized_keys`` options as ``.options``) becomes a
    ``UnixConchUser.fromPasswd`` restricted by those options.

    Not running as root, only the account we run as can be served (others are refused with
    ``UnauthorizedLogin``). ``avatarOptions`` are passed to every ``UnixConchUser``.
    """

    def __init__(self, **avatarOptions: Any) -> None:
        self.avatarOptions = avatarOptions

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """``(interfaces[0], avatar, avatar.logout)``."""
        from plait.auth import UnauthorizedLogin

        name = os.fsdecode(bytes(avatarId) if isinstance(avatarId, bytes) else str(avatarId))
        try:
            avatar = UnixConchUser.fromPasswd(
                name,
                SessionRestrictions.fromOptions(getattr(avatarId, "options", None)),
                **self.avatarOptions,
            )
        except KeyError:
            raise UnauthorizedLogin(f"no such user {name!r}") from None
        if os.geteuid() != 0 and avatar.uid != os.geteuid():
            raise UnauthorizedLogin(f"not root: cannot serve {name!r}")
        return (interfaces[0] if interfaces else None), avatar, avatar.logout
