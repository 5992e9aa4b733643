"""OpenSSH certificates: parsing, CA signatures, validity, authorized_keys and known_hosts."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest

from plait.wire.ssh.keys import (
    HOST_CERT,
    USER_CERT,
    AuthorizedKey,
    Certificate,
    CertificateError,
    KeyFormatError,
    KnownHosts,
    PrivateKey,
    PublicKey,
    parseAuthorizedKeys,
    parsePublicKey,
    parsePublicKeyBlob,
)
from plait.wire.ssh.types import SSHReader, SSHWriter, encodeString

CA = PrivateKey.generate("ed25519")
USER = PrivateKey.generate("ecdsa", 256)
USER_PUBLIC = USER.publicKey()
FOREVER = (1 << 64) - 1
NOW = 1_900_000_000  # a fixed "now" for the checks (2030-03-17)
PERMIT_ALL = (
    ("permit-X11-forwarding", b""),
    ("permit-agent-forwarding", b""),
    ("permit-port-forwarding", b""),
    ("permit-pty", b""),
    ("permit-user-rc", b""),
)


def _pairs(items: tuple[tuple[str, bytes], ...]) -> bytes:
    return b"".join(
        encodeString(name.encode()) + encodeString(encodeString(value) if value else b"")
        for name, value in items
    )


def makeCert(
    key: PublicKey = USER_PUBLIC,
    ca: PrivateKey = CA,
    certType: int = USER_CERT,
    principals: tuple[str, ...] = ("alice",),
    after: int = 0,
    before: int = FOREVER,
    critical: tuple[tuple[str, bytes], ...] = (),
    extensions: tuple[tuple[str, bytes], ...] = PERMIT_ALL,
    signatureAlgorithm: str | None = None,
    caBlob: bytes | None = None,
) -> bytes:
    """A certificate blob built from PROTOCOL.certkeys, signed by ``ca``."""
    r = SSHReader(key.blob())
    plainType = r.string().decode()
    name = plainType.removesuffix("@openssh.com") + "-cert-v01@openssh.com"
    body = (
        SSHWriter()
        .string(name)
        .string(b"\x07" * 32)
        .raw(r.rest())
        .uint64(5)
        .uint32(certType)
        .string("key id")
        .string(b"".join(encodeString(p.encode()) for p in principals))
        .uint64(after)
        .uint64(before)
        .string(_pairs(critical))
        .string(_pairs(extensions))
        .string(b"")
        .string(caBlob or ca.publicKey().blob())
        .bytes()
    )
    return body + encodeString(ca.sign(body, signatureAlgorithm))


def test_parse_fields() -> None:
    """Every field of a certificate is read; the key and CA are PublicKeys."""
    cert = parsePublicKeyBlob(makeCert(critical=(("force-command", b"uptime"),)))
    assert isinstance(cert, Certificate)
    assert cert.keyType == "ecdsa-sha2-nistp256-cert-v01@openssh.com"
    assert cert.key == USER.publicKey() and cert.signatureKey == CA.publicKey()
    assert cert.serial == 5 and cert.keyID == "key id" and cert.certType == USER_CERT
    assert cert.principals == ("alice",) and cert.validBefore == FOREVER
    assert cert.forceCommand == "uptime" and cert.sourceAddresses is None
    assert set(cert.extensions) == {name for name, _ in PERMIT_ALL}
    assert cert.fingerprint() == USER.publicKey().fingerprint()
    assert cert.blob() != USER.publicKey().blob() and cert.bits() == 256
    assert parsePublicKey(cert.toOpenSSH("c")) == cert


def test_holder_signatures_verify_with_the_certified_key() -> None:
    """A signature by the certificate's holder verifies through the certificate."""
    cert = parsePublicKeyBlob(makeCert())
    assert cert.verify(USER.sign(b"data"), b"data")
    assert not cert.verify(CA.sign(b"data"), b"data")
    assert cert.signatureAlgorithms() == ("ecdsa-sha2-nistp256",)


def test_bad_ca_signature_refused() -> None:
    """A certificate whose CA signature fails (any byte changed) is a KeyFormatError."""
    blob = bytearray(makeCert())
    blob[60] ^= 1
    with pytest.raises(KeyFormatError):
        parsePublicKeyBlob(bytes(blob))


def test_sha1_ca_signature_refused() -> None:
    """An RSA CA signing with SHA-1 ssh-rsa is refused, as OpenSSH refuses it."""
    rsaCA = PrivateKey.generate("rsa", 2048)
    with pytest.raises(KeyFormatError, match="signature"):
        parsePublicKeyBlob(makeCert(ca=rsaCA, signatureAlgorithm="ssh-rsa"))
    assert isinstance(parsePublicKeyBlob(makeCert(ca=rsaCA)), Certificate)


def test_certificate_as_ca_refused() -> None:
    """A certificate cannot be a CA key."""
    caCert = makeCert(key=CA.publicKey(), ca=PrivateKey.generate("ed25519"))
    with pytest.raises(KeyFormatError, match="itself a certificate"):
        parsePublicKeyBlob(makeCert(caBlob=caCert))


@pytest.mark.parametrize(
    ("kwargs", "check", "message"),
    [
        ({"after": NOW + 1}, {}, "not yet valid"),
        ({"before": NOW}, {}, "expired"),
        ({}, {"principal": "mallory"}, "not valid for 'mallory'"),
        ({"principals": ()}, {"principal": "alice"}, "no principals"),
        ({"certType": HOST_CERT}, {}, "host certificate"),
        ({"critical": (("no-such-option", b""),)}, {}, "unsupported critical option"),
    ],
)
def test_check_refuses(kwargs: dict[str, object], check: dict[str, object], message: str) -> None:
    """check() raises CertificateError saying why the certificate does not hold."""
    cert = parsePublicKeyBlob(makeCert(**kwargs))  # type: ignore[arg-type]
    assert isinstance(cert, Certificate)
    with pytest.raises(CertificateError, match=message):
        cert.check(NOW, **check)  # type: ignore[arg-type]


def test_check_holds() -> None:
    """Inside its window, for a listed principal, the certificate holds."""
    cert = parsePublicKeyBlob(makeCert(after=NOW - 10, before=NOW + 10))
    assert isinstance(cert, Certificate)
    cert.check(NOW, "alice")
    cert.check(NOW - 10)
    anyone = parsePublicKeyBlob(makeCert(principals=()))
    assert isinstance(anyone, Certificate)
    anyone.check(NOW, "bob", requirePrincipal=False)


def test_host_certificate_wildcards() -> None:
    """Host certificate principals may be wildcard patterns."""
    cert = parsePublicKeyBlob(makeCert(certType=HOST_CERT, principals=("*.example.com",)))
    assert isinstance(cert, Certificate)
    cert.check(NOW, "www.example.com", HOST_CERT)
    with pytest.raises(CertificateError):
        cert.check(NOW, "example.org", HOST_CERT)


def _authority(options: str = "") -> AuthorizedKey:
    line = f"{options} {CA.publicKey().toOpenSSH().decode()}".strip()
    [entry] = parseAuthorizedKeys(line, strict=True)
    return entry


def test_authorized_keys_certificate_options() -> None:
    """A cert-authority line accepts its CA's certificate for a principal; options merge."""
    cert = parsePublicKeyBlob(makeCert(extensions=(("permit-pty", b""),)))
    assert isinstance(cert, Certificate)
    options = _authority("cert-authority").certificateOptions(cert, "alice", NOW)
    assert not options.noPty and options.noPortForwarding and options.noAgentForwarding
    assert not options.certAuthority
    with pytest.raises(CertificateError, match="not valid for 'bob'"):
        _authority("cert-authority").certificateOptions(cert, "bob", NOW)
    restricted = _authority("cert-authority,no-pty").certificateOptions(cert, "alice", NOW)
    assert restricted.noPty


def test_authorized_keys_needs_cert_authority() -> None:
    """A plain line for the CA key, or another CA's line, does not accept certificates."""
    cert = parsePublicKeyBlob(makeCert())
    assert isinstance(cert, Certificate)
    with pytest.raises(CertificateError, match="authority"):
        _authority().certificateOptions(cert, "alice", NOW)
    other = PrivateKey.generate("ed25519").publicKey().toOpenSSH().decode()
    [entry] = parseAuthorizedKeys("cert-authority " + other)
    with pytest.raises(CertificateError, match="authority"):
        entry.certificateOptions(cert, "alice", NOW)


def test_authorized_keys_principals_option() -> None:
    """principals= on the line replaces the user name in the principal check."""
    cert = parsePublicKeyBlob(makeCert(principals=("ops", "dev")))
    assert isinstance(cert, Certificate)
    entry = _authority('cert-authority,principals="admin,ops"')
    assert entry.certificateOptions(cert, "root", NOW) is not None
    with pytest.raises(CertificateError, match="principals="):
        _authority('cert-authority,principals="admin"').certificateOptions(cert, "root", NOW)


def test_authorized_keys_forced_commands_and_source() -> None:
    """force-command merges with command= (a conflict refuses); source-address is enforced."""
    cert = parsePublicKeyBlob(
        makeCert(critical=(("force-command", b"backup"), ("source-address", b"10.0.0.0/8")))
    )
    assert isinstance(cert, Certificate)
    options = _authority("cert-authority").certificateOptions(cert, "alice", NOW, "10.1.1.1")
    assert options.command == "backup"
    with pytest.raises(CertificateError, match="source-address"):
        _authority("cert-authority").certificateOptions(cert, "alice", NOW, "192.0.2.1")
    with pytest.raises(CertificateError, match="source-address"):
        _authority("cert-authority").certificateOptions(cert, "alice", NOW)
    with pytest.raises(CertificateError, match="force other commands"):
        _authority('cert-authority,command="ls"').certificateOptions(cert, "alice", NOW, "10.1.1.1")


def test_known_hosts_host_certificate() -> None:
    """@cert-authority vouches for valid host certificates; otherwise the plain key decides."""
    hostKey = PrivateKey.generate("ed25519").publicKey()
    cert = parsePublicKeyBlob(
        makeCert(hostKey, certType=HOST_CERT, principals=("*.example.com",), before=NOW + 1)
    )
    ca = CA.publicKey().toOpenSSH().decode()
    known = KnownHosts.parse(f"@cert-authority *.example.com {ca}\n")
    assert known.verify("a.example.com", 22, cert, now=NOW) == "match"
    assert known.verify("a.example.com", 22, cert) == "unknown"  # no time, no certificate
    assert known.verify("a.example.com", 22, cert, now=NOW + 1) == "unknown"  # expired
    assert known.verify("other.org", 22, cert, now=NOW) == "unknown"
    plain = KnownHosts.parse(f"a.example.com {hostKey.toOpenSSH().decode()}\n")
    assert plain.verify("a.example.com", 22, cert, now=NOW) == "match"  # falls back to the key
    revoked = KnownHosts.parse(
        f"@cert-authority *.example.com {ca}\n@revoked * {hostKey.toOpenSSH().decode()}\n"
    )
    assert revoked.verify("a.example.com", 22, cert, now=NOW) == "revoked"
    userCert = parsePublicKeyBlob(makeCert(hostKey, principals=("a.example.com",)))
    assert known.verify("a.example.com", 22, userCert, now=NOW) == "unknown"


# --- ssh-keygen -s --------------------------------------------------------------------------

SSH_KEYGEN = shutil.which("ssh-keygen")


def _keygen(*args: str) -> str:
    assert SSH_KEYGEN is not None
    return subprocess.run(
        [SSH_KEYGEN, *args], capture_output=True, text=True, timeout=60, check=True
    ).stdout


def _epoch(text: str) -> int:
    return int(
        datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.UTC).timestamp()
    )


@pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")
@pytest.mark.parametrize(("caKind", "caBits"), [("ed25519", None), ("ecdsa", 384), ("rsa", 2048)])
@pytest.mark.parametrize(("kind", "bits"), [("ed25519", None), ("ecdsa", 521), ("rsa", 2048)])
def test_ssh_keygen_certificates(
    tmp_path: Path, caKind: str, caBits: int | None, kind: str, bits: int | None
) -> None:
    """Certificates ssh-keygen -s signs parse, with their fields, and hold as they should."""
    ca = PrivateKey.generate(caKind, caBits)
    caPath = tmp_path / "ca"
    caPath.write_bytes(ca.toOpenSSH())
    caPath.chmod(0o600)
    key = PrivateKey.generate(kind, bits)
    (tmp_path / "user.pub").write_bytes(key.publicKey().toOpenSSH("u") + b"\n")
    _keygen(
        "-q", "-s", str(caPath), "-I", "alice@corp", "-n", "alice,backup", "-z", "77",
        "-V", "20300101000000Z:20300201000000Z",
        "-O", "force-command=/usr/bin/backup", "-O", "source-address=10.0.0.0/8,192.0.2.7/32",
        str(tmp_path / "user.pub"),
    )  # fmt: skip
    certPath = tmp_path / "user-cert.pub"
    cert = parsePublicKey(certPath.read_bytes())
    assert isinstance(cert, Certificate)
    assert cert.key == key.publicKey() and cert.signatureKey == ca.publicKey()
    assert cert.keyID == "alice@corp" and cert.serial == 77
    assert cert.principals == ("alice", "backup")
    assert cert.validAfter == _epoch("20300101000000Z")
    assert cert.validBefore == _epoch("20300201000000Z")
    assert cert.forceCommand == "/usr/bin/backup"
    assert cert.sourceAddresses == ("10.0.0.0/8", "192.0.2.7/32")
    assert "permit-pty" in cert.extensions
    listed = _keygen("-Lf", str(certPath))
    assert cert.fingerprint() in listed and ca.publicKey().fingerprint() in listed
    inWindow = _epoch("20300115000000Z")
    cert.check(inWindow, "alice")
    with pytest.raises(CertificateError, match="expired"):
        cert.check(_epoch("20300201000000Z"), "alice")
    options = AuthorizedKey(
        ca.publicKey(),
        parseAuthorizedKeys("cert-authority " + ca.publicKey().toOpenSSH().decode())[0].options,
    ).certificateOptions(cert, "backup", inWindow, "192.0.2.7")
    assert options.command == "/usr/bin/backup" and not options.noPty


@pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")
def test_ssh_keygen_host_certificate(tmp_path: Path) -> None:
    """An ssh-keygen -h host certificate verifies against an @cert-authority line."""
    ca = PrivateKey.generate("ed25519")
    caPath = tmp_path / "ca"
    caPath.write_bytes(ca.toOpenSSH())
    caPath.chmod(0o600)
    host = PrivateKey.generate("ecdsa", 256)
    (tmp_path / "host.pub").write_bytes(host.publicKey().toOpenSSH() + b"\n")
    _keygen("-q", "-s", str(caPath), "-h", "-I", "host", "-n", "*.lan,gw",
            "-V", "always:forever", str(tmp_path / "host.pub"))  # fmt: skip
    cert = parsePublicKey((tmp_path / "host-cert.pub").read_bytes())
    assert isinstance(cert, Certificate) and cert.certType == HOST_CERT
    known = KnownHosts.parse(b"@cert-authority *.lan,gw " + ca.publicKey().toOpenSSH())
    assert known.verify("box.lan", 22, cert, now=NOW) == "match"
    assert known.verify("gw", 22, cert, now=NOW) == "match"
    assert known.verify("box.wan", 22, cert, now=NOW) == "unknown"
