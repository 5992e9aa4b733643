"""``Portal``: where credentials are checked and avatars are handed out (the paper's §6.3/§8)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from plait.defer import Deferred, Failure, maybeDeferred, succeed

from ._credentials import IAnonymous
from ._errors import UnauthorizedLogin, UnhandledCredentials

__all__ = ["AllowAnonymousAccess", "ICredentialsChecker", "IRealm", "LoginResult", "Portal"]

#: What a successful login gives: ``(interface, avatar, logout)``.
LoginResult = tuple[Any, Any, Callable[[], None]]


@runtime_checkable
class ICredentialsChecker(Protocol):
    """Checks one or more kinds of credentials and names the avatar they grant.

    ``credentialInterfaces`` lists the credential interfaces (``IUsernamePassword``...) this
    checker handles. ``requestAvatarId`` returns (or fires a Deferred with) an avatar id --
    usually the username as bytes -- or fails with :class:`UnauthorizedLogin`.
    """

    credentialInterfaces: Sequence[type]

    def requestAvatarId(self, credentials: Any) -> Deferred[Any] | Any:
        """The avatar id these credentials prove, or a failure."""
        ...


@runtime_checkable
class IRealm(Protocol):
    """Turns an authenticated avatar id into an avatar (a user object) for one interface."""

    def requestAvatar(
        self, avatarId: Any, mind: Any, *interfaces: Any
    ) -> LoginResult | Deferred[LoginResult]:
        """Return ``(interface, avatar, logout)`` for the first of ``interfaces`` the realm
        supports (or a Deferred of it); raise ``NotImplementedError`` if it supports none."""
        ...


class AllowAnonymousAccess:
    """A checker that lets anonymous credentials in with the avatar id ``ANONYMOUS_ID``."""

    credentialInterfaces: Sequence[type] = (IAnonymous,)

    #: The avatar id an anonymous login gets (an empty tuple, as in Twisted, so no username
    #: can ever be confused with it).
    ANONYMOUS_ID: tuple[()] = ()

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        """Always succeeds with :attr:`ANONYMOUS_ID`."""
        return succeed(self.ANONYMOUS_ID)


class Portal:
    """Checks credentials with the checker registered for their kind, then asks the realm.

    ``login(credentials, mind, *interfaces)`` fires with ``(interface, avatar, logout)`` or
    fails with :class:`UnauthorizedLogin` (refused) or :class:`UnhandledCredentials` (no
    checker for that kind of credentials). Call ``logout()`` exactly once when the session ends.
    """

    def __init__(self, realm: IRealm, checkers: Iterable[ICredentialsChecker] = ()) -> None:
        self.realm = realm
        #: credential interface -> checker, in registration order (the first match wins).
        self.checkers: dict[type, ICredentialsChecker] = {}
        for checker in checkers:
            self.registerChecker(checker)

    def registerChecker(self, checker: ICredentialsChecker, *credentialInterfaces: type) -> None:
        """Use ``checker`` for ``credentialInterfaces`` (default: the checker's own list)."""
        ifaces = credentialInterfaces or tuple(checker.credentialInterfaces)
        for iface in ifaces:
            self.checkers[iface] = checker

    def listCredentialsInterfaces(self) -> list[type]:
        """The credential interfaces some registered checker handles."""
        return list(self.checkers)

    def login(self, credentials: Any, mind: Any, *interfaces: Any) -> Deferred[LoginResult]:
        """Check ``credentials`` and fire with the realm's ``(interface, avatar, logout)``."""
        mro = type(credentials).__mro__
        for iface, checker in self.checkers.items():
            # A class that declares the interface matches without isinstance, which for a
            # runtime-checkable Protocol walks the protocol's members on every call (~50 us);
            # others are still matched structurally.
            if iface in mro or isinstance(credentials, iface):
                d: Deferred[Any] = maybeDeferred(checker.requestAvatarId, credentials)
                return d.addCallback(self._requestAvatar, mind, interfaces)
        kind = type(credentials).__name__
        failed: Deferred[LoginResult] = Deferred()
        failed.errback(Failure(UnhandledCredentials(f"no checker for {kind} credentials")))
        return failed

    def _requestAvatar(self, avatarId: Any, mind: Any, interfaces: tuple[Any, ...]) -> Any:
        if avatarId is None:
            # A checker must fail, not return None; treat a silent None as a refusal.
            raise UnauthorizedLogin("the checker returned no avatar id")
        return maybeDeferred(self.realm.requestAvatar, avatarId, mind, *interfaces)
