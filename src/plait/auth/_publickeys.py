"""SSH public-key checking against ``authorized_keys`` files, with OpenSSH's rules.

:class:`SSHPublicKeyChecker` takes any key database (:class:`IAuthorizedKeysDB`);
:class:`AuthorizedKeysFiles` reads each user's ``~/.ssh/authorized_keys`` (checking, as
OpenSSH's ``StrictModes`` does, that the file and every directory up to the home directory
are owned by root or the user and not group- or world-writable), or one file for every user.
"""

from __future__ import annotations

import datetime
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from plait.defer import Deferred, fail, succeed
from plait.log import Logger
from plait.wire.ssh.keys import (
    AuthorizedKey,
    AuthorizedKeyOptions,
    Certificate,
    CertificateError,
    KeyFormatError,
    PublicKey,
    parseAuthorizedKeys,
    parsePublicKeyBlob,
)

from ._credentials import ISSHPrivateKey
from ._errors import UnauthorizedLogin, ValidPublicKey

__all__ = [
    "AuthorizedKeysChecker",
    "AuthorizedKeysFiles",
    "IAuthorizedKeysDB",
    "InMemorySSHKeyDB",
    "KeyAvatarId",
    "SSHPublicKeyChecker",
]

_log = Logger("plait.auth")

# authorized_keys files bigger than this are refused rather than read (OpenSSH reads lines
# of up to 16 KiB; a few thousand keys fit easily).
_MAX_FILE = 4 * 1024 * 1024
# parsed authorized_keys files remembered (one a user, each file a few KiB at most in practice)
_MAX_CACHED = 256
# parsed public key blobs remembered (a certificate's CA signature is checked on parsing)
_MAX_CACHED_BLOBS = 64
# a file is remembered once its last change is this old (nanoseconds)
_SETTLED_NS = 2_000_000_000

_RSA_ALGORITHMS = frozenset({"ssh-rsa", "rsa-sha2-256", "rsa-sha2-512"})
# a certificate's publickey algorithm is its signature algorithm's name (for sk- keys without
# "@openssh.com") with this suffix (PROTOCOL.certkeys)
_CERT_SUFFIX = "-cert-v01@openssh.com"


class KeyAvatarId(bytes):
    """The avatar id of a public-key login: the username (a ``bytes``) with the key's options.

    ``options`` is the matching ``authorized_keys`` line's ``AuthorizedKeyOptions``
    (``command``, ``noPty``, ``restrict``, ``permitOpen``, ``environment``...) for the realm
    to honour -- for a certificate, the ``cert-authority`` line's options merged with the
    certificate's (``force-command``, ``permit-*`` extensions); ``key`` is the ``PublicKey``
    that logged in (a ``Certificate`` for a certificate login).
    """

    options: AuthorizedKeyOptions
    key: PublicKey | None

    def __new__(
        cls, username: bytes, options: AuthorizedKeyOptions, key: PublicKey | None = None
    ) -> KeyAvatarId:
        self = super().__new__(cls, username)
        self.options = options
        self.key = key
        return self


class IAuthorizedKeysDB(Protocol):
    """Where a user's authorized keys come from."""

    def getAuthorizedKeys(self, username: bytes) -> Iterable[AuthorizedKey]:
        """The entries that may log in as ``username`` (none for an unknown user)."""
        ...


class InMemorySSHKeyDB:
    """Authorized keys held in a dict: ``{b"alice": [AuthorizedKey or PublicKey, ...]}``."""

    def __init__(self, keys: dict[bytes, Sequence[AuthorizedKey | PublicKey]]) -> None:
        self.keys = {
            user: [
                k if isinstance(k, AuthorizedKey) else AuthorizedKey(k, AuthorizedKeyOptions())
                for k in entries
            ]
            for user, entries in keys.items()
        }

    def getAuthorizedKeys(self, username: bytes) -> list[AuthorizedKey]:
        """The user's entries."""
        return self.keys.get(username, [])


def _pwdHome(username: bytes) -> tuple[str, int] | None:
    import pwd

    try:
        entry = pwd.getpwnam(username.decode("utf-8"))
    except (KeyError, UnicodeDecodeError, ValueError):  # ValueError: a NUL in the name
        return None
    return entry.pw_dir, entry.pw_uid


def securePath(path: str, uid: int, stopAt: str | None) -> str | None:
    """Why ``path`` is unsafe to trust for ``uid`` (OpenSSH's StrictModes), or None if safe.

    The file must be a regular file, and it and each directory above it up to ``stopAt``
    (the home directory; the root when None) must be owned by root or ``uid`` and not be
    writable by group or others.
    """
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot stat {path}: {e.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    current = os.path.realpath(path)
    # (a realpath is a Python lstat a component: not twice for a lone file checked to itself)
    home = current if stopAt == path else None if stopAt is None else os.path.realpath(stopAt)
    while True:
        st = os.stat(current)
        if st.st_uid not in (0, uid) or st.st_mode & 0o022:
            return f"bad ownership or modes for {current}"
        if current == home or current == os.path.dirname(current):
            return None
        current = os.path.dirname(current)


class AuthorizedKeysFiles:
    """``authorized_keys`` files: each user's own (default) or ``path`` for every user.

    Per user, the files are ``~/.ssh/authorized_keys`` and ``~/.ssh/authorized_keys2``
    (``names``), found through ``homeLookup(username) -> (home, uid) | None`` (default: the
    password database). With ``path``, that one file serves every username; it must be owned by
    root or by this process's user and not writable by others (its directories are not
    checked). With ``strictModes`` (default, as OpenSSH), a file that
    others could have written is ignored and logged. The checks run on every lookup, and a file
    is parsed again whenever its inode, size or times change, so edits take effect at once
    (``timeNs``, the wall clock in nanoseconds, tells how long ago a file changed: one changed
    in the last two seconds is never remembered). Entries are shared between lookups: read-only.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        homeLookup: Callable[[bytes], tuple[str, int] | None] = _pwdHome,
        names: Sequence[str] = (".ssh/authorized_keys", ".ssh/authorized_keys2"),
        strictModes: bool = True,
        timeNs: Callable[[], int] = time.time_ns,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.timeNs = timeNs
        self.homeLookup = homeLookup
        self.names = tuple(names)
        self.strictModes = strictModes
        # (path, st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns) -> the parsed entries: a
        # login looks its key up twice (query, then signed request), each parse costs ~0.1 ms
        self._parsed: dict[tuple[str, int, int, int, int, int], tuple[AuthorizedKey, ...]] = {}

    def _files(self, username: bytes) -> list[tuple[str, int, str | None]]:
        if self.path is not None:
            # Only the file itself is checked: it may live anywhere (even under /tmp).
            return [(self.path, os.geteuid(), self.path)]
        found = self.homeLookup(username)
        if found is None:
            return []
        home, uid = found
        return [(os.path.join(home, name), uid, home) for name in self.names]

    def getAuthorizedKeys(self, username: bytes) -> list[AuthorizedKey]:
        """Every entry in the user's files that pass the permission checks."""
        result: list[AuthorizedKey] = []
        for path, uid, home in self._files(username):
            if not os.path.exists(path):
                continue
            if self.strictModes:
                problem = securePath(path, uid, home)
                if problem is not None:
                    _log.warn("authentication refused: {problem}", problem=problem)
                    continue
            try:
                result.extend(self._read(path))
            except (OSError, KeyFormatError) as e:
                _log.warn("cannot read {path}: {error}", path=path, error=str(e))
        return result

    def _read(self, path: str) -> tuple[AuthorizedKey, ...]:
        """The file's entries, parsed again only when its identity, size or times changed."""
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            cached = self._parsed.get(key)
            if cached is not None:
                return cached
            data = f.read(_MAX_FILE + 1)
        if len(data) > _MAX_FILE:
            raise KeyFormatError("file too large")
        entries = tuple(parseAuthorizedKeys(data))
        # A file changed twice within the file system's timestamp granularity could keep its
        # size and times: remember only files whose last change is a while ago (as git's
        # "racily clean" rule), so an edit right after a login is never missed.
        if self.timeNs() - max(st.st_mtime_ns, st.st_ctime_ns) > _SETTLED_NS:
            if len(self._parsed) >= _MAX_CACHED:
                del self._parsed[next(iter(self._parsed))]  # the oldest
            self._parsed[key] = entries
        return entries


def _signatureAlgorithm(algName: bytes, key: PublicKey) -> str | None:
    """The signature algorithm a publickey request naming ``algName`` must sign with, for
    ``key`` (the request's blob), or None when the name does not fit the key.

    Plain keys: the name is the key type (RSA: ``ssh-rsa``/``rsa-sha2-256``/``rsa-sha2-512``).
    Certificates: ``<signature algorithm>-cert-v01@openssh.com`` (RSA certificates have blob
    type ``ssh-rsa-cert-v01@openssh.com`` but may be named ``rsa-sha2-512-cert-v01@...``).
    """
    try:
        name = algName.decode("ascii")
    except UnicodeDecodeError:
        return None
    if isinstance(key, Certificate):
        if not name.endswith(_CERT_SUFFIX):
            return None
        if key.key.keyType == "ssh-rsa":
            base = name[: -len(_CERT_SUFFIX)]
            return base if base in _RSA_ALGORITHMS else None
        return key.key.keyType if name == key.keyType else None
    if key.keyType == "ssh-rsa":
        return name if name in _RSA_ALGORITHMS else None
    return name if name == key.keyType else None


class SSHPublicKeyChecker:
    """Checks SSH public-key credentials against a key database (Conch's checker's shape).

    A plain key matches an entry with the same blob that is not a ``cert-authority`` line. An
    OpenSSH user certificate (``*-cert-v01@openssh.com``) matches a ``cert-authority`` entry
    for the CA that signed it when, at ``now``, it is valid and names the username (or one of
    the entry's ``principals=``) among its principals, and its ``source-address`` allows the
    client; its ``force-command`` and extensions are merged into the entry's options as sshd
    merges them. Either way the entry's ``from=`` must allow the credentials'
    ``clientAddress`` (a ``from=`` entry never matches when the address is unknown) and its
    ``expiry-time`` must not have passed.

    An unsigned query for a matching key fails with :class:`ValidPublicKey` (the server
    answers PK_OK); a signed one must verify over ``sigData`` with the algorithm named (SHA-1
    ``ssh-rsa`` signatures are refused unless ``allowSHA1``; a security-key signature must
    show the user's touch unless ``no-touch-required``, and verification with
    ``verify-required``). Success gives a :class:`KeyAvatarId` carrying the entry's options.
    """

    credentialInterfaces: Sequence[type] = (ISSHPrivateKey,)

    def __init__(
        self,
        keydb: IAuthorizedKeysDB,
        *,
        allowSHA1: bool = False,
        now: Callable[[], datetime.datetime] = datetime.datetime.now,
    ) -> None:
        self.keydb = keydb
        self.allowSHA1 = allowSHA1
        self.now = now
        # blob -> parsed key: a login sends its key twice (query, then signed request)
        self._parsed: dict[bytes, PublicKey] = {}

    def _match(self, credentials: ISSHPrivateKey, key: PublicKey) -> AuthorizedKeyOptions | None:
        """The options of the first entry that lets ``key`` in, or None."""
        address = credentials.clientAddress
        now = self.now()
        for entry in self.keydb.getAuthorizedKeys(credentials.username):
            options = entry.options
            if isinstance(key, Certificate):
                # only a cert-authority line for the certificate's CA can accept it
                if not options.certAuthority or entry.key != key.signatureKey:
                    continue
            elif options.certAuthority or entry.key != key:
                # a cert-authority line's key is a CA: it never logs in itself (as sshd)
                continue
            if options.fromPatterns is not None and (
                address is None or not options.allowsFrom(address)
            ):
                _log.info(
                    "key {fp} for {user!r} refused from {address}",
                    fp=key.fingerprint(),
                    user=credentials.username,
                    address=address,
                )
                continue
            if options.isExpired(now):
                continue
            if not isinstance(key, Certificate):
                return options
            try:
                return entry.certificateOptions(
                    key,
                    credentials.username.decode("utf-8", "replace"),
                    int(now.timestamp()),
                    address,
                )
            except CertificateError as e:
                _log.info(
                    "certificate {id!r} ({fp}) for {user!r} refused: {why}",
                    id=key.keyID,
                    fp=key.fingerprint(),
                    user=credentials.username,
                    why=str(e),
                )
        return None

    def requestAvatarId(self, credentials: ISSHPrivateKey) -> Deferred[Any]:
        """A :class:`KeyAvatarId`, or ``ValidPublicKey``/``UnauthorizedLogin``."""
        key = self._parsed.get(credentials.blob)
        if key is None:
            try:
                key = parsePublicKeyBlob(credentials.blob)
            except KeyFormatError:
                # includes certificates whose CA signature does not verify
                return fail(UnauthorizedLogin("unparseable public key"))
            if len(self._parsed) >= _MAX_CACHED_BLOBS:
                del self._parsed[next(iter(self._parsed))]  # the oldest
            self._parsed[credentials.blob] = key
        algorithm = _signatureAlgorithm(credentials.algName, key)
        if algorithm is None:
            return fail(UnauthorizedLogin("algorithm does not fit the key"))
        options = self._match(credentials, key)
        if options is None:
            return fail(UnauthorizedLogin(f"key {key.fingerprint()} is not authorized"))
        if credentials.signature is None or credentials.sigData is None:
            return fail(ValidPublicKey())
        if not key.verify(
            credentials.signature,
            credentials.sigData,
            allowSHA1=self.allowSHA1,
            algorithm=algorithm,
            requireTouch=not options.noTouchRequired,
            requireVerification=options.verifyRequired,
        ):
            return fail(UnauthorizedLogin("bad signature"))
        return succeed(KeyAvatarId(credentials.username, options, key))


class AuthorizedKeysChecker(SSHPublicKeyChecker):
    """:class:`SSHPublicKeyChecker` over :class:`AuthorizedKeysFiles`.

    ``AuthorizedKeysChecker()`` reads each user's ``~/.ssh/authorized_keys``;
    ``AuthorizedKeysChecker(path)`` reads one file for every user.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        homeLookup: Callable[[bytes], tuple[str, int] | None] = _pwdHome,
        strictModes: bool = True,
        allowSHA1: bool = False,
    ) -> None:
        files = AuthorizedKeysFiles(path, homeLookup=homeLookup, strictModes=strictModes)
        super().__init__(files, allowSHA1=allowSHA1)
