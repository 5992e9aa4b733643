"""The server behind ``plait sshd``: system accounts as SSH avatars, host key files.

``makePortal(reactor, authorizedKeys=None, passwordAuth=False)`` logs in system users (only
this process's user unless it runs as root) with ``authorized_keys`` keys and, if asked,
passwords (PAM, else ``/etc/shadow``); ``UnixSSHRealm`` makes each a ``UnixConchUser`` (plus
SFTP); ``makeSSHServerFactory`` puts ``ssh-userauth`` and ``ssh-connection`` together;
``loadOrCreateHostKeys`` keeps host keys in a state directory; ``runSSHServer`` does it all.
"""

from __future__ import annotations

import os
import pwd
import shlex
import stat
import sys
from collections.abc import Sequence
from typing import Any

from plait.log import Logger
from plait.ssh.session import ConchUser, SessionRestrictions, UnixConchUser

__all__ = [
    "DEFAULT_LISTEN",
    "HOST_KEY_FILES",
    "SSHDUser",
    "UnixSSHRealm",
    "defaultStateDir",
    "hostKeys",
    "loadHostKeys",
    "loadOrCreateHostKeys",
    "makePortal",
    "makeSSHServerFactory",
    "runSSHServer",
]

_log = Logger(namespace="plait.app.sshd")

DEFAULT_LISTEN = "tcp:2222:interface=127.0.0.1"
# (PrivateKey.generate kind, file name): the host keys made on first start.
HOST_KEY_FILES = (
    ("ed25519", "ssh_host_ed25519_key"),
    ("ecdsa", "ssh_host_ecdsa_key"),
    ("rsa", "ssh_host_rsa_key"),
)


def defaultStateDir() -> str:
    """Where host keys live by default: ``/etc/plait/ssh`` as root, else ``~/.plait/ssh``."""
    if os.geteuid() == 0:
        return "/etc/plait/ssh"
    return os.path.join(os.path.expanduser("~"), ".plait", "ssh")


def loadHostKeys(paths: Sequence[str]) -> list[Any]:
    """Read private host keys (OpenSSH or PEM, unencrypted); ``ValueError`` says which failed."""
    from plait.wire.ssh.keys import KeyFormatError, loadPrivateKey

    keys = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                keys.append(loadPrivateKey(f.read()))
        except OSError as e:
            raise ValueError(f"cannot read host key {path}: {e.strerror or e}") from None
        except KeyFormatError as e:
            raise ValueError(f"host key {path}: {e}") from None
    return keys


def loadOrCreateHostKeys(stateDir: str) -> list[Any]:
    """The state directory's host keys, generating (mode 0600) the ones that are absent."""
    from plait.wire.ssh.keys import PrivateKey

    os.makedirs(stateDir, mode=0o700, exist_ok=True)
    paths = []
    for kind, name in HOST_KEY_FILES:
        path = os.path.join(stateDir, name)
        paths.append(path)
        if os.path.exists(path):
            continue
        key = PrivateKey.generate(kind)
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.toOpenSSH(comment=f"plait sshd {kind} host key"))
        with open(path + ".pub", "wb") as f:
            f.write(key.publicKey().toOpenSSH(comment=f"plait sshd {kind} host key") + b"\n")
        os.replace(path + ".tmp", path)  # a crash never leaves half a key under the real name
    return loadHostKeys(paths)


class _OnlyUsers:
    """A credentials checker that passes only ``usernames`` on to ``checker``."""

    def __init__(self, checker: Any, usernames: frozenset[bytes]) -> None:
        self.checker = checker
        self.usernames = usernames
        self.credentialInterfaces = checker.credentialInterfaces

    def requestAvatarId(self, credentials: Any) -> Any:
        from plait.auth import UnauthorizedLogin
        from plait.defer import fail

        if credentials.username not in self.usernames:
            return fail(UnauthorizedLogin("this server serves only the user running it"))
        return self.checker.requestAvatarId(credentials)


class SSHDUser(UnixConchUser):
    """A system account's avatar: ``UnixConchUser`` plus the ``sftp`` subsystem.

    SFTP for the server's own user is served in process; for another user (a root server) it
    runs ``sftpServer`` (a shell command; default ``python -m plait.ssh.sftp`` with this
    Python) as that user, as OpenSSH runs its sftp-server.
    """

    def __init__(
        self,
        *args: Any,
        serverEnvironment: dict[str, str] | None = None,
        sftpServer: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.serverEnvironment = dict(serverEnvironment or {})
        self.sftpServer = sftpServer
        if self._sameUser() and sftpServer is None:
            home = self.home if os.path.isdir(self.home) else "/"
            self.subsystemLookup[b"sftp"] = lambda avatar: _inProcessSFTP(home)

    def _sameUser(self) -> bool:
        return self.uid is None or self.uid == os.geteuid()

    def environment(self, session: Any, originalCommand: bytes | None) -> dict[str, str]:
        """The session's environment with the server's own settings on top (sshd's SetEnv;
        unlike a key's ``environment=``, not subject to PermitUserEnvironment)."""
        env = super().environment(session, originalCommand)
        env.update(self.serverEnvironment)
        return env

    def openSubsystem(self, session: Any, name: bytes) -> bool:
        """``sftp`` as another user (or with ``sftpServer`` set) runs in a process."""
        forced = self.restrictions.forcedCommand
        if name == b"sftp" and forced is None and b"sftp" not in self.subsystemLookup:
            command = self.sftpServer
            if command is None:
                if not _executableBy(sys.executable, self.uid, self.gid):
                    _log.warn(
                        "sftp for {user}: {python} is not executable by that user "
                        "(give plait sshd --sftp-server COMMAND)",
                        user=self.username,
                        python=sys.executable,
                    )
                    return False
                command = f"exec {shlex.quote(sys.executable)} -m plait.ssh.sftp"
            return self._spawn(session, self._commandArgv(command.encode()), None)
        return super().openSubsystem(session, name)


def _inProcessSFTP(home: str) -> Any:
    # imported on the first sftp session, not on the first login (~65 ms)
    from plait.ssh.sftp import FileTransferServer, UnixSFTPFileSystem

    return FileTransferServer(UnixSFTPFileSystem(home))


def _executableBy(path: str, uid: int | None, gid: int | None) -> bool:
    """Whether ``uid``/``gid`` may run ``path`` (every directory searchable, the file
    executable; by the mode bits, supplementary groups aside)."""
    if uid is None or uid == 0:
        return True
    parts: set[str] = set()
    for start in {os.path.abspath(path), os.path.realpath(path)}:  # the link and its target
        part = start
        while True:
            parts.add(part)
            if part == os.path.dirname(part):
                break
            part = os.path.dirname(part)
    for part in parts:
        try:
            st = os.stat(part)
        except OSError:
            return False
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


class UnixSSHRealm:
    """Turns a logged-in username into an ``SSHDUser`` for that system account.

    ``onlyUid``: serve only the account with this uid (a server not run as root). The avatar
    honours the key's ``authorized_keys`` options. ``environment`` is added to every session's
    environment.
    """

    def __init__(
        self,
        onlyUid: int | None = None,
        environment: dict[str, str] | None = None,
        sftpServer: str | None = None,
    ) -> None:
        self.onlyUid = onlyUid
        self.environment = dict(environment or {})
        self.sftpServer = sftpServer

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """``(interface, SSHDUser, logout)``; ``UnauthorizedLogin`` for an unknown user."""
        from plait.auth import UnauthorizedLogin

        name = bytes(avatarId).decode("utf-8", "replace")
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            raise UnauthorizedLogin(f"no such user {name!r}") from None
        if self.onlyUid is not None and account.pw_uid != self.onlyUid:
            raise UnauthorizedLogin(f"this server serves only uid {self.onlyUid}")
        restrictions = SessionRestrictions.fromOptions(getattr(avatarId, "options", None))
        avatar = SSHDUser(
            account.pw_name,
            account.pw_uid,
            account.pw_gid,
            account.pw_dir,
            account.pw_shell or "/bin/sh",
            restrictions=restrictions,
            serverEnvironment=self.environment,
            sftpServer=self.sftpServer,
        )
        interface = interfaces[0] if interfaces else ConchUser
        return interface, avatar, avatar.logout


def makePortal(
    reactor: Any,
    authorizedKeys: str | None = None,
    passwordAuth: bool = False,
    environment: dict[str, str] | None = None,
    sftpServer: str | None = None,
) -> Any:
    """A portal for system users (only this process's user unless it runs as root)."""
    from plait.auth import AuthorizedKeysChecker, Portal

    root = os.geteuid() == 0
    me = pwd.getpwuid(os.geteuid())
    checkers: list[Any] = [AuthorizedKeysChecker(authorizedKeys)]
    if passwordAuth:
        from plait.auth import PAMChecker, UNIXPasswordChecker, pamAvailable

        checkers.append(PAMChecker(reactor) if pamAvailable() else UNIXPasswordChecker(reactor))
    if not root:
        only = frozenset({me.pw_name.encode()})
        checkers = [_OnlyUsers(c, only) for c in checkers]
    return Portal(UnixSSHRealm(None if root else me.pw_uid, environment, sftpServer), checkers)


def makeSSHServerFactory(reactor: Any, keys: Sequence[Any], portal: Any, **options: Any) -> Any:
    """An ``SSHServerFactory`` whose ``ssh-userauth`` logs in through ``portal`` and then runs
    ``ssh-connection`` with the avatar. ``options`` go to ``SSHServerFactory`` (algorithm
    preferences, ``loginGraceTime``...)."""
    from plait.ssh.connection import SSHConnection
    from plait.ssh.transport import SSHServerFactory
    from plait.ssh.userauth import SSHUserAuthServer

    def userauth() -> Any:
        return SSHUserAuthServer(portal, (ConchUser,), SSHConnection)

    return SSHServerFactory(
        list(keys), {b"ssh-userauth": userauth}, portal, reactor=reactor, **options
    )


def runSSHServer(
    reactor: Any,
    listen: str = DEFAULT_LISTEN,
    hostKeyPaths: Sequence[str] = (),
    authorizedKeys: str | None = None,
    generateHostKeys: bool = True,
    stateDir: str | None = None,
    passwordAuth: bool = False,
    environment: dict[str, str] | None = None,
) -> Any:
    """Start ``plait sshd``'s server on ``reactor`` without the ``plait`` command around it
    (benchmarks, tests); returns the Deferred of the listening port."""
    from plait.endpoints import serverFromString

    keys = hostKeys(hostKeyPaths, generateHostKeys, stateDir)
    portal = makePortal(reactor, authorizedKeys, passwordAuth, environment)
    factory = makeSSHServerFactory(reactor, keys, portal)
    return serverFromString(reactor, listen).listen(factory)


def hostKeys(paths: Sequence[str], generate: bool = True, stateDir: str | None = None) -> list[Any]:
    """The keys in ``paths`` or, with none, the state directory's (made when ``generate``)."""
    if paths:
        return loadHostKeys(paths)
    directory = stateDir or defaultStateDir()
    if not generate:
        return loadHostKeys([os.path.join(directory, name) for _, name in HOST_KEY_FILES])
    return loadOrCreateHostKeys(directory)
