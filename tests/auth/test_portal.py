"""Portal: checker dispatch by credential interface, realm calls, errors."""

from __future__ import annotations

from typing import Any

from plait.auth import (
    ANONYMOUS,
    AllowAnonymousAccess,
    IAnonymous,
    ICredentialsChecker,
    InMemoryUsernamePasswordDatabase,
    IRealm,
    ISSHPrivateKey,
    IUsernamePassword,
    Portal,
    SSHPrivateKey,
    UnauthorizedLogin,
    UnhandledCredentials,
    UsernamePassword,
)
from plait.defer import Deferred
from plait.testing import assertNoResult, failureResultOf, successResultOf

from .fakes import RecordingRealm


def test_login_success_returns_realm_triple() -> None:
    """A good password gives the realm's (interface, avatar, logout)."""
    realm = RecordingRealm()
    portal = Portal(realm, [InMemoryUsernamePasswordDatabase({b"alice": b"pw"})])
    iface, avatar, logout = successResultOf(
        portal.login(UsernamePassword(b"alice", b"pw"), "mind", IUsernamePassword)
    )
    assert iface is IUsernamePassword
    assert avatar == ("avatar", b"alice")
    assert realm.requests == [(b"alice", "mind", (IUsernamePassword,))]
    logout()
    assert realm.loggedOut == [b"alice"]


def test_login_wrong_password_unauthorized() -> None:
    """A wrong password fails with UnauthorizedLogin and never reaches the realm."""
    realm = RecordingRealm()
    portal = Portal(realm, [InMemoryUsernamePasswordDatabase({b"alice": b"pw"})])
    failureResultOf(portal.login(UsernamePassword(b"alice", b"px"), None), UnauthorizedLogin)
    failureResultOf(portal.login(UsernamePassword(b"bob", b"pw"), None), UnauthorizedLogin)
    assert realm.requests == []


def test_unhandled_credentials() -> None:
    """Credentials no checker handles fail with UnhandledCredentials."""
    portal = Portal(RecordingRealm(), [InMemoryUsernamePasswordDatabase({b"a": b"b"})])
    key = SSHPrivateKey(b"a", b"ssh-ed25519", b"blob", None, None)
    failureResultOf(portal.login(key, None), UnhandledCredentials)
    failureResultOf(portal.login(ANONYMOUS, None), UnhandledCredentials)


def test_list_and_register() -> None:
    """listCredentialsInterfaces reflects registerChecker, including explicit interfaces."""
    portal = Portal(RecordingRealm())
    assert portal.listCredentialsInterfaces() == []
    portal.registerChecker(InMemoryUsernamePasswordDatabase())
    portal.registerChecker(AllowAnonymousAccess())
    assert portal.listCredentialsInterfaces() == [IUsernamePassword, IAnonymous]


def test_anonymous_access() -> None:
    """AllowAnonymousAccess gives the empty-tuple avatar id."""
    realm = RecordingRealm()
    portal = Portal(realm, [AllowAnonymousAccess()])
    _, avatar, _ = successResultOf(portal.login(ANONYMOUS, None, IAnonymous))
    assert avatar == ("avatar", ())


class AsyncChecker:
    """A checker answering later through a Deferred the test fires."""

    credentialInterfaces = (ISSHPrivateKey,)

    def __init__(self) -> None:
        self.pending: list[Deferred[Any]] = []

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        """Return a Deferred fired by the test."""
        d: Deferred[Any] = Deferred()
        self.pending.append(d)
        return d


def test_deferred_checker_and_realm() -> None:
    """A checker's Deferred and a realm's Deferred are both waited for."""
    checker = AsyncChecker()

    class DeferredRealm:
        def __init__(self) -> None:
            self.d: Deferred[Any] = Deferred()

        def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Deferred[Any]:
            return self.d

    realm = DeferredRealm()
    portal = Portal(realm, [checker])
    d = portal.login(SSHPrivateKey(b"u", b"alg", b"blob", b"data", b"sig"), None, "I")
    assertNoResult(d)
    checker.pending[0].callback(b"u")
    assertNoResult(d)
    realm.d.callback(("I", "av", lambda: None))
    assert successResultOf(d)[:2] == ("I", "av")


def test_checker_returning_none_refused() -> None:
    """A checker that returns None instead of failing is treated as a refusal."""

    class NoneChecker:
        credentialInterfaces = (IUsernamePassword,)

        def requestAvatarId(self, credentials: Any) -> None:
            return None

    portal = Portal(RecordingRealm(), [NoneChecker()])
    failureResultOf(portal.login(UsernamePassword(b"a", b"b"), None), UnauthorizedLogin)


def test_protocols_are_runtime_checkable() -> None:
    """The shipped classes satisfy the interfaces structurally."""
    assert isinstance(InMemoryUsernamePasswordDatabase(), ICredentialsChecker)
    assert isinstance(RecordingRealm(), IRealm)
    assert isinstance(UsernamePassword(b"a", b"b"), IUsernamePassword)
    assert not isinstance(UsernamePassword(b"a", b"b"), ISSHPrivateKey)
    assert isinstance(SSHPrivateKey(b"a", b"x", b"y", None, None), ISSHPrivateKey)
    assert not isinstance(SSHPrivateKey(b"a", b"x", b"y", None, None), IUsernamePassword)


def test_username_password_hides_password_and_compares() -> None:
    """repr hides the password; checkPassword compares exactly."""
    creds = UsernamePassword(b"alice", b"hunter2")
    assert b"hunter2".decode() not in repr(creds)
    assert creds.checkPassword(b"hunter2")
    assert not creds.checkPassword(b"hunter")
    assert not creds.checkPassword(b"hunter22")
