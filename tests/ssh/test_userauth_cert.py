"""SSHUserAuthServer on a fake transport with OpenSSH user certificates (``ssh-keygen -s``)."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from plait.auth import InMemorySSHKeyDB, Portal, SSHPublicKeyChecker
from plait.ssh.userauth import SSHUserAuthServer
from plait.testing import Clock
from plait.wire.ssh.keys import Certificate, PrivateKey, parseAuthorizedKeys, parsePublicKey
from plait.wire.ssh.userauth import PublicKeyRequest, parseServerMessage, publicKeySignatureData

from .connfakes import FakeSSHTransport
from .test_userauth import NextService, Realm

SSH_KEYGEN = shutil.which("ssh-keygen")
pytestmark = pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")

CA = PrivateKey.generate("ed25519")
SVC = b"ssh-connection"
NOW = datetime.datetime(2030, 1, 15, tzinfo=datetime.UTC)


def certificate(tmp_path: Path, key: PrivateKey, *options: str) -> Certificate:
    """ssh-keygen's user certificate for alice, valid through January 2030."""
    caPath = tmp_path / "ca"
    caPath.write_bytes(CA.toOpenSSH())
    caPath.chmod(0o600)
    pub = tmp_path / "id.pub"
    pub.write_bytes(key.publicKey().toOpenSSH() + b"\n")
    assert SSH_KEYGEN is not None
    subprocess.run(
        [SSH_KEYGEN, "-q", "-s", str(caPath), "-I", "t", "-n", "alice",
         "-V", "20300101000000Z:20300201000000Z", *options, str(pub)],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    cert = parsePublicKey((tmp_path / "id-cert.pub").read_bytes())
    assert isinstance(cert, Certificate)
    return cert


def serve() -> tuple[FakeSSHTransport, Realm]:
    """A started server service trusting CA (a cert-authority line) for alice."""
    line = "cert-authority " + CA.publicKey().toOpenSSH().decode()
    db = InMemorySSHKeyDB({b"alice": parseAuthorizedKeys(line, strict=True)})
    realm = Realm()
    portal = Portal(realm, [SSHPublicKeyChecker(db, now=lambda: NOW)])
    transport = FakeSSHTransport(isClient=False, reactor=Clock())
    transport.setService(SSHUserAuthServer(portal, ("IUser",), NextService))
    return transport, realm


def deliver(transport: FakeSSHTransport, request: PublicKeyRequest) -> list[Any]:
    """Send a request; what the server answered."""
    assert transport.service is not None
    transport.service.packetReceived(request.messageNumber, request.encode())
    out = [parseServerMessage(n, p, b"publickey") for n, p in transport.packets]
    transport.packets.clear()
    return out


@pytest.mark.parametrize(
    ("kind", "alg", "sigAlg"),
    [
        ("ed25519", b"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519"),
        ("rsa", b"rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-512"),
        ("rsa", b"rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-256"),
    ],
)
def test_certificate_query_and_login(tmp_path: Path, kind: str, alg: bytes, sigAlg: str) -> None:
    """PK_OK echoes the certificate algorithm and blob; the signed request logs in."""
    key = PrivateKey.generate(kind, 2048 if kind == "rsa" else None)
    cert = certificate(tmp_path, key, "-O", "force-command=/bin/true")
    transport, _ = serve()
    [pkok] = deliver(transport, PublicKeyRequest(b"alice", SVC, alg, cert.blob()))
    assert type(pkok).__name__ == "UserauthPKOK"
    assert (pkok.algorithm, pkok.blob) == (alg, cert.blob())
    data = publicKeySignatureData(b"session-id", b"alice", SVC, alg, cert.blob())
    request = PublicKeyRequest(b"alice", SVC, alg, cert.blob(), key.sign(data, sigAlg))
    assert [type(m).__name__ for m in deliver(transport, request)] == ["UserauthSuccess"]
    service = transport.service
    assert isinstance(service, NextService)
    _, avatarId = service.avatar
    assert avatarId == b"alice" and avatarId.options.command == "/bin/true"


def test_certificate_signature_must_cover_the_certificate(tmp_path: Path) -> None:
    """A signature over the plain key's request does not log in with the certificate."""
    key = PrivateKey.generate("ed25519")
    cert = certificate(tmp_path, key)
    transport, _ = serve()
    alg = b"ssh-ed25519-cert-v01@openssh.com"
    plainData = publicKeySignatureData(
        b"session-id", b"alice", SVC, b"ssh-ed25519", key.publicKey().blob()
    )
    request = PublicKeyRequest(b"alice", SVC, alg, cert.blob(), key.sign(plainData))
    assert [type(m).__name__ for m in deliver(transport, request)] == ["UserauthFailure"]
