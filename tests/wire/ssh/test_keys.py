"""Keys: blobs, signatures, fingerprints, generation, key files (plait.wire.ssh.keys)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from plait.wire.ssh.keys import (
    BadPassphraseError,
    EncryptedKeyError,
    KeyFormatError,
    PrivateKey,
    PublicKey,
    loadPrivateKey,
    parsePublicKey,
    parsePublicKeyBlob,
    splitSignature,
)
from plait.wire.ssh.types import SSHReader, SSHWriter, encodeString

# Generating RSA keys is slow: one per size, shared.
_RSA = PrivateKey.generate("rsa", 2048)
KINDS = {
    "ssh-ed25519": PrivateKey.generate("ed25519"),
    "ecdsa-sha2-nistp256": PrivateKey.generate("ecdsa", 256),
    "ecdsa-sha2-nistp384": PrivateKey.generate("ecdsa", 384),
    "ecdsa-sha2-nistp521": PrivateKey.generate("ecdsa", 521),
    "ssh-rsa": _RSA,
}


@pytest.fixture(params=sorted(KINDS))
def key(request: pytest.FixtureRequest) -> PrivateKey:
    """One private key of each supported type."""
    return KINDS[request.param]


def test_ed25519_rfc8032_vector() -> None:
    """RFC 8032 §7.1 test 1: the SSH signature blob wraps the raw Ed25519 signature."""
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    pub = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    key = PrivateKey.fromCryptography(ed25519.Ed25519PrivateKey.from_private_bytes(seed))
    assert key.publicKey().blob() == encodeString(b"ssh-ed25519") + encodeString(pub)
    assert key.sign(b"") == encodeString(b"ssh-ed25519") + encodeString(sig)
    assert key.publicKey().verify(encodeString(b"ssh-ed25519") + encodeString(sig), b"")


def test_key_types(key: PrivateKey) -> None:
    """keyType and the blob's first string agree with the key's kind."""
    blob = key.publicKey().blob()
    assert SSHReader(blob).string().decode() == key.keyType
    assert key.publicKey().keyType == key.keyType


def test_signature_algorithms() -> None:
    """Each key type offers the agreed signature algorithms, preferred first."""
    assert KINDS["ssh-ed25519"].signatureAlgorithms() == ("ssh-ed25519",)
    assert KINDS["ecdsa-sha2-nistp384"].signatureAlgorithms() == ("ecdsa-sha2-nistp384",)
    assert _RSA.signatureAlgorithms() == ("rsa-sha2-512", "rsa-sha2-256")


def test_sign_verify_round_trip(key: PrivateKey) -> None:
    """A signature verifies for its data and key, and not for other data or another key."""
    pub = key.publicKey()
    other = PrivateKey.generate("ed25519").publicKey()
    for alg in key.signatureAlgorithms():
        sig = key.sign(b"session id and data", alg)
        assert splitSignature(sig)[0] == alg
        assert pub.verify(sig, b"session id and data")
        assert pub.verify(sig, b"session id and data", algorithm=alg)
        assert not pub.verify(sig, b"session id and datA")
        assert not other.verify(sig, b"session id and data")


def test_ecdsa_signature_is_two_mpints() -> None:
    """RFC 5656 §3.1.2: the ECDSA signature is a string holding mpint r, mpint s."""
    key = KINDS["ecdsa-sha2-nistp256"]
    alg, raw = splitSignature(key.sign(b"x"))
    r = SSHReader(raw)
    sigR, sigS = r.mpint(), r.mpint()
    r.done()
    assert alg == "ecdsa-sha2-nistp256" and sigR > 0 and sigS > 0


def test_rsa_sha1_only_when_allowed() -> None:
    """An ssh-rsa (SHA-1) signature is refused unless allowSHA1 is set."""
    sig = _RSA.sign(b"data", "ssh-rsa")
    assert not _RSA.publicKey().verify(sig, b"data")
    assert _RSA.publicKey().verify(sig, b"data", allowSHA1=True)


def test_rsa_signature_with_dropped_leading_zero() -> None:
    """An RSA signature one byte short (a leading zero dropped) still verifies."""
    pub = _RSA.publicKey()
    for i in range(3000):
        data = b"%d" % i
        alg, raw = splitSignature(_RSA.sign(data, "rsa-sha2-256"))
        if raw[0] == 0:
            short = encodeString(alg.encode()) + encodeString(raw[1:])
            assert pub.verify(short, data)
            return
    pytest.skip("no signature with a leading zero byte in 3000 tries")  # pragma: no cover


def test_verify_refuses_mismatched_algorithm() -> None:
    """A signature named for another key type, or other than the one asked, does not verify."""
    ed = KINDS["ssh-ed25519"]
    _, raw = splitSignature(ed.sign(b"d"))
    renamed = encodeString(b"ecdsa-sha2-nistp256") + encodeString(raw)
    assert not ed.publicKey().verify(renamed, b"d")
    sig = _RSA.sign(b"d", "rsa-sha2-256")
    assert not _RSA.publicKey().verify(sig, b"d", algorithm="rsa-sha2-512")


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00\x00\x00", b"\x00\x00\x00\x0bssh-ed25519", b"\xff" * 40, b"\x00\x00\x00\x01x"],
)
def test_verify_garbage_is_false(key: PrivateKey, garbage: bytes) -> None:
    """A malformed signature blob is False, never an exception."""
    assert key.publicKey().verify(garbage, b"data") is False


def test_verify_trailing_bytes_is_false(key: PrivateKey) -> None:
    """A signature blob with trailing bytes does not verify."""
    assert not key.publicKey().verify(key.sign(b"d") + b"\x00", b"d")


def test_sign_refuses_foreign_algorithm() -> None:
    """Asking a key to sign with another type's algorithm raises ValueError."""
    with pytest.raises(ValueError, match="cannot sign"):
        KINDS["ssh-ed25519"].sign(b"d", "rsa-sha2-256")


def test_blob_round_trip_and_equality(key: PrivateKey) -> None:
    """parsePublicKeyBlob inverts blob(); keys are equal and hashed by blob."""
    pub = key.publicKey()
    again = parsePublicKeyBlob(pub.blob())
    assert again == pub and hash(again) == hash(pub)
    assert len({pub, again}) == 1
    assert again != PrivateKey.generate("ed25519").publicKey()
    assert pub != pub.blob()


def test_rsa_blob_layout() -> None:
    """RFC 4253 §6.6: ssh-rsa blob is string "ssh-rsa", mpint e, mpint n."""
    nums = _RSA.cryptographyKey.private_numbers().public_numbers
    expected = SSHWriter().string("ssh-rsa").mpint(nums.e).mpint(nums.n).bytes()
    assert _RSA.publicKey().blob() == expected


def test_ecdsa_blob_layout() -> None:
    """RFC 5656 §3.1: ecdsa blob is string type, string curve, string Q (uncompressed point)."""
    r = SSHReader(KINDS["ecdsa-sha2-nistp521"].publicKey().blob())
    assert r.string() == b"ecdsa-sha2-nistp521"
    assert r.string() == b"nistp521"
    point = r.string()
    r.done()
    assert point[0] == 4 and len(point) == 1 + 2 * 66


def test_fingerprint_format(key: PrivateKey) -> None:
    """SHA256 fingerprint is unpadded base64 of SHA-256 over the blob; MD5 is colon hex."""
    pub = key.publicKey()
    digest = hashlib.sha256(pub.blob()).digest()
    assert pub.fingerprint() == "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    assert "=" not in pub.fingerprint()
    md5 = pub.fingerprint("md5")
    assert md5.startswith("MD5:") and len(md5.split(":")) == 17


def test_bits() -> None:
    """bits() is the key size ssh-keygen -l shows."""
    assert KINDS["ssh-ed25519"].publicKey().bits() == 256
    assert KINDS["ecdsa-sha2-nistp521"].publicKey().bits() == 521
    assert _RSA.publicKey().bits() == 2048


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "malformed"),
        (encodeString(b"ssh-dss") + encodeString(b"x"), "unsupported key type"),
        (encodeString(b"ssh-ed25519") + encodeString(b"short"), "32 bytes"),
        (encodeString(b"ssh-ed25519") + encodeString(bytes(32)) + b"x", "malformed"),
        (encodeString(b"ssh-ed25519-cert-v01@openssh.com"), "malformed certificate"),
        (
            SSHWriter()
            .string("ecdsa-sha2-nistp256")
            .string("nistp384")
            .string(b"\x04" + bytes(64))
            .bytes(),
            "another curve",
        ),
        (
            SSHWriter()
            .string("ecdsa-sha2-nistp256")
            .string("nistp256")
            .string(b"\x04" + bytes(64))
            .bytes(),
            "invalid",
        ),
        (SSHWriter().string("ssh-rsa").mpint(65537).mpint((1 << 1022) + 1).bytes(), "1023 bits"),
        (SSHWriter().string("ssh-rsa").mpint(65537).mpint((1 << 16384) + 1).bytes(), "16385 bits"),
        (SSHWriter().string("ssh-rsa").mpint(2).mpint((1 << 2047) + 1).bytes(), "exponent"),
        (SSHWriter().string("ssh-rsa").mpint(65537).mpint(-((1 << 2047) + 1)).bytes(), "RSA"),
    ],
    ids=lambda v: v if isinstance(v, str) else "blob",
)
def test_bad_blobs(blob: bytes, message: str) -> None:
    """Bad blobs raise KeyFormatError saying what is wrong."""
    with pytest.raises(KeyFormatError, match=message):
        parsePublicKeyBlob(blob)


def test_small_rsa_modulus_refused() -> None:
    """An RSA key under 1024 bits is refused (a 512-bit blob from numbers)."""
    n = (1 << 511) | 1
    with pytest.raises(KeyFormatError, match="512 bits"):
        parsePublicKeyBlob(SSHWriter().string("ssh-rsa").mpint(65537).mpint(n).bytes())


def test_non_canonical_mpint_refused() -> None:
    """An mpint with a redundant leading zero byte is not the key's canonical blob."""
    nums = _RSA.cryptographyKey.private_numbers().public_numbers
    e = b"\x00" + nums.e.to_bytes(3, "big")
    blob = SSHWriter().string("ssh-rsa").string(e).mpint(nums.n).bytes()
    with pytest.raises(KeyFormatError, match="canonical"):
        parsePublicKeyBlob(blob)


def test_public_key_line_round_trip(key: PrivateKey) -> None:
    """toOpenSSH makes 'type base64 comment'; parsePublicKey reads it with its comment."""
    line = key.publicKey().toOpenSSH("me@host")
    assert line.startswith(key.keyType.encode() + b" AAAA") and line.endswith(b" me@host")
    parsed = parsePublicKey(line + b"\n")
    assert parsed == key.publicKey() and parsed.comment == "me@host"
    assert parsePublicKey(key.publicKey().toOpenSSH()).comment == ""


def test_public_key_pem_round_trip(key: PrivateKey) -> None:
    """A PEM SubjectPublicKeyInfo reads back as the same key."""
    assert parsePublicKey(key.publicKey().toPEM()) == key.publicKey()


def test_public_key_rfc4716() -> None:
    """An RFC 4716 SSH2 PUBLIC KEY block (with headers, one continued) reads back."""
    pub = KINDS["ssh-ed25519"].publicKey()
    b64 = base64.b64encode(pub.blob()).decode()
    text = (
        "---- BEGIN SSH2 PUBLIC KEY ----\n"
        'Comment: "a long \\\n'
        'comment"\n'
        f"{b64[:40]}\n{b64[40:]}\n"
        "---- END SSH2 PUBLIC KEY ----\n"
    )
    assert parsePublicKey(text) == pub


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"ssh-ed25519", "type base64"),
        (b"ssh-ed25519 !!!notbase64", "base64"),
        (b"ssh-rsa " + base64.b64encode(KINDS["ssh-ed25519"].publicKey().blob()), "says"),
        (b"-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n", "PEM"),
    ],
)
def test_bad_public_key_lines(line: bytes, message: str) -> None:
    """Bad public key lines raise KeyFormatError."""
    with pytest.raises(KeyFormatError, match=message):
        parsePublicKey(line)


def test_from_cryptography() -> None:
    """Wrapping cryptography objects gives keys whose cryptographyKey is the object."""
    ck = ec.generate_private_key(ec.SECP384R1())
    priv = PrivateKey.fromCryptography(ck, comment="c")
    assert priv.cryptographyKey is ck and priv.comment == "c"
    assert PublicKey.fromCryptography(ck.public_key()) == priv.publicKey()
    with pytest.raises(KeyFormatError, match="curve"):
        PublicKey.fromCryptography(ec.generate_private_key(ec.SECP256K1()).public_key())
    with pytest.raises(KeyFormatError, match="1024"):
        PublicKey.fromCryptography(
            rsa.RSAPublicNumbers(65537, (1 << 20000) + 1).public_key()  # too large
        )


def test_public_key_not_constructible() -> None:
    """PublicKey() directly is refused (it needs a key)."""
    with pytest.raises(TypeError):
        PublicKey()


@pytest.mark.parametrize(
    ("kind", "bits"),
    [("ed25519", 384), ("ecdsa", 512), ("rsa", 1024), ("rsa", 20000), ("dsa", None)],
)
def test_generate_refuses(kind: str, bits: int | None) -> None:
    """generate refuses sizes a kind does not have, and unknown kinds."""
    with pytest.raises(ValueError):
        PrivateKey.generate(kind, bits)


def test_generate_ecdsa_sizes() -> None:
    """generate('ecdsa', bits) picks the NIST curve; 256 is the default."""
    assert PrivateKey.generate("ecdsa").keyType == "ecdsa-sha2-nistp256"
    assert PrivateKey.generate("ecdsa", 384).keyType == "ecdsa-sha2-nistp384"


# --- private key files -------------------------------------------------------------------


def test_openssh_private_round_trip(key: PrivateKey) -> None:
    """toOpenSSH/loadPrivateKey keep the key and the comment (plain)."""
    data = key.toOpenSSH(comment="a comment")
    assert data.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    loaded = loadPrivateKey(data)
    assert loaded.publicKey() == key.publicKey() and loaded.comment == "a comment"
    assert loaded.publicKey().verify(loaded.sign(b"x"), b"x")


def test_openssh_private_encrypted() -> None:
    """An encrypted key needs its passphrase; a wrong one is BadPassphraseError."""
    key = KINDS["ecdsa-sha2-nistp256"]
    data = key.toOpenSSH(passphrase="pw", rounds=4)
    assert loadPrivateKey(data, b"pw").publicKey() == key.publicKey()
    with pytest.raises(EncryptedKeyError):
        loadPrivateKey(data)
    with pytest.raises(BadPassphraseError):
        loadPrivateKey(data, "wrong")


def test_openssh_private_passphrase_ignored_when_plain() -> None:
    """A passphrase given for an unencrypted OpenSSH key is ignored."""
    key = KINDS["ssh-ed25519"]
    assert loadPrivateKey(key.toOpenSSH(), "pw").publicKey() == key.publicKey()


def test_openssh_private_deterministic_with_random_bytes() -> None:
    """An injected randomBytes makes the file reproducible."""
    key = KINDS["ssh-ed25519"]

    def zeros(n: int) -> bytes:
        return bytes(n)

    assert key.toOpenSSH("p", randomBytes=zeros, rounds=2) == key.toOpenSSH(
        "p", randomBytes=zeros, rounds=2
    )


@pytest.mark.parametrize("passphrase", [None, "pw"])
def test_pem_private_round_trip(key: PrivateKey, passphrase: str | None) -> None:
    """toPEM writes PKCS#8 (encrypted with a passphrase); loadPrivateKey reads it back."""
    data = key.toPEM(passphrase)
    assert (b"ENCRYPTED PRIVATE KEY" in data) == bool(passphrase)
    assert loadPrivateKey(data, passphrase).publicKey() == key.publicKey()


def test_pem_errors() -> None:
    """PEM: no passphrase, wrong passphrase, garbage; a passphrase for a plain key is
    ignored."""
    key = KINDS["ssh-ed25519"]
    enc = key.toPEM("pw")
    with pytest.raises(EncryptedKeyError):
        loadPrivateKey(enc)
    with pytest.raises(BadPassphraseError):
        loadPrivateKey(enc, "nope")
    assert loadPrivateKey(key.toPEM(), "pw").publicKey() == key.publicKey()  # ignored
    with pytest.raises(KeyFormatError, match="PEM"):
        loadPrivateKey(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello", "not a private key"),
        (b"-----BEGIN OPENSSH PRIVATE KEY-----\n", "END"),
        (b"-----BEGIN OPENSSH PRIVATE KEY-----\n!!\n-----END OPENSSH PRIVATE KEY-----", "base64"),
        (
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "openssh-key-v1",
        ),
        (b"x" * 70000, "too large"),
    ],
)
def test_bad_private_keys(data: bytes, message: str) -> None:
    """Bad private key files raise KeyFormatError saying what is wrong."""
    with pytest.raises(KeyFormatError, match=message):
        loadPrivateKey(data)


def test_truncated_openssh_private_key() -> None:
    """Every truncation of an OpenSSH key body is a KeyFormatError."""
    data = KINDS["ssh-ed25519"].toOpenSSH()
    body = base64.b64decode(b"".join(data.splitlines()[1:-1]))
    for n in range(0, len(body), 7):
        armoured = (
            b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
            + base64.b64encode(body[:n])
            + b"\n-----END OPENSSH PRIVATE KEY-----\n"
        )
        with pytest.raises(KeyFormatError):
            loadPrivateKey(armoured)
