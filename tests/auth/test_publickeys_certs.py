"""SSHPublicKeyChecker: cert-authority lines, OpenSSH user certificates, security-key options."""

from __future__ import annotations

import datetime
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from plait.auth import (
    InMemorySSHKeyDB,
    KeyAvatarId,
    SSHPrivateKey,
    SSHPublicKeyChecker,
    UnauthorizedLogin,
    ValidPublicKey,
)
from plait.testing import failureResultOf, successResultOf
from plait.wire.ssh.keys import (
    Certificate,
    PrivateKey,
    parseAuthorizedKeys,
    parsePublicKey,
    parsePublicKeyBlob,
)
from plait.wire.ssh.types import SSHWriter
from plait.wire.ssh.userauth import publicKeySignatureData

SSH_KEYGEN = shutil.which("ssh-keygen")
needsKeygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")

CA = PrivateKey.generate("ed25519")
OTHER_CA = PrivateKey.generate("ed25519")
ED = PrivateKey.generate("ed25519")
RSA = PrivateKey.generate("rsa", 2048)
SK_ED = "sk-ssh-ed25519@openssh.com"

# inside the validity window every test certificate gets, and after it
IN_WINDOW = datetime.datetime(2030, 1, 15, tzinfo=datetime.UTC)
AFTER = datetime.datetime(2030, 2, 1, tzinfo=datetime.UTC)
WINDOW = "20300101000000Z:20300201000000Z"


class FakeAuthenticator:
    """A FIDO sk-ssh-ed25519 key without hardware: signs as PROTOCOL.u2f describes."""

    def __init__(self, application: bytes = b"ssh:") -> None:
        self.application = application
        self.ed = ed25519.Ed25519PrivateKey.generate()
        raw = self.ed.public_key().public_bytes_raw()
        self.blob = SSHWriter().string(SK_ED).string(raw).string(application).bytes()

    def sign(self, data: bytes, flags: int = 0x01, counter: int = 1) -> bytes:
        """The SSH signature blob with the authenticator's ``flags`` (0x01 touch, 0x04 PIN)."""
        signed = (
            hashlib.sha256(self.application).digest()
            + bytes((flags,))
            + counter.to_bytes(4, "big")
            + hashlib.sha256(data).digest()
        )
        raw = self.ed.sign(signed)
        return SSHWriter().string(SK_ED).string(raw).byte(flags).uint32(counter).bytes()


def credentials(
    blob: bytes,
    alg: str,
    sign: object | None,
    user: bytes = b"alice",
    address: str | None = "192.0.2.7",
) -> SSHPrivateKey:
    """Credentials as the server builds them; ``sign(data) -> signature`` or None (a query)."""
    data = publicKeySignatureData(b"SESSION", user, b"ssh-connection", alg.encode(), blob)
    if sign is None:
        return SSHPrivateKey(user, alg.encode(), blob, None, None, address)
    assert callable(sign)
    return SSHPrivateKey(user, alg.encode(), blob, data, sign(data), address)


def checker(
    text: str, user: bytes = b"alice", now: datetime.datetime = IN_WINDOW
) -> SSHPublicKeyChecker:
    """A checker whose ``user`` has the authorized_keys ``text``."""
    entries = parseAuthorizedKeys(text, strict=True)
    return SSHPublicKeyChecker(InMemorySSHKeyDB({user: entries}), now=lambda: now)


def caLine(ca: PrivateKey = CA, options: str = "cert-authority") -> str:
    """A cert-authority line for ``ca``."""
    return f"{options} {ca.publicKey().toOpenSSH('ca').decode()}\n"


def keygen(*args: str) -> None:
    """Run ssh-keygen."""
    assert SSH_KEYGEN is not None
    subprocess.run([SSH_KEYGEN, *args], capture_output=True, timeout=60, check=True)


def certify(
    tmp: Path,
    publicLine: bytes,
    *extra: str,
    ca: PrivateKey = CA,
    principals: str = "alice",
    validity: str = WINDOW,
) -> Certificate:
    """The certificate ``ssh-keygen -s`` makes for the public key line, with ``extra`` args."""
    caPath = tmp / "ca"
    caPath.write_bytes(ca.toOpenSSH())
    caPath.chmod(0o600)
    pub = tmp / "user.pub"
    pub.write_bytes(publicLine + b"\n")
    keygen("-q", "-s", str(caPath), "-I", "alice@test", "-n", principals, "-V", validity,
           *extra, str(pub))  # fmt: skip
    cert = parsePublicKey((tmp / "user-cert.pub").read_bytes())
    assert isinstance(cert, Certificate)
    return cert


def certLogin(
    cert: Certificate,
    key: PrivateKey = ED,
    user: bytes = b"alice",
    alg: str | None = None,
    address: str | None = "192.0.2.7",
) -> SSHPrivateKey:
    """Signed credentials for ``cert`` held by ``key`` (``alg``: the publickey algorithm)."""
    sigAlg = key.signatureAlgorithms()[0]
    alg = alg or sigAlg + "-cert-v01@openssh.com"
    if key.keyType == "ssh-rsa" and alg.startswith("rsa-sha2-"):
        sigAlg = alg.removesuffix("-cert-v01@openssh.com")
    return credentials(cert.blob(), alg, lambda d: key.sign(d, sigAlg), user, address)


# -- cert-authority lines never match the CA key itself ---------------------------------------


def test_cert_authority_key_cannot_log_in_as_itself() -> None:
    """A cert-authority line does not accept its CA key as a plain key, signed or queried."""
    check = checker(caLine())
    blob, alg = CA.publicKey().blob(), "ssh-ed25519"
    f = failureResultOf(check.requestAvatarId(credentials(blob, alg, None)), UnauthorizedLogin)
    assert not f.check(ValidPublicKey)
    failureResultOf(check.requestAvatarId(credentials(blob, alg, CA.sign)), UnauthorizedLogin)
    # the same key on a plain line does log in
    plain = checker(caLine(options="no-pty"))
    avatarId = successResultOf(plain.requestAvatarId(credentials(blob, alg, CA.sign)))
    assert avatarId.options.noPty


# -- security-key options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "flags", "accepted"),
    [
        ("", 0x01, True),
        ("", 0x00, False),  # no touch
        ("no-touch-required", 0x00, True),
        ("verify-required", 0x01, False),  # touched but no PIN
        ("verify-required", 0x05, True),
        ("no-touch-required,verify-required", 0x04, True),
    ],
)
def test_security_key_options(options: str, flags: int, accepted: bool) -> None:
    """no-touch-required lifts the touch requirement; verify-required demands verification."""
    sk = FakeAuthenticator()
    keyLine = parsePublicKeyBlob(sk.blob).toOpenSSH("sk").decode()
    text = (options + " " if options else "") + keyLine + "\n"
    d = checker(text).requestAvatarId(
        credentials(sk.blob, SK_ED, lambda data: sk.sign(data, flags))
    )
    if accepted:
        assert successResultOf(d) == b"alice"
    else:
        failureResultOf(d, UnauthorizedLogin)


# -- OpenSSH user certificates (made by ssh-keygen -s) ---------------------------------------


@needsKeygen
def test_certificate_login(tmp_path: Path) -> None:
    """A user certificate from the listed CA logs in; a query gets PK_OK; options merge."""
    cert = certify(tmp_path, ED.publicKey().toOpenSSH(), "-O", "force-command=/bin/backup")
    check = checker(caLine(options='cert-authority,environment="A=1"'))
    avatarId = successResultOf(check.requestAvatarId(certLogin(cert)))
    assert avatarId == b"alice" and isinstance(avatarId, KeyAvatarId)
    assert avatarId.key == cert
    assert avatarId.options.command == "/bin/backup"
    assert avatarId.options.environment == {"A": "1"}
    assert not avatarId.options.noPty and not avatarId.options.certAuthority
    query = credentials(cert.blob(), "ssh-ed25519-cert-v01@openssh.com", None)
    failureResultOf(check.requestAvatarId(query), ValidPublicKey)


@needsKeygen
def test_certificate_extensions_restrict(tmp_path: Path) -> None:
    """-O clear (no permit-* extensions) gives no-pty, no-port-forwarding... to the avatar."""
    cert = certify(tmp_path, ED.publicKey().toOpenSSH(), "-O", "clear", "-O", "permit-pty")
    options = successResultOf(checker(caLine()).requestAvatarId(certLogin(cert))).options
    assert not options.noPty
    assert options.noPortForwarding and options.noAgentForwarding and options.noX11Forwarding


@needsKeygen
@pytest.mark.parametrize(
    ("lines", "login", "now"),
    [
        pytest.param(caLine(OTHER_CA), {}, IN_WINDOW, id="other-ca"),
        pytest.param(caLine(options="no-pty"), {}, IN_WINDOW, id="ca-without-cert-authority"),
        pytest.param(caLine(), {"user": b"bob"}, IN_WINDOW, id="principal-not-user"),
        pytest.param(caLine(), {}, AFTER, id="expired"),
        pytest.param(caLine(options='cert-authority,from="10.0.0.0/8"'), {}, IN_WINDOW, id="from"),
        pytest.param(caLine(options='cert-authority,principals="root"'), {}, IN_WINDOW, id="pr"),
        pytest.param(
            caLine(options='cert-authority,expiry-time="20200101"'), {}, IN_WINDOW, id="x"
        ),
        pytest.param(caLine(), {"alg": "ssh-ed25519"}, IN_WINDOW, id="plain-alg-for-cert"),
        pytest.param(caLine(), {"alg": "rsa-sha2-512-cert-v01@openssh.com"}, IN_WINDOW, id="a"),
    ],
)
def test_certificate_refused(
    tmp_path: Path, lines: str, login: dict[str, object], now: datetime.datetime
) -> None:
    """Wrong CA, a plain line, another user, expired, from=, principals=, wrong algorithm."""
    cert = certify(tmp_path, ED.publicKey().toOpenSSH())
    user = login.get("user", b"alice")
    assert isinstance(user, bytes)
    alg = login.get("alg")
    assert alg is None or isinstance(alg, str)
    creds = certLogin(cert, user=user, alg=alg)
    failureResultOf(checker(lines, user, now).requestAvatarId(creds), UnauthorizedLogin)
    query = SSHPrivateKey(creds.username, creds.algName, creds.blob, None, None, "192.0.2.7")
    f = failureResultOf(checker(lines, user, now).requestAvatarId(query), UnauthorizedLogin)
    assert not f.check(ValidPublicKey)


@needsKeygen
def test_certificate_principals_option(tmp_path: Path) -> None:
    """With principals= the line's names, not the user name, must be among the cert's."""
    cert = certify(tmp_path, ED.publicKey().toOpenSSH(), principals="ops,alice")
    check = checker(caLine(options='cert-authority,principals="ops"'), user=b"root")
    assert successResultOf(check.requestAvatarId(certLogin(cert, user=b"root"))) == b"root"


@needsKeygen
def test_host_certificate_refused(tmp_path: Path) -> None:
    """A host certificate (ssh-keygen -h) is not a user certificate."""
    cert = certify(tmp_path, ED.publicKey().toOpenSSH(), "-h")
    failureResultOf(checker(caLine()).requestAvatarId(certLogin(cert)), UnauthorizedLogin)


@needsKeygen
def test_certificate_signature_by_another_key(tmp_path: Path) -> None:
    """Only the certified key's signature counts (not the CA's, not another key's)."""
    cert = certify(tmp_path, ED.publicKey().toOpenSSH())
    for signer in (CA, PrivateKey.generate("ed25519")):
        creds = certLogin(cert, key=signer)
        failureResultOf(checker(caLine()).requestAvatarId(creds), UnauthorizedLogin)


@needsKeygen
def test_certificate_source_address_and_forced_commands(tmp_path: Path) -> None:
    """The cert's source-address is enforced; its force-command must agree with command=."""
    cert = certify(
        tmp_path, ED.publicKey().toOpenSSH(),
        "-O", "source-address=192.0.2.0/24", "-O", "force-command=/bin/a",
    )  # fmt: skip
    check = checker(caLine())
    assert successResultOf(check.requestAvatarId(certLogin(cert))).options.command == "/bin/a"
    failureResultOf(check.requestAvatarId(certLogin(cert, address="10.1.1.1")), UnauthorizedLogin)
    failureResultOf(check.requestAvatarId(certLogin(cert, address=None)), UnauthorizedLogin)
    same = checker(caLine(options='cert-authority,command="/bin/a"'))
    assert successResultOf(same.requestAvatarId(certLogin(cert))) == b"alice"
    other = checker(caLine(options='cert-authority,command="/bin/b"'))
    failureResultOf(other.requestAvatarId(certLogin(cert)), UnauthorizedLogin)


@needsKeygen
def test_rsa_certificate_algorithms(tmp_path: Path) -> None:
    """RSA certs log in as rsa-sha2-512/256-cert; ssh-rsa-cert (SHA-1) only with allowSHA1."""
    cert = certify(tmp_path, RSA.publicKey().toOpenSSH())
    check = checker(caLine())
    for alg in ("rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com"):
        assert successResultOf(check.requestAvatarId(certLogin(cert, RSA, alg=alg))) == b"alice"
    # the name says SHA-512 but the signature is SHA-256: refused
    data = publicKeySignatureData(
        b"SESSION", b"alice", b"ssh-connection", b"rsa-sha2-512-cert-v01@openssh.com", cert.blob()
    )
    mixed = SSHPrivateKey(
        b"alice", b"rsa-sha2-512-cert-v01@openssh.com", cert.blob(), data,
        RSA.sign(data, "rsa-sha2-256"), "192.0.2.7",
    )  # fmt: skip
    failureResultOf(check.requestAvatarId(mixed), UnauthorizedLogin)
    sha1 = credentials(
        cert.blob(), "ssh-rsa-cert-v01@openssh.com", lambda d: RSA.sign(d, "ssh-rsa")
    )
    failureResultOf(check.requestAvatarId(sha1), UnauthorizedLogin)
    lenient = SSHPublicKeyChecker(check.keydb, allowSHA1=True, now=lambda: IN_WINDOW)
    assert successResultOf(lenient.requestAvatarId(sha1)) == b"alice"


@needsKeygen
@pytest.mark.parametrize(
    ("lineOptions", "certOptions", "flags", "accepted"),
    [
        ("cert-authority", (), 0x01, True),
        ("cert-authority", (), 0x00, False),
        ("cert-authority,no-touch-required", (), 0x00, False),  # the cert must allow it too
        ("cert-authority", ("-O", "no-touch-required"), 0x00, False),  # and the line
        ("cert-authority,no-touch-required", ("-O", "no-touch-required"), 0x00, True),
        ("cert-authority", ("-O", "verify-required"), 0x01, False),
        ("cert-authority", ("-O", "verify-required"), 0x05, True),
    ],
)
def test_security_key_certificates(
    tmp_path: Path, lineOptions: str, certOptions: tuple[str, ...], flags: int, accepted: bool
) -> None:
    """sk certificates: touch lifted only by line and cert together; verify-required holds."""
    sk = FakeAuthenticator()
    cert = certify(tmp_path, parsePublicKeyBlob(sk.blob).toOpenSSH(), *certOptions)
    alg = "sk-ssh-ed25519-cert-v01@openssh.com"
    assert cert.keyType == alg
    creds = credentials(cert.blob(), alg, lambda d: sk.sign(d, flags))
    d = checker(caLine(options=lineOptions)).requestAvatarId(creds)
    if accepted:
        assert successResultOf(d) == b"alice"
    else:
        failureResultOf(d, UnauthorizedLogin)
