"""Session channels (RFC 4254 §6): the server's avatar ``ConchUser`` and its ``SSHSession``.

A ``ConchUser`` is what a realm returns for an authenticated user: it decides which channels
may be opened (``channelLookup``: ``session``, ``direct-tcpip``), answers global requests
(``tcpip-forward``...), and runs what a session asks for. The base class serves in-process
applications: a shell that is a plait ``Protocol`` (``shellProtocolFactory``), subsystems from
``subsystemLookup`` (the SFTP server registers ``b"sftp"``). ``UnixConchUser`` (in
``_session_unix``) runs the user's login shell and commands as processes, on a PTY when asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from plait.defer import Deferred, Failure
from plait.log import Logger
from plait.protocol import ConnectionDone
from plait.ssh._channel import ChannelOpenError, ChannelTransport, SSHChannel
from plait.wire.ssh.connection import (
    EXTENDED_DATA_STDERR,
    EnvRequest,
    ExecRequest,
    ExitSignal,
    ExitStatus,
    OpenFailureReason,
    PtyRequest,
    SignalRequest,
    SubsystemRequest,
    TerminalMode,
    WindowChange,
)

__all__ = [
    "ConchUser",
    "SSHSession",
    "SessionRestrictions",
    "SessionTransport",
]

_log = Logger(namespace="plait.ssh.session")

# Signals a client may send (RFC 4254 §6.10), without "SIG".
SIGNALS = frozenset(
    {"ABRT", "ALRM", "FPE", "HUP", "ILL", "INT", "KILL", "PIPE", "QUIT", "SEGV", "TERM", "USR1"}
    | {"USR2"}
)


def _defaultEnvAllowed(name: bytes) -> bool:
    return name == b"LANG" or name.startswith(b"LC_")


@dataclass
class SessionRestrictions:
    """What an authenticated key's options (or a policy) forbid or force.

    ``forcedCommand`` runs instead of whatever the client asked (shell, exec or subsystem),
    with ``SSH_ORIGINAL_COMMAND`` set to the client's command; ``noPty`` refuses ``pty-req``;
    ``noPortForwarding`` refuses ``direct-tcpip`` and ``tcpip-forward``; ``environment`` is
    added to a process's environment; ``permitOpen``/``permitListen`` (``host:port``, ``*``
    wildcards) narrow forwarding when not empty.
    """

    forcedCommand: bytes | None = None
    noPty: bool = False
    noPortForwarding: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    permitOpen: tuple[str, ...] = ()
    permitListen: tuple[str, ...] = ()

    @classmethod
    def fromOptions(cls, options: Any) -> SessionRestrictions:
        """From ``authorized_keys`` options (``plait.wire.ssh.keys.AuthorizedKeyOptions``)."""
        if options is None:
            return cls()
        command = getattr(options, "command", None)
        return cls(
            forcedCommand=command.encode("utf-8") if isinstance(command, str) else command,
            noPty=bool(getattr(options, "noPty", False)),
            noPortForwarding=bool(getattr(options, "noPortForwarding", False)),
            environment=dict(getattr(options, "environment", None) or {}),
            permitOpen=tuple(getattr(options, "permitOpen", ()) or ()),
            permitListen=tuple(getattr(options, "permitListen", ()) or ()),
        )


class ConchUser:
    """A server-side avatar (Conch's ``ConchUser``), for in-process applications.

    ``shellProtocolFactory(avatar)`` builds the Protocol run for a ``shell`` request (and, if
    ``execProtocolFactory`` is None, refuses ``exec``); ``execProtocolFactory(avatar,
    command)`` one for ``exec``. ``subsystemLookup`` maps a subsystem name to a factory
    ``(avatar) -> Protocol``. ``channelLookup`` maps channel types to channel factories called
    with ``remoteWindow, remoteMaxPacket, data, avatar, conn`` keywords (a factory may
    return a Deferred, or raise ``ChannelOpenError``). ``envAllowed(name)`` decides which
    ``env`` requests are kept (default ``LANG`` and ``LC_*``). ``maxSessions`` bounds the
    ``session`` channels open at once on one connection (OpenSSH's MaxSessions, 10).
    """

    def __init__(
        self,
        username: bytes | str,
        *,
        shellProtocolFactory: Callable[[Any], Any] | None = None,
        execProtocolFactory: Callable[[Any, bytes], Any] | None = None,
        restrictions: SessionRestrictions | None = None,
        listenInterfaces: Iterable[str] = ("127.0.0.1", "::1", "localhost"),
        maxSessions: int = 10,
    ) -> None:
        self.username = username.decode("utf-8") if isinstance(username, bytes) else username
        self.shellProtocolFactory = shellProtocolFactory
        self.execProtocolFactory = execProtocolFactory
        self.restrictions = restrictions or SessionRestrictions()
        self.listenInterfaces = frozenset(listenInterfaces)
        self.maxSessions = maxSessions
        self.subsystemLookup: dict[bytes, Callable[[Any], Any]] = {}
        from plait.ssh._forwarding import openDirectTCPIP

        self.channelLookup: dict[bytes, Callable[..., Any]] = {
            b"session": SSHSession,
            b"direct-tcpip": openDirectTCPIP,
        }

    # -- channels and global requests (called by SSHConnection) ----------------------------

    def lookupChannel(
        self, channelType: bytes, windowSize: int, maxPacket: int, data: bytes, conn: Any
    ) -> SSHChannel | Deferred[SSHChannel]:
        """Build the channel for an incoming open, or raise ``ChannelOpenError``."""
        if channelType == b"session" and getattr(conn, "noMoreSessions", False):
            raise ChannelOpenError(
                OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, "no more sessions"
            )
        if channelType == b"session":
            channels = getattr(conn, "channels", {}).values()
            if sum(1 for c in channels if c.name == b"session") >= self.maxSessions:
                raise ChannelOpenError(
                    OpenFailureReason.RESOURCE_SHORTAGE, f"at most {self.maxSessions} sessions"
                )
        factory = self.channelLookup.get(channelType)
        if factory is None:
            raise ChannelOpenError(OpenFailureReason.UNKNOWN_CHANNEL_TYPE, "unknown channel type")
        result: SSHChannel | Deferred[SSHChannel] = factory(
            remoteWindow=windowSize, remoteMaxPacket=maxPacket, data=data, avatar=self, conn=conn
        )
        return result

    def gotGlobalRequest(self, requestType: bytes, data: bytes, conn: Any) -> Any:
        """Answer a global request: ``tcpip-forward``/``cancel-tcpip-forward``;
        ``no-more-sessions@openssh.com`` (a client's promise, kept for it: later ``session``
        opens are refused); others fail."""
        if requestType == b"no-more-sessions@openssh.com":
            conn.noMoreSessions = True
            return True
        if requestType in (b"tcpip-forward", b"cancel-tcpip-forward"):
            from plait.ssh._forwarding import ServerForwarding

            forwarding = conn.serverForwarding
            if forwarding is None:
                forwarding = conn.serverForwarding = ServerForwarding(self, conn)
            return forwarding.requestReceived(requestType, data)
        return False

    def envAllowed(self, name: bytes) -> bool:
        """Whether an ``env`` request for ``name`` is honoured (``LANG``, ``LC_*``)."""
        return _defaultEnvAllowed(name)

    def allowConnect(self, host: str, port: int) -> bool:
        """Whether ``direct-tcpip`` may connect to ``host:port`` (restrictions, permitOpen)."""
        if self.restrictions.noPortForwarding:
            return False
        return _permitted(self.restrictions.permitOpen, host, port)

    def allowListen(self, address: str, port: int) -> bool:
        """Whether ``tcpip-forward`` may listen on ``address:port``: loopback only by default
        (``listenInterfaces``), and a port below 1024 only if ``mayListenPrivileged()``."""
        if self.restrictions.noPortForwarding:
            return False
        if address not in self.listenInterfaces:
            return False
        if 0 < port < 1024 and not self.mayListenPrivileged():
            return False
        return _permitted(self.restrictions.permitListen, address, port, listen=True)

    def mayListenPrivileged(self) -> bool:
        """Whether ``tcpip-forward`` may bind ports below 1024 for this user (no, by default:
        a server running as root must not bind them on a user's behalf)."""
        return False

    def logout(self) -> None:
        """The user's connection ended (the realm's logout may call this)."""

    # -- sessions (called by SSHSession) ---------------------------------------------------

    def getPty(self, session: SSHSession, request: PtyRequest) -> bool:
        """Accept a ``pty-req`` unless the restrictions forbid it."""
        return not self.restrictions.noPty

    def openShell(self, session: SSHSession) -> bool:
        """Run the shell: a ``shellProtocolFactory`` Protocol over the session."""
        if self.restrictions.forcedCommand is not None:
            return self.execCommand(session, self.restrictions.forcedCommand)
        if self.shellProtocolFactory is None:
            return False
        session.runProtocol(self.shellProtocolFactory(self))
        return True

    def execCommand(self, session: SSHSession, command: bytes) -> bool:
        """Run ``command``: an ``execProtocolFactory`` Protocol over the session (the forced
        command instead, if there is one: the client's is then only ``session.command``)."""
        if self.execProtocolFactory is None:
            return False
        forced = self.restrictions.forcedCommand
        session.runProtocol(self.execProtocolFactory(self, command if forced is None else forced))
        return True

    def openSubsystem(self, session: SSHSession, name: bytes) -> bool:
        """Run a subsystem from ``subsystemLookup`` (a forced command wins)."""
        if self.restrictions.forcedCommand is not None:
            return self.execCommand(session, self.restrictions.forcedCommand)
        factory = self.subsystemLookup.get(name)
        if factory is None:
            return False
        session.runProtocol(factory(self))
        return True

    def windowChanged(self, session: SSHSession, change: WindowChange) -> None:
        """The client's terminal was resized (the session has already recorded it)."""

    def signalReceived(self, session: SSHSession, name: str) -> bool:
        """The client sent a signal; in-process sessions ignore it."""
        return False


def _permitted(patterns: tuple[str, ...], host: str, port: int, listen: bool = False) -> bool:
    """``permitopen=``/``permitlisten=`` as sshd reads them (``authorized_keys`` rules: host
    names in any case, ``[v6]:port``, ``*``; a ``permitlisten`` port alone means localhost);
    a rule that does not parse permits nothing."""
    if not patterns:
        return True
    from plait.wire.ssh.keys import AuthorizedKeyOptions, KeyFormatError

    for pattern in patterns:
        rule = (
            AuthorizedKeyOptions(permitListen=(pattern,))
            if listen
            else AuthorizedKeyOptions(permitOpen=(pattern,))
        )
        try:
            if rule.allowsListen(host, port) if listen else rule.allowsOpen(host, port):
                return True
        except KeyFormatError:
            continue
    return False


class SessionTransport(ChannelTransport):
    """The transport of an in-process session Protocol: a channel transport that knows the
    terminal (``term``, ``windowSize`` as (columns, rows), ``modes``) when a PTY was asked
    for, and then translates ``\\n`` to ``\\r\\n`` on output as a tty's ONLCR would.
    ``loseConnection()`` ends the session with exit status 0, ``exit(status)`` with another;
    window changes call the protocol's ``terminalSize(columns, rows)`` if it has one."""

    def __init__(self, channel: SSHSession) -> None:
        super().__init__(channel)
        pty = channel.pty
        self.term: bytes | None = pty.term if pty else None
        self.windowSize: tuple[int, int] | None = (pty.columns, pty.rows) if pty else None
        self.modes = dict(pty.modes) if pty else {}
        self._onlcr = pty is not None and bool(
            self.modes.get(TerminalMode.OPOST, 1) and self.modes.get(TerminalMode.ONLCR, 1)
        )

    def write(self, data: bytes) -> None:
        """Write, with ``\\n`` as ``\\r\\n`` on a PTY (``\\r\\n`` already there is kept)."""
        if self._onlcr and b"\n" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        super().write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Write the concatenation of ``data``."""
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        """End the session: exit status 0, then EOF and CLOSE once the output is sent."""
        self.exit(0)

    def exit(self, status: int) -> None:
        """End the session with exit status ``status``."""
        if self.disconnecting:
            return
        self.disconnecting = True
        channel = self.channel
        assert isinstance(channel, SSHSession)
        channel.sendExit(status)


class SSHSession(SSHChannel):
    """A ``session`` channel on the server: requests go to the avatar.

    Records ``pty`` (the ``PtyRequest``), ``env`` (allowed variables) and the window size;
    ``shell``/``exec``/``subsystem`` start at most one program. ``runProtocol`` runs a
    Protocol over the session; ``UnixConchUser`` attaches a process instead.
    """

    name = b"session"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pty: PtyRequest | None = None
        self.env: dict[bytes, bytes] = {}
        self.started = False
        self.command: bytes | None = None
        self.process: Any = None  # set by process-running avatars
        self._exitSent = False
        # Input that arrived before a program started (a client may pipeline data and EOF
        # with its exec request): held, without granting more window, so at most the
        # initial window, and delivered once the program runs. None once released.
        self._early: list[bytes] | None = []
        self._earlyEOF = False

    def _start(self) -> bool:
        if self.started or self.avatar is None:
            return False
        self.started = True
        return True

    def request_pty_req(self, data: bytes) -> bool:
        """``pty-req``: remember the terminal (refused once a program runs, or if restricted)."""
        request = PtyRequest.fromData(data)
        if self.started or self.avatar is None or not self.avatar.getPty(self, request):
            return False
        self.pty = request
        return True

    def request_x11_req(self, data: bytes) -> bool:
        """``x11-req``: X11 forwarding is not offered."""
        return False

    def request_auth_agent_req_at_openssh_com(self, data: bytes) -> bool:
        """Agent forwarding is not offered."""
        return False

    def request_env(self, data: bytes) -> bool:
        """``env``: kept if the avatar allows the name (``LANG``, ``LC_*`` by default)."""
        request = EnvRequest.fromData(data)
        name, value = request.name, request.value
        if not name or b"=" in name or b"\0" in name or b"\0" in value:
            return False  # no environment could hold it (execve refuses it)
        if self.started or self.avatar is None or not self.avatar.envAllowed(name):
            return False
        if len(self.env) >= 64 or len(request.value) > 4096:
            return False
        self.env[request.name] = request.value
        return True

    def request_shell(self, data: bytes) -> bool:
        """``shell``: the avatar's ``openShell``."""
        return self._start() and self._started(self.avatar.openShell(self))

    def request_exec(self, data: bytes) -> bool:
        """``exec``: the avatar's ``execCommand``."""
        command = ExecRequest.fromData(data).command
        if not self._start():
            return False
        self.command = command
        return self._started(self.avatar.execCommand(self, command))

    def request_subsystem(self, data: bytes) -> bool:
        """``subsystem``: the avatar's ``openSubsystem``."""
        name = SubsystemRequest.fromData(data).name
        return self._start() and self._started(self.avatar.openSubsystem(self, name))

    def _started(self, ok: object) -> bool:
        # The held input goes to the program once the request has been answered (as sshd:
        # the reply first, then the program reads what was sent before it).
        self.afterRequest(self._releaseInput)
        return bool(ok)

    def _releaseInput(self) -> None:
        early, self._early = self._early, None
        if early is None:
            return
        if self.protocol is not None or self.process is not None:
            for data in early:
                self.dataReceived(data)
            if self._earlyEOF:
                self.eofReceived()
        if not self.paused:
            self._grantWindow()

    def _grantWindow(self) -> None:
        if self._early is None:  # no window is granted back while input is held
            super()._grantWindow()

    def request_window_change(self, data: bytes) -> bool:
        """``window-change``: record the size and tell the program."""
        change = WindowChange.fromData(data)
        if self.pty is not None:
            pty = self.pty
            self.pty = PtyRequest(
                pty.term, change.columns, change.rows, change.width, change.height, pty.modes
            )
        transport = getattr(self.protocol, "transport", None)
        if isinstance(transport, SessionTransport):
            transport.windowSize = (change.columns, change.rows)
        terminalSize = getattr(self.protocol, "terminalSize", None)
        if terminalSize is not None:
            terminalSize(change.columns, change.rows)
        if self.avatar is not None:
            self.avatar.windowChanged(self, change)
        return True

    def request_signal(self, data: bytes) -> bool:
        """``signal``: passed to the program if it is one the RFC lists."""
        name = SignalRequest.fromData(data).name
        if name not in SIGNALS or self.avatar is None:
            return False
        return bool(self.avatar.signalReceived(self, name))

    def request_xon_xoff(self, data: bytes) -> bool:
        """``xon-xoff`` is sent by servers, not to them."""
        return False

    def runProtocol(self, protocol: Any) -> None:
        """Run ``protocol`` over this session (a ``SessionTransport``); when it loses the
        connection the session sends ``exit-status`` 0, EOF and CLOSE."""
        self.protocol = protocol
        protocol.makeConnection(SessionTransport(self))

    def dataReceived(self, data: bytes) -> None:
        """Input for the program (held until one runs; dropped if none could be started)."""
        if self._early is not None:
            self._early.append(data)
        elif self.protocol is not None:
            self.protocol.dataReceived(data)
        elif self.process is not None:
            self.process.write(data)

    def eofReceived(self) -> None:
        """The client's input ended: close the program's stdin (or tell the protocol)."""
        if self._early is not None:
            self._earlyEOF = True
        elif self.process is not None:
            if self.pty is None:
                # A write pipe closes only once its producer (this session) is detached.
                self.process.unregisterProducer()
            self.process.closeStdin()
        elif self.protocol is not None:
            readLost = getattr(self.protocol, "readConnectionLost", None)
            if readLost is not None:
                readLost()

    def closed(self) -> None:
        """The channel is gone: end the program."""
        self._early = None
        if self.protocol is not None:
            self.protocol.connectionLost(Failure(ConnectionDone("session closed")))
        process, self.process = self.process, None
        if process is not None:
            try:
                if self.pty is not None:
                    process.signalProcess("HUP")
            except Exception:  # already exited
                pass
            process.loseConnection()

    def sendExit(self, status: int | None = None, signal: ExitSignal | None = None) -> None:
        """Once what is queued has been sent: ``exit-status`` or ``exit-signal``, EOF, CLOSE."""
        if self._exitSent:
            return
        self._exitSent = True

        def finish() -> None:
            conn = self.conn
            if conn is None or self.localClosed:
                self.sendEOF()
                self.loseConnection()
                return
            with conn.batched():  # the three small messages in one TCP write
                if signal is not None:
                    conn.sendRequest(self, b"exit-signal", signal.toData())
                elif status is not None:
                    conn.sendRequest(self, b"exit-status", ExitStatus(status & 0xFFFFFFFF).toData())
                self.sendEOF()
                self.loseConnection()

        self.afterRequest(lambda: self.whenFlushed(finish))

    def writeStderr(self, data: bytes) -> None:
        """Write to the client's stderr (extended data 1)."""
        self.writeExtended(EXTENDED_DATA_STDERR, data)
