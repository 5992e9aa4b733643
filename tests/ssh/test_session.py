"""Session channels with in-process programs: requests, PTY emulation, restrictions."""

from __future__ import annotations

from typing import Any

from plait.protocol import Protocol
from plait.ssh.connection import ChannelOpenError, RequestFailedError, SSHConnection
from plait.ssh.session import (
    ConchUser,
    SessionRestrictions,
    SessionTransport,
    SSHClientSession,
    openSession,
)
from plait.testing import failureResultOf, successResultOf
from plait.wire.ssh.connection import OpenFailureReason, TerminalMode
from plait.wire.ssh.keys import parseAuthorizedKeys

from .connfakes import ServicePair


class Shell(Protocol):
    """Echoes lines back; 'quit' ends the session; records terminal sizes."""

    def __init__(self, avatar: Any) -> None:
        self.avatar = avatar
        self.sizes: list[tuple[int, int]] = []
        self.received = b""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"hello " + self.avatar.username.encode() + b"\n")

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.received += data
        if b"quit" in data:
            self.transport.loseConnection()
        else:
            self.transport.write(b"got " + data + b"\n")

    def terminalSize(self, columns: int, rows: int) -> None:
        self.sizes.append((columns, rows))


def makePair(avatar: ConchUser) -> tuple[ServicePair, SSHConnection]:
    client = SSHConnection()
    pair = ServicePair(client, SSHConnection(avatar))
    return pair, client


def openedSession(pair: ServicePair, client: SSHConnection) -> SSHClientSession:
    d = openSession(client)
    pair.pump()
    return successResultOf(d)


def test_shell_protocol_with_pty() -> None:
    """An in-process shell gets a SessionTransport with the terminal, \\n becomes \\r\\n,
    window changes reach terminalSize, and ending it sends exit-status 0."""
    shells: list[Shell] = []

    def makeShell(avatar: Any) -> Shell:
        shells.append(Shell(avatar))
        return shells[-1]

    avatar = ConchUser("alice", shellProtocolFactory=makeShell)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    pty = session.requestPty(b"vt100", 100, 30)
    shell = session.shell()
    pair.pump()
    successResultOf(pty)
    successResultOf(shell)
    (proto,) = shells
    transport = proto.transport
    assert isinstance(transport, SessionTransport)
    assert transport.term == b"vt100" and transport.windowSize == (100, 30)
    assert b"".join(session.received) == b"hello alice\r\n"
    session.write(b"x")
    session.windowChange(120, 40)
    pair.pump()
    assert proto.received == b"x"
    assert proto.sizes == [(120, 40)]
    assert transport.windowSize == (120, 40)
    assert b"".join(session.received).endswith(b"got x\r\n")
    session.write(b"quit")
    pair.pump()
    assert successResultOf(session.finished) == 0
    assert session.exitStatus == 0


def test_shell_without_pty_keeps_newlines() -> None:
    """Without a PTY the output is passed as written."""
    avatar = ConchUser("bob", shellProtocolFactory=Shell)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    session.shell()
    pair.pump()
    assert b"".join(session.received) == b"hello bob\n"


def test_pty_modes_without_onlcr() -> None:
    """A PTY whose modes turn ONLCR off gets bare newlines."""
    avatar = ConchUser("carol", shellProtocolFactory=Shell)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    session.requestPty(modes=((TerminalMode.ONLCR, 0),))
    session.shell()
    pair.pump()
    assert b"".join(session.received) == b"hello carol\n"


def test_requests_refused() -> None:
    """exec without a factory, x11, disallowed env, a second shell: all refused."""
    avatar = ConchUser("dave", shellProtocolFactory=Shell)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    lang = session.setEnv(b"LANG", b"C.UTF-8")
    lcAll = session.setEnv(b"LC_ALL", b"C")
    other = session.setEnv(b"LD_PRELOAD", b"/evil.so")
    x11 = client.sendRequest(session, b"x11-req", b"\x00" + b"\x00" * 12, wantReply=True)
    pair.pump()
    successResultOf(lang)
    successResultOf(lcAll)
    failureResultOf(other, RequestFailedError)
    assert x11 is not None
    failureResultOf(x11, RequestFailedError)
    server = next(iter(pair.server.channels.values()))  # type: ignore[attr-defined]
    assert server.env == {b"LANG": b"C.UTF-8", b"LC_ALL": b"C"}
    exe = session.execCommand(b"ls")
    pair.pump()
    failureResultOf(exe, RequestFailedError)
    second = openedSession(pair, client)
    first = second.shell()
    again = second.shell()
    late = second.requestPty()
    pair.pump()
    successResultOf(first)
    failureResultOf(again, RequestFailedError)
    failureResultOf(late, RequestFailedError)


def test_subsystem_lookup() -> None:
    """A subsystem from subsystemLookup runs as a Protocol; unknown ones fail."""
    avatar = ConchUser("erin")
    avatar.subsystemLookup[b"echo"] = Shell
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    ok = session.subsystem(b"echo")
    pair.pump()
    successResultOf(ok)
    assert b"".join(session.received) == b"hello erin\n"
    other = openedSession(pair, client)
    bad = other.subsystem(b"sftp")
    pair.pump()
    failureResultOf(bad, RequestFailedError)


def test_forced_command_and_restrictions_from_options() -> None:
    """command=, no-pty and restrict from authorized_keys options apply."""
    line = (
        b'restrict,command="echo forced" ssh-ed25519 '
        b"AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\n"
    )
    (entry,) = parseAuthorizedKeys(line)
    restrictions = SessionRestrictions.fromOptions(entry.options)
    assert restrictions.forcedCommand == b"echo forced"
    assert restrictions.noPty and restrictions.noPortForwarding
    commands: list[bytes] = []

    def execFactory(avatar: Any, command: bytes) -> Shell:
        commands.append(command)
        return Shell(avatar)

    avatar = ConchUser(
        "frank",
        shellProtocolFactory=Shell,
        execProtocolFactory=execFactory,
        restrictions=restrictions,
    )
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    pty = session.requestPty()
    shell = session.shell()
    pair.pump()
    failureResultOf(pty, RequestFailedError)
    successResultOf(shell)
    assert commands == [b"echo forced"]
    direct = SSHClientSession()
    direct.name = b"direct-tcpip"
    client.openChannel(
        direct, b"\x00\x00\x00\x09localhost\x00\x00\x00\x16\x00\x00\x00\x01a\x00\x00\x00\x01"
    )
    pair.pump()
    failure = failureResultOf(direct.opened, ChannelOpenError)
    assert failure.value.reasonCode == OpenFailureReason.ADMINISTRATIVELY_PROHIBITED


def test_unknown_channel_type_and_global_request() -> None:
    """The avatar refuses unknown channel types and global requests."""
    avatar = ConchUser("gina")
    pair, client = makePair(avatar)
    channel = SSHClientSession()
    channel.name = b"x11"
    client.openChannel(channel)
    d = client.sendGlobalRequest(b"no-such@example.com", wantReply=True)
    pair.pump()
    failure = failureResultOf(channel.opened, ChannelOpenError)
    assert failure.value.reasonCode == OpenFailureReason.UNKNOWN_CHANNEL_TYPE
    assert d is not None
    failureResultOf(d, RequestFailedError)


def test_client_session_records_exit_signal() -> None:
    """exit-signal from the server is the session's finished result."""
    avatar = ConchUser("hal", shellProtocolFactory=Shell)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    server = next(iter(pair.server.channels.values()))  # type: ignore[attr-defined]
    from plait.wire.ssh.connection import ExitSignal

    server.sendExit(signal=ExitSignal("TERM", False, "bye", b""))
    pair.pump()
    result = successResultOf(session.finished)
    assert isinstance(result, ExitSignal) and result.signalName == "TERM"


def test_exec_protocol_exit_status_and_stderr() -> None:
    """An in-process exec Protocol can end with a status; stderr is kept apart."""

    class Command(Protocol):
        def __init__(self, avatar: Any, command: bytes) -> None:
            self.command = command

        def connectionMade(self) -> None:
            transport: Any = self.transport
            transport.channel.writeStderr(b"warning\n")
            transport.write(self.command[::-1])
            transport.exit(9)

    avatar = ConchUser("ivy", execProtocolFactory=Command)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    session.execCommand(b"abc")
    pair.pump()
    assert successResultOf(session.finished) == 9
    assert b"".join(session.received) == b"cba"
    assert session.receivedStderr == [b"warning\n"]


def test_no_more_sessions() -> None:
    """After no-more-sessions@openssh.com, session opens are refused."""
    avatar = ConchUser("jay", shellProtocolFactory=Shell)
    pair, client = makePair(avatar)
    openedSession(pair, client)
    client.sendGlobalRequest(b"no-more-sessions@openssh.com")
    later = openSession(client)
    pair.pump()
    failure = failureResultOf(later, ChannelOpenError)
    assert failure.value.reasonCode == OpenFailureReason.ADMINISTRATIVELY_PROHIBITED


def test_env_names_and_values_execve_cannot_hold_are_refused() -> None:
    """env with '=' or NUL in the name, or NUL in the value, is refused even if allowed."""
    avatar = ConchUser("erin", shellProtocolFactory=Shell)
    avatar.envAllowed = lambda name: True  # type: ignore[method-assign]
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    bad = [
        session.setEnv(b"LC_X=LD_PRELOAD", b"/evil.so"),
        session.setEnv(b"LANG\x00", b"C"),
        session.setEnv(b"LANG", b"C\x00/evil"),
        session.setEnv(b"", b"C"),
    ]
    good = session.setEnv(b"LC_ALL", b"C")
    pair.pump()
    for d in bad:
        failureResultOf(d, RequestFailedError)
    successResultOf(good)
    server = next(iter(pair.server.channels.values()))  # type: ignore[attr-defined]
    assert server.env == {b"LC_ALL": b"C"}


def test_forced_command_wins_over_exec_and_subsystem() -> None:
    """With command= (a key's forced command), an exec request runs the forced command, not
    the client's (which stays visible as session.command), and so does a subsystem."""
    commands: list[bytes] = []

    def execFactory(avatar: Any, command: bytes) -> Shell:
        commands.append(command)
        return Shell(avatar)

    avatar = ConchUser(
        "grace",
        execProtocolFactory=execFactory,
        restrictions=SessionRestrictions(forcedCommand=b"status"),
    )
    avatar.subsystemLookup[b"sftp"] = Shell
    pair, client = makePair(avatar)
    first = openedSession(pair, client)
    exe = first.execCommand(b"import os; os.system('sh')")
    second = openedSession(pair, client)
    sub = second.subsystem(b"sftp")
    pair.pump()
    successResultOf(exe)
    successResultOf(sub)
    assert commands == [b"status", b"status"]
    sessions = list(pair.server.channels.values())  # type: ignore[attr-defined]
    assert sessions[0].command == b"import os; os.system('sh')"


def test_sessions_per_connection_are_bounded() -> None:
    """At most maxSessions (default 10, as OpenSSH) session channels are open at once; a
    closed one makes room again."""
    avatar = ConchUser("heidi", shellProtocolFactory=Shell)
    assert avatar.maxSessions == 10
    avatar.maxSessions = 3
    pair, client = makePair(avatar)
    sessions = [openedSession(pair, client) for _ in range(3)]
    extra = SSHClientSession()
    openSession(client, extra)
    pair.pump()
    failure = failureResultOf(extra.opened, ChannelOpenError)
    assert failure.value.reasonCode == OpenFailureReason.RESOURCE_SHORTAGE
    sessions[0].loseConnection()
    pair.pump()
    openedSession(pair, client)


class Upper(Protocol):
    """Collects its input; on EOF writes it upper-cased and exits 0."""

    def __init__(self, avatar: Any, command: bytes = b"") -> None:
        self.received = b""

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def readConnectionLost(self) -> None:
        assert self.transport is not None
        self.transport.write(self.received.upper())
        self.transport.loseConnection()


def test_data_and_eof_before_exec_are_held_for_the_program() -> None:
    """Data and EOF that arrive before exec (one delivery, pipelined) reach the program, in
    order, once it starts; the reply to exec is sent before the program reads them."""
    avatar = ConchUser("kim", execProtocolFactory=Upper)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    session.write(b"early ")
    session.write(b"input")
    session.sendEOF()
    started = session.execCommand(b"upper")
    assert session.bufferSize == 0
    pair.pump()
    successResultOf(started)
    assert b"".join(session.received) == b"EARLY INPUT"
    assert successResultOf(session.finished) == 0


def test_held_input_grants_no_window_until_the_program_starts() -> None:
    """Held input is bounded by the window: none is granted back while the program has not
    started, and the window is granted again once it has taken the input."""
    avatar = ConchUser("lee", execProtocolFactory=Upper)
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    window = session.remoteWindowLeft
    chunk = b"x" * session.remoteMaxPacket
    count = window // len(chunk)
    for _ in range(count):
        session.write(chunk)
    pair.pump()
    assert session.remoteWindowLeft == window - count * len(chunk)
    server: Any = pair.server
    (held,) = server.channels.values()
    assert held.localWindowLeft == session.remoteWindowLeft
    session.execCommand(b"upper")
    pair.pump()
    assert session.remoteWindowLeft == window
    program: Any = held.protocol
    assert program.received == chunk * count


def test_held_input_is_dropped_when_no_program_starts() -> None:
    """If exec is refused, what was held is dropped and the window granted back."""
    avatar = ConchUser("max")  # no exec factory: exec is refused
    pair, client = makePair(avatar)
    session = openedSession(pair, client)
    window = session.remoteWindowLeft
    session.write(b"y" * (window // 2 + 1))
    pair.pump()
    refused = session.execCommand(b"nothing")
    pair.pump()
    failureResultOf(refused, RequestFailedError)
    assert session.remoteWindowLeft == window
    server: Any = pair.server
    (held,) = server.channels.values()
    assert held._early is None
