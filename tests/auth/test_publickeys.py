"""SSHPublicKeyChecker / AuthorizedKeysChecker: queries, signatures, options, from=, modes."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest

from plait.auth import (
    AuthorizedKeysChecker,
    AuthorizedKeysFiles,
    InMemorySSHKeyDB,
    KeyAvatarId,
    Portal,
    SSHPrivateKey,
    SSHPublicKeyChecker,
    UnauthorizedLogin,
    ValidPublicKey,
)
from plait.testing import failureResultOf, successResultOf
from plait.wire.ssh.keys import PrivateKey
from plait.wire.ssh.userauth import publicKeySignatureData

from .fakes import RecordingRealm

ED = PrivateKey.generate("ed25519")
OTHER = PrivateKey.generate("ed25519")
RSA = PrivateKey.generate("rsa", 2048)


def signed(
    key: PrivateKey,
    user: bytes = b"alice",
    alg: str | None = None,
    address: str | None = "192.0.2.7",
    signWith: str | None = None,
) -> SSHPrivateKey:
    """Credentials as the SSH server builds them from a signed publickey request."""
    alg = alg or key.signatureAlgorithms()[0]
    blob = key.publicKey().blob()
    data = publicKeySignatureData(b"SESSION", user, b"ssh-connection", alg.encode(), blob)
    sig = key.sign(data, signWith or alg)
    return SSHPrivateKey(user, alg.encode(), blob, data, sig, address)


def query(key: PrivateKey, user: bytes = b"alice", address: str | None = None) -> SSHPrivateKey:
    """An unsigned key query."""
    alg = key.signatureAlgorithms()[0].encode()
    return SSHPrivateKey(user, alg, key.publicKey().blob(), None, None, address)


def line(key: PrivateKey, options: str = "") -> str:
    """An authorized_keys line for ``key``."""
    prefix = options + " " if options else ""
    return prefix + key.publicKey().toOpenSSH("test").decode() + "\n"


def test_in_memory_signed_and_query() -> None:
    """A signed request verifies; a query for an authorized key raises ValidPublicKey."""
    checker = SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [ED.publicKey()]}))
    avatarId = successResultOf(checker.requestAvatarId(signed(ED)))
    assert avatarId == b"alice" and isinstance(avatarId, KeyAvatarId)
    assert avatarId.key == ED.publicKey()
    failureResultOf(checker.requestAvatarId(query(ED)), ValidPublicKey)
    failureResultOf(checker.requestAvatarId(query(OTHER)), UnauthorizedLogin)
    failureResultOf(checker.requestAvatarId(signed(OTHER)), UnauthorizedLogin)
    failureResultOf(checker.requestAvatarId(signed(ED, user=b"bob")), UnauthorizedLogin)


def test_query_for_unknown_key_is_not_valid() -> None:
    """A query for an unknown key is a plain UnauthorizedLogin, not ValidPublicKey."""
    checker = SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [ED.publicKey()]}))
    f = failureResultOf(checker.requestAvatarId(query(OTHER)), UnauthorizedLogin)
    assert not f.check(ValidPublicKey)


def test_bad_signature_and_wrong_data() -> None:
    """A signature over other data, or a garbage signature, is refused."""
    checker = SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [ED.publicKey()]}))
    good = signed(ED)
    tampered = SSHPrivateKey(
        good.username, good.algName, good.blob, good.sigData + b"x", good.signature
    )
    failureResultOf(checker.requestAvatarId(tampered), UnauthorizedLogin)
    garbage = SSHPrivateKey(good.username, good.algName, good.blob, good.sigData, b"junk")
    failureResultOf(checker.requestAvatarId(garbage), UnauthorizedLogin)
    badBlob = SSHPrivateKey(b"alice", b"ssh-ed25519", b"not a blob", b"d", b"s")
    failureResultOf(checker.requestAvatarId(badBlob), UnauthorizedLogin)


def test_rsa_algorithms() -> None:
    """RSA: rsa-sha2-256/512 verify; ssh-rsa (SHA-1) only with allowSHA1; mismatch refused."""
    db = InMemorySSHKeyDB({b"alice": [RSA.publicKey()]})
    checker = SSHPublicKeyChecker(db)
    for alg in ("rsa-sha2-512", "rsa-sha2-256"):
        assert successResultOf(checker.requestAvatarId(signed(RSA, alg=alg))) == b"alice"
    # Claims rsa-sha2-512 but signed with SHA-256: the named algorithm must be the one used.
    failureResultOf(
        checker.requestAvatarId(signed(RSA, alg="rsa-sha2-512", signWith="rsa-sha2-256")),
        UnauthorizedLogin,
    )
    sha1 = signed(RSA, alg="ssh-rsa")
    failureResultOf(checker.requestAvatarId(sha1), UnauthorizedLogin)
    assert successResultOf(SSHPublicKeyChecker(db, allowSHA1=True).requestAvatarId(sha1))
    # An ed25519 key named as an RSA algorithm is refused.
    wrong = signed(ED)
    wrong = SSHPrivateKey(b"alice", b"rsa-sha2-512", wrong.blob, wrong.sigData, wrong.signature)
    failureResultOf(
        SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [ED.publicKey()]})).requestAvatarId(wrong),
        UnauthorizedLogin,
    )


def homes(tmp_path: Path) -> dict[bytes, tuple[str, int]]:
    """A fake password database: alice's home under tmp_path, owned by root (the test's uid)."""
    home = tmp_path / "home" / "alice"
    (home / ".ssh").mkdir(parents=True)
    for d in (tmp_path / "home", home, home / ".ssh"):
        d.chmod(0o755)
    return {b"alice": (str(home), os.geteuid())}


def test_per_user_files_with_options(tmp_path: Path) -> None:
    """~/.ssh/authorized_keys: the avatar id carries the matching line's options."""
    users = homes(tmp_path)
    ak = Path(users[b"alice"][0]) / ".ssh" / "authorized_keys"
    ak.write_text(line(OTHER) + line(ED, 'restrict,pty,command="echo hi"'))
    ak.chmod(0o600)
    checker = AuthorizedKeysChecker(homeLookup=users.get)
    avatarId = successResultOf(checker.requestAvatarId(signed(ED)))
    assert isinstance(avatarId, KeyAvatarId)
    assert avatarId.options.command == "echo hi"
    assert avatarId.options.restrict and avatarId.options.noPortForwarding
    assert not avatarId.options.noPty
    plain = successResultOf(checker.requestAvatarId(signed(OTHER)))
    assert plain.options.command is None
    failureResultOf(checker.requestAvatarId(signed(ED, user=b"bob")), UnauthorizedLogin)


def test_authorized_keys2_and_edits_seen(tmp_path: Path) -> None:
    """authorized_keys2 is read too, and an edit takes effect on the next attempt."""
    users = homes(tmp_path)
    ak2 = Path(users[b"alice"][0]) / ".ssh" / "authorized_keys2"
    checker = AuthorizedKeysChecker(homeLookup=users.get)
    failureResultOf(checker.requestAvatarId(signed(ED)), UnauthorizedLogin)
    ak2.write_text(line(ED))
    ak2.chmod(0o644)
    assert successResultOf(checker.requestAvatarId(signed(ED))) == b"alice"


@pytest.mark.parametrize("where", ["file", "ssh", "home"])
def test_strict_modes_refuse_writable(tmp_path: Path, where: str) -> None:
    """A group/world-writable file or directory up to home makes the file ignored."""
    users = homes(tmp_path)
    home = Path(users[b"alice"][0])
    ak = home / ".ssh" / "authorized_keys"
    ak.write_text(line(ED))
    ak.chmod(0o600)
    target = {"file": ak, "ssh": home / ".ssh", "home": home}[where]
    target.chmod(target.stat().st_mode | 0o020)
    failureResultOf(
        AuthorizedKeysChecker(homeLookup=users.get).requestAvatarId(signed(ED)), UnauthorizedLogin
    )
    lax = AuthorizedKeysChecker(homeLookup=users.get, strictModes=False)
    assert successResultOf(lax.requestAvatarId(signed(ED))) == b"alice"


def test_strict_modes_stop_at_home(tmp_path: Path) -> None:
    """Directories above the home directory are not checked (as OpenSSH)."""
    users = homes(tmp_path)
    (tmp_path / "home").chmod(0o777)
    ak = Path(users[b"alice"][0]) / ".ssh" / "authorized_keys"
    ak.write_text(line(ED))
    checker = AuthorizedKeysChecker(homeLookup=users.get)
    assert successResultOf(checker.requestAvatarId(signed(ED))) == b"alice"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_strict_modes_refuse_foreign_owner(tmp_path: Path) -> None:
    """A file owned by someone other than root or the user is ignored."""
    users = homes(tmp_path)
    ak = Path(users[b"alice"][0]) / ".ssh" / "authorized_keys"
    ak.write_text(line(ED))
    os.chown(ak, 54321, 54321)
    users[b"alice"] = (users[b"alice"][0], 12345)
    failureResultOf(
        AuthorizedKeysChecker(homeLookup=users.get).requestAvatarId(signed(ED)), UnauthorizedLogin
    )
    os.chown(ak, 12345, 12345)
    assert successResultOf(AuthorizedKeysChecker(homeLookup=users.get).requestAvatarId(signed(ED)))


def test_single_file_for_everyone(tmp_path: Path) -> None:
    """With a path, one file serves every username."""
    path = tmp_path / "keys"
    path.write_text(line(ED))
    checker = AuthorizedKeysChecker(path)
    assert successResultOf(checker.requestAvatarId(signed(ED, user=b"x"))) == b"x"
    assert successResultOf(checker.requestAvatarId(signed(ED, user=b"y"))) == b"y"
    path.chmod(0o666)
    failureResultOf(checker.requestAvatarId(signed(ED)), UnauthorizedLogin)


@pytest.mark.parametrize(
    ("patterns", "address", "allowed"),
    [
        ("192.0.2.*", "192.0.2.7", True),
        ("192.0.2.*", "198.51.100.1", False),
        ("192.0.2.0/24", "192.0.2.200", True),
        ("!192.0.2.7,192.0.2.*", "192.0.2.7", False),
        ("!192.0.2.7,192.0.2.*", "192.0.2.8", True),
        ("::1", "::1", True),
        ("10.*", None, False),
    ],
)
def test_from_patterns(tmp_path: Path, patterns: str, address: str | None, allowed: bool) -> None:
    """from= is checked against the credentials' clientAddress; unknown address refuses."""
    path = tmp_path / "keys"
    path.write_text(line(ED, f'from="{patterns}"'))
    checker = AuthorizedKeysChecker(path)
    d = checker.requestAvatarId(signed(ED, address=address))
    if allowed:
        assert successResultOf(d).options.fromPatterns is not None
    else:
        failureResultOf(d, UnauthorizedLogin)
    # A query is answered the same way: PK_OK only where the key would work.
    q = checker.requestAvatarId(query(ED, address=address))
    failureResultOf(q, ValidPublicKey if allowed else UnauthorizedLogin)


def test_expiry_time(tmp_path: Path) -> None:
    """An entry past its expiry-time no longer matches."""
    path = tmp_path / "keys"
    path.write_text(line(ED, 'expiry-time="20300101"'))
    before = SSHPublicKeyChecker(
        AuthorizedKeysChecker(path).keydb, now=lambda: datetime.datetime(2029, 12, 31)
    )
    after = SSHPublicKeyChecker(
        AuthorizedKeysChecker(path).keydb, now=lambda: datetime.datetime(2030, 1, 2)
    )
    assert successResultOf(before.requestAvatarId(signed(ED))) == b"alice"
    failureResultOf(after.requestAvatarId(signed(ED)), UnauthorizedLogin)


def test_through_portal(tmp_path: Path) -> None:
    """Through a Portal the realm receives the KeyAvatarId with its options."""
    path = tmp_path / "keys"
    path.write_text(line(ED, "no-pty"))
    realm = RecordingRealm()
    portal = Portal(realm, [AuthorizedKeysChecker(path)])
    successResultOf(portal.login(signed(ED), None, "IUser"))
    avatarId = realm.requests[0][0]
    assert avatarId.options.noPty


def test_system_users_with_nul_in_the_name_are_unknown() -> None:
    """A publickey attempt for "root\\0x" (the password database cannot look it up) is an
    unknown user, not a ValueError from pwd logged as a checker failure."""
    checker = AuthorizedKeysChecker()
    failureResultOf(checker.requestAvatarId(query(ED, user=b"root\0x")), UnauthorizedLogin)
    failureResultOf(checker.requestAvatarId(signed(ED, user=b"ro\0ot")), UnauthorizedLogin)


def test_parsed_file_remembered_until_it_changes(tmp_path: Path) -> None:
    """A settled file is parsed once; an edit (new size/times) is parsed again at once."""
    path = tmp_path / "keys"
    path.write_text(line(ED))
    files = AuthorizedKeysFiles(path, timeNs=lambda: path.stat().st_ctime_ns + 10**10)
    first = files.getAuthorizedKeys(b"alice")
    assert [e.key for e in first] == [ED.publicKey()]
    again = files.getAuthorizedKeys(b"alice")
    assert again[0] is first[0]  # the same parsed entry, not a new parse
    with path.open("a") as f:
        f.write(line(OTHER))
    assert [e.key for e in files.getAuthorizedKeys(b"alice")] == [ED.publicKey(), OTHER.publicKey()]
    path.write_text(line(OTHER, "no-pty"))  # rewritten, another size
    assert [e.key for e in files.getAuthorizedKeys(b"alice")] == [OTHER.publicKey()]


def test_recently_changed_file_not_remembered(tmp_path: Path) -> None:
    """A file changed within the timestamp granularity's reach is parsed on every lookup."""
    path = tmp_path / "keys"
    path.write_text(line(ED))
    files = AuthorizedKeysFiles(path, timeNs=lambda: path.stat().st_ctime_ns + 1)
    first = files.getAuthorizedKeys(b"alice")
    assert files.getAuthorizedKeys(b"alice")[0] is not first[0]


def test_remembered_file_still_checked_for_modes(tmp_path: Path) -> None:
    """Strict modes are checked on every lookup, also for a remembered file."""
    users = homes(tmp_path)
    ak = Path(users[b"alice"][0]) / ".ssh" / "authorized_keys"
    ak.write_text(line(ED))
    ak.chmod(0o600)
    files = AuthorizedKeysFiles(homeLookup=users.get, timeNs=lambda: ak.stat().st_ctime_ns + 10**10)
    checker = SSHPublicKeyChecker(files)
    assert successResultOf(checker.requestAvatarId(signed(ED))) == b"alice"
    Path(users[b"alice"][0]).chmod(0o775)
    failureResultOf(checker.requestAvatarId(signed(ED)), UnauthorizedLogin)
