"""Key exchange methods: both sides agree, bad peer values are refused, RFC 3526 groups match
their definition, RFC 4253 §7.2 key derivation, the exchange hash layout."""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal, getcontext

import pytest

from plait.wire.ssh import _kex
from plait.wire.ssh._kex import KEX_METHODS, deriveKey, exchangeHash
from plait.wire.ssh.types import DisconnectReason, SSHDisconnectError, SSHReader, encodeString

FAST = [n for n in KEX_METHODS if "group16" not in n and "group18" not in n]


def _random(seed: int) -> _kex.RandomBytes:
    rng = random.Random(seed)
    return lambda n: rng.randbytes(n)


@pytest.mark.parametrize("name", sorted(KEX_METHODS))
def test_both_sides_agree(name: str) -> None:
    """Client and server derive the same secret and see the same fields."""
    client, server = KEX_METHODS[name](_random(1)), KEX_METHODS[name](_random(2))
    init = client.clientInit()
    clientField, serverField, secret = server.serverReply(SSHReader(init))
    assert clientField == init
    assert client.clientFinish(SSHReader(serverField)) == (serverField, secret)


@pytest.mark.parametrize("name", FAST)
def test_deterministic_given_randomness(name: str) -> None:
    """The client's public value depends only on the injected randomness (no hidden RNG)."""
    assert KEX_METHODS[name](_random(3)).clientInit() == KEX_METHODS[name](_random(3)).clientInit()
    assert KEX_METHODS[name](_random(3)).clientInit() != KEX_METHODS[name](_random(4)).clientInit()


def test_mlkem_hybrid_layout() -> None:
    """mlkem768x25519: C_INIT is 1184+32 bytes, S_REPLY 1088+32, K = string(SHA256(...))."""
    client, server = KEX_METHODS["mlkem768x25519-sha256"](_random(5)), None
    init = SSHReader(client.clientInit()).string()
    assert len(init) == 1184 + 32
    server = KEX_METHODS["mlkem768x25519-sha256"](_random(6))
    _, reply, secret = server.serverReply(SSHReader(encodeString(init)))
    assert len(SSHReader(reply).string()) == 1088 + 32
    assert len(secret) == 4 + 32  # a string holding a SHA-256 digest, not an mpint


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("curve25519-sha256", encodeString(bytes(32))),  # the all-zero point
        ("curve25519-sha256", encodeString(bytes(31))),
        ("ecdh-sha2-nistp256", encodeString(b"\x04" + bytes(64))),  # not on the curve
        ("diffie-hellman-group14-sha256", b"\x00\x00\x00\x01\x01"),  # f = 1
        ("mlkem768x25519-sha256", encodeString(bytes(100))),
    ],
)
def test_bad_peer_values_refused(name: str, bad: bytes) -> None:
    """A degenerate or malformed peer value is KEY_EXCHANGE_FAILED on both sides."""
    with pytest.raises(SSHDisconnectError) as info:
        KEX_METHODS[name](_random(7)).serverReply(SSHReader(bad))
    assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED
    client = KEX_METHODS[name](_random(8))
    client.clientInit()
    with pytest.raises(SSHDisconnectError):
        client.clientFinish(SSHReader(bad))


def _pi(bits: int) -> Decimal:
    getcontext().prec = bits // 3 + 50

    # Machin: pi = 16 atan(1/5) - 4 atan(1/239)
    def atanInv(x: int) -> Decimal:
        total = term = Decimal(1) / x
        x2, n, sign = x * x, 1, 1
        eps = Decimal(10) ** -(getcontext().prec + 2)
        while abs(term) > eps:
            term /= x2
            n += 2
            sign = -sign
            total += sign * term / n
        return total

    return 16 * atanInv(5) - 4 * atanInv(239)


@pytest.mark.parametrize(
    ("prime", "bits", "offset"),
    [(_kex._GROUP14, 2048, 124476), (_kex._GROUP16, 4096, 240904), (_kex._GROUP18, 8192, 4743158)],
)
def test_rfc3526_groups(prime: int, bits: int, offset: int) -> None:
    """p = 2^N - 2^(N-64) - 1 + 2^64 * (floor(2^(N-130) pi) + offset) (RFC 3526)."""
    pi = _pi(bits)
    floor = int((Decimal(2) ** (bits - 130)) * pi)
    assert prime == 2**bits - 2 ** (bits - 64) - 1 + 2**64 * (floor + offset)


def test_key_derivation_extends_by_rehashing() -> None:
    """K1 = H(K||H||X||session_id), K2 = H(K||H||K1), output truncated to the size asked."""
    k, h, sid = b"\x00\x00\x00\x01\x07", b"H" * 32, b"S" * 32
    k1 = hashlib.sha256(k + h + b"C" + sid).digest()
    k2 = hashlib.sha256(k + h + k1).digest()
    k3 = hashlib.sha256(k + h + k1 + k2).digest()
    assert deriveKey(hashlib.sha256, k, h, b"C", sid, 16) == k1[:16]
    assert deriveKey(hashlib.sha256, k, h, b"C", sid, 64) == k1 + k2
    assert deriveKey(hashlib.sha256, k, h, b"C", sid, 80) == (k1 + k2 + k3)[:80]
    assert deriveKey(hashlib.sha256, k, h, b"D", sid, 16) != k1[:16]


def test_exchange_hash_layout() -> None:
    """H hashes versions, KEXINITs and host key as strings, then the encoded fields and K."""
    parts = [b"SSH-2.0-a", b"SSH-2.0-b", b"\x14ic", b"\x14is", b"blob"]
    expected = hashlib.sha256(
        b"".join(encodeString(p) for p in parts) + b"CF" + b"SF" + b"KK"
    ).digest()
    assert exchangeHash(hashlib.sha256, *parts, b"CF", b"SF", b"KK") == expected
