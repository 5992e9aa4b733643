"""InMemoryUsernamePasswordDatabase and FilePasswordDB: plain, hashed, threads, file re-read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plait.auth import (
    FilePasswordDB,
    InMemoryUsernamePasswordDatabase,
    UnauthorizedLogin,
    UsernamePassword,
    hashPassword,
)
from plait.testing import failureResultOf, successResultOf

from .fakes import InlineThreadReactor

# Cheap hashes so the tests stay fast.
SCRYPT_PW = hashPassword(b"pw", "scrypt", 4)
SHA_PW = hashPassword(b"pw", "sha256-crypt", 1000)


def test_in_memory_plain() -> None:
    """Plain passwords: right one gives the username, wrong one or unknown user refuses."""
    db = InMemoryUsernamePasswordDatabase({"alice": "pw"})
    db.addUser(b"bob", b"bpw")
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw"))) == b"alice"
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"bob", b"bpw"))) == b"bob"
    failureResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"bpw")), UnauthorizedLogin)
    failureResultOf(db.requestAvatarId(UsernamePassword(b"carol", b"pw")), UnauthorizedLogin)


def test_in_memory_hashed_runs_in_pool() -> None:
    """Hashed passwords are verified in the reactor's thread pool."""
    reactor = InlineThreadReactor()
    db = InMemoryUsernamePasswordDatabase({"alice": SCRYPT_PW}, hashed=True, reactor=reactor)
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw"))) == b"alice"
    failureResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"no")), UnauthorizedLogin)
    failureResultOf(db.requestAvatarId(UsernamePassword(b"nobody", b"pw")), UnauthorizedLogin)
    assert reactor.pool.calls == 3


def test_in_memory_hashed_bad_hash_refuses() -> None:
    """A stored value that is not a known hash refuses instead of raising."""
    db = InMemoryUsernamePasswordDatabase({"alice": "pw"}, hashed=True)
    failureResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw")), UnauthorizedLogin)


def write(path: Path, text: str, mtime: int) -> None:
    """Write ``text`` and set an explicit mtime, so changes are seen whatever the clock."""
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_file_db(tmp_path: Path) -> None:
    """Users, comments, blank lines, extra fields and locked entries in the file."""
    path = tmp_path / "passwd"
    write(
        path,
        f"# users\n\nalice:{SCRYPT_PW}\nbob:{SHA_PW}:1000:extra\nlocked:!{SHA_PW}\nbad\n",
        1_000_000,
    )
    db = FilePasswordDB(path, reactor=InlineThreadReactor())
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw"))) == b"alice"
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"bob", b"pw"))) == b"bob"
    for user, pw in [(b"alice", b"px"), (b"locked", b"pw"), (b"bad", b""), (b"#", b"")]:
        failureResultOf(db.requestAvatarId(UsernamePassword(user, pw)), UnauthorizedLogin)
    assert db.getUser(b"bob") == (b"bob", SHA_PW)
    with pytest.raises(KeyError):
        db.getUser(b"carol")


def test_file_db_reread_on_change(tmp_path: Path) -> None:
    """A changed file (new mtime/size) is parsed again; an unchanged one is not."""
    path = tmp_path / "passwd"
    write(path, f"alice:{SHA_PW}\n", 1_000_000)
    db = FilePasswordDB(path)
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw"))) == b"alice"
    write(path, f"carol:{SHA_PW}\n", 1_000_100)
    failureResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw")), UnauthorizedLogin)
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"carol", b"pw"))) == b"carol"
    # Same size and mtime as before: the cached parse is used (no re-read).
    before = db._users
    db._load()
    assert db._users is before


def test_file_db_missing_file(tmp_path: Path) -> None:
    """A missing password file refuses everyone (and logs), then recovers when it appears."""
    path = tmp_path / "absent"
    db = FilePasswordDB(path)
    failureResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw")), UnauthorizedLogin)
    write(path, f"alice:{SHA_PW}\n", 1_000_000)
    assert successResultOf(db.requestAvatarId(UsernamePassword(b"alice", b"pw"))) == b"alice"
