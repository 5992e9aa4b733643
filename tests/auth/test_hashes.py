"""Password hashes: Drepper's SHA-crypt vectors, scrypt format, bcrypt, dispatch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.auth import hashPassword, identifyHash, sha256Crypt, sha512Crypt, verifyPassword
from plait.auth._system import systemCrypt

# From "Unix crypt using SHA-256 and SHA-512" (Ulrich Drepper), the specification's test vectors.
SHA256_VECTORS = [
    ("$5$saltstring", b"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
    (
        "$5$rounds=10000$saltstringsaltstring",
        b"Hello world!",
        "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
    ),
    (
        "$5$rounds=5000$toolongsaltstring",
        b"This is just a test",
        "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
    ),
    (
        "$5$rounds=10$roundstoolow",
        b"the minimum number is still observed",
        "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
    ),
]
SHA512_VECTORS = [
    (
        "$6$saltstring",
        b"Hello world!",
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFC"
        "oEOfaS35inz1",
    ),
    (
        "$6$rounds=1400$anotherlongsaltstring",
        b"a very much longer text to encrypt.  This one even stretches over morethan one line.",
        "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9"
        "t0oSwbtEW7o7UmJEiDwGqd8p4ur1",
    ),
    (
        "$6$rounds=10$roundstoolow",
        b"the minimum number is still observed",
        "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4Z"
        "EQpyUNGc0dqbpBYYBaHHrsX.",
    ),
]


@pytest.mark.parametrize(("setting", "password", "expected"), SHA256_VECTORS)
def test_sha256_crypt_vectors(setting: str, password: bytes, expected: str) -> None:
    """SHA-256-crypt matches the specification's vectors and verifies."""
    assert sha256Crypt(password, setting) == expected
    assert verifyPassword(password, expected)
    assert not verifyPassword(password + b"x", expected)


@pytest.mark.parametrize(("setting", "password", "expected"), SHA512_VECTORS)
def test_sha512_crypt_vectors(setting: str, password: bytes, expected: str) -> None:
    """SHA-512-crypt matches the specification's vectors and verifies."""
    assert sha512Crypt(password, setting) == expected
    assert verifyPassword(password, expected)
    assert not verifyPassword(b"", expected)


def test_sha_crypt_empty_password_and_long_password() -> None:
    """Empty and longer-than-digest passwords hash and verify (the repeat-to-length paths)."""
    for password in (b"", b"x" * 200):
        for scheme in ("sha256-crypt", "sha512-crypt"):
            h = hashPassword(password, scheme)
            assert verifyPassword(password, h)
            assert not verifyPassword(password + b"y", h)


@pytest.mark.parametrize("scheme", ["scrypt", "sha512-crypt", "sha256-crypt", "bcrypt"])
def test_hash_password_roundtrip(scheme: str) -> None:
    """hashPassword output verifies for the password only and has a fresh salt."""
    rounds = 4 if scheme == "bcrypt" else (10 if scheme == "scrypt" else None)
    h1 = hashPassword("pässword", scheme, rounds)
    h2 = hashPassword("pässword", scheme, rounds)
    assert h1 != h2
    assert identifyHash(h1) == scheme
    assert verifyPassword("pässword".encode(), h1)
    assert not verifyPassword(b"password", h1)


def test_scrypt_format() -> None:
    """The $scrypt$ string has the documented fields."""
    h = hashPassword(b"pw", "scrypt", 10)
    head, salt, key = h.rsplit("$", 2)
    assert head == "$scrypt$ln=10,r=8,p=1"
    assert "=" not in salt + key
    assert len(salt) == 22 and len(key) == 43  # 16 and 32 bytes in unpadded base64


def test_sha_crypt_explicit_rounds() -> None:
    """An explicit rounds count is written into the hash."""
    h = hashPassword(b"pw", "sha512-crypt", rounds=1000)
    assert h.startswith("$6$rounds=1000$")
    assert verifyPassword(b"pw", h)


@pytest.mark.parametrize(
    "bad",
    [
        "plaintext",
        "$1$md5salt$whatever",
        "$scrypt$ln=14,r=8$abc$def",
        "$scrypt$ln=40,r=8,p=1$c2FsdA$a2V5",
        "$scrypt$ln=10,r=8,p=1$c$a2V5",
        "$2b$12$short",
        "$5$rounds=x$salt$hash",
    ],
)
def test_verify_rejects_unknown_or_malformed(bad: str) -> None:
    """Unknown schemes, out-of-range scrypt parameters and malformed hashes raise ValueError."""
    with pytest.raises(ValueError):
        verifyPassword(b"pw", bad)


def test_hash_unknown_scheme() -> None:
    """hashPassword refuses a scheme it does not know."""
    with pytest.raises(ValueError):
        hashPassword(b"pw", "md5-crypt")


_SALT_CHARS = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@given(
    password=st.binary(min_size=0, max_size=90).filter(lambda b: b"\x00" not in b),
    salt=st.text(alphabet=_SALT_CHARS, min_size=1, max_size=20),
    rounds=st.one_of(st.none(), st.integers(1000, 1100)),
    prefix=st.sampled_from(["$5$", "$6$"]),
)
@settings(max_examples=40, deadline=None)
def test_sha_crypt_matches_system_libcrypt(
    password: bytes, salt: str, rounds: int | None, prefix: str
) -> None:
    """For any password, salt and rounds, plait's SHA-crypt equals the system's libcrypt."""
    setting = prefix + (f"rounds={rounds}$" if rounds is not None else "") + salt
    expected = systemCrypt(password, setting)
    if expected is None:
        pytest.skip("no system libcrypt with crypt_rn")
    ours = sha256Crypt(password, setting) if prefix == "$5$" else sha512Crypt(password, setting)
    assert ours == expected
