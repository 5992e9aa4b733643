"""A high-level SSH client: connect, check the host key, log in, then run commands, shells,
SFTP and port forwards over one connection.

``connect(reactor, host, port, username, keys=..., password=..., knownHosts=...)`` fires with
an ``SSHClientConnection`` once logged in. Host keys are checked against a ``known_hosts``
file with OpenSSH's ``StrictHostKeyChecking`` policies (``KnownHostsVerifier``).
``SSHCommandClientEndpoint`` (Twisted's shape) runs one command per ``connect`` and connects
any ``Protocol`` to its stdin/stdout.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from plait.defer import Deferred, Failure, fail, succeed
from plait.log import Logger
from plait.protocol import connectionDone
from plait.ssh._connection import SSHConnection
from plait.ssh._forwarding import forwardLocal, forwardRemote
from plait.ssh._session_client import SSHClientSession, openSession
from plait.ssh._transport import SSHClientFactory, SSHClientTransport
from plait.ssh._userauth import SSHUserAuthClient
from plait.wire.ssh.connection import ExitSignal
from plait.wire.ssh.keys import KnownHosts, PublicKey
from plait.wire.ssh.types import DisconnectReason

__all__ = [
    "CommandResult",
    "ConnectionClosedError",
    "HostKeyError",
    "KnownHostsVerifier",
    "SSHClientConnection",
    "SSHCommandClientEndpoint",
    "connect",
]

_log = Logger(namespace="plait.ssh.client")

POLICIES = ("yes", "accept-new", "no")


class HostKeyError(Exception):
    """The server's host key was refused: unknown (under a strict policy), changed, or revoked.

    ``verdict`` is ``"unknown"``, ``"mismatch"`` or ``"revoked"``; ``key`` the offered key.
    """

    def __init__(self, host: str, port: int, key: PublicKey, verdict: str) -> None:
        self.host, self.port, self.key, self.verdict = host, port, key, verdict
        where = host if port == 22 else f"[{host}]:{port}"
        what = {
            "unknown": "is not in known_hosts",
            "mismatch": "HAS CHANGED (possible man-in-the-middle attack)",
            "revoked": "is revoked",
        }.get(verdict, verdict)
        super().__init__(f"host key for {where} ({key.keyType} {key.fingerprint()}) {what}")


class KnownHostsVerifier:
    """Checks host keys against a ``known_hosts`` file, as OpenSSH's ``StrictHostKeyChecking``.

    ``policy``: ``"yes"`` refuses unknown keys, ``"accept-new"`` adds unknown keys to the file
    and accepts them, ``"no"`` adds and accepts unknown keys too; every policy refuses a key
    that differs from a known one or is revoked. ``path`` None (``/dev/null``-like) knows no
    keys and writes nothing. The refusal is kept in ``error`` (a ``HostKeyError``).
    """

    def __init__(
        self, path: str | None, host: str, port: int = 22, policy: str = "yes", hashed: bool = False
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"StrictHostKeyChecking must be one of {', '.join(POLICIES)}")
        self.path, self.host, self.port, self.policy = path, host, port, policy
        self.hashed = hashed
        self.error: HostKeyError | None = None
        self.added = False

    def _known(self) -> KnownHosts:
        if self.path is None:
            return KnownHosts.parse(b"")
        try:
            with open(self.path, "rb") as f:
                return KnownHosts.parse(f.read())
        except FileNotFoundError:
            return KnownHosts.parse(b"")

    def __call__(self, key: PublicKey) -> bool:
        """Whether to trust ``key`` (recording an unknown one when the policy says so)."""
        verdict = self._known().verify(self.host, self.port, key)
        if verdict == "match":
            return True
        if verdict == "unknown" and self.policy != "yes":
            self._add(key)
            return True
        self.error = HostKeyError(self.host, self.port, key, verdict)
        return False

    def _add(self, key: PublicKey) -> None:
        if self.path is None or self.path == os.devnull:
            return
        line = KnownHosts.line(self.host, self.port, key, hashed=self.hashed)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
            with open(self.path, "ab") as f:
                f.write(line if line.endswith(b"\n") else line + b"\n")
            self.added = True
        except OSError as e:
            _log.warn("cannot add the host key to {path}: {error}", path=self.path, error=e)


@dataclass(frozen=True)
class CommandResult:
    """How a remote command went: its output, and its exit status or the signal that ended it."""

    stdout: bytes
    stderr: bytes
    exitStatus: int | None
    exitSignal: ExitSignal | None = None


class _CollectingSession(SSHClientSession):
    """A session that keeps stdout and stderr."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stderr: list[bytes] = []
        self.stderrReceived = self.stderr.append


class SSHClientConnection:
    """A logged-in SSH connection: sessions, commands, SFTP and port forwards.

    ``transport`` is the ``SSHClientTransport``, ``connection`` the ``SSHConnection`` service,
    ``hostKey`` the server's key. ``whenClosed()`` fires when the TCP connection has ended.
    """

    def __init__(self, transport: SSHClientTransport, connection: SSHConnection) -> None:
        self.transport = transport
        self.connection = connection
        self.hostKey: PublicKey | None = transport.hostKey
        self._closedWaiters: list[Deferred[None]] = []
        self.closedReason: Failure | None = None

    # -- sessions ---------------------------------------------------------------------------

    def openSession(self, session: SSHClientSession | None = None) -> Deferred[SSHClientSession]:
        """Open a session channel (``session`` or a new ``SSHClientSession``)."""
        return openSession(self.connection, session)

    def runCommand(self, command: bytes | str, stdin: bytes = b"") -> Deferred[CommandResult]:
        """Run ``command``, send ``stdin`` then EOF; fires with its ``CommandResult``."""
        if isinstance(command, str):
            command = command.encode("utf-8")
        session = _CollectingSession()

        def opened(s: SSHClientSession) -> Deferred[bytes]:
            return s.execCommand(command).addErrback(refused)

        def refused(failure: Failure) -> Failure:
            session.loseConnection()  # the server said no: do not leave the channel open
            return failure

        def started(_: object) -> None:
            if stdin:
                session.write(stdin)
            session.sendEOF()

        def ended(_: object) -> CommandResult:
            return CommandResult(
                b"".join(session.received),
                b"".join(session.stderr),
                session.exitStatus,
                session.exitSignal,
            )

        d: Deferred[Any] = self.openSession(session)
        d.addCallback(opened)
        d.addCallback(started)
        d.addCallback(lambda _: session.finished)
        d.addCallback(ended)
        return d

    def openSFTP(self) -> Deferred[Any]:
        """Start the ``sftp`` subsystem; fires with a ready ``FileTransferClient``."""
        from plait.ssh._channel import connectProtocolToChannel
        from plait.ssh._sftp_client import FileTransferClient

        client = FileTransferClient()
        session = SSHClientSession()

        def opened(s: SSHClientSession) -> Deferred[Any]:
            requested = s.subsystem(b"sftp")
            # INIT follows the request at once, without waiting for its reply (one round trip
            # less): servers (sshd, plait) hold channel data until the subsystem runs.
            connectProtocolToChannel(client, session)
            ready = client.whenReady()

            def started(_: object) -> Deferred[Any]:
                return ready

            def refused(failure: Failure) -> Failure:
                ready.addErrback(lambda _: None)  # fails too as the channel closes
                session.loseConnection()
                return failure

            return requested.addCallbacks(started, refused)

        d: Deferred[Any] = self.openSession(session)
        d.addCallback(opened)
        d.addCallback(lambda _: client)
        return d

    # -- forwarding -------------------------------------------------------------------------

    def forwardLocal(
        self, port: int, remoteHost: str, remotePort: int, interface: str = "127.0.0.1"
    ) -> Any:
        """``-L``: listen here on ``interface:port``; returns the listening port."""
        return forwardLocal(self.connection, port, remoteHost, remotePort, interface)

    def forwardRemote(
        self, address: str, port: int, localHost: str, localPort: int
    ) -> Deferred[int]:
        """``-R``: the server listens on ``address:port``; fires with the port it bound."""
        return forwardRemote(self.connection, address, port, localHost, localPort)

    # -- life -------------------------------------------------------------------------------

    def whenClosed(self) -> Deferred[None]:
        """Fires (with None) once the connection has ended."""
        if self.closedReason is not None:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._closedWaiters.append(d)
        return d

    def close(self) -> Deferred[None]:
        """Disconnect (BY_APPLICATION); fires once the connection has ended."""
        d = self.whenClosed()
        if self.closedReason is None:
            self.transport.sendDisconnect(DisconnectReason.BY_APPLICATION, "disconnected by user")
        return d

    def _lost(self, reason: Failure) -> None:
        self.closedReason = reason
        waiters, self._closedWaiters = self._closedWaiters, []
        for d in waiters:
            d.callback(None)


class _ClientTransport(SSHClientTransport):
    """Tells the connecting side when the connection ends, whatever state it was in."""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        onLost = getattr(self.factory, "onLost", None)
        if onLost is not None:
            onLost(self, reason, self._lostReason)


class _ClientFactory(SSHClientFactory):
    protocol = _ClientTransport
    onLost: Callable[[SSHClientTransport, Failure, str | None], None] | None = None


class ConnectionClosedError(Exception):
    """The connection ended before the login finished (the message says why)."""


def connect(
    reactor: Any,
    host: str,
    port: int = 22,
    username: str | None = None,
    *,
    keys: Sequence[Any] = (),
    password: bytes | str | Callable[[str], Any] | None = None,
    knownHosts: str | None = None,
    hostKeyPolicy: str = "yes",
    verifyHostKey: Callable[[PublicKey], bool | Deferred[bool]] | None = None,
    timeout: float = 30.0,
    keepaliveInterval: float | None = None,
    **algorithmOptions: Any,
) -> Deferred[SSHClientConnection]:
    """Connect to ``host:port``, check its key and log in as ``username`` (default: ours).

    ``keys``: ``PrivateKey``s to try; ``password``: the password, or a callable
    ``(prompt) -> password | Deferred`` (also used for keyboard-interactive). The host key is
    checked with ``verifyHostKey(key)`` if given (its ``error`` attribute, if a
    ``HostKeyError``, is what a refusal fails with), else against the ``knownHosts`` file
    (default ``~/.ssh/known_hosts``) under ``hostKeyPolicy`` (see ``KnownHostsVerifier``).
    ``algorithmOptions`` (``ciphers``, ``kexAlgorithms``, ``macs``...) go to the transport.

    Fails with ``HostKeyError``, ``AuthenticationFailed`` (``plait.ssh.userauth``),
    ``ConnectError`` and its kin, or ``ConnectionClosedError``.
    """
    from plait.endpoints import HostnameEndpoint

    if username is None:
        import getpass

        username = getpass.getuser()
    if verifyHostKey is None:
        path = knownHosts or os.path.join(os.path.expanduser("~"), ".ssh", "known_hosts")
        verifyHostKey = KnownHostsVerifier(
            None if path == os.devnull else path, host, port, hostKeyPolicy
        )
    getPassword: Callable[[str], Any] | None
    if password is None or callable(password):
        getPassword = password
    else:
        secret = password

        def getPassword(prompt: str) -> Any:
            return secret

    connection = SSHConnection(keepaliveInterval=keepaliveInterval)
    userauth = SSHUserAuthClient(username, connection, keys=keys, getPassword=getPassword)
    result: Deferred[SSHClientConnection] = Deferred()
    state: dict[str, Any] = {}

    def onLost(transport: SSHClientTransport, reason: Failure, why: str | None) -> None:
        client = state.get("client")
        if client is not None:
            client._lost(reason)
        if result.called:
            return
        refusal = getattr(verifyHostKey, "error", None)
        if isinstance(refusal, HostKeyError):
            result.errback(Failure(refusal))
        elif why:
            result.errback(Failure(ConnectionClosedError(why)))
        else:
            result.errback(reason)

    def authenticated(_: object) -> None:
        transport = state["transport"]
        client = SSHClientConnection(transport, connection)
        state["client"] = client
        if not result.called:
            result.callback(client)

    def authFailed(failure: Failure) -> None:
        if not result.called:
            result.errback(failure)

    userauth.authenticated.addCallbacks(authenticated, authFailed)
    factory = _ClientFactory(verifyHostKey, lambda: userauth, reactor=reactor, **algorithmOptions)
    factory.onLost = onLost
    endpoint = HostnameEndpoint(reactor, host, port, timeout=timeout)
    d = endpoint.connect(factory)

    def connected(transport: SSHClientTransport) -> None:
        state["transport"] = transport

    def connectFailed(failure: Failure) -> None:
        if not result.called:
            result.errback(failure)

    d.addCallbacks(connected, connectFailed)
    return result


class SSHCommandClientEndpoint:
    """A client endpoint: each ``connect(factory)`` runs ``command`` over SSH and connects the
    factory's protocol to it (stdin = what it writes, stdout = its ``dataReceived``).

    ``newConnection(reactor, command, username, host, port, **connectOptions)`` makes a new SSH
    connection per ``connect`` (closed when the command ends); ``existingConnection(client,
    command)`` opens a session on an ``SSHClientConnection`` you keep.
    """

    def __init__(
        self,
        command: bytes | str,
        client: SSHClientConnection | None = None,
        connectArgs: tuple[Any, ...] = (),
        connectOptions: dict[str, Any] | None = None,
    ) -> None:
        self.command = command.encode("utf-8") if isinstance(command, str) else command
        self.client = client
        self.connectArgs = connectArgs
        self.connectOptions = dict(connectOptions or {})

    @classmethod
    def newConnection(
        cls,
        reactor: Any,
        command: bytes | str,
        username: str | None,
        host: str,
        port: int = 22,
        **connectOptions: Any,
    ) -> SSHCommandClientEndpoint:
        """An endpoint that connects anew for each command (see ``connect``'s options)."""
        return cls(command, None, (reactor, host, port, username), connectOptions)

    @classmethod
    def existingConnection(
        cls, client: SSHClientConnection, command: bytes | str
    ) -> SSHCommandClientEndpoint:
        """An endpoint that runs its command on an existing connection."""
        return cls(command, client)

    def connect(self, protocolFactory: Any) -> Deferred[Any]:
        """Run the command; fires with the protocol once the command has started."""
        if self.client is not None:
            return self._run(self.client, protocolFactory, owned=False)
        d: Deferred[Any] = connect(*self.connectArgs, **self.connectOptions)
        d.addCallback(self._run, protocolFactory, True)
        return d

    def _run(self, client: SSHClientConnection, protocolFactory: Any, owned: bool) -> Deferred[Any]:
        from plait.ssh._channel import connectProtocolToChannel

        protocol = protocolFactory.buildProtocol(client.transport.getPeer())
        if protocol is None:
            if owned:
                client.close()
            return fail(ConnectionClosedError("the factory built no protocol"))
        session = SSHClientSession()
        connectProtocolToChannel(protocol, session)

        def finished(status: object) -> None:
            _log.debug("{command!r} ended: {status}", command=self.command, status=status)
            if owned:
                client.close()

        session.finished.addCallback(finished)
        d: Deferred[Any] = client.openSession(session)
        d.addCallback(lambda s: s.execCommand(self.command))
        d.addCallback(lambda _: protocol)

        def failed(failure: Failure) -> Failure:
            if owned:
                client.close()
            return failure

        d.addErrback(failed)
        return d
