"""Keys against OpenSSH's ssh-keygen and paramiko: files, fingerprints, known_hosts, signatures."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from plait.wire.ssh.keys import (
    BadPassphraseError,
    KnownHosts,
    PrivateKey,
    PublicKey,
    loadPrivateKey,
    parsePublicKey,
    parsePublicKeyBlob,
)
from plait.wire.ssh.types import SSHReader, SSHWriter

SSH_KEYGEN = shutil.which("ssh-keygen")
pytestmark = pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")
PASSPHRASE = "correct horse"

# (ssh-keygen -t, -b) for each key type; RSA at 2048 bits to keep generation quick.
TYPES = {
    "ed25519": ("ed25519", None),
    "ecdsa256": ("ecdsa", 256),
    "ecdsa384": ("ecdsa", 384),
    "ecdsa521": ("ecdsa", 521),
    "rsa": ("rsa", 2048),
}


def _keygen(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert SSH_KEYGEN is not None
    return subprocess.run(
        [SSH_KEYGEN, *args], input=stdin, capture_output=True, timeout=60, check=True
    )


def _fingerprint(pub: Path) -> str:
    """What ssh-keygen -lf prints: 'bits SHA256:... comment (TYPE)' -> the fingerprint."""
    return _keygen("-lf", str(pub)).stdout.split()[1].decode()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Keys made by ssh-keygen: every type, plain and with a passphrase, OpenSSH format."""
    base = tmp_path_factory.mktemp("keygen")
    paths = {}
    for name, (kind, bits) in TYPES.items():
        for label, passphrase in (("plain", ""), ("encrypted", PASSPHRASE)):
            path = base / f"{name}-{label}"
            size = ["-b", str(bits)] if bits else []
            _keygen(
                "-q", "-t", kind, *size, "-N", passphrase, "-C", f"{name}@test", "-f", str(path)
            )
            paths[(name, label)] = path
    return paths


@pytest.mark.parametrize("label", ["plain", "encrypted"])
@pytest.mark.parametrize("name", sorted(TYPES))
def test_load_ssh_keygen_keys(
    generated: dict[tuple[str, str], Path], name: str, label: str
) -> None:
    """ssh-keygen's keys load; the public half and fingerprint match ssh-keygen -lf."""
    path = generated[(name, label)]
    key = loadPrivateKey(path.read_bytes(), PASSPHRASE if label == "encrypted" else None)
    pub = parsePublicKey(path.with_suffix(".pub").read_bytes())
    assert key.publicKey() == pub
    assert key.comment == f"{name}@test" and pub.comment == f"{name}@test"
    assert pub.fingerprint() == _fingerprint(path.with_suffix(".pub"))
    assert key.publicKey().verify(key.sign(b"data"), b"data")


def test_md5_fingerprint_matches(generated: dict[tuple[str, str], Path]) -> None:
    """The MD5 fingerprint matches ssh-keygen -E md5 -lf."""
    pub = generated[("ed25519", "plain")].with_suffix(".pub")
    expected = _keygen("-E", "md5", "-lf", str(pub)).stdout.split()[1].decode()
    assert parsePublicKey(pub.read_bytes()).fingerprint("md5") == expected


@pytest.mark.parametrize(
    ("kind", "bits", "fmt"),
    [("rsa", 2048, "PEM"), ("ecdsa", 384, "PEM"), ("rsa", 2048, "PKCS8"), ("ecdsa", 256, "PKCS8")],
)
@pytest.mark.parametrize("passphrase", ["", PASSPHRASE])
def test_load_ssh_keygen_pem(
    tmp_path: Path, kind: str, bits: int, fmt: str, passphrase: str
) -> None:
    """ssh-keygen -m PEM (PKCS#1/SEC1) and -m PKCS8 keys load, plain and encrypted."""
    path = tmp_path / "key"
    _keygen("-q", "-t", kind, "-b", str(bits), "-m", fmt, "-N", passphrase, "-f", str(path))
    key = loadPrivateKey(path.read_bytes(), passphrase or None)
    assert key.publicKey() == parsePublicKey(path.with_suffix(".pub").read_bytes())


@pytest.mark.parametrize(
    "cipher",
    ["aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-cbc"],
)
def test_load_ssh_keygen_other_ciphers(tmp_path: Path, cipher: str) -> None:
    """Keys ssh-keygen -Z encrypts with other ciphers load; a wrong passphrase is refused."""
    path = tmp_path / "key"
    _keygen("-q", "-t", "ed25519", "-N", PASSPHRASE, "-Z", cipher, "-C", "z", "-f", str(path))
    key = loadPrivateKey(path.read_bytes(), PASSPHRASE)
    assert key.publicKey() == parsePublicKey(path.with_suffix(".pub").read_bytes())
    assert key.comment == "z"
    with pytest.raises(BadPassphraseError):
        loadPrivateKey(path.read_bytes(), PASSPHRASE + "!")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
@pytest.mark.parametrize("name", sorted(TYPES))
def test_ssh_keygen_reads_plait_openssh_keys(
    tmp_path: Path, name: str, passphrase: str | None
) -> None:
    """Keys plait writes in OpenSSH format load in ssh-keygen -y (encrypted ones with -P)."""
    kind, bits = TYPES[name]
    key = PrivateKey.generate(kind, bits)
    path = _write(tmp_path / "id", key.toOpenSSH(passphrase, comment="plait"))
    out = _keygen("-y", "-P", passphrase or "", "-f", str(path)).stdout
    assert parsePublicKey(out) == key.publicKey()
    if passphrase:  # and a wrong passphrase is refused by ssh-keygen too
        with pytest.raises(subprocess.CalledProcessError):
            _keygen("-y", "-P", "wrong passphrase", "-f", str(path))


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
@pytest.mark.parametrize("name", ["ecdsa256", "ecdsa521", "rsa"])
def test_ssh_keygen_reads_plait_pem_keys(tmp_path: Path, name: str, passphrase: str | None) -> None:
    """PKCS#8 PEM keys plait writes load in ssh-keygen -y (OpenSSH 9.2 reads no Ed25519 PEM)."""
    kind, bits = TYPES[name]
    key = PrivateKey.generate(kind, bits)
    path = _write(tmp_path / "id", key.toPEM(passphrase))
    out = _keygen("-y", "-P", passphrase or "", "-f", str(path)).stdout
    assert parsePublicKey(out) == key.publicKey()


def test_ssh_keygen_converts_public_keys(generated: dict[tuple[str, str], Path]) -> None:
    """ssh-keygen -e (RFC 4716 and PEM) output reads back as the same key; so does plait's PEM."""
    pub = generated[("ecdsa256", "plain")].with_suffix(".pub")
    key = parsePublicKey(pub.read_bytes())
    rfc4716 = _keygen("-e", "-f", str(pub)).stdout
    assert b"BEGIN SSH2 PUBLIC KEY" in rfc4716 and parsePublicKey(rfc4716) == key
    pem = _keygen("-e", "-m", "PKCS8", "-f", str(pub)).stdout
    assert parsePublicKey(pem) == key
    rsaPub = generated[("rsa", "plain")].with_suffix(".pub")
    pkcs1 = _keygen("-e", "-m", "PEM", "-f", str(rsaPub)).stdout
    assert b"RSA PUBLIC KEY" in pkcs1
    assert parsePublicKey(pkcs1) == parsePublicKey(rsaPub.read_bytes())


def test_ssh_keygen_imports_plait_pem_public_key(tmp_path: Path) -> None:
    """ssh-keygen -i -m PKCS8 turns plait's PEM public key into the same OpenSSH line."""
    key = PrivateKey.generate("ecdsa", 384).publicKey()
    path = tmp_path / "pub.pem"
    path.write_bytes(key.toPEM())
    assert parsePublicKey(_keygen("-i", "-m", "PKCS8", "-f", str(path)).stdout) == key


def test_hashed_known_hosts_from_ssh_keygen(
    tmp_path: Path, generated: dict[tuple[str, str], Path]
) -> None:
    """Lines hashed by ssh-keygen -H verify in plait (port 22 and [host]:port)."""
    ed = parsePublicKey(generated[("ed25519", "plain")].with_suffix(".pub").read_bytes())
    ec = parsePublicKey(generated[("ecdsa384", "plain")].with_suffix(".pub").read_bytes())
    path = tmp_path / "known_hosts"
    path.write_bytes(
        b"server.example " + ed.toOpenSSH() + b"\n[other.example]:2222 " + ec.toOpenSSH() + b"\n"
    )
    _keygen("-H", "-f", str(path))
    data = path.read_bytes()
    assert b"server.example" not in data and data.count(b"|1|") == 2
    known = KnownHosts.parse(data, strict=True)
    assert known.verify("server.example", 22, ed) == "match"
    assert known.verify("other.example", 2222, ec) == "match"
    assert known.verify("other.example", 22, ec) == "unknown"
    assert known.verify("server.example", 22, parsePublicKey(ed.toOpenSSH())) == "match"


def test_ssh_keygen_finds_plait_hashed_lines(tmp_path: Path) -> None:
    """ssh-keygen -F finds the hosts in lines plait wrote (hashed and plain)."""
    key = PrivateKey.generate("ed25519").publicKey()
    path = tmp_path / "known_hosts"
    path.write_bytes(
        KnownHosts.line("hashed.example", 2200, key, hashed=True)
        + b"\n"
        + KnownHosts.line("plain.example", 22, key)
        + b"\n"
    )
    assert (
        b"Host [hashed.example]:2200 found"
        in _keygen("-F", "[hashed.example]:2200", "-f", str(path)).stdout
    )
    assert b"plain.example" in _keygen("-F", "plain.example", "-f", str(path)).stdout
    with pytest.raises(subprocess.CalledProcessError):
        _keygen("-F", "hashed.example", "-f", str(path))


# --- signatures: OpenSSH's SSHSIG format (PROTOCOL.sshsig) wraps an SSH signature blob ---


def _sshsigSignedData(namespace: bytes, message: bytes) -> bytes:
    digest = hashlib.sha512(message).digest()
    w = SSHWriter().raw(b"SSHSIG").string(namespace).string(b"").string(b"sha512")
    return w.string(digest).bytes()


def _armour(blob: bytes) -> bytes:
    b64 = base64.b64encode(blob)
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return (
        b"\n".join([b"-----BEGIN SSH SIGNATURE-----", *lines, b"-----END SSH SIGNATURE-----"])
        + b"\n"
    )


@pytest.mark.parametrize("name", sorted(TYPES))
def test_ssh_keygen_verifies_plait_signatures(tmp_path: Path, name: str) -> None:
    """A plait signature in an SSHSIG envelope passes ssh-keygen -Y check-novalidate."""
    kind, bits = TYPES[name]
    key = PrivateKey.generate(kind, bits)
    message = b"signed by plait\n"
    signature = key.sign(_sshsigSignedData(b"file", message))
    sshsig = (
        SSHWriter()
        .raw(b"SSHSIG")
        .uint32(1)
        .string(key.publicKey().blob())
        .string(b"file")
        .string(b"")
        .string(b"sha512")
        .string(signature)
        .bytes()
    )
    sigPath = tmp_path / "msg.sig"
    sigPath.write_bytes(_armour(sshsig))
    _keygen("-Y", "check-novalidate", "-n", "file", "-s", str(sigPath), stdin=message)
    with pytest.raises(subprocess.CalledProcessError):
        _keygen("-Y", "check-novalidate", "-n", "file", "-s", str(sigPath), stdin=b"tampered\n")


@pytest.mark.parametrize("name", sorted(TYPES))
def test_plait_verifies_ssh_keygen_signatures(
    generated: dict[tuple[str, str], Path], name: str
) -> None:
    """ssh-keygen -Y sign's inner signature verifies in plait (and not over other data)."""
    path = generated[(name, "plain")]
    message = b"signed by OpenSSH\n"
    armoured = _keygen("-Y", "sign", "-f", str(path), "-n", "file", stdin=message).stdout
    blob = base64.b64decode(b"".join(armoured.splitlines()[1:-1]))
    r = SSHReader(blob, 6)
    assert blob[:6] == b"SSHSIG" and r.uint32() == 1
    pub = parsePublicKeyBlob(r.string())
    namespace, _reserved, hashAlg, signature = r.string(), r.string(), r.string(), r.string()
    assert hashAlg == b"sha512"
    assert pub == loadPrivateKey(path.read_bytes()).publicKey()
    assert pub.verify(signature, _sshsigSignedData(namespace, message))
    assert not pub.verify(signature, _sshsigSignedData(namespace, b"other"))


# --- paramiko as a second peer -----------------------------------------------------------

paramiko = pytest.importorskip("paramiko")


_PARAMIKO = {"ed25519": "Ed25519Key", "ecdsa": "ECDSAKey", "rsa": "RSAKey"}


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
@pytest.mark.parametrize("name", sorted(TYPES))
def test_paramiko_round_trip(tmp_path: Path, name: str, passphrase: str | None) -> None:
    """paramiko loads plait's OpenSSH keys; each side verifies the other's signatures."""
    kind, bits = TYPES[name]
    key = PrivateKey.generate(kind, bits)
    # A comment: paramiko misreads an unpadded key whose comment is empty (as ssh-keygen's
    # keys always have one, OpenSSH never meets that).
    path = _write(tmp_path / "id", key.toOpenSSH(passphrase, comment="plait@test"))
    cls = getattr(paramiko, _PARAMIKO[kind])
    theirs = cls.from_private_key_file(str(path), password=passphrase)
    assert theirs.asbytes() == key.publicKey().blob()
    theirPublic = cls(data=key.publicKey().blob())  # paramiko verifies with public keys
    for alg in key.signatureAlgorithms():
        sig = key.sign(b"data", alg)
        assert theirPublic.verify_ssh_sig(b"data", paramiko.Message(sig))
        assert not theirPublic.verify_ssh_sig(b"datA", paramiko.Message(sig))
        kwargs = {"algorithm": alg} if kind == "rsa" else {}
        msg = theirs.sign_ssh_data(b"data", **kwargs)
        assert key.publicKey().verify(msg.asbytes(), b"data", algorithm=alg)
        assert not key.publicKey().verify(msg.asbytes(), b"datA")


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_paramiko_written_pem_keys(tmp_path: Path, kind: str) -> None:
    """paramiko's traditional (Proc-Type encrypted) PEM keys load in plait."""
    theirs = (
        paramiko.RSAKey.generate(2048) if kind == "rsa" else paramiko.ECDSAKey.generate(bits=256)
    )
    path = tmp_path / "pk"
    theirs.write_private_key_file(str(path), password=PASSPHRASE)
    assert b"Proc-Type: 4,ENCRYPTED" in path.read_bytes()
    key = loadPrivateKey(path.read_bytes(), PASSPHRASE)
    assert key.publicKey() == parsePublicKeyBlob(theirs.asbytes())
    assert isinstance(key.publicKey(), PublicKey)
