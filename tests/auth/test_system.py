"""PAMChecker (through a private PAM configuration directory) and UNIXPasswordChecker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from plait.auth import (
    PAM_PROMPT_ECHO_OFF,
    PAMChecker,
    PluggableAuthenticationModules,
    UnauthorizedLogin,
    UNIXPasswordChecker,
    UsernamePassword,
    hashPassword,
    pamAvailable,
)
from plait.auth._system import systemCrypt
from plait.defer import Deferred, fail, succeed
from plait.testing import failureResultOf, successResultOf

from .fakes import InlineThreadReactor

PAM_EXEC = Path("/lib/x86_64-linux-gnu/security/pam_exec.so")
needsPAM = pytest.mark.skipif(
    not pamAvailable() or not PAM_EXEC.exists(), reason="libpam.so.0 or pam_exec.so absent"
)


@pytest.fixture
def pamConfdir(tmp_path: Path) -> str:
    """A PAM service 'plaittest' accepting alice/s3cret only, via pam_exec reading the token."""
    script = tmp_path / "check.sh"
    script.write_text(
        "#!/bin/sh\n"
        "IFS= read -r pw || true\n"
        'pw=$(printf %s "$pw" | tr -d "\\000")\n'
        '[ "$PAM_USER" = alice ] && [ "$pw" = s3cret ]\n'
    )
    script.chmod(0o755)
    confdir = tmp_path / "pam.d"
    confdir.mkdir()
    (confdir / "plaittest").write_text(
        f"auth required {PAM_EXEC} expose_authtok quiet {script}\naccount required pam_permit.so\n"
    )
    return str(confdir)


@needsPAM
def test_pam_accepts_and_refuses(pamConfdir: str) -> None:
    """PAM's conversation hands over the password; the module's verdict is the checker's."""
    reactor = InlineThreadReactor()
    checker = PAMChecker(reactor, service="plaittest", confdir=pamConfdir)
    ok = checker.requestAvatarId(UsernamePassword(b"alice", b"s3cret"))
    assert successResultOf(ok) == b"alice"
    bad = checker.requestAvatarId(UsernamePassword(b"alice", b"wrong"))
    failureResultOf(bad, UnauthorizedLogin)
    other = checker.requestAvatarId(UsernamePassword(b"bob", b"s3cret"))
    failureResultOf(other, UnauthorizedLogin)
    assert reactor.pool.calls == 3


@needsPAM
def test_pam_unknown_service_refuses(tmp_path: Path) -> None:
    """A service with no configuration (an empty confdir) refuses."""
    checker = PAMChecker(None, service="plaittest", confdir=str(tmp_path))
    d = checker.requestAvatarId(UsernamePassword(b"alice", b"s3cret"))
    failureResultOf(d, UnauthorizedLogin)


def shadow(tmp_path: Path, lines: list[str]) -> str:
    """Write a shadow-format file and return its path."""
    path = tmp_path / "shadow"
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_unix_checker_sha_crypt(tmp_path: Path) -> None:
    """$6$ and $5$ entries verify; locked, empty, expired and unknown users are refused."""
    today = int(time.time() // 86400)
    path = shadow(
        tmp_path,
        [
            f"alice:{hashPassword(b'pw', 'sha512-crypt', 1000)}:19000:0:99999:7:::",
            f"bob:{hashPassword(b'pw', 'sha256-crypt', 1000)}:19000::::::",
            f"locked:!{hashPassword(b'pw', 'sha512-crypt', 1000)}:19000::::::",
            "nopass::19000::::::",
            f"gone:{hashPassword(b'pw', 'sha512-crypt', 1000)}:19000:::::{today - 1}:",
        ],
    )
    checker = UNIXPasswordChecker(InlineThreadReactor(), shadowPath=path)
    assert successResultOf(checker.requestAvatarId(UsernamePassword(b"alice", b"pw"))) == b"alice"
    assert successResultOf(checker.requestAvatarId(UsernamePassword(b"bob", b"pw"))) == b"bob"
    for user, pw in [(b"alice", b"x"), (b"locked", b"pw"), (b"nopass", b""), (b"gone", b"pw")]:
        failureResultOf(checker.requestAvatarId(UsernamePassword(user, pw)), UnauthorizedLogin)
    failureResultOf(checker.requestAvatarId(UsernamePassword(b"zed", b"pw")), UnauthorizedLogin)


def test_unix_checker_yescrypt_via_libcrypt(tmp_path: Path) -> None:
    """$y$ (yescrypt) is checked by the system's libcrypt when it has crypt_rn."""
    hashed = systemCrypt(b"pw", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1")
    if hashed is None:
        pytest.skip("no libxcrypt with yescrypt here")
    assert hashed.startswith("$y$")
    checker = UNIXPasswordChecker(None, shadowPath=shadow(tmp_path, [f"alice:{hashed}:1::::::"]))
    assert successResultOf(checker.requestAvatarId(UsernamePassword(b"alice", b"pw"))) == b"alice"
    failureResultOf(checker.requestAvatarId(UsernamePassword(b"alice", b"p")), UnauthorizedLogin)


def test_unix_checker_missing_file(tmp_path: Path) -> None:
    """An unreadable shadow file refuses everyone."""
    checker = UNIXPasswordChecker(None, shadowPath=str(tmp_path / "nope"))
    failureResultOf(checker.requestAvatarId(UsernamePassword(b"root", b"")), UnauthorizedLogin)


@needsPAM
def test_pam_conversation_credentials(pamConfdir: str) -> None:
    """Conversation credentials see PAM's own prompt and answer it."""
    asked: list[list[tuple[str, int]]] = []

    def converse(answer: bytes) -> Any:
        def conversation(messages: list[tuple[str, int]]) -> Deferred[list[bytes]]:
            asked.append(messages)
            return succeed([answer for _ in messages])

        return conversation

    reactor = InlineThreadReactor()
    checker = PAMChecker(reactor, service="plaittest", confdir=pamConfdir)
    good = PluggableAuthenticationModules(b"alice", converse(b"s3cret"))
    assert successResultOf(checker.requestAvatarId(good)) == b"alice"
    assert asked and asked[0][0][1] == PAM_PROMPT_ECHO_OFF
    bad = PluggableAuthenticationModules(b"alice", converse(b"nope"))
    failureResultOf(checker.requestAvatarId(bad), UnauthorizedLogin)


@needsPAM
def test_pam_conversation_failure_refuses(pamConfdir: str) -> None:
    """A conversation that fails (the user went away) makes PAM refuse."""

    def gone(messages: list[tuple[str, int]]) -> Deferred[list[bytes]]:
        return fail(ConnectionError("client left"))

    checker = PAMChecker(InlineThreadReactor(), service="plaittest", confdir=pamConfdir)
    creds = PluggableAuthenticationModules(b"alice", gone)
    failureResultOf(checker.requestAvatarId(creds), UnauthorizedLogin)


@needsPAM
def test_pam_conversation_without_reactor_needs_ready_answers(pamConfdir: str) -> None:
    """Without a reactor a conversation must answer at once; a pending one refuses."""
    checker = PAMChecker(None, service="plaittest", confdir=pamConfdir)
    ready = PluggableAuthenticationModules(b"alice", lambda m: [b"s3cret"] * len(m))
    assert successResultOf(checker.requestAvatarId(ready)) == b"alice"
    pending = PluggableAuthenticationModules(b"alice", lambda m: Deferred())
    failureResultOf(checker.requestAvatarId(pending), UnauthorizedLogin)


@needsPAM
def test_pam_refuses_nul_in_names_passwords_and_answers(pamConfdir: str) -> None:
    """libpam reads C strings: a NUL would cut "alice\\0junk" to alice (and the realm would
    get "alice\\0junk"), so such names, passwords and conversation answers are refused."""
    reactor = InlineThreadReactor()
    checker = PAMChecker(reactor, service="plaittest", confdir=pamConfdir)
    for creds in [
        UsernamePassword(b"alice\0junk", b"s3cret"),
        UsernamePassword(b"alice", b"s3cret\0junk"),
        PluggableAuthenticationModules(b"alice\0x", lambda m: [b"s3cret"] * len(m)),
        PluggableAuthenticationModules(b"alice", lambda m: [b"s3cret\0x"] * len(m)),
    ]:
        failureResultOf(checker.requestAvatarId(creds), UnauthorizedLogin)
    ok = checker.requestAvatarId(UsernamePassword(b"alice", b"s3cret"))
    assert successResultOf(ok) == b"alice"


def test_unix_checker_libcrypt_refuses_nul_in_password(tmp_path: Path) -> None:
    """A password with a NUL is refused where libcrypt would check only its first part."""
    hashed = systemCrypt(b"pw", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1")
    if hashed is None:
        pytest.skip("no libxcrypt with yescrypt here")
    checker = UNIXPasswordChecker(None, shadowPath=shadow(tmp_path, [f"alice:{hashed}:1::::::"]))
    failureResultOf(
        checker.requestAvatarId(UsernamePassword(b"alice", b"pw\0x")), UnauthorizedLogin
    )


class HeldPool:
    """A thread pool that keeps each call until the test finishes it."""

    def __init__(self) -> None:
        self.held: list[Any] = []

    def callInThreadWithCallback(self, onResult: Any, f: Any, *a: Any, **kw: Any) -> None:
        self.held.append(onResult)


class HeldThreadReactor(InlineThreadReactor):
    """Threaded work waits in ``pool.held`` (as PAM's failure delay or a client would)."""

    def __init__(self) -> None:
        self.pool = HeldPool()  # type: ignore[assignment]


@pytest.mark.skipif(not pamAvailable(), reason="libpam.so.0 absent")
def test_pam_logins_in_progress_are_bounded() -> None:
    """At most maxConcurrent PAM checks hold pool threads at once; more are refused at once,
    and a finished one makes room again."""
    reactor = HeldThreadReactor()
    checker = PAMChecker(reactor, service="plaittest")
    assert checker.maxConcurrent == 4
    waiting = [checker.requestAvatarId(UsernamePassword(b"u", b"p")) for _ in range(4)]
    refused = checker.requestAvatarId(UsernamePassword(b"u", b"p"))
    failureResultOf(refused, UnauthorizedLogin)
    assert len(reactor.pool.held) == 4 and checker.inProgress == 4
    reactor.pool.held.pop(0)(True, False)  # one check ends (refused by PAM)
    failureResultOf(waiting[0], UnauthorizedLogin)
    again = checker.requestAvatarId(UsernamePassword(b"u", b"p"))
    assert len(reactor.pool.held) == 4
    for onResult in reactor.pool.held:
        onResult(True, True)
    assert [successResultOf(d) for d in [*waiting[1:], again]] == [b"u"] * 4
    assert checker.inProgress == 0
