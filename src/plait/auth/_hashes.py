"""Password hashes: SHA-crypt (``$5$``/``$6$``), scrypt (``$scrypt$``) and bcrypt (``$2b$``).

SHA-256-crypt and SHA-512-crypt follow Ulrich Drepper's published specification
("Unix crypt using SHA-256 and SHA-512"), written here from that text because Python 3.13
has no ``crypt`` module. bcrypt needs the ``bcrypt`` package (the ``ssh`` extra).

The scrypt format is plait's own (modelled on the PHC string format)::

    $scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<key>

where ``<salt>`` (16 random bytes) and ``<key>`` (32 bytes from ``hashlib.scrypt``) are in
standard base64 without ``=`` padding. Example: ``$scrypt$ln=14,r=8,p=1$c2FsdHNhbHQ$...``.
Parameters read from a hash are bounded (``ln`` <= 20, ``r`` <= 32, ``p`` <= 16) so a
hostile password file cannot make one check take gigabytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any

__all__ = ["hashPassword", "identifyHash", "sha256Crypt", "sha512Crypt", "verifyPassword"]

# --- SHA-crypt ----------------------------------------------------------------------------

_CRYPT64 = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ROUNDS_DEFAULT = 5000
_ROUNDS_MIN = 1000
_ROUNDS_MAX = 999_999_999
_SALT_MAX = 16

# The byte triples of the final digest in the order the specification encodes them:
# SHA-256 (0,10,20), (21,1,11), (12,22,2)...; SHA-512 (0,21,42), (22,43,1), (44,2,23)...
_ORDER_256 = [((21 * k) % 30, (21 * k + 10) % 30, (21 * k + 20) % 30) for k in range(10)]
_ORDER_512 = [((22 * k) % 63, (22 * k + 21) % 63, (22 * k + 42) % 63) for k in range(21)]


def _crypt64(b2: int, b1: int, b0: int, n: int) -> bytes:
    w = (b2 << 16) | (b1 << 8) | b0
    out = bytearray()
    for _ in range(n):
        out.append(_CRYPT64[w & 0x3F])
        w >>= 6
    return bytes(out)


def _repeatTo(block: bytes, length: int) -> bytes:
    return (block * (length // len(block) + 1))[:length]


def _shaCrypt(password: bytes, setting: str, prefix: str, hashFunc: Callable[..., Any]) -> str:
    if not setting.startswith(prefix):
        raise ValueError(f"not a {prefix} setting")
    rest = setting[len(prefix) :]
    rounds = _ROUNDS_DEFAULT
    explicitRounds = False
    if rest.startswith("rounds="):
        spec, sep, rest = rest.partition("$")
        if not sep or not spec[7:].isdigit():
            raise ValueError("malformed rounds= in SHA-crypt setting")
        rounds = min(max(int(spec[7:]), _ROUNDS_MIN), _ROUNDS_MAX)
        explicitRounds = True
    salt = rest.split("$", 1)[0][:_SALT_MAX].encode("ascii")
    size = hashFunc().digest_size

    b = hashFunc(password + salt + password).digest()
    a = hashFunc(password + salt)
    a.update(_repeatTo(b, len(password)))
    n = len(password)
    while n:
        a.update(b if n & 1 else password)
        n >>= 1
    digestA = a.digest()
    pSeq = _repeatTo(hashFunc(password * len(password)).digest(), len(password))
    sSeq = _repeatTo(hashFunc(salt * (16 + digestA[0])).digest(), len(salt))

    c = digestA
    for i in range(rounds):
        h = hashFunc(pSeq if i & 1 else c)
        if i % 3:
            h.update(sSeq)
        if i % 7:
            h.update(pSeq)
        h.update(c if i & 1 else pSeq)
        c = h.digest()

    if size == 32:
        encoded = b"".join(_crypt64(c[x], c[y], c[z], 4) for x, y, z in _ORDER_256)
        encoded += _crypt64(0, c[31], c[30], 3)
    else:
        encoded = b"".join(_crypt64(c[x], c[y], c[z], 4) for x, y, z in _ORDER_512)
        encoded += _crypt64(0, 0, c[63], 2)
    head = prefix + (f"rounds={rounds}$" if explicitRounds else "")
    return f"{head}{salt.decode('ascii')}${encoded.decode('ascii')}"


def sha256Crypt(password: bytes, setting: str) -> str:
    """SHA-256-crypt of ``password`` with ``setting`` (``$5$[rounds=N$]salt[$...]``)."""
    return _shaCrypt(password, setting, "$5$", hashlib.sha256)


def sha512Crypt(password: bytes, setting: str) -> str:
    """SHA-512-crypt of ``password`` with ``setting`` (``$6$[rounds=N$]salt[$...]``)."""
    return _shaCrypt(password, setting, "$6$", hashlib.sha512)


def _newCryptSalt(length: int = 16) -> str:
    return "".join(chr(_CRYPT64[secrets.randbelow(64)]) for _ in range(length))


# --- scrypt -------------------------------------------------------------------------------

_SCRYPT_RE = re.compile(
    r"\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)"
)
_SCRYPT_LN_DEFAULT = 14  # N = 16384: 16 MiB with r=8 and some 50 ms on a 2020s core
_SCRYPT_LIMITS = (20, 32, 16)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: bytes, salt: bytes, ln: int, r: int, p: int) -> bytes:
    n = 1 << ln
    return hashlib.scrypt(
        password, salt=salt, n=n, r=r, p=p, maxmem=129 * r * n * p + (1 << 20), dklen=32
    )


def _scryptHash(password: bytes, ln: int = _SCRYPT_LN_DEFAULT, r: int = 8, p: int = 1) -> str:
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, ln, r, p)
    return f"$scrypt$ln={ln},r={r},p={p}${_b64(salt)}${_b64(key)}"


def _scryptVerify(password: bytes, hashed: str) -> bool:
    m = _SCRYPT_RE.fullmatch(hashed)
    if m is None:
        raise ValueError("malformed $scrypt$ hash")
    ln, r, p = int(m[1]), int(m[2]), int(m[3])
    if not (1 <= ln <= _SCRYPT_LIMITS[0] and 1 <= r <= _SCRYPT_LIMITS[1]):
        raise ValueError("scrypt parameters out of range")
    if not 1 <= p <= _SCRYPT_LIMITS[2]:
        raise ValueError("scrypt parameters out of range")
    try:
        salt, key = _unb64(m[4]), _unb64(m[5])
    except binascii.Error:
        raise ValueError("malformed base64 in $scrypt$ hash") from None
    return hmac.compare_digest(_scrypt(password, salt, ln, r, p), key)


# --- dispatch -----------------------------------------------------------------------------


def identifyHash(hashed: str) -> str | None:
    """The scheme of ``hashed``: "sha256-crypt", "sha512-crypt", "scrypt", "bcrypt", or None."""
    if hashed.startswith("$6$"):
        return "sha512-crypt"
    if hashed.startswith("$5$"):
        return "sha256-crypt"
    if hashed.startswith("$scrypt$"):
        return "scrypt"
    if hashed[:4] in ("$2b$", "$2a$", "$2y$"):
        return "bcrypt"
    return None


def verifyPassword(password: bytes, hashed: str) -> bool:
    """Whether ``password`` matches ``hashed`` (compared in constant time).

    Raises ``ValueError`` for a scheme plait does not know (or bcrypt without the ``bcrypt``
    package) and for a malformed hash. This blocks for as long as the hash is meant to take:
    run it in a thread on a server (the checkers do when given a reactor).
    """
    scheme = identifyHash(hashed)
    if scheme == "sha512-crypt":
        return hmac.compare_digest(sha512Crypt(password, hashed).encode(), hashed.encode())
    if scheme == "sha256-crypt":
        return hmac.compare_digest(sha256Crypt(password, hashed).encode(), hashed.encode())
    if scheme == "scrypt":
        return _scryptVerify(password, hashed)
    if scheme == "bcrypt":
        try:
            import bcrypt
        except ImportError:
            raise ValueError("bcrypt hashes need the bcrypt package") from None
        try:
            return bool(bcrypt.checkpw(password, hashed.encode("ascii")))
        except ValueError:
            raise ValueError("malformed bcrypt hash") from None
    raise ValueError(f"unsupported password hash scheme: {hashed[:8]!r}...")


def hashPassword(password: bytes | str, scheme: str = "scrypt", rounds: int | None = None) -> str:
    """Hash ``password`` with a fresh random salt, for a password file.

    ``scheme`` is "scrypt" (default; ``rounds`` is log2 N, default 14), "bcrypt" (``rounds``
    is the cost, default 12), "sha512-crypt" or "sha256-crypt" (``rounds`` default 5000, as
    the specification's default, then written without ``rounds=``).
    """
    if isinstance(password, str):
        password = password.encode("utf-8")
    if scheme == "scrypt":
        return _scryptHash(password, rounds or _SCRYPT_LN_DEFAULT)
    if scheme == "bcrypt":
        import bcrypt

        return str(bcrypt.hashpw(password, bcrypt.gensalt(rounds or 12)).decode("ascii"))
    if scheme in ("sha512-crypt", "sha256-crypt"):
        prefix = "$6$" if scheme == "sha512-crypt" else "$5$"
        roundsPart = f"rounds={rounds}$" if rounds else ""
        setting = f"{prefix}{roundsPart}{_newCryptSalt()}"
        return sha512Crypt(password, setting) if prefix == "$6$" else sha256Crypt(password, setting)
    raise ValueError(f"unknown password hash scheme {scheme!r}")
