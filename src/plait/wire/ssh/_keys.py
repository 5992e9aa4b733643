"""SSH public and private keys: blobs, signatures, fingerprints, generation (see ``keys``).

The SSH encodings (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8332, RFC 8709) are written here on top of
``plait.wire.ssh.types``; the arithmetic comes from ``cryptography``. File formats live in
``_keys_files``, ``authorized_keys`` in ``_keys_authorized``, ``known_hosts`` in ``_keys_known``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from plait.wire._errors import ProtocolError
from plait.wire.ssh._types import SSHReader, SSHWriter, encodeString

# Bounds (OpenSSH's own): smaller RSA moduli are refused, larger ones are a CPU attack.
RSA_MIN_BITS = 1024
RSA_MAX_BITS = 16384
# No key blob, signature blob or key line we accept is anywhere near this.
MAX_BLOB = 16384

RandomBytes = Callable[[int], bytes]

_CURVES: dict[str, tuple[str, type[ec.EllipticCurve], hashes.HashAlgorithm, int]] = {
    # key type -> (curve identifier, curve, signature hash, field bytes)
    "ecdsa-sha2-nistp256": ("nistp256", ec.SECP256R1, hashes.SHA256(), 32),
    "ecdsa-sha2-nistp384": ("nistp384", ec.SECP384R1, hashes.SHA384(), 48),
    "ecdsa-sha2-nistp521": ("nistp521", ec.SECP521R1, hashes.SHA512(), 66),
}
_CURVE_BY_BITS = {
    256: "ecdsa-sha2-nistp256",
    384: "ecdsa-sha2-nistp384",
    521: "ecdsa-sha2-nistp521",
}
_RSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "rsa-sha2-512": hashes.SHA512(),
    "rsa-sha2-256": hashes.SHA256(),
    "ssh-rsa": hashes.SHA1(),
}

#: Public key types this module reads (private keys: all but the ``sk-`` security keys).
KEY_TYPES = (
    "ssh-ed25519",
    *_CURVES,
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


class KeyFormatError(ValueError):
    """Bytes that are not a key (or a key line, file or signature) plait can read."""


class EncryptedKeyError(KeyFormatError):
    """The private key is encrypted and no passphrase was given."""


class BadPassphraseError(KeyFormatError):
    """The passphrase does not decrypt the private key."""


def _reader(data: bytes) -> SSHReader:
    if len(data) > MAX_BLOB:
        raise KeyFormatError(f"key data too long ({len(data)} bytes)")
    return SSHReader(data)


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFormatError(f"non-ASCII {what}") from None


def splitSignature(signature: bytes) -> tuple[str, bytes]:
    """Split an SSH signature blob (``string algorithm, string signature``).

    Raises ``KeyFormatError`` when it is not one.
    """
    try:
        r = _reader(signature)
        alg = _text(r.string(), "signature algorithm")
        raw = r.string()
        r.done()
    except ProtocolError as e:
        raise KeyFormatError(f"malformed signature blob: {e}") from None
    return alg, raw


class PublicKey:
    """An SSH public key; equal (and hashed) by its blob.

    Build one with ``parsePublicKeyBlob``, ``parsePublicKey``, ``PrivateKey.publicKey()`` or
    ``PublicKey.fromCryptography``.
    """

    keyType: str
    comment: str
    _blob: bytes

    def __init__(self) -> None:
        raise TypeError("use parsePublicKeyBlob, parsePublicKey or PublicKey.fromCryptography")

    @staticmethod
    def fromCryptography(
        key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
        comment: str = "",
    ) -> PublicKey:
        """Wrap a ``cryptography`` public key object."""
        cls: type[PublicKey]
        if isinstance(key, ed25519.Ed25519PublicKey):
            cls = _Ed25519Public
        elif isinstance(key, ec.EllipticCurvePublicKey):
            cls = _ECDSAPublic
        elif isinstance(key, rsa.RSAPublicKey):
            cls = _RSAPublic
        else:
            raise KeyFormatError(f"unsupported key object {type(key).__name__}")
        self = object.__new__(cls)
        self._init(key, comment)
        return self

    def _init(self, key: object, comment: str) -> None:
        raise NotImplementedError

    @property
    def cryptographyKey(
        self,
    ) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
        """The underlying ``cryptography`` key object."""
        raise NotImplementedError

    def blob(self) -> bytes:
        """The public key blob (RFC 4253 §6.6)."""
        return self._blob

    def bits(self) -> int:
        """The key size in bits, as ``ssh-keygen -l`` shows it."""
        raise NotImplementedError

    def signatureAlgorithms(self) -> tuple[str, ...]:
        """The signature algorithms this key verifies, preferred first (SHA-1 ``ssh-rsa`` not
        included)."""
        return (self.keyType,)

    def verify(
        self,
        signature: bytes,
        data: bytes,
        *,
        allowSHA1: bool = False,
        algorithm: str | None = None,
        requireTouch: bool = True,
        requireVerification: bool = False,
    ) -> bool:
        """Whether ``signature`` (an SSH signature blob) signs ``data`` with this key.

        A malformed blob, an algorithm this key does not verify (or other than ``algorithm``
        when given), or a SHA-1 ``ssh-rsa`` signature without ``allowSHA1`` is ``False``.
        For security-key (``sk-``) keys the authenticator's flags must show user presence
        (unless not ``requireTouch``: ``no-touch-required``) and, with ``requireVerification``
        (``verify-required``), user verification.
        """
        if len(signature) > MAX_BLOB:
            return False
        r = SSHReader(signature)
        try:
            alg = r.string().decode("ascii")
        except (ProtocolError, UnicodeDecodeError):
            return False
        if algorithm is not None and alg != algorithm:
            return False
        if alg not in self.signatureAlgorithms() and not (
            allowSHA1 and alg == "ssh-rsa" and self.keyType == "ssh-rsa"
        ):
            return False
        try:
            return self._verify(alg, r, data, requireTouch, requireVerification)
        except (InvalidSignature, ValueError, ProtocolError):
            return False

    def _verify(
        self, alg: str, r: SSHReader, data: bytes, requireTouch: bool, requireVerification: bool
    ) -> bool:
        raw = r.string()
        r.done()
        return self._verifyRaw(alg, raw, data)

    def _verifyRaw(self, alg: str, raw: bytes, data: bytes) -> bool:
        raise NotImplementedError

    def fingerprint(self, hashName: Literal["sha256", "md5"] = "sha256") -> str:
        """``SHA256:<base64, no padding>`` (or ``MD5:aa:bb:..``), as ``ssh-keygen -l`` prints."""
        if hashName == "md5":
            hexed = hashlib.md5(self._blob, usedforsecurity=False).hexdigest()
            return "MD5:" + ":".join(hexed[i : i + 2] for i in range(0, len(hexed), 2))
        if hashName != "sha256":
            raise ValueError(f"unknown fingerprint hash {hashName!r}")
        digest = hashlib.sha256(self._blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def toOpenSSH(self, comment: str = "") -> bytes:
        """The OpenSSH public key line ``type base64 [comment]`` (no newline)."""
        line = self.keyType.encode("ascii") + b" " + base64.b64encode(self._blob)
        if comment:
            line += b" " + comment.encode("utf-8")
        return line

    def toPEM(self) -> bytes:
        """The key as a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo)."""
        from cryptography.hazmat.primitives import serialization

        return self.cryptographyKey.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self._blob == other._blob

    def __hash__(self) -> int:
        return hash(self._blob)

    def __repr__(self) -> str:
        return f"<PublicKey {self.keyType} {self.fingerprint()}>"


class _Ed25519Public(PublicKey):
    _key: ed25519.Ed25519PublicKey

    def _init(self, key: object, comment: str) -> None:
        assert isinstance(key, ed25519.Ed25519PublicKey)
        self._key = key
        self.keyType = "ssh-ed25519"
        self.comment = comment
        self._blob = SSHWriter().string(self.keyType).string(key.public_bytes_raw()).bytes()

    @property
    def cryptographyKey(self) -> ed25519.Ed25519PublicKey:
        return self._key

    def bits(self) -> int:
        return 256

    def _verifyRaw(self, alg: str, raw: bytes, data: bytes) -> bool:
        if len(raw) != 64:
            return False
        self._key.verify(raw, data)
        return True


class _ECDSAPublic(PublicKey):
    _key: ec.EllipticCurvePublicKey

    def _init(self, key: object, comment: str) -> None:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        keyType = _CURVE_BY_BITS.get(key.curve.key_size)
        if keyType is None or not isinstance(key.curve, _CURVES[keyType][1]):
            raise KeyFormatError(f"unsupported elliptic curve {key.curve.name}")
        self._key = key
        self.keyType = keyType
        self.comment = comment
        from cryptography.hazmat.primitives import serialization

        point = key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self._blob = SSHWriter().string(keyType).string(_CURVES[keyType][0]).string(point).bytes()

    @property
    def cryptographyKey(self) -> ec.EllipticCurvePublicKey:
        return self._key

    def bits(self) -> int:
        return self._key.curve.key_size

    def _verifyRaw(self, alg: str, raw: bytes, data: bytes) -> bool:
        r = SSHReader(raw)
        sigR, sigS = r.mpint(), r.mpint()
        r.done()
        if sigR <= 0 or sigS <= 0:
            return False
        self._key.verify(encode_dss_signature(sigR, sigS), data, ec.ECDSA(_CURVES[alg][2]))
        return True


class _RSAPublic(PublicKey):
    _key: rsa.RSAPublicKey

    def _init(self, key: object, comment: str) -> None:
        assert isinstance(key, rsa.RSAPublicKey)
        if not RSA_MIN_BITS <= key.key_size <= RSA_MAX_BITS:
            raise KeyFormatError(
                f"RSA key of {key.key_size} bits (allowed {RSA_MIN_BITS}..{RSA_MAX_BITS})"
            )
        self._key = key
        self.keyType = "ssh-rsa"
        self.comment = comment
        nums = key.public_numbers()
        self._blob = SSHWriter().string("ssh-rsa").mpint(nums.e).mpint(nums.n).bytes()

    @property
    def cryptographyKey(self) -> rsa.RSAPublicKey:
        return self._key

    def bits(self) -> int:
        return self._key.key_size

    def signatureAlgorithms(self) -> tuple[str, ...]:
        return ("rsa-sha2-512", "rsa-sha2-256")

    def _verifyRaw(self, alg: str, raw: bytes, data: bytes) -> bool:
        size = (self._key.key_size + 7) // 8
        if len(raw) > size:
            return False
        # Some signers drop leading zero bytes; OpenSSH pads them back.
        raw = raw.rjust(size, b"\x00")
        self._key.verify(raw, data, padding.PKCS1v15(), _RSA_HASHES[alg])
        return True


_SK_ED25519 = "sk-ssh-ed25519@openssh.com"
_SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com"
_SK_USER_PRESENT = 0x01
_SK_USER_VERIFIED = 0x04


class _SecurityKeyPublic(PublicKey):
    """A FIDO/U2F security-key public key (OpenSSH's PROTOCOL.u2f): an Ed25519 or P-256 key
    plus the application string; the authenticator signs SHA256(application) || flags ||
    counter || SHA256(data)."""

    _inner: PublicKey
    application: bytes

    @classmethod
    def _make(cls, keyType: str, inner: PublicKey, application: bytes) -> _SecurityKeyPublic:
        self = object.__new__(cls)
        self.keyType = keyType
        self.comment = ""
        self._inner = inner
        self.application = application
        # the inner blob without its key type string, then the application
        innerFields = inner.blob()[4 + len(inner.keyType) :]
        self._blob = SSHWriter().string(keyType).raw(innerFields).string(application).bytes()
        return self

    @property
    def cryptographyKey(
        self,
    ) -> ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
        return self._inner.cryptographyKey

    def bits(self) -> int:
        return self._inner.bits()

    def toPEM(self) -> bytes:
        raise KeyFormatError("security-key public keys have no PEM form")

    def _verify(
        self, alg: str, r: SSHReader, data: bytes, requireTouch: bool, requireVerification: bool
    ) -> bool:
        raw = r.string()
        flags = r.byte()
        counter = r.uint32()
        r.done()
        if requireTouch and not flags & _SK_USER_PRESENT:
            return False
        if requireVerification and not flags & _SK_USER_VERIFIED:
            return False
        signed = (
            hashlib.sha256(self.application).digest()
            + bytes((flags,))
            + counter.to_bytes(4, "big")
            + hashlib.sha256(data).digest()
        )
        return self._inner._verifyRaw(self._inner.keyType, raw, signed)


def parsePublicKeyBlob(blob: bytes) -> PublicKey:
    """The public key in an SSH key blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709).

    Anything else (truncated, trailing bytes, unknown type, point not on the curve, RSA key
    outside 1024..16384 bits) raises ``KeyFormatError``.
    """
    try:
        r = _reader(blob)
        keyType = _text(r.string(), "key type")
        key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
        if keyType == "ssh-ed25519":
            raw = r.string()
            r.done()
            if len(raw) != 32:
                raise KeyFormatError("ssh-ed25519 key is not 32 bytes")
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        elif keyType in _CURVES:
            curveName, curve, _, _ = _CURVES[keyType]
            if r.string() != curveName.encode():
                raise KeyFormatError(f"{keyType} key names another curve")
            point = r.string()
            r.done()
            if not point or point[0] != 4:
                raise KeyFormatError("ECDSA point is not uncompressed")
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve(), point)
        elif keyType == "ssh-rsa":
            e, n = r.mpint(), r.mpint()
            r.done()
            if n <= 0 or not RSA_MIN_BITS <= n.bit_length() <= RSA_MAX_BITS:
                raise KeyFormatError(
                    f"RSA key of {n.bit_length()} bits (allowed {RSA_MIN_BITS}..{RSA_MAX_BITS})"
                )
            if e < 3 or e % 2 == 0 or e >= n:
                raise KeyFormatError("bad RSA public exponent")
            key = rsa.RSAPublicNumbers(e, n).public_key()
        elif keyType in (_SK_ED25519, _SK_ECDSA):
            if keyType == _SK_ED25519:
                innerBlob = SSHWriter().string("ssh-ed25519").string(r.string())
            else:
                innerBlob = SSHWriter().string("ecdsa-sha2-nistp256").string(r.string())
                innerBlob.string(r.string())
            application = r.string()
            r.done()
            if not application or b"\x00" in application:
                raise KeyFormatError(f"{keyType} key has a bad application string")
            inner = parsePublicKeyBlob(innerBlob.bytes())
            return _SecurityKeyPublic._make(keyType, inner, application)
        elif keyType.endswith("-cert-v01@openssh.com"):
            from plait.wire.ssh._keys_cert import parseCertificateBlob

            return parseCertificateBlob(blob, keyType)
        else:
            raise KeyFormatError(f"unsupported key type {keyType!r}")
    except ProtocolError as e:
        raise KeyFormatError(f"malformed key blob: {e}") from None
    except (ValueError, UnsupportedAlgorithm) as e:
        if isinstance(e, KeyFormatError):
            raise
        raise KeyFormatError(f"invalid {keyType} key: {e}") from None
    result = PublicKey.fromCryptography(key)
    if result._blob != blob:  # non-minimal mpints and the like: one key, one blob
        raise KeyFormatError("key blob is not in canonical form")
    return result


PrivateCryptoKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class PrivateKey:
    """An SSH private key: signs, and knows its public half.

    Build one with ``PrivateKey.generate``, ``loadPrivateKey`` or
    ``PrivateKey.fromCryptography``.
    """

    def __init__(self, key: PrivateCryptoKey, comment: str = "") -> None:
        """Wrap a ``cryptography`` private key object (see also ``fromCryptography``)."""
        self._key = key
        self.comment = comment
        self._public = PublicKey.fromCryptography(key.public_key(), comment)
        self.keyType = self._public.keyType

    @classmethod
    def fromCryptography(cls, key: PrivateCryptoKey, comment: str = "") -> PrivateKey:
        """Wrap a ``cryptography`` private key object."""
        if not isinstance(
            key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        ):
            raise KeyFormatError(f"unsupported key object {type(key).__name__}")
        return cls(key, comment)

    @classmethod
    def generate(
        cls, kind: Literal["ed25519", "ecdsa", "rsa"] | str, bits: int | None = None
    ) -> PrivateKey:
        """A new key: ``ed25519``; ``ecdsa`` with 256 (default), 384 or 521 bits; ``rsa`` with
        ``bits`` (default 3072, at least 2048 and at most 16384)."""
        key: PrivateCryptoKey
        if kind == "ed25519":
            if bits not in (None, 256):
                raise ValueError("ed25519 keys have a fixed size")
            key = ed25519.Ed25519PrivateKey.generate()
        elif kind == "ecdsa":
            keyType = _CURVE_BY_BITS.get(bits or 256)
            if keyType is None:
                raise ValueError("ecdsa keys are 256, 384 or 521 bits")
            key = ec.generate_private_key(_CURVES[keyType][1]())
        elif kind == "rsa":
            bits = bits or 3072
            if not 2048 <= bits <= RSA_MAX_BITS:
                raise ValueError(f"RSA keys are 2048..{RSA_MAX_BITS} bits")
            key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        else:
            raise ValueError(f"unknown key kind {kind!r} (ed25519, ecdsa or rsa)")
        return cls(key)

    @property
    def cryptographyKey(self) -> PrivateCryptoKey:
        """The underlying ``cryptography`` key object."""
        return self._key

    def publicKey(self) -> PublicKey:
        """The public half."""
        return self._public

    def signatureAlgorithms(self) -> tuple[str, ...]:
        """The signature algorithms this key signs with, preferred first."""
        return self._public.signatureAlgorithms()

    def sign(self, data: bytes, algorithm: str | None = None) -> bytes:
        """Sign ``data``; the SSH signature blob (``string algorithm, string signature``).

        ``algorithm`` defaults to the first of ``signatureAlgorithms()``; an RSA key also signs
        ``ssh-rsa`` (SHA-1) when asked by name.
        """
        alg = algorithm or self.signatureAlgorithms()[0]
        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey) and alg == "ssh-ed25519":
            raw = key.sign(data)
        elif isinstance(key, ec.EllipticCurvePrivateKey) and alg == self.keyType:
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_CURVES[alg][2])))
            raw = SSHWriter().mpint(r).mpint(s).bytes()
        elif isinstance(key, rsa.RSAPrivateKey) and alg in _RSA_HASHES:
            raw = key.sign(data, padding.PKCS1v15(), _RSA_HASHES[alg])
        else:
            raise ValueError(f"a {self.keyType} key cannot sign with {alg!r}")
        return encodeString(alg.encode("ascii")) + encodeString(raw)

    def toOpenSSH(
        self,
        passphrase: bytes | str | None = None,
        comment: str | None = None,
        *,
        rounds: int = 16,
        randomBytes: RandomBytes | None = None,
    ) -> bytes:
        """The key as an OpenSSH private key file (``openssh-key-v1``).

        With a passphrase it is encrypted with aes256-ctr under a bcrypt-derived key
        (``rounds`` bcrypt rounds), as ``ssh-keygen -N`` does.
        """
        from plait.wire.ssh._keys_files import encodeOpenSSHPrivate

        return encodeOpenSSHPrivate(
            self,
            passphrase,
            self.comment if comment is None else comment,
            rounds=rounds,
            randomBytes=randomBytes,
        )

    def toPEM(self, passphrase: bytes | str | None = None) -> bytes:
        """The key as PEM PKCS#8 (``ENCRYPTED PRIVATE KEY`` with a passphrase).

        OpenSSH reads these for ECDSA and RSA keys; for Ed25519 keys (which OpenSSH 9.2 does not
        read as PEM) prefer ``toOpenSSH``.
        """
        from cryptography.hazmat.primitives import serialization

        enc: serialization.KeySerializationEncryption
        if passphrase:
            if isinstance(passphrase, str):
                passphrase = passphrase.encode("utf-8")
            enc = serialization.BestAvailableEncryption(passphrase)
        else:
            enc = serialization.NoEncryption()
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )

    def __repr__(self) -> str:
        return f"<PrivateKey {self.keyType} {self._public.fingerprint()}>"
