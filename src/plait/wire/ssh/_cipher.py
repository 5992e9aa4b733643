"""Packet protection for the SSH binary packet protocol (RFC 4253 §6, RFC 4344, RFC 5647, RFC 6668).

A *sealer* turns one plaintext packet (``uint32 packet_length || byte padding_length || payload ||
padding``) into the bytes on the wire; an *opener* does the reverse in two steps, because the
receiver must learn the packet length before it has the whole packet:

- ``packetLength(seq, buf, pos)``: the ``packet_length`` field of the packet starting at
  ``buf[pos]`` (``headerSize`` bytes must be there);
- ``open(seq, buf, pos, packetLength)``: the authenticated plaintext from ``padding_length`` to the
  end of the padding (``4 + packetLength + macSize`` bytes must be there).

Supported: ``aes128-gcm@openssh.com``/``aes256-gcm@openssh.com`` (length in clear, as AAD;
nonce = 4-byte fixed field || 8-byte invocation counter incremented per packet),
``chacha20-poly1305@openssh.com`` exactly as OpenSSH's PROTOCOL.chacha20poly1305 defines it,
``aes128/192/256-ctr`` with ``hmac-sha2-256/512`` (MAC over ``seq || plaintext``) or their
``-etm@openssh.com`` forms (length in clear, MAC over ``seq || length || ciphertext``), and
``none`` (before the first NEWKEYS). Compression: ``zlib@openssh.com`` (delayed) and ``none``.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import zlib
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from plait.wire.ssh._types import DisconnectReason, SSHDisconnectError

__all__ = [
    "CIPHERS",
    "COMPRESSIONS",
    "MACS",
    "CipherSpec",
    "Compressor",
    "Decompressor",
    "MACSpec",
    "PacketOpener",
    "PacketSealer",
    "chachaKeystream",
    "chachaPolyKey",
    "makeOpener",
    "makeSealer",
]

# What openers read from: the transport hands them a memoryview of what it received (a
# bytearray works too, with a copy per slice).
_Buf = bytes | bytearray | memoryview
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_MASK64 = (1 << 64) - 1


class CipherSpec:
    """What key exchange must derive for a cipher, and how it frames packets."""

    __slots__ = ("blockSize", "ivSize", "keySize", "kind", "name", "tagSize")

    def __init__(
        self, name: str, kind: str, keySize: int, ivSize: int, blockSize: int, tagSize: int = 0
    ) -> None:
        self.name = name
        self.kind = kind  # "gcm", "chacha", "ctr" or "none"
        self.keySize = keySize
        self.ivSize = ivSize
        self.blockSize = blockSize
        self.tagSize = tagSize  # non-zero for AEAD ciphers (no separate MAC)

    @property
    def isAEAD(self) -> bool:
        """True if the cipher authenticates itself (the negotiated MAC is ignored)."""
        return self.tagSize > 0


class MACSpec:
    """An HMAC variant: key size, digest and whether it is encrypt-then-MAC."""

    __slots__ = ("digest", "etm", "keySize", "name", "size")

    def __init__(self, name: str, digest: Any, keySize: int, etm: bool) -> None:
        self.name = name
        self.digest = digest
        self.keySize = keySize
        self.size = keySize  # SHA-2 HMACs: tag length == key length == digest length
        self.etm = etm


CIPHERS: dict[str, CipherSpec] = {
    spec.name: spec
    for spec in (
        CipherSpec("aes128-gcm@openssh.com", "gcm", 16, 12, 16, 16),
        CipherSpec("aes256-gcm@openssh.com", "gcm", 32, 12, 16, 16),
        CipherSpec("chacha20-poly1305@openssh.com", "chacha", 64, 0, 8, 16),
        CipherSpec("aes128-ctr", "ctr", 16, 16, 16),
        CipherSpec("aes192-ctr", "ctr", 24, 16, 16),
        CipherSpec("aes256-ctr", "ctr", 32, 16, 16),
        CipherSpec("none", "none", 0, 0, 8),
    )
}

MACS: dict[str, MACSpec] = {
    spec.name: spec
    for spec in (
        MACSpec("hmac-sha2-256-etm@openssh.com", hashlib.sha256, 32, True),
        MACSpec("hmac-sha2-512-etm@openssh.com", hashlib.sha512, 64, True),
        MACSpec("hmac-sha2-256", hashlib.sha256, 32, False),
        MACSpec("hmac-sha2-512", hashlib.sha512, 64, False),
        MACSpec("none", None, 0, False),
    )
}

COMPRESSIONS = ("none", "zlib@openssh.com")


def _macError() -> SSHDisconnectError:
    return SSHDisconnectError(DisconnectReason.MAC_ERROR, "corrupted MAC on input")


class PacketSealer:
    """Protects outgoing packets; the base class is the ``none`` cipher with no MAC."""

    blockSize = 8  # padding aligns the packet to this
    macSize = 0  # bytes after the packet (MAC or AEAD tag)
    lengthAligned = True  # False when the length field is left out of the alignment

    def seal(self, seq: int, packet: bytes) -> bytes:
        """The wire bytes for the plaintext ``packet`` with sequence number ``seq``."""
        return packet


class PacketOpener:
    """Unprotects incoming packets; the base class is the ``none`` cipher with no MAC."""

    blockSize = 8
    macSize = 0
    headerSize = 4  # bytes needed to learn the packet length
    lengthAligned = True

    def packetLength(self, seq: int, buf: _Buf, pos: int) -> int:
        """The ``packet_length`` field of the packet at ``buf[pos]``."""
        return int(_U32.unpack_from(buf, pos)[0])

    def open(self, seq: int, buf: _Buf, pos: int, packetLength: int) -> bytes:
        """The plaintext ``padding_length || payload || padding`` of the packet at ``buf[pos]``."""
        return bytes(buf[pos + 4 : pos + 4 + packetLength])


# -- AES-GCM (RFC 5647 as OpenSSH uses it) ----------------------------------------------------


class _GCMState:
    __slots__ = ("aead", "fixed", "invocation")

    def __init__(self, key: bytes, iv: bytes) -> None:
        self.aead = AESGCM(key)
        self.fixed = iv[:4]
        self.invocation = int.from_bytes(iv[4:12], "big")

    def nextNonce(self) -> bytes:
        nonce = self.fixed + _U64.pack(self.invocation)
        self.invocation = (self.invocation + 1) & _MASK64
        return nonce


class _GCMSealer(PacketSealer):
    blockSize = 16
    macSize = 16
    lengthAligned = False

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._state = _GCMState(key, iv)

    def seal(self, seq: int, packet: bytes) -> bytes:
        state = self._state
        view = memoryview(packet)
        length = packet[:4]
        out = bytearray(len(packet) + 16)
        out[:4] = length
        state.aead.encrypt_into(state.nextNonce(), view[4:], length, memoryview(out)[4:])
        return out  # type: ignore[return-value]  # bytes-like; joined by the caller


class _GCMOpener(PacketOpener):
    blockSize = 16
    macSize = 16
    lengthAligned = False

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._state = _GCMState(key, iv)

    def open(self, seq: int, buf: _Buf, pos: int, packetLength: int) -> bytes:
        state = self._state
        nonce = state.nextNonce()
        body = pos + 4
        try:
            return state.aead.decrypt(nonce, buf[body : body + packetLength + 16], buf[pos:body])
        except InvalidTag:
            raise _macError() from None


# -- chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305) ---------------------------------


def chachaKeystream(key: bytes, seq: int, counter: int, data: bytes) -> bytes:
    """ChaCha20 (64-bit nonce = ``seq`` big-endian, 64-bit block counter) applied to ``data``.

    cryptography takes a 16-byte nonce ``counter (LE) || nonce``; with the original 64/64 split
    that is ``counter as 8 bytes LE || seq as 8 bytes BE``.
    """
    nonce = counter.to_bytes(8, "little") + _U64.pack(seq)
    return Cipher(algorithms.ChaCha20(key, nonce), None).encryptor().update(data)


_ZERO32 = bytes(32)
_ZERO64 = bytes(64)


def _chachaStream(key: bytes, seq: int) -> CipherContext:
    """A ChaCha20 encryptor for packet ``seq`` positioned at block 0."""
    nonce = b"\0" * 8 + _U64.pack(seq)
    return Cipher(algorithms.ChaCha20(key, nonce), None).encryptor()


def chachaPolyKey(key: bytes, seq: int) -> bytes:
    """The Poly1305 key for packet ``seq``: the first 32 bytes of block 0 under the main key."""
    return chachaKeystream(key, seq, 0, _ZERO32)


class _ChaChaSealer(PacketSealer):
    blockSize = 8
    macSize = 16
    lengthAligned = False

    def __init__(self, key: bytes) -> None:
        self._main = key[:32]  # K_2
        self._header = key[32:64]  # K_1

    def seal(self, seq: int, packet: bytes) -> bytes:
        encLength = chachaKeystream(self._header, seq, 0, packet[:4])
        # one K_2 stream: block 0 gives the Poly1305 key, the body continues at block 1
        stream = _chachaStream(self._main, seq)
        mac = poly1305.Poly1305(stream.update(_ZERO64)[:32])
        encBody = stream.update(memoryview(packet)[4:])
        mac.update(encLength)
        mac.update(encBody)
        return b"".join((encLength, encBody, mac.finalize()))


class _ChaChaOpener(PacketOpener):
    blockSize = 8
    macSize = 16
    lengthAligned = False

    def __init__(self, key: bytes) -> None:
        self._main = key[:32]
        self._header = key[32:64]

    def packetLength(self, seq: int, buf: _Buf, pos: int) -> int:
        plain = chachaKeystream(self._header, seq, 0, bytes(buf[pos : pos + 4]))
        return int(_U32.unpack(plain)[0])

    def open(self, seq: int, buf: _Buf, pos: int, packetLength: int) -> bytes:
        end = pos + 4 + packetLength
        stream = _chachaStream(self._main, seq)
        mac = poly1305.Poly1305(stream.update(_ZERO64)[:32])
        mac.update(buf[pos:end])
        try:
            mac.verify(bytes(buf[end : end + 16]))
        except InvalidSignature:
            raise _macError() from None
        return stream.update(buf[pos + 4 : end])


# -- AES-CTR with HMAC-SHA2 (RFC 4344, RFC 6668, OpenSSH's -etm forms) -------------------------


class _CTRSealer(PacketSealer):
    blockSize = 16

    def __init__(self, key: bytes, iv: bytes, mac: MACSpec, macKey: bytes) -> None:
        self._encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
        self._mac = hmac.new(macKey, digestmod=mac.digest)
        self._etm = mac.etm
        self.macSize = mac.size
        self.lengthAligned = not mac.etm

    def seal(self, seq: int, packet: bytes) -> bytes:
        mac = self._mac.copy()
        mac.update(_U32.pack(seq))
        if self._etm:
            body = self._encryptor.update(memoryview(packet)[4:])
            mac.update(packet[:4])
            mac.update(body)
            return b"".join((packet[:4], body, mac.digest()))
        mac.update(packet)
        return self._encryptor.update(packet) + mac.digest()


class _CTROpener(PacketOpener):
    blockSize = 16

    def __init__(self, key: bytes, iv: bytes, mac: MACSpec, macKey: bytes) -> None:
        self._decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
        self._mac = hmac.new(macKey, digestmod=mac.digest)
        self._etm = mac.etm
        self.macSize = mac.size
        self.lengthAligned = not mac.etm
        self.headerSize = 4 if mac.etm else 16
        self._first = b""  # the decrypted first block (non-etm), kept between the two steps

    def packetLength(self, seq: int, buf: _Buf, pos: int) -> int:
        if self._etm:
            return int(_U32.unpack_from(buf, pos)[0])
        self._first = self._decryptor.update(bytes(buf[pos : pos + 16]))
        return int(_U32.unpack_from(self._first, 0)[0])

    def open(self, seq: int, buf: _Buf, pos: int, packetLength: int) -> bytes:
        end = pos + 4 + packetLength
        mac = self._mac.copy()
        mac.update(_U32.pack(seq))
        if self._etm:
            mac.update(buf[pos:end])
            if not hmac.compare_digest(mac.digest(), bytes(buf[end : end + self.macSize])):
                raise _macError()
            return self._decryptor.update(buf[pos + 4 : end])
        rest = self._decryptor.update(buf[pos + 16 : end])
        mac.update(self._first)
        mac.update(rest)
        if not hmac.compare_digest(mac.digest(), bytes(buf[end : end + self.macSize])):
            raise _macError()
        return self._first[4:] + rest


def makeSealer(
    cipher: str, mac: str, key: bytes, iv: bytes, macKey: bytes
) -> PacketSealer:  # pragma: no branch
    """The sealer for ``cipher`` (and ``mac`` unless the cipher is AEAD) with derived keys."""
    spec = CIPHERS[cipher]
    if spec.kind == "gcm":
        return _GCMSealer(key, iv)
    if spec.kind == "chacha":
        return _ChaChaSealer(key)
    if spec.kind == "ctr":
        return _CTRSealer(key, iv, MACS[mac], macKey)
    return PacketSealer()


def makeOpener(cipher: str, mac: str, key: bytes, iv: bytes, macKey: bytes) -> PacketOpener:
    """The opener for ``cipher`` (and ``mac`` unless the cipher is AEAD) with derived keys."""
    spec = CIPHERS[cipher]
    if spec.kind == "gcm":
        return _GCMOpener(key, iv)
    if spec.kind == "chacha":
        return _ChaChaOpener(key)
    if spec.kind == "ctr":
        return _CTROpener(key, iv, MACS[mac], macKey)
    return PacketOpener()


# -- compression ---------------------------------------------------------------------------------


class Compressor:
    """zlib@openssh.com outgoing: one deflate stream, a sync flush after every payload."""

    __slots__ = ("_z",)

    def __init__(self) -> None:
        self._z = zlib.compressobj(6)

    def compress(self, payload: bytes) -> bytes:
        """The compressed form of one payload."""
        z = self._z
        return z.compress(payload) + z.flush(zlib.Z_SYNC_FLUSH)


class Decompressor:
    """zlib@openssh.com incoming, with the inflated payload bounded to ``maxSize`` bytes."""

    __slots__ = ("_maxSize", "_z")

    def __init__(self, maxSize: int) -> None:
        self._z = zlib.decompressobj()
        self._maxSize = maxSize

    def decompress(self, payload: bytes) -> bytes:
        """The inflated payload; a bomb or corrupt stream is a COMPRESSION_ERROR."""
        z = self._z
        try:
            out = z.decompress(payload, self._maxSize)
        except zlib.error:
            raise SSHDisconnectError(
                DisconnectReason.COMPRESSION_ERROR, "corrupt compressed payload"
            ) from None
        if z.unconsumed_tail:
            raise SSHDisconnectError(
                DisconnectReason.COMPRESSION_ERROR,
                f"compressed payload inflates past {self._maxSize} bytes",
            )
        return out
