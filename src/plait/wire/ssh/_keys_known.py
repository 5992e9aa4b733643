"""``known_hosts``: host patterns, ``[host]:port``, hashed entries, markers (sshd(8)
"SSH_KNOWN_HOSTS FILE FORMAT").

A line is ``[@marker] hosts keytype base64 [comment]``; ``hosts`` is a pattern list
(``*``/``?`` wildcards, ``!`` negation) or one hashed name ``|1|base64(salt)|base64(HMAC-SHA1(
salt, name))``, where a name is ``host`` on port 22 and ``[host]:port`` on any other port.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Literal

from plait.wire.ssh._keys import KeyFormatError, PublicKey, RandomBytes
from plait.wire.ssh._keys_authorized import MAX_LINE, MAX_LINES, matchPatternList
from plait.wire.ssh._keys_cert import HOST_CERT, Certificate, CertificateError
from plait.wire.ssh._keys_files import parsePublicKeyLine

Verdict = Literal["match", "mismatch", "revoked", "unknown"]
_MARKERS = ("@cert-authority", "@revoked")


def hostName(host: str, port: int = 22) -> str:
    """The name ``known_hosts`` stores: ``host`` on port 22, else ``[host]:port``."""
    host = host.lower()
    return host if port == 22 else f"[{host}]:{port}"


def _family(keyType: str) -> str:
    # ssh treats a host's ECDSA keys on different curves as one kind of key.
    return "ecdsa" if keyType.startswith("ecdsa-") else keyType


@dataclass(slots=True)
class KnownHostsEntry:
    """One ``known_hosts`` line: ``key`` for the hosts ``patterns`` (or the hashed name)."""

    key: PublicKey
    patterns: tuple[str, ...] = ()
    hashedSalt: bytes | None = None
    hashedName: bytes | None = None
    marker: str | None = None  # "cert-authority", "revoked" or None
    comment: str = ""
    lineNumber: int = 0

    def matchesHost(self, name: str) -> bool:
        """Whether this line applies to ``name`` (as ``hostName`` builds it)."""
        if self.hashedSalt is not None and self.hashedName is not None:
            mac = hmac.digest(self.hashedSalt, name.encode("utf-8"), hashlib.sha1)
            return hmac.compare_digest(mac, self.hashedName)
        return matchPatternList(name, self.patterns) is True


def _parseEntry(line: str, lineNumber: int) -> KnownHostsEntry | None:
    if len(line) > MAX_LINE:
        raise KeyFormatError(f"known_hosts line too long ({len(line)} characters)")
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    marker = None
    if text.startswith("@"):
        word, *more = text.split(None, 1)
        if word not in _MARKERS:
            raise KeyFormatError(f"unknown marker {word!r}")
        marker = word[1:]
        text = more[0] if more else ""
    hosts, *more = text.split(None, 1) or [""]
    rest = more[0] if more else ""
    if not hosts or not rest.strip():
        raise KeyFormatError("a known_hosts line is 'hosts keytype base64 [comment]'")
    key = parsePublicKeyLine(rest.encode("utf-8"))
    entry = KnownHostsEntry(key, marker=marker, comment=key.comment, lineNumber=lineNumber)
    if hosts.startswith("|"):
        parts = hosts.split("|")
        if len(parts) != 4 or parts[1] != "1":
            raise KeyFormatError(f"unsupported hashed host {hosts!r} (|1|salt|hash)")
        try:
            salt = base64.b64decode(parts[2], validate=True)
            digest = base64.b64decode(parts[3], validate=True)
        except (binascii.Error, ValueError):  # ValueError: non-ASCII where base64 goes
            raise KeyFormatError("bad base64 in hashed host") from None
        if len(salt) != 20 or len(digest) != 20:
            raise KeyFormatError("hashed host salt and hash must be 20 bytes (SHA-1)")
        entry.hashedSalt, entry.hashedName = salt, digest
    else:
        entry.patterns = tuple(hosts.lower().split(","))
        if not all(p.strip("!") for p in entry.patterns):
            raise KeyFormatError(f"empty host pattern in {hosts!r}")
    return entry


@dataclass
class KnownHosts:
    """The entries of a ``known_hosts`` file; ``verify`` answers for a host's key.

    ``@cert-authority`` lines vouch for host certificates only (see ``verify``); they are
    listed in ``certAuthorities``. Bad lines are skipped (as ssh skips them) and listed in
    ``errors`` as ``(line number, message)``.
    """

    entries: list[KnownHostsEntry] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, data: str | bytes, strict: bool = False) -> KnownHosts:
        """Read a ``known_hosts`` file (``strict``: a bad line raises ``KeyFormatError``)."""
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        lines = data.splitlines()
        if len(lines) > MAX_LINES:
            raise KeyFormatError(f"known_hosts has too many lines ({len(lines)})")
        result = cls()
        for number, line in enumerate(lines, 1):
            try:
                entry = _parseEntry(line, number)
            except KeyFormatError as e:
                if strict:
                    raise KeyFormatError(f"line {number}: {e}") from None
                result.errors.append((number, str(e)))
                continue
            if entry is not None:
                result.entries.append(entry)
        return result

    @property
    def certAuthorities(self) -> list[KnownHostsEntry]:
        """The ``@cert-authority`` lines (CAs trusted for host certificates)."""
        return [e for e in self.entries if e.marker == "cert-authority"]

    def lookup(self, host: str, port: int = 22) -> list[PublicKey]:
        """The keys known for ``host:port`` (not revoked ones or CAs), file order."""
        name = hostName(host, port)
        return [e.key for e in self.entries if e.marker is None and e.matchesHost(name)]

    def verify(self, host: str, port: int, key: PublicKey, now: int | None = None) -> Verdict:
        """``"revoked"`` when an ``@revoked`` line for the host has ``key``; ``"match"`` when
        a line for the host has it; ``"mismatch"`` when lines for the host have another key of
        its kind (the host key changed); else ``"unknown"``.

        A host ``Certificate`` matches when an ``@cert-authority`` line for the host names its
        CA and it holds for the host at ``now`` (seconds since the epoch; without ``now`` no
        certificate holds); otherwise its certified key is checked as a plain key, as ssh
        does. A certificate is revoked with its key or its CA.
        """
        if isinstance(key, Certificate):
            name = hostName(host, port)
            matching = [e for e in self.entries if e.matchesHost(name)]
            revoked = {key, key.key, key.signatureKey}
            if any(e.marker == "revoked" and e.key in revoked for e in matching):
                return "revoked"
            authorities = [e for e in matching if e.marker == "cert-authority"]
            if now is not None and any(e.key == key.signatureKey for e in authorities):
                try:
                    key.check(now, host.lower(), HOST_CERT, requirePrincipal=False)
                except CertificateError:
                    pass
                else:
                    return "match"
            key = key.key
        name = hostName(host, port)
        verdict: Verdict = "unknown"
        for entry in self.entries:
            if entry.marker == "cert-authority" or not entry.matchesHost(name):
                continue
            if entry.marker == "revoked":
                if entry.key == key:
                    return "revoked"
            elif entry.key == key:
                verdict = "match"
            elif verdict == "unknown" and _family(entry.key.keyType) == _family(key.keyType):
                verdict = "mismatch"
        return verdict

    @staticmethod
    def line(
        host: str,
        port: int,
        key: PublicKey,
        hashed: bool = False,
        comment: str = "",
        randomBytes: RandomBytes | None = None,
    ) -> bytes:
        """A new ``known_hosts`` line for ``host:port`` (no newline), hashed as
        ``ssh-keygen -H`` would when ``hashed``."""
        name = hostName(host, port)
        if any(c in name for c in " ,\t\n*?!|#@"):
            raise ValueError(f"host {host!r} cannot be written to known_hosts")
        if hashed:
            salt = (randomBytes or secrets.token_bytes)(20)
            mac = hmac.digest(salt, name.encode("utf-8"), hashlib.sha1)
            hosts = b"|1|" + base64.b64encode(salt) + b"|" + base64.b64encode(mac)
        else:
            hosts = name.encode("utf-8")
        return hosts + b" " + key.toOpenSSH(comment)

    def add(self, host: str, port: int, key: PublicKey, hashed: bool = False) -> bytes:
        """Remember ``key`` for ``host:port``; the line to append to the file (no newline)."""
        line = self.line(host, port, key, hashed)
        entry = _parseEntry(line.decode("utf-8"), 0)
        assert entry is not None
        self.entries.append(entry)
        return line
