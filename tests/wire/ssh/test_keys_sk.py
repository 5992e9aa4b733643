"""FIDO security-key (sk-) public keys: blobs, signatures with flags, OpenSSH interop."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from plait.wire.ssh.keys import (
    KeyFormatError,
    PublicKey,
    parseAuthorizedKeys,
    parsePublicKey,
    parsePublicKeyBlob,
)
from plait.wire.ssh.types import SSHWriter

SK_ED = "sk-ssh-ed25519@openssh.com"
SK_EC = "sk-ecdsa-sha2-nistp256@openssh.com"
SSH_KEYGEN = shutil.which("ssh-keygen")


class FakeAuthenticator:
    """Signs as a FIDO authenticator does for OpenSSH (PROTOCOL.u2f), without hardware."""

    def __init__(self, keyType: str, application: bytes = b"ssh:") -> None:
        self.keyType = keyType
        self.application = application
        w = SSHWriter().string(keyType)
        if keyType == SK_ED:
            self.ed = ed25519.Ed25519PrivateKey.generate()
            w.string(self.ed.public_key().public_bytes_raw())
        else:
            self.ec = ec.generate_private_key(ec.SECP256R1())
            point = self.ec.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
            w.string("nistp256").string(point)
        self.blob = w.string(application).bytes()

    def sign(self, data: bytes, flags: int = 0x01, counter: int = 7) -> bytes:
        """The SSH signature blob: string alg, string signature, byte flags, uint32 counter."""
        signed = (
            hashlib.sha256(self.application).digest()
            + bytes((flags,))
            + counter.to_bytes(4, "big")
            + hashlib.sha256(data).digest()
        )
        if self.keyType == SK_ED:
            raw = self.ed.sign(signed)
        else:
            r, s = decode_dss_signature(self.ec.sign(signed, ec.ECDSA(hashes.SHA256())))
            raw = SSHWriter().mpint(r).mpint(s).bytes()
        return SSHWriter().string(self.keyType).string(raw).byte(flags).uint32(counter).bytes()


@pytest.fixture(params=[SK_ED, SK_EC])
def authenticator(request: pytest.FixtureRequest) -> FakeAuthenticator:
    """One fake authenticator per security-key type."""
    return FakeAuthenticator(request.param)


def test_blob_round_trip(authenticator: FakeAuthenticator) -> None:
    """The blob parses to a key of that type whose blob is the same bytes."""
    key = parsePublicKeyBlob(authenticator.blob)
    assert key.keyType == authenticator.keyType and key.blob() == authenticator.blob
    assert key.signatureAlgorithms() == (authenticator.keyType,)
    assert parsePublicKey(key.toOpenSSH("c")) == key
    assert key.bits() == 256


def test_signature_verifies(authenticator: FakeAuthenticator) -> None:
    """A touched signature verifies over its data only."""
    key = parsePublicKeyBlob(authenticator.blob)
    sig = authenticator.sign(b"session data")
    assert key.verify(sig, b"session data")
    assert not key.verify(sig, b"other data")
    assert not parsePublicKeyBlob(FakeAuthenticator(authenticator.keyType).blob).verify(
        sig, b"session data"
    )


def test_user_presence_required(authenticator: FakeAuthenticator) -> None:
    """Without the user-presence flag a signature fails unless requireTouch=False."""
    key = parsePublicKeyBlob(authenticator.blob)
    sig = authenticator.sign(b"d", flags=0)
    assert not key.verify(sig, b"d")
    assert key.verify(sig, b"d", requireTouch=False)


def test_user_verification_when_asked(authenticator: FakeAuthenticator) -> None:
    """requireVerification (verify-required) needs the user-verified flag."""
    key = parsePublicKeyBlob(authenticator.blob)
    assert not key.verify(authenticator.sign(b"d", flags=0x01), b"d", requireVerification=True)
    assert key.verify(authenticator.sign(b"d", flags=0x05), b"d", requireVerification=True)


def test_tampered_flags_or_counter_fail(authenticator: FakeAuthenticator) -> None:
    """Flags and counter are signed: changing either breaks the signature."""
    key = parsePublicKeyBlob(authenticator.blob)
    sig = authenticator.sign(b"d", flags=0x01, counter=9)
    assert not key.verify(sig[:-5] + b"\x05" + sig[-4:], b"d")
    assert not key.verify(sig[:-4] + (10).to_bytes(4, "big"), b"d")
    assert not key.verify(sig[:-1], b"d")
    assert not key.verify(sig + b"\x00", b"d")


def test_plain_signature_refused(authenticator: FakeAuthenticator) -> None:
    """A signature blob without flags and counter does not verify."""
    key = parsePublicKeyBlob(authenticator.blob)
    sig = authenticator.sign(b"d")
    assert not key.verify(sig[:-5], b"d")


def test_bad_application() -> None:
    """An empty application string, or one with a NUL, is refused."""
    good = FakeAuthenticator(SK_ED)
    prefix = good.blob[: -(4 + len(good.application))]
    for app in (b"", b"ssh:\x00x"):
        with pytest.raises(KeyFormatError, match="application"):
            parsePublicKeyBlob(prefix + SSHWriter().string(app).bytes())


def test_no_pem_form() -> None:
    """Security-key public keys have no PEM form."""
    with pytest.raises(KeyFormatError):
        parsePublicKeyBlob(FakeAuthenticator(SK_EC).blob).toPEM()


def test_authorized_keys_line() -> None:
    """authorized_keys reads sk lines, with and without options."""
    key = parsePublicKeyBlob(FakeAuthenticator(SK_ED).blob)
    line = key.toOpenSSH("fido").decode()
    entries = parseAuthorizedKeys(
        f"{line}\nno-touch-required,verify-required {line}\n", strict=True
    )
    assert [e.key for e in entries] == [key, key]
    assert entries[1].options.noTouchRequired and entries[1].options.verifyRequired


@pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")
def test_ssh_keygen_fingerprint_and_signature(
    tmp_path: Path, authenticator: FakeAuthenticator
) -> None:
    """ssh-keygen -lf agrees on the fingerprint and -Y check-novalidate accepts a signature."""
    assert SSH_KEYGEN is not None
    key: PublicKey = parsePublicKeyBlob(authenticator.blob)
    pub = tmp_path / "sk.pub"
    pub.write_bytes(key.toOpenSSH("fido") + b"\n")
    listed = subprocess.run(
        [SSH_KEYGEN, "-lf", str(pub)], capture_output=True, text=True, timeout=60, check=True
    )
    assert listed.stdout.split()[1] == key.fingerprint()
    message = b"signed with a security key\n"
    signedData = (
        SSHWriter()
        .raw(b"SSHSIG")
        .string(b"file")
        .string(b"")
        .string(b"sha512")
        .string(hashlib.sha512(message).digest())
        .bytes()
    )
    sshsig = (
        SSHWriter()
        .raw(b"SSHSIG")
        .uint32(1)
        .string(key.blob())
        .string(b"file")
        .string(b"")
        .string(b"sha512")
        .string(authenticator.sign(signedData))
        .bytes()
    )
    b64 = base64.b64encode(sshsig)
    armour = b"\n".join(
        [b"-----BEGIN SSH SIGNATURE-----"]
        + [b64[i : i + 70] for i in range(0, len(b64), 70)]
        + [b"-----END SSH SIGNATURE-----", b""]
    )
    sig = tmp_path / "msg.sig"
    sig.write_bytes(armour)
    check = [SSH_KEYGEN, "-Y", "check-novalidate", "-n", "file", "-s", str(sig)]
    subprocess.run(check, input=message, capture_output=True, timeout=60, check=True)
    assert key.verify(authenticator.sign(signedData), signedData)
    bad = subprocess.run(check, input=b"other\n", capture_output=True, timeout=60)
    assert bad.returncode != 0
