"""Username/password checkers: an in-memory table and a ``user:hash`` password file."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from plait.defer import Deferred, maybeDeferred
from plait.log import Logger
from plait.reactor import deferToThread

from ._credentials import IUsernamePassword
from ._errors import UnauthorizedLogin
from ._hashes import hashPassword, verifyPassword

__all__ = ["FilePasswordDB", "InMemoryUsernamePasswordDatabase", "runBlocking"]

_T = TypeVar("_T")
_log = Logger("plait.auth")

# Checked when the user is unknown, so that "no such user" takes as long as "wrong password"
# and the timing does not tell which usernames exist. Computed on first use.
_dummyHash: str | None = None


def _dummy() -> str:
    global _dummyHash
    if _dummyHash is None:
        _dummyHash = hashPassword(b"plait-no-such-user")
    return _dummyHash


def runBlocking(reactor: Any, f: Callable[..., _T], *args: Any) -> Deferred[_T]:
    """Run ``f(*args)`` in ``reactor``'s thread pool, or right here when ``reactor`` is None."""
    if reactor is None:
        return maybeDeferred(f, *args)
    return deferToThread(reactor, f, *args)


def _asBytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _checkHashed(password: bytes, hashed: str | None) -> bool:
    """Verify, spending the same time when the user is unknown (``hashed`` None)."""
    if hashed is None:
        verifyPassword(password, _dummy())
        return False
    try:
        return verifyPassword(password, hashed)
    except ValueError as e:
        _log.warn("cannot check password hash: {error}", error=str(e))
        return False


class InMemoryUsernamePasswordDatabase:
    """Users and passwords in a dict: plain passwords, or hashes when ``hashed=True``.

    ``InMemoryUsernamePasswordDatabase({b"alice": b"secret"})`` or, with hashes from
    :func:`hashPassword`, ``InMemoryUsernamePasswordDatabase({"alice": "$scrypt$..."},
    hashed=True, reactor=reactor)`` (the reactor's thread pool then runs the hashing). The
    avatar id is the username as bytes.
    """

    credentialInterfaces: Sequence[type] = (IUsernamePassword,)

    def __init__(
        self,
        users: Mapping[bytes | str, bytes | str] | None = None,
        *,
        hashed: bool = False,
        reactor: Any = None,
    ) -> None:
        self.hashed = hashed
        self.reactor = reactor
        self.users: dict[bytes, bytes] = {}
        for name, secret in (users or {}).items():
            self.addUser(name, secret)

    def addUser(self, username: bytes | str, password: bytes | str) -> None:
        """Add or replace a user (``password`` is a hash when the database is hashed)."""
        self.users[_asBytes(username)] = _asBytes(password)

    def requestAvatarId(self, credentials: IUsernamePassword) -> Deferred[bytes]:
        """The username when the password matches; else fails with ``UnauthorizedLogin``."""
        username = credentials.username
        stored = self.users.get(username)
        if not self.hashed:
            ok = stored is not None and credentials.checkPassword(stored)
            return maybeDeferred(_verdict, ok, username)
        hashed = None if stored is None else stored.decode("ascii", "replace")
        d = runBlocking(self.reactor, _checkHashed, credentials.password, hashed)
        return d.addCallback(_verdict, username)


def _verdict(ok: bool, username: bytes) -> bytes:
    if not ok:
        raise UnauthorizedLogin(f"bad password for {username!r}")
    return username


class FilePasswordDB:
    """A password file of ``user:hash`` lines, re-read whenever it changes.

    Blank lines and lines starting with ``#`` are skipped; fields after the second are ignored
    (so ``/etc/shadow``-like files work). Hashes are any :func:`verifyPassword` knows:
    ``$scrypt$``, ``$2b$`` (bcrypt), ``$6$``/``$5$`` (SHA-crypt). A user whose hash is not
    one of those (``*``, ``!``...) cannot log in. The file's size, modification time and inode
    are compared on each login; a changed file is parsed again. With ``reactor`` the hashing
    runs in the reactor's thread pool. The avatar id is the username as bytes.
    """

    credentialInterfaces: Sequence[type] = (IUsernamePassword,)

    def __init__(
        self, path: str | os.PathLike[str], *, reactor: Any = None, delimiter: bytes = b":"
    ) -> None:
        self.path = os.fspath(path)
        self.reactor = reactor
        self.delimiter = delimiter
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[bytes, str] = {}

    def _load(self) -> dict[bytes, str]:
        try:
            st = os.stat(self.path)
        except OSError as e:
            _log.error("cannot read password file {path}: {error}", path=self.path, error=str(e))
            self._stamp, self._users = None, {}
            return self._users
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        if stamp != self._stamp:
            users: dict[bytes, str] = {}
            with open(self.path, "rb") as f:
                for raw in f:
                    line = raw.strip()
                    if not line or line.startswith(b"#"):
                        continue
                    fields = line.split(self.delimiter)
                    if len(fields) >= 2:
                        users[fields[0]] = fields[1].decode("ascii", "replace")
            self._stamp, self._users = stamp, users
        return self._users

    def getUser(self, username: bytes) -> tuple[bytes, str]:
        """``(username, hash)`` from the file as it is now; ``KeyError`` if absent."""
        return username, self._load()[username]

    def requestAvatarId(self, credentials: IUsernamePassword) -> Deferred[bytes]:
        """The username when the password matches its hash; else ``UnauthorizedLogin``."""
        username = credentials.username
        try:
            hashed: str | None = self._load()[username]
        except KeyError:
            hashed = None
        d = runBlocking(self.reactor, _checkHashed, credentials.password, hashed)
        return d.addCallback(_verdict, username)
