"""The manhole server's login hardening: one failure limiter across connections, escaped
user names in its log."""

from __future__ import annotations

from typing import Any

from plait.auth import Portal
from plait.log import formatEvent, globalLogPublisher
from plait.ssh.manhole import ManholeRealm, manholeFactory
from plait.ssh.session import ConchUser
from plait.ssh.userauth import FailureLimiter
from plait.testing import Clock
from plait.wire.ssh.keys import PrivateKey


def test_factory_shares_one_failure_limiter() -> None:
    """Every userauth service of a manhole factory has the same FailureLimiter on its reactor."""
    clock = Clock()
    factory = manholeFactory(
        clock, {}, Portal(ManholeRealm({})), hostKeys=[PrivateKey.generate("ed25519")]
    )
    first: Any = factory.services[b"ssh-userauth"]()
    second: Any = factory.services[b"ssh-userauth"]()
    assert isinstance(first.failureLimiter, FailureLimiter)
    assert first.failureLimiter is second.failureLimiter
    assert first.failureLimiter.reactor is clock


def test_login_log_line_escapes_the_user_name() -> None:
    """A user name with control characters cannot forge a manhole log line."""
    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    try:
        _, avatar, logout = ManholeRealm({}).requestAvatar(
            b"eve\nfake: root\x1b[2J", None, ConchUser
        )
        logout()
    finally:
        globalLogPublisher.removeObserver(observe)
    assert "manhole login: eve\\nfake: root\\x1b[2J" in lines
    assert avatar.username == "eve\nfake: root\x1b[2J"  # the avatar keeps the real name
