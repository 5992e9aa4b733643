"""Packet protection: RFC 8439 vectors through the chacha20-poly1305@openssh.com construction,
round trips and tamper detection for every cipher/MAC, zlib@openssh.com bounds."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import poly1305

from plait.wire.ssh._cipher import (
    CIPHERS,
    MACS,
    Compressor,
    Decompressor,
    chachaKeystream,
    chachaPolyKey,
    makeOpener,
    makeSealer,
)
from plait.wire.ssh.types import DisconnectReason, SSHDisconnectError

RFC8439_KEY = bytes(range(32))
PAIRS = [(c, "none") for c in CIPHERS if CIPHERS[c].isAEAD] + [
    (c, m) for c in ("aes128-ctr", "aes192-ctr", "aes256-ctr") for m in MACS if m != "none"
]


def test_chacha20_rfc8439_encryption_vector() -> None:
    """RFC 8439 §2.4.2 (nonce 00..00 4a 00..00, counter 1) through our 64-bit-nonce form."""
    plaintext = (
        b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
        b"the future, sunscreen would be it."
    )
    seq = int.from_bytes(bytes.fromhex("0000004a00000000"), "big")  # nonce bytes 4..11
    out = chachaKeystream(RFC8439_KEY, seq, 1, plaintext)
    assert out == bytes.fromhex(
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
        "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
        "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
        "5af90bbf74a35be6b40b8eedf2785e42874d"
    )


def test_poly1305_key_generation_rfc8439() -> None:
    """RFC 8439 §2.6.2: the one-time Poly1305 key is block 0 of ChaCha20 under the main key."""
    key = bytes.fromhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
    seq = int.from_bytes(bytes.fromhex("0001020304050607"), "big")
    assert chachaPolyKey(key, seq) == bytes.fromhex(
        "8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646"
    )


def test_chacha_openssh_packet_layout() -> None:
    """The length is encrypted with K_1 (second half), the body with K_2 from block 1, and the
    tag is Poly1305 over the encrypted length and body with the block-0 key."""
    key = bytes(range(64))
    body = b"\x04\x5e" + b"payload!" + bytes(4)
    packet = struct.pack(">I", len(body)) + body
    wire = makeSealer("chacha20-poly1305@openssh.com", "none", key, b"", b"").seal(7, packet)
    assert wire[:4] == chachaKeystream(key[32:], 7, 0, packet[:4])
    assert wire[4:-16] == chachaKeystream(key[:32], 7, 1, body)
    assert wire[-16:] == poly1305.Poly1305.generate_tag(chachaPolyKey(key[:32], 7), wire[:-16])


def test_gcm_nonce_counter_and_aad() -> None:
    """AES-GCM leaves the length in clear and increments the invocation counter per packet."""
    key, iv = bytes(16), bytes(range(12))
    sealer = makeSealer("aes128-gcm@openssh.com", "none", key, iv, b"")
    packet = struct.pack(">I", 16) + b"\x04" + b"x" * 11 + bytes(4)
    first, second = sealer.seal(0, packet), sealer.seal(1, packet)
    assert first[:4] == second[:4] == packet[:4]
    assert first[4:] != second[4:]  # new nonce each packet
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce2 = iv[:4] + (int.from_bytes(iv[4:], "big") + 1).to_bytes(8, "big")
    assert AESGCM(key).decrypt(nonce2, bytes(second[4:]), packet[:4]) == packet[4:]


def _keys(cipher: str, mac: str) -> tuple[bytes, bytes, bytes]:
    spec, macSpec = CIPHERS[cipher], MACS[mac]
    return bytes(range(spec.keySize)), bytes(spec.ivSize), b"\x55" * macSpec.keySize


def _packet(size: int, aligned: bool, block: int) -> bytes:
    base = size + (5 if aligned else 1)
    padding = block - base % block
    if padding < 4:
        padding += block
    body = bytes((padding,)) + b"\x5e" * size + bytes(padding)
    return struct.pack(">I", len(body)) + body


@pytest.mark.parametrize(("cipher", "mac"), PAIRS)
def test_round_trip_and_tamper(cipher: str, mac: str) -> None:
    """Three packets survive seal/open in order; a flipped bit anywhere is a MAC error."""
    key, iv, macKey = _keys(cipher, mac)
    sealer = makeSealer(cipher, mac, key, iv, macKey)
    opener = makeOpener(cipher, mac, key, iv, macKey)
    for seq, size in enumerate((1, 100, 32768)):
        packet = _packet(size, sealer.lengthAligned, sealer.blockSize)
        wire = bytearray(b"junk" + sealer.seal(seq, packet))
        assert len(wire) == 4 + len(packet) + sealer.macSize
        length = opener.packetLength(seq, wire, 4)
        assert length == len(packet) - 4
        assert opener.open(seq, wire, 4, length) == packet[4:]
    for flip in (5, 20, -1):
        sealer = makeSealer(cipher, mac, key, iv, macKey)
        opener = makeOpener(cipher, mac, key, iv, macKey)
        packet = _packet(40, sealer.lengthAligned, sealer.blockSize)
        wire = bytearray(sealer.seal(0, packet))
        wire[flip] ^= 1
        with pytest.raises(SSHDisconnectError) as info:
            opener.open(0, wire, 0, opener.packetLength(0, wire, 0))
        assert info.value.reason == DisconnectReason.MAC_ERROR


@pytest.mark.parametrize(("cipher", "mac"), PAIRS)
def test_reordered_packet_fails(cipher: str, mac: str) -> None:
    """Packet 1 offered where packet 0 is expected does not authenticate (reorder/replay)."""
    key, iv, macKey = _keys(cipher, mac)
    sealer = makeSealer(cipher, mac, key, iv, macKey)
    opener = makeOpener(cipher, mac, key, iv, macKey)
    packet = _packet(40, sealer.lengthAligned, sealer.blockSize)
    sealer.seal(0, packet)
    wire = bytearray(sealer.seal(1, packet))
    length = opener.packetLength(0, wire, 0)
    if length == len(packet) - 4:  # the length may decrypt to garbage first (CTR without EtM)
        with pytest.raises(SSHDisconnectError):
            opener.open(0, wire, 0, length)


def test_zlib_round_trip_and_bomb() -> None:
    """zlib@openssh.com keeps one stream across packets; inflating past the bound is refused."""
    c, d = Compressor(), Decompressor(1000)
    for payload in (b"a" * 500, b"b" * 999, b"hello"):
        assert d.decompress(c.compress(payload)) == payload
    bomb = Compressor().compress(bytes(5000))
    with pytest.raises(SSHDisconnectError) as info:
        Decompressor(1000).decompress(bomb)
    assert info.value.reason == DisconnectReason.COMPRESSION_ERROR
    with pytest.raises(SSHDisconnectError):
        Decompressor(1000).decompress(b"not zlib at all")
