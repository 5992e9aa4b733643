"""plait.ssh.client without a network: KnownHostsVerifier's policies and HostKeyError."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cryptography")

from plait.ssh.client import HostKeyError, KnownHostsVerifier
from plait.wire.ssh.keys import KnownHosts, PrivateKey

KEY = PrivateKey.generate("ed25519").publicKey()
OTHER = PrivateKey.generate("ed25519").publicKey()


def _file(tmp_path: Path, *entries: tuple[str, int, object]) -> Path:
    path = tmp_path / "known_hosts"
    path.write_bytes(b"".join(KnownHosts.line(h, p, k) + b"\n" for h, p, k in entries))  # type: ignore[arg-type]
    return path


def test_match_accepted(tmp_path: Path) -> None:
    """A key known for host:port is accepted under the strict policy."""
    verifier = KnownHostsVerifier(str(_file(tmp_path, ("h", 2222, KEY))), "h", 2222, "yes")
    assert verifier(KEY) is True and verifier.error is None


def test_unknown_refused_when_strict(tmp_path: Path) -> None:
    """yes: an unknown host is refused with verdict 'unknown'; nothing is written."""
    path = tmp_path / "known_hosts"
    verifier = KnownHostsVerifier(str(path), "h", 22, "yes")
    assert verifier(KEY) is False
    assert isinstance(verifier.error, HostKeyError) and verifier.error.verdict == "unknown"
    assert "is not in known_hosts" in str(verifier.error)
    assert not path.exists()


@pytest.mark.parametrize("policy", ["accept-new", "no"])
def test_unknown_added(tmp_path: Path, policy: str) -> None:
    """accept-new and no: an unknown key is accepted and appended (directories made)."""
    path = tmp_path / "dir" / "known_hosts"
    verifier = KnownHostsVerifier(str(path), "h", 2200, policy)
    assert verifier(KEY) is True and verifier.added
    assert KnownHosts.parse(path.read_bytes()).verify("h", 2200, KEY) == "match"


@pytest.mark.parametrize("policy", ["yes", "accept-new", "no"])
def test_changed_key_refused(tmp_path: Path, policy: str) -> None:
    """A different key for a known host is refused under every policy."""
    path = _file(tmp_path, ("h", 22, OTHER))
    verifier = KnownHostsVerifier(str(path), "h", 22, policy)
    assert verifier(KEY) is False
    assert verifier.error is not None and verifier.error.verdict == "mismatch"
    assert "HAS CHANGED" in str(verifier.error)
    assert path.read_bytes().count(b"\n") == 1


def test_no_file_knows_nothing() -> None:
    """path None: nothing is known and nothing written (accept-new still accepts)."""
    assert KnownHostsVerifier(None, "h", 22, "yes")(KEY) is False
    verifier = KnownHostsVerifier(None, "h", 22, "accept-new")
    assert verifier(KEY) is True and not verifier.added


def test_bad_policy() -> None:
    """An unknown policy is a ValueError."""
    with pytest.raises(ValueError):
        KnownHostsVerifier(None, "h", 22, "ask")
