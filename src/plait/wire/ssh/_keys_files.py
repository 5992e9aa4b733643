"""Key files and lines: OpenSSH private keys (openssh-key-v1), PEM, public key lines.

openssh-key-v1 (OpenSSH's PROTOCOL.key)::

    "openssh-key-v1\\0" string cipher, string kdf, string kdfoptions, uint32 n=1,
    string publickey, string private-section
    private-section = uint32 check, uint32 check, string keytype, <fields>, string comment,
                      padding 1, 2, 3, ... to the cipher's block size

encrypted with a key and IV from ``bcrypt_pbkdf(passphrase, salt, rounds)``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305

from plait.wire._errors import ProtocolError
from plait.wire.ssh._keys import (
    _CURVES,
    MAX_BLOB,
    RSA_MAX_BITS,
    RSA_MIN_BITS,
    BadPassphraseError,
    EncryptedKeyError,
    KeyFormatError,
    PrivateCryptoKey,
    PrivateKey,
    PublicKey,
    RandomBytes,
    parsePublicKeyBlob,
)
from plait.wire.ssh._types import SSHReader, SSHWriter

_MAGIC = b"openssh-key-v1\x00"
_BEGIN = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_END = b"-----END OPENSSH PRIVATE KEY-----"
# A key file is a few KiB at most (a 16384-bit RSA key is ~12 KiB in PEM).
MAX_KEY_FILE = 65536
MAX_KDF_ROUNDS = 1024

# cipher name -> (key length, IV length, block size, mode)
_CIPHERS = {
    "none": (0, 0, 8, "none"),
    "aes128-ctr": (16, 16, 16, "ctr"),
    "aes192-ctr": (24, 16, 16, "ctr"),
    "aes256-ctr": (32, 16, 16, "ctr"),
    "aes128-cbc": (16, 16, 16, "cbc"),
    "aes256-cbc": (32, 16, 16, "cbc"),
    "aes256-gcm@openssh.com": (32, 12, 16, "gcm"),
    "chacha20-poly1305@openssh.com": (64, 0, 8, "chacha"),
}


def _passphraseBytes(passphrase: bytes | str | None) -> bytes | None:
    if isinstance(passphrase, str):
        return passphrase.encode("utf-8")
    return passphrase


def _bcryptKDF(passphrase: bytes, salt: bytes, length: int, rounds: int) -> bytes:
    import bcrypt

    return bcrypt.kdf(
        password=passphrase,
        salt=salt,
        desired_key_bytes=length,
        rounds=rounds,
        ignore_few_rounds=True,  # OpenSSH itself uses 16 rounds
    )


def _crypt(mode: str, key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    mode_: modes.CTR | modes.CBC = modes.CTR(iv) if mode == "ctr" else modes.CBC(iv)
    cipher = Cipher(algorithms.AES(key), mode_)
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


def _chachaPolyOpen(key: bytes, data: bytes, tag: bytes) -> bytes:
    """OpenSSH's chacha20-poly1305 with sequence number 0 and no length header (PROTOCOL.
    chacha20poly1305): the Poly1305 key is block 0 of the keystream, the data uses blocks 1+."""
    nonce = bytes(8)  # the sequence number, big-endian
    polyKey = Cipher(algorithms.ChaCha20(key, bytes(8) + nonce), None).encryptor()
    mac = Poly1305(polyKey.update(bytes(32)))
    mac.update(data)
    try:
        mac.verify(tag)
    except InvalidSignature:
        raise BadPassphraseError("wrong passphrase for the private key") from None
    stream = Cipher(algorithms.ChaCha20(key, (1).to_bytes(8, "little") + nonce), None)
    return stream.decryptor().update(data)


def _privateFields(key: PrivateKey) -> bytes:
    k = key.cryptographyKey
    w = SSHWriter().string(key.keyType)
    if isinstance(k, ed25519.Ed25519PrivateKey):
        pub = k.public_key().public_bytes_raw()
        w.string(pub).string(k.private_bytes_raw() + pub)
    elif isinstance(k, ec.EllipticCurvePrivateKey):
        point = k.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        w.string(_CURVES[key.keyType][0]).string(point).mpint(k.private_numbers().private_value)
    else:
        n = k.private_numbers()
        w.mpint(n.public_numbers.n).mpint(n.public_numbers.e).mpint(n.d)
        w.mpint(n.iqmp).mpint(n.p).mpint(n.q)
    return w.bytes()


def encodeOpenSSHPrivate(
    key: PrivateKey,
    passphrase: bytes | str | None,
    comment: str,
    *,
    rounds: int = 16,
    randomBytes: RandomBytes | None = None,
) -> bytes:
    """``key`` as an openssh-key-v1 file, aes256-ctr/bcrypt-encrypted under a passphrase."""
    rand = randomBytes or secrets.token_bytes
    secret = _passphraseBytes(passphrase)
    cipherName = "aes256-ctr" if secret else "none"
    keyLen, ivLen, block, mode = _CIPHERS[cipherName]
    check = rand(4)
    section = check + check + _privateFields(key) + SSHWriter().string(comment).bytes()
    section += bytes(range(1, 1 + (-len(section) % block)))
    kdfName, kdfOptions = "none", b""
    if secret:
        salt = rand(16)
        kdfName, kdfOptions = "bcrypt", SSHWriter().string(salt).uint32(rounds).bytes()
        material = _bcryptKDF(secret, salt, keyLen + ivLen, rounds)
        section = _crypt(mode, material[:keyLen], material[keyLen:], section, True)
    body = (
        SSHWriter()
        .raw(_MAGIC)
        .string(cipherName)
        .string(kdfName)
        .string(kdfOptions)
        .uint32(1)
        .string(key.publicKey().blob())
        .string(section)
        .bytes()
    )
    b64 = base64.b64encode(body)
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return b"\n".join([_BEGIN, *lines, _END]) + b"\n"


def _decodeArmor(data: bytes) -> bytes:
    start = data.find(_BEGIN)
    end = data.find(_END, start)
    if start < 0 or end < 0:
        raise KeyFormatError("no END OPENSSH PRIVATE KEY line")
    try:
        return base64.b64decode(b"".join(data[start + len(_BEGIN) : end].split()), validate=True)
    except binascii.Error:
        raise KeyFormatError("bad base64 in OpenSSH private key") from None


def _loadOpenSSH(data: bytes, passphrase: bytes | None) -> PrivateKey:
    body = _decodeArmor(data)
    if not body.startswith(_MAGIC):
        raise KeyFormatError("not an openssh-key-v1 private key")
    r = SSHReader(body, len(_MAGIC))
    cipherName = r.text()
    kdfName = r.text()
    kdfOptions = r.string()
    if r.uint32() != 1:
        raise KeyFormatError("OpenSSH key files with several keys are not supported")
    publicBlob = r.string()
    section = r.string()
    if cipherName not in _CIPHERS:
        raise KeyFormatError(f"unsupported private key cipher {cipherName!r}")
    keyLen, ivLen, block, mode = _CIPHERS[cipherName]
    tag = r.raw(16) if mode in ("gcm", "chacha") else b""
    r.done()
    if len(section) % block:
        raise KeyFormatError("private key section is not a whole number of blocks")
    if cipherName != "none":
        if kdfName != "bcrypt":
            raise KeyFormatError(f"unsupported key derivation {kdfName!r}")
        if not passphrase:
            raise EncryptedKeyError("the private key is encrypted: a passphrase is needed")
        kr = SSHReader(kdfOptions)
        salt, rounds = kr.string(), kr.uint32()
        kr.done()
        if not 1 <= rounds <= MAX_KDF_ROUNDS:
            raise KeyFormatError(f"bcrypt rounds {rounds} out of range")
        material = _bcryptKDF(passphrase, salt, keyLen + ivLen, rounds)
        key, iv = material[:keyLen], material[keyLen:]
        if mode == "gcm":
            try:
                section = AESGCM(key).decrypt(iv, section + tag, None)
            except InvalidTag:
                raise BadPassphraseError("wrong passphrase for the private key") from None
        elif mode == "chacha":
            section = _chachaPolyOpen(key[:32], section, tag)
        else:
            section = _crypt(mode, key, iv, section, False)
    elif kdfName != "none":
        raise KeyFormatError(f"unencrypted key names key derivation {kdfName!r}")
    s = SSHReader(section)
    if not hmac.compare_digest(s.raw(4), s.raw(4)):
        if cipherName != "none":
            raise BadPassphraseError("wrong passphrase for the private key")
        raise KeyFormatError("private key check integers differ")
    keyType = s.text()
    cryptoKey = _readPrivateFields(keyType, s)
    comment = s.string().decode("utf-8", "replace")
    pad = s.rest()
    if pad != bytes(range(1, 1 + len(pad))) or len(pad) >= block:
        raise KeyFormatError("bad private key padding")
    result = PrivateKey(cryptoKey, comment)
    if result.publicKey().blob() != publicBlob:
        raise KeyFormatError("private key does not match its public key")
    return result


def _readPrivateFields(keyType: str, s: SSHReader) -> PrivateCryptoKey:
    if keyType == "ssh-ed25519":
        pub, priv = s.string(), s.string()
        if len(pub) != 32 or len(priv) != 64 or priv[32:] != pub:
            raise KeyFormatError("malformed ssh-ed25519 private key")
        return ed25519.Ed25519PrivateKey.from_private_bytes(priv[:32])
    if keyType in _CURVES:
        curveName, curve, _, _ = _CURVES[keyType]
        if s.string() != curveName.encode():
            raise KeyFormatError(f"{keyType} private key names another curve")
        point, d = s.string(), s.mpint()
        public = ec.EllipticCurvePublicKey.from_encoded_point(curve(), point)
        return ec.EllipticCurvePrivateNumbers(d, public.public_numbers()).private_key()
    if keyType == "ssh-rsa":
        n, e, d, iqmp, p, q = (s.mpint() for _ in range(6))
        if not RSA_MIN_BITS <= n.bit_length() <= RSA_MAX_BITS:  # before any costly check
            raise KeyFormatError(f"RSA key of {n.bit_length()} bits")
        if p * q != n:
            raise KeyFormatError("RSA private key factors do not match its modulus")
        nums = rsa.RSAPrivateNumbers(
            p,
            q,
            d,
            rsa.rsa_crt_dmp1(d, p),
            rsa.rsa_crt_dmq1(d, q),
            iqmp,
            rsa.RSAPublicNumbers(e, n),
        )
        return nums.private_key()
    raise KeyFormatError(f"unsupported private key type {keyType!r}")


def _loadPEM(data: bytes, passphrase: bytes | None) -> PrivateKey:
    encrypted = b"ENCRYPTED" in data.split(b"-----END", 1)[0]
    if not encrypted:
        passphrase = None  # ignored for a plain key, as for OpenSSH-format keys
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError:
        if encrypted and not passphrase:
            raise EncryptedKeyError(
                "the private key is encrypted: a passphrase is needed"
            ) from None
        raise KeyFormatError("a passphrase was given for an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm) as e:
        if encrypted and passphrase:
            raise BadPassphraseError("wrong passphrase for the private key") from None
        raise KeyFormatError(f"unreadable PEM private key: {e}") from None
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise KeyFormatError(f"unsupported PEM private key {type(key).__name__}")
    return PrivateKey(key)


def loadPrivateKey(data: bytes | str, passphrase: bytes | str | None = None) -> PrivateKey:
    """A private key from an OpenSSH (``openssh-key-v1``, plain or encrypted) or PEM (PKCS#1,
    PKCS#8, SEC1; plain or encrypted) file's contents.

    Raises ``EncryptedKeyError`` when a passphrase is needed, ``BadPassphraseError`` when it is
    wrong and ``KeyFormatError`` for anything else that is not a key.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_KEY_FILE:
        raise KeyFormatError(f"key file too large ({len(data)} bytes)")
    secret = _passphraseBytes(passphrase)
    try:
        if _BEGIN in data:
            return _loadOpenSSH(data, secret)
        if b"-----BEGIN " in data and b"PRIVATE KEY-----" in data:
            return _loadPEM(data, secret)
    except ProtocolError as e:
        raise KeyFormatError(f"malformed private key: {e}") from None
    except (ValueError, UnsupportedAlgorithm) as e:
        if isinstance(e, KeyFormatError):
            raise
        raise KeyFormatError(f"invalid private key: {e}") from None
    raise KeyFormatError("not a private key (no OpenSSH or PEM private key armour)")


_RFC4716 = re.compile(
    rb"---- BEGIN SSH2 PUBLIC KEY ----(.*?)---- END SSH2 PUBLIC KEY ----", re.DOTALL
)


def _fromBase64(text: bytes) -> bytes:
    if len(text) > MAX_BLOB * 2:
        raise KeyFormatError("public key too long")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise KeyFormatError("bad base64 in public key") from None


def parsePublicKeyLine(line: bytes) -> PublicKey:
    """An OpenSSH public key line ``type base64 [comment]`` (what ``.pub`` files hold)."""
    parts = line.strip().split(None, 2)
    if len(parts) < 2:
        raise KeyFormatError("a public key line is 'type base64 [comment]'")
    key = parsePublicKeyBlob(_fromBase64(parts[1]))
    if parts[0] != key.keyType.encode():
        raise KeyFormatError(f"key line says {parts[0]!r} but the key is {key.keyType}")
    if len(parts) > 2:
        key.comment = parts[2].decode("utf-8", "replace").strip()
    return key


def parsePublicKey(data: bytes | str) -> PublicKey:
    """A public key from an OpenSSH line, an RFC 4716 ``SSH2 PUBLIC KEY`` block or PEM
    (``PUBLIC KEY`` / ``RSA PUBLIC KEY``)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_KEY_FILE:
        raise KeyFormatError(f"public key data too large ({len(data)} bytes)")
    if b"-----BEGIN " in data:
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as e:
            raise KeyFormatError(f"unreadable PEM public key: {e}") from None
        if not isinstance(
            key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
        ):
            raise KeyFormatError(f"unsupported PEM public key {type(key).__name__}")
        return PublicKey.fromCryptography(key)
    m = _RFC4716.search(data)
    if m:
        body: list[bytes] = []
        continued = False
        for ln in m.group(1).splitlines():
            ln = ln.strip()
            header = continued or b":" in ln
            continued = header and ln.endswith(b"\\")  # RFC 4716 §3.3 header continuation
            if ln and not header:
                body.append(ln)
        return parsePublicKeyBlob(_fromBase64(b"".join(body)))
    return parsePublicKeyLine(data)
