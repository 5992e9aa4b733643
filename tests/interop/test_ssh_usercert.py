"""OpenSSH's ``ssh`` logs in to plait's server with a user certificate from ``ssh-keygen -s``,
accepted through a ``cert-authority`` line in authorized_keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from plait.auth import AuthorizedKeysChecker, Portal
from plait.wire.ssh.keys import PrivateKey

from .sshpeers import SSH_KEYGEN, TIMEOUT, needSSH
from .test_ssh_userauth import Realm, authorizedKeys, serve, sshArgv

needKeygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")


def certifiedKey(tmp_path: Path, ca: PrivateKey, kind: str, principals: str, *options: str) -> Path:
    """A client key of ``kind`` with ``<key>-cert.pub`` beside it, signed by ``ca``."""
    caPath = tmp_path / "ca"
    caPath.write_bytes(ca.toOpenSSH())
    caPath.chmod(0o600)
    key = PrivateKey.generate(kind, 2048 if kind == "rsa" else None)
    path = tmp_path / f"id_{kind}"
    path.write_bytes(key.toOpenSSH())
    path.chmod(0o600)
    (tmp_path / f"id_{kind}.pub").write_bytes(key.publicKey().toOpenSSH() + b"\n")
    assert SSH_KEYGEN is not None
    subprocess.run(
        [SSH_KEYGEN, "-q", "-s", str(caPath), "-I", "interop", "-n", principals,
         "-V", "-5m:+1h", *options, f"{path}.pub"],
        capture_output=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    return path


def login(tmp_path: Path, ca: PrivateKey, key: Path, realm: Realm) -> str:
    """Run ``ssh -i key`` (its certificate beside it) against plait; ssh's stderr."""
    caLine = "cert-authority " + ca.publicKey().toOpenSSH("ca").decode()
    keys = authorizedKeys(tmp_path, [caLine])
    portal = Portal(realm, [AuthorizedKeysChecker(keys)])
    argv = sshArgv(0, "-o", "BatchMode=yes", "-i", str(key))

    def run(port: int) -> subprocess.CompletedProcess[str]:
        argv[argv.index("-p") + 1] = str(port)
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)

    result: subprocess.CompletedProcess[str] = serve(portal, run)
    return result.stderr


@needSSH
@needKeygen
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_openssh_certificate_login(tmp_path: Path, kind: str) -> None:
    """ssh offers its certificate; plait accepts it through the CA line, with force-command."""
    ca = PrivateKey.generate("ed25519")
    key = certifiedKey(tmp_path, ca, kind, "alice,ops", "-O", "force-command=/bin/date")
    realm = Realm()
    stderr = login(tmp_path, ca, key, realm)
    assert "authenticated as alice" in stderr, stderr[-3000:]
    accepted = [line for line in stderr.splitlines() if "Server accepts key" in line]
    assert accepted and all("-CERT" in line for line in accepted), stderr[-3000:]
    [avatarId] = realm.avatarIds
    assert avatarId == b"alice" and avatarId.options.command == "/bin/date"
    assert avatarId.key is not None and avatarId.key.keyType.endswith("-cert-v01@openssh.com")


@needSSH
@needKeygen
def test_openssh_certificate_for_someone_else(tmp_path: Path) -> None:
    """A certificate whose principals do not name the user is refused: Permission denied."""
    ca = PrivateKey.generate("ed25519")
    key = certifiedKey(tmp_path, ca, "ed25519", "bob")
    realm = Realm()
    stderr = login(tmp_path, ca, key, realm)
    assert "Permission denied (publickey" in stderr, stderr[-3000:]
    assert realm.avatarIds == []
