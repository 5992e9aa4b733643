"""plait ssh / sftp / sshd pieces without the network: option parsing, forward specs, host key
files, the realm and the only-this-user checker."""

from __future__ import annotations

import argparse
import os
import pwd
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("cryptography")

from plait.app._cmd_ssh import addClientArguments, clientSettings, parseForward
from plait.app._cmd_ssh_unix import (
    UnixSSHRealm,
    _OnlyUsers,
    hostKeys,
    loadHostKeys,
    loadOrCreateHostKeys,
)
from plait.auth import UnauthorizedLogin, UsernamePassword
from plait.defer import succeed
from plait.testing import failureResultOf, successResultOf


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    addClientArguments(parser, "-p")
    parser.add_argument("-l", dest="login")
    return parser.parse_args(list(argv))


def test_client_settings_from_options() -> None:
    """-o options set the port, user, files, policy and algorithm lists; -p wins over Port."""
    options = _parse(
        "-o",
        "Port=2200",
        "-o",
        "User=bob",
        "-o",
        "UserKnownHostsFile=/tmp/kh",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "Ciphers=aes128-ctr,aes256-ctr",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=4",
        "-i",
        "/tmp/k",
    )
    s = clientSettings(options, "example.org")
    assert (s.host, s.port, s.user, s.knownHosts, s.strict) == (
        "example.org",
        2200,
        "bob",
        "/tmp/kh",
        "accept-new",
    )
    assert s.algorithms == {"ciphers": ["aes128-ctr", "aes256-ctr"]}
    assert (s.batch, s.timeout, s.identityFiles) == (True, 4.0, ["/tmp/k"])
    assert clientSettings(_parse("-p", "22", "-o", "Port=99"), "h").port == 22


def test_client_settings_user_at_host_wins() -> None:
    """USER@HOST beats -l and User=."""
    s = clientSettings(_parse("-l", "carol", "-o", "User=bob"), "alice@h")
    assert (s.user, s.host) == ("alice", "h")
    assert clientSettings(_parse("-l", "carol"), "h").user == "carol"


def test_client_settings_errors() -> None:
    """A bad StrictHostKeyChecking value and a missing host are ValueErrors."""
    with pytest.raises(ValueError, match="StrictHostKeyChecking"):
        clientSettings(_parse("-o", "StrictHostKeyChecking=maybe"), "h")
    with pytest.raises(ValueError, match="no host"):
        clientSettings(_parse(), "user@")


def test_parse_forward() -> None:
    """-L/-R specs: with and without a bind address, IPv6 in brackets."""
    assert parseForward("8080:db:5432") == ("127.0.0.1", 8080, "db", 5432)
    assert parseForward("0.0.0.0:8080:db:5432") == ("0.0.0.0", 8080, "db", 5432)
    assert parseForward("[::1]:80:[::1]:8080") == ("::1", 80, "::1", 8080)
    assert parseForward("*:80:h:81")[0] == "127.0.0.1"
    with pytest.raises(ValueError):
        parseForward("80:h")


def test_host_keys_created_once(tmp_path: Path) -> None:
    """The state directory gets three keys (0600) on the first call; later calls reuse them."""
    state = tmp_path / "state"
    first = loadOrCreateHostKeys(str(state))
    assert sorted(k.keyType for k in first) == ["ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for path in state.glob("*_key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = loadOrCreateHostKeys(str(state))
    assert [k.publicKey() for k in again] == [k.publicKey() for k in first]
    assert [k.publicKey() for k in hostKeys([], False, str(state))] == [
        k.publicKey() for k in first
    ]


def test_load_host_keys_errors(tmp_path: Path) -> None:
    """A missing or malformed host key file is a ValueError naming it."""
    with pytest.raises(ValueError, match="cannot read host key"):
        loadHostKeys([str(tmp_path / "missing")])
    bad = tmp_path / "bad"
    bad.write_bytes(b"not a key")
    with pytest.raises(ValueError, match="bad"):
        loadHostKeys([str(bad)])


def test_realm_builds_account_avatar() -> None:
    """The realm maps a username to its account: uid, gid, home, shell, environment."""
    me = pwd.getpwuid(os.geteuid())
    realm = UnixSSHRealm(environment={"SHLVL": "1"})
    interface, avatar, logout = realm.requestAvatar(me.pw_name.encode(), None, object)
    assert interface is object
    assert (avatar.uid, avatar.gid, avatar.home) == (me.pw_uid, me.pw_gid, me.pw_dir)
    session = SimpleNamespace(env={b"SHLVL": b"5"}, conn=None, pty=None)
    assert avatar.environment(session, None)["SHLVL"] == "1"  # the server's setting wins
    assert avatar.restrictions.environment == {}
    assert callable(logout)


def test_realm_refuses_unknown_and_other_users() -> None:
    """Unknown users, and other uids when restricted to one, are UnauthorizedLogin."""
    with pytest.raises(UnauthorizedLogin):
        UnixSSHRealm().requestAvatar(b"no-such-user-plait", None)
    root = pwd.getpwuid(0).pw_name.encode()
    with pytest.raises(UnauthorizedLogin):
        UnixSSHRealm(onlyUid=os.geteuid() + 12345).requestAvatar(root, None)


class _AcceptAll:
    credentialInterfaces = (UsernamePassword,)

    def requestAvatarId(self, credentials: UsernamePassword) -> object:
        return succeed(credentials.username)


def test_only_users_checker() -> None:
    """_OnlyUsers passes listed usernames to the checker and refuses the rest."""
    checker = _OnlyUsers(_AcceptAll(), frozenset({b"me"}))
    assert checker.credentialInterfaces == (UsernamePassword,)
    assert successResultOf(checker.requestAvatarId(UsernamePassword(b"me", b"x"))) == b"me"
    failure = failureResultOf(checker.requestAvatarId(UsernamePassword(b"you", b"x")))
    assert failure.check(UnauthorizedLogin)


def test_executable_by() -> None:
    """_executableBy follows the mode bits of the file and of every directory above it."""
    import tempfile

    from plait.app._cmd_ssh_unix import _executableBy

    with tempfile.TemporaryDirectory() as top:  # pytest's tmp_path is private to its user
        base = Path(top)
        base.chmod(0o755)
        for parent in base.parents:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                pytest.skip(f"{parent} is not searchable by others here")
        tool = base / "dir" / "tool"
        tool.parent.mkdir()
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
        other = os.geteuid() + 4242
        assert _executableBy(str(tool), other, other)
        assert _executableBy(str(tool), None, None) and _executableBy(str(tool), 0, 0)
        tool.parent.chmod(0o700)
        assert not _executableBy(str(tool), other, other)
        tool.parent.chmod(0o755)
        tool.chmod(0o744)
        assert not _executableBy(str(tool), other, other)
