"""spawn() switching users as root: the user's own group, and the working directory entered
only after privileges are dropped."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from plait.reactor._spawn import findExecutable, spawn

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to switch users"
)


@pytest.fixture
def nobody() -> pwd.struct_passwd:
    """The ``nobody`` account (skips without one)."""
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")


@pytest.fixture
def rootOnlyDir() -> Iterator[str]:
    """A directory owned by root, mode 0700."""
    path = tempfile.mkdtemp(prefix="plait-spawn-")
    os.chmod(path, 0o700)
    yield path
    shutil.rmtree(path)


def run(argv: list[str], **kwargs: object) -> tuple[int, bytes]:
    """Spawn ``argv`` with stdout on a pipe; its exit status and output."""
    env = {b"PATH": b"/usr/bin:/bin"}
    readFD, writeFD = os.pipe()
    try:
        pid = spawn(
            findExecutable(argv[0], env),
            argv,
            env,
            {0: 0, 1: writeFD, 2: 2},
            **kwargs,  # type: ignore[arg-type]
        )
    finally:
        os.close(writeFD)
    chunks = []
    with os.fdopen(readFD, "rb") as pipe:
        chunks.append(pipe.read())
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks)


def test_uid_without_gid_takes_the_users_primary_group(nobody: pwd.struct_passwd) -> None:
    """uid alone: the child runs with that user's primary group, not root's group 0."""
    code, out = run(["id", "-u"], uid=nobody.pw_uid)
    assert code == 0 and int(out) == nobody.pw_uid
    code, out = run(["id", "-g"], uid=nobody.pw_uid)
    assert code == 0 and int(out) == nobody.pw_gid != 0
    code, out = run(["id", "-G"], uid=nobody.pw_uid)
    assert code == 0 and 0 not in {int(g) for g in out.split()}


def test_chdir_happens_after_dropping_privileges(
    nobody: pwd.struct_passwd, rootOnlyDir: str
) -> None:
    """A directory only root may enter is refused for the user; one they may enter works."""
    with pytest.raises(PermissionError) as info:
        run(["pwd"], uid=nobody.pw_uid, cwd=rootOnlyDir)
    assert "chdir" in str(info.value)
    code, out = run(["pwd"], uid=nobody.pw_uid, cwd="/")
    assert code == 0 and out == b"/\n"
    code, out = run(["pwd"], cwd=rootOnlyDir)  # root itself may
    assert code == 0 and out.strip() == os.path.realpath(rootOnlyDir).encode()
