"""Key exchange methods, the exchange hash and key derivation (RFC 4253 §7-8, RFC 5656, RFC 8731,
RFC 8268, draft-ietf-sshm-mlkem-hybrid-kex).

A method object is used once, for one exchange, by one side:

- client: ``clientInit()`` gives the encoded field of SSH_MSG_KEX*_INIT (also hashed as is);
  ``clientFinish(reader)`` reads the server's field from the reply and returns
  ``(serverField, sharedSecret)``;
- server: ``serverReply(reader)`` reads the client's field and returns
  ``(clientField, serverField, sharedSecret)``.

Fields and the shared secret come back already encoded the way the exchange hash wants them
(``string`` or ``mpint``), so the hash is ``HASH(V_C || V_S || I_C || I_S || K_S || clientField ||
serverField || K)`` for every method.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization as _serialization
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519

from plait.wire.ssh._types import (
    DisconnectReason,
    SSHDisconnectError,
    SSHReader,
    encodeMPInt,
    encodeString,
)

__all__ = [
    "HOST_KEY_TYPES",
    "KEX_METHODS",
    "KexMethod",
    "deriveKey",
    "exchangeHash",
]

RandomBytes = Callable[[int], bytes]

# RFC 3526 MODP groups (generator 2); checked against their pi-based definition in the tests.
_GROUP14 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
    "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
    "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)
_GROUP16 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
    "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
    "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7D"
    "B3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
    "43DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D788719A10BDBA5B2699C327186AF4E23C"
    "1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D"
    "99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF",
    16,
)
_GROUP18 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
    "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
    "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
    "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7D"
    "B3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
    "43DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D788719A10BDBA5B2699C327186AF4E23C"
    "1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D"
    "99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026C1D4DCB2602646DE"
    "C9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AEB06A53ED9027D831179727B0865A8918"
    "DA3EDBEBCF9B14ED44CE6CBACED4BB1BDB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF"
    "5983CA01C64B92ECF032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E"
    "59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AACC8F6D7EBF48E1D8"
    "14CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76F550AA3D8A1FBFF0EB19CCB1A313D55C"
    "DA56C9EC2EF29632387FE8D76E3C0468043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DBE1159"
    "74A3926F12FEE5E438777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED"
    "2576F6936BA424663AAB639C5AE4F5683423B4742BF1C978238F16CBE39D652DE3FDB8BEFC848AD9"
    "22222E04A4037C0713EB57A81A23F0C73473FC646CEA306B4BCBC8862F8385DDFA9D4B7FA2C087E8"
    "79683303ED5BDD3A062B3CF5B3A278A66D2A13F83F44F82DDF310EE074AB6A364597E899A0255DC1"
    "64F31CC50846851DF9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F92"
    "4009438B481C6CD7889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA9E3050E2765694DF"
    "C81F56E880B96E7160C980DD98EDD3DFFFFFFFFFFFFFFFFF",
    16,
)


def _kexFailed(why: str) -> SSHDisconnectError:
    return SSHDisconnectError(DisconnectReason.KEY_EXCHANGE_FAILED, why)


class KexMethod:
    """One key exchange by one side; subclasses implement a family of methods."""

    name = ""
    hashFunc: Any = hashlib.sha256

    def __init__(self, randomBytes: RandomBytes) -> None:
        self._random = randomBytes

    def clientInit(self) -> bytes:
        """The client's encoded field for SSH_MSG_KEX*_INIT."""
        raise NotImplementedError

    def clientFinish(self, reader: SSHReader) -> tuple[bytes, bytes]:
        """Read the server's field; return it encoded and the encoded shared secret."""
        raise NotImplementedError

    def serverReply(self, reader: SSHReader) -> tuple[bytes, bytes, bytes]:
        """Read the client's field; return it, the server's field and the shared secret."""
        raise NotImplementedError


class _Curve25519(KexMethod):
    """curve25519-sha256 (RFC 8731): K is the X25519 output as an mpint."""

    def __init__(self, randomBytes: RandomBytes) -> None:
        super().__init__(randomBytes)
        self._private = x25519.X25519PrivateKey.from_private_bytes(randomBytes(32))
        self._public = self._private.public_key().public_bytes_raw()

    def _shared(self, peer: bytes) -> bytes:
        if len(peer) != 32:
            raise _kexFailed("X25519 public key is not 32 bytes")
        try:
            secret = self._private.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
        except ValueError:
            raise _kexFailed("X25519 shared secret is all zero") from None
        return secret

    def clientInit(self) -> bytes:
        return encodeString(self._public)

    def clientFinish(self, reader: SSHReader) -> tuple[bytes, bytes]:
        peer = reader.string()
        return encodeString(peer), encodeMPInt(int.from_bytes(self._shared(peer), "big"))

    def serverReply(self, reader: SSHReader) -> tuple[bytes, bytes, bytes]:
        peer = reader.string()
        secret = encodeMPInt(int.from_bytes(self._shared(peer), "big"))
        return encodeString(peer), encodeString(self._public), secret


class _ECDH(KexMethod):
    """ecdh-sha2-nistp256/384/521 (RFC 5656): K is the shared x coordinate as an mpint."""

    curve: Any = ec.SECP256R1

    def __init__(self, randomBytes: RandomBytes) -> None:
        super().__init__(randomBytes)
        curve = self.curve()
        order = _ORDERS[self.name]
        scalar = int.from_bytes(randomBytes((order.bit_length() + 64 + 7) // 8), "big")
        self._private = ec.derive_private_key(scalar % (order - 1) + 1, curve)
        self._public = self._private.public_key().public_bytes(
            _serialization.Encoding.X962, _serialization.PublicFormat.UncompressedPoint
        )

    def _shared(self, peer: bytes) -> bytes:
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(self.curve(), peer)
            secret = self._private.exchange(ec.ECDH(), point)
        except ValueError:
            raise _kexFailed("invalid ECDH public point") from None
        return encodeMPInt(int.from_bytes(secret, "big"))

    def clientInit(self) -> bytes:
        return encodeString(self._public)

    def clientFinish(self, reader: SSHReader) -> tuple[bytes, bytes]:
        peer = reader.string()
        return encodeString(peer), self._shared(peer)

    def serverReply(self, reader: SSHReader) -> tuple[bytes, bytes, bytes]:
        peer = reader.string()
        return encodeString(peer), encodeString(self._public), self._shared(peer)


class _ECDH256(_ECDH):
    name = "ecdh-sha2-nistp256"
    curve = ec.SECP256R1
    hashFunc = hashlib.sha256


class _ECDH384(_ECDH):
    name = "ecdh-sha2-nistp384"
    curve = ec.SECP384R1
    hashFunc = hashlib.sha384


class _ECDH521(_ECDH):
    name = "ecdh-sha2-nistp521"
    curve = ec.SECP521R1
    hashFunc = hashlib.sha512


_ORDERS = {
    "ecdh-sha2-nistp256": int(
        "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16
    ),
    "ecdh-sha2-nistp384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "ecdh-sha2-nistp521": int(
        "01FF" + "FFFFFFFF" * 7 + "FFFFFFFA"
        "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}


class _DH(KexMethod):
    """diffie-hellman-group14-sha256 / group16-sha512 / group18-sha512 (RFC 8268)."""

    prime = _GROUP14
    exponentBits = 512  # at least twice each group's strength (<= 256 bits for group18)

    def __init__(self, randomBytes: RandomBytes) -> None:
        super().__init__(randomBytes)
        x = int.from_bytes(randomBytes(self.exponentBits // 8), "big") | (
            1 << (self.exponentBits - 1)
        )
        self._x = x
        self._public = pow(2, x, self.prime)

    def _shared(self, peer: int) -> bytes:
        if not 1 < peer < self.prime - 1:
            raise _kexFailed("Diffie-Hellman public value out of range")
        return encodeMPInt(pow(peer, self._x, self.prime))

    def clientInit(self) -> bytes:
        return encodeMPInt(self._public)

    def clientFinish(self, reader: SSHReader) -> tuple[bytes, bytes]:
        peer = reader.mpint()
        return encodeMPInt(peer), self._shared(peer)

    def serverReply(self, reader: SSHReader) -> tuple[bytes, bytes, bytes]:
        peer = reader.mpint()
        return encodeMPInt(peer), encodeMPInt(self._public), self._shared(peer)


class _DH14(_DH):
    name = "diffie-hellman-group14-sha256"
    prime = _GROUP14
    exponentBits = 512
    hashFunc = hashlib.sha256


class _DH16(_DH):
    name = "diffie-hellman-group16-sha512"
    prime = _GROUP16
    exponentBits = 512
    hashFunc = hashlib.sha512


class _DH18(_DH):
    name = "diffie-hellman-group18-sha512"
    prime = _GROUP18
    exponentBits = 512
    hashFunc = hashlib.sha512


_MLKEM_PUBLIC = 1184
_MLKEM_CIPHERTEXT = 1088


class _MLKEMX25519(KexMethod):
    """mlkem768x25519-sha256: C_INIT = mlkem pk || x25519 pk; S_REPLY = ciphertext || x25519 pk;
    K = SHA256(mlkem secret || x25519 secret), hashed and used as a string (not an mpint)."""

    name = "mlkem768x25519-sha256"

    def __init__(self, randomBytes: RandomBytes) -> None:
        super().__init__(randomBytes)
        self._x25519 = x25519.X25519PrivateKey.from_private_bytes(randomBytes(32))
        self._x25519Public = self._x25519.public_key().public_bytes_raw()

    def _x25519Shared(self, peer: bytes) -> bytes:
        try:
            return self._x25519.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
        except ValueError:
            raise _kexFailed("X25519 shared secret is all zero") from None

    def clientInit(self) -> bytes:
        self._mlkem = mlkem.MLKEM768PrivateKey.from_seed_bytes(self._random(64))
        return encodeString(self._mlkem.public_key().public_bytes_raw() + self._x25519Public)

    def clientFinish(self, reader: SSHReader) -> tuple[bytes, bytes]:
        reply = reader.string()
        if len(reply) != _MLKEM_CIPHERTEXT + 32:
            raise _kexFailed("mlkem768x25519 reply has the wrong length")
        try:
            kemSecret = self._mlkem.decapsulate(reply[:_MLKEM_CIPHERTEXT])
        except ValueError:
            raise _kexFailed("invalid ML-KEM ciphertext") from None
        secret = hashlib.sha256(kemSecret + self._x25519Shared(reply[_MLKEM_CIPHERTEXT:]))
        return encodeString(reply), encodeString(secret.digest())

    def serverReply(self, reader: SSHReader) -> tuple[bytes, bytes, bytes]:
        init = reader.string()
        if len(init) != _MLKEM_PUBLIC + 32:
            raise _kexFailed("mlkem768x25519 init has the wrong length")
        try:
            public = mlkem.MLKEM768PublicKey.from_public_bytes(init[:_MLKEM_PUBLIC])
            kemSecret, ciphertext = public.encapsulate()
        except ValueError:
            raise _kexFailed("invalid ML-KEM public key") from None
        secret = hashlib.sha256(kemSecret + self._x25519Shared(init[_MLKEM_PUBLIC:]))
        reply = ciphertext + self._x25519Public
        return encodeString(init), encodeString(reply), encodeString(secret.digest())


class _Curve25519LibSSH(_Curve25519):
    name = "curve25519-sha256@libssh.org"


class _Curve25519Std(_Curve25519):
    name = "curve25519-sha256"


KEX_METHODS: dict[str, type[KexMethod]] = {
    cls.name: cls
    for cls in (
        _MLKEMX25519,
        _Curve25519Std,
        _Curve25519LibSSH,
        _ECDH256,
        _ECDH384,
        _ECDH521,
        _DH14,
        _DH16,
        _DH18,
    )
}

# host key (signature) algorithm -> the key type whose blob carries it (RFC 8332 for RSA)
HOST_KEY_TYPES: dict[str, str] = {
    "ssh-ed25519": "ssh-ed25519",
    "ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384": "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521": "ecdsa-sha2-nistp521",
    "rsa-sha2-512": "ssh-rsa",
    "rsa-sha2-256": "ssh-rsa",
}


def exchangeHash(
    hashFunc: Any,
    clientVersion: bytes,
    serverVersion: bytes,
    clientKexInit: bytes,
    serverKexInit: bytes,
    hostKeyBlob: bytes,
    clientField: bytes,
    serverField: bytes,
    sharedSecret: bytes,
) -> bytes:
    """H (RFC 4253 §8): versions without CR LF, KEXINIT payloads, host key, fields, K."""
    h = hashFunc()
    for value in (clientVersion, serverVersion, clientKexInit, serverKexInit, hostKeyBlob):
        h.update(encodeString(value))
    h.update(clientField)
    h.update(serverField)
    h.update(sharedSecret)
    return bytes(h.digest())


def deriveKey(
    hashFunc: Any, sharedSecret: bytes, exchange: bytes, letter: bytes, sessionID: bytes, size: int
) -> bytes:
    """RFC 4253 §7.2: HASH(K || H || letter || session_id), extended by HASH(K || H || K1 ...)."""
    key = bytes(hashFunc(sharedSecret + exchange + letter + sessionID).digest())
    while len(key) < size:
        key += hashFunc(sharedSecret + exchange + key).digest()
    return key[:size]
