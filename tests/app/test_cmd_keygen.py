"""``plait keygen``: the command object, and the command as a subprocess read by ssh-keygen."""

from __future__ import annotations

import argparse
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from plait.app._cmd_keygen import keygenCommand
from plait.wire.ssh.keys import loadPrivateKey, parsePublicKey

CLI = [sys.executable, "-m", "plait.app._cli"]
SSH_KEYGEN = shutil.which("ssh-keygen")
needsKeygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH's ssh-keygen not installed")


def options(*argv: str) -> argparse.Namespace:
    """Parse ``argv`` with the subcommand's own arguments."""
    parser = argparse.ArgumentParser()
    keygenCommand.addArguments(parser)
    return parser.parse_args(list(argv))


def test_generates_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Writes PATH (0600) and PATH.pub (0644) for one key; prints the fingerprint."""
    path = tmp_path / "id"
    assert keygenCommand.run(options("-t", "ecdsa", "-b", "521", "-f", str(path), "-C", "c")) == 0
    key = loadPrivateKey(path.read_bytes())
    pub = parsePublicKey(path.with_suffix(".pub").read_bytes())
    assert key.publicKey() == pub and key.keyType == "ecdsa-sha2-nistp521"
    assert pub.comment == "c" and key.comment == "c"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_suffix(".pub").stat().st_mode) == 0o644
    out = capsys.readouterr().out
    assert f"{pub.fingerprint()} c\n" in out and "saved in" in out


def test_passphrase_and_pkcs8(tmp_path: Path) -> None:
    """-N encrypts the key; -m pkcs8 writes PEM PKCS#8."""
    path = tmp_path / "id"
    assert keygenCommand.run(options("-q", "-f", str(path), "-N", "secret", "-a", "4")) == 0
    assert loadPrivateKey(path.read_bytes(), "secret").keyType == "ssh-ed25519"
    pem = tmp_path / "pem"
    assert keygenCommand.run(options("-q", "-t", "ecdsa", "-m", "PKCS8", "-f", str(pem))) == 0
    assert pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing PATH or PATH.pub is kept (status 1) unless --force is given."""
    path = tmp_path / "id"
    path.write_bytes(b"precious")
    assert keygenCommand.run(options("-q", "-f", str(path))) == 1
    assert "exists (use --force" in capsys.readouterr().err
    assert path.read_bytes() == b"precious"
    path.unlink()
    path.with_suffix(".pub").write_bytes(b"precious")
    assert keygenCommand.run(options("-q", "-f", str(path))) == 1
    assert not path.exists()
    path.write_bytes(b"old")
    path.chmod(0o644)
    assert keygenCommand.run(options("-q", "-f", str(path), "--force")) == 0
    assert loadPrivateKey(path.read_bytes()).publicKey() == parsePublicKey(
        path.with_suffix(".pub").read_bytes()
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-t", "rsa", "-b", "1024"], "2048"),
        (["-t", "ecdsa", "-b", "512"], "256, 384 or 521"),
        (["-a", "0"], "ROUNDS"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Bad sizes and rounds are status 1 with a one-line error; nothing is written."""
    path = tmp_path / "id"
    assert keygenCommand.run(options(*argv, "-q", "-f", str(path))) == 1
    assert message in capsys.readouterr().err and not path.exists()


def test_show_fingerprint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-l prints 'bits fingerprint comment (TYPE)' for a public or plain private key file."""
    path = tmp_path / "id"
    keygenCommand.run(options("-q", "-f", str(path), "-C", "me"))
    fingerprint = parsePublicKey(path.with_suffix(".pub").read_bytes()).fingerprint()
    for target in (path.with_suffix(".pub"), path):
        assert keygenCommand.run(options("-l", "-f", str(target))) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"256 {fingerprint} ") and out.endswith("(ED25519)\n")
    assert keygenCommand.run(options("-l", "-f", str(tmp_path / "missing"))) == 1


def test_print_public_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-y prints the public key line of a private key (-P for an encrypted one)."""
    path = tmp_path / "id"
    keygenCommand.run(options("-q", "-t", "ecdsa", "-f", str(path), "-C", "me", "-N", "pw"))
    assert keygenCommand.run(options("-y", "-f", str(path), "-P", "pw")) == 0
    assert capsys.readouterr().out == path.with_suffix(".pub").read_text()
    assert keygenCommand.run(options("-y", "-f", str(path))) == 1
    assert "passphrase is needed" in capsys.readouterr().err
    assert keygenCommand.run(options("-y", "-f", str(path), "-P", "bad")) == 1
    assert "wrong passphrase" in capsys.readouterr().err


@needsKeygen
@pytest.mark.parametrize(("kind", "bits"), [("ed25519", None), ("ecdsa", 384), ("rsa", 2048)])
def test_subprocess_read_by_ssh_keygen(tmp_path: Path, kind: str, bits: int | None) -> None:
    """`plait keygen` as a subprocess writes keys ssh-keygen reads (encrypted too) and prints the
    fingerprint ssh-keygen -lf prints."""
    assert SSH_KEYGEN is not None
    path = tmp_path / "id"
    size = ["-b", str(bits)] if bits else []
    argv = [*CLI, "keygen", "-t", kind, *size, "-f", str(path), "-N", "pass phrase", "-C", "t"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    pub = subprocess.run(
        [SSH_KEYGEN, "-y", "-P", "pass phrase", "-f", str(path)],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    assert parsePublicKey(pub) == parsePublicKey(path.with_suffix(".pub").read_bytes())
    listed = subprocess.run(
        [SSH_KEYGEN, "-lf", str(path.with_suffix(".pub"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    fingerprint = listed.split()[1]
    assert f"{fingerprint} t\n" in result.stdout
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "exists" in again.stderr
