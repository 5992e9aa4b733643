"""Pluggable authentication: portals, credentials, checkers and realms (Twisted cred's shape).

A server asks a :class:`Portal` to log a client in with some credentials; the portal hands
them to the :class:`ICredentialsChecker` registered for their kind, which names an *avatar
id*; the portal's :class:`IRealm` turns that id into an *avatar* (the object the session then
talks to) and a ``logout`` callable::

    portal = Portal(realm, [FilePasswordDB("/etc/plait/passwd", reactor=reactor)])
    d = portal.login(UsernamePassword(b"alice", b"secret"), None, IMyUser)
    d.addCallback(lambda result: ...)  # (IMyUser, avatar, logout)

Credentials: :class:`UsernamePassword` (:class:`IUsernamePassword`), :class:`SSHPrivateKey`
(:class:`ISSHPrivateKey`), :class:`PluggableAuthenticationModules`
(:class:`IPluggableAuthenticationModules`: answers the back end's prompts, as SSH's
keyboard-interactive does), :data:`ANONYMOUS` (:class:`IAnonymous`). Interfaces are
runtime-checkable ``typing.Protocol``\\s; the portal picks the first registered interface the
credentials are an instance of.

Checkers: :class:`InMemoryUsernamePasswordDatabase` (plain or hashed passwords),
:class:`FilePasswordDB` (``user:hash`` file re-read when it changes), :class:`PAMChecker` (the
system's PAM, for passwords and conversations), :class:`UNIXPasswordChecker`
(``/etc/shadow``; ``$y$`` yescrypt only through the system's libcrypt),
:class:`SSHPublicKeyChecker` over an :class:`IAuthorizedKeysDB` (:class:`AuthorizedKeysFiles`:
``~/.ssh/authorized_keys`` per user with OpenSSH's permission checks, or one file for all;
:class:`InMemorySSHKeyDB`), :class:`AuthorizedKeysChecker` (the two together; the avatar id is
a :class:`KeyAvatarId`: the username as bytes carrying the key line's options),
:class:`AllowAnonymousAccess`. Password hashes: :func:`hashPassword`, :func:`verifyPassword`
(``$scrypt$`` -- format in ``plait.auth._hashes`` --, ``$2b$``, ``$6$``, ``$5$``). Blocking
work (hashing, PAM) runs in the reactor's thread pool when a checker is given one.

Errors:

- ``Exception``

  - :class:`LoginFailed`: a login did not succeed.

    - :class:`UnauthorizedLogin`: the credentials were refused (never tell the client why).

      - :class:`ValidPublicKey`: an unsigned SSH key is acceptable (answer PK_OK).

    - :class:`UnhandledCredentials`: no checker for this kind of credentials.

  - ``ValueError``: :func:`verifyPassword` of an unknown or malformed hash.
"""

from typing import TYPE_CHECKING, Any

from ._checkers import FilePasswordDB, InMemoryUsernamePasswordDatabase
from ._credentials import (
    ANONYMOUS,
    PAM_ERROR_MSG,
    PAM_PROMPT_ECHO_OFF,
    PAM_PROMPT_ECHO_ON,
    PAM_TEXT_INFO,
    Anonymous,
    IAnonymous,
    IPluggableAuthenticationModules,
    ISSHPrivateKey,
    IUsernameHashedPassword,
    IUsernamePassword,
    PluggableAuthenticationModules,
    SSHPrivateKey,
    UsernamePassword,
)
from ._errors import LoginFailed, UnauthorizedLogin, UnhandledCredentials, ValidPublicKey
from ._hashes import hashPassword, identifyHash, sha256Crypt, sha512Crypt, verifyPassword
from ._portal import AllowAnonymousAccess, ICredentialsChecker, IRealm, LoginResult, Portal
from ._system import PAMChecker, UNIXPasswordChecker, pamAvailable

if TYPE_CHECKING:
    from ._publickeys import (
        AuthorizedKeysChecker,
        AuthorizedKeysFiles,
        IAuthorizedKeysDB,
        InMemorySSHKeyDB,
        KeyAvatarId,
        SSHPublicKeyChecker,
    )

# The public-key checkers need plait.wire.ssh.keys and so the ``cryptography`` package (the
# ``ssh`` extra); they are imported on first use so password-only users do not need it.
_LAZY = {
    "AuthorizedKeysChecker",
    "AuthorizedKeysFiles",
    "IAuthorizedKeysDB",
    "InMemorySSHKeyDB",
    "KeyAvatarId",
    "SSHPublicKeyChecker",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'plait.auth' has no attribute {name!r}")
    from . import _publickeys

    return getattr(_publickeys, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


__all__ = [
    "ANONYMOUS",
    "PAM_ERROR_MSG",
    "PAM_PROMPT_ECHO_OFF",
    "PAM_PROMPT_ECHO_ON",
    "PAM_TEXT_INFO",
    "AllowAnonymousAccess",
    "Anonymous",
    "AuthorizedKeysChecker",
    "AuthorizedKeysFiles",
    "FilePasswordDB",
    "IAnonymous",
    "IAuthorizedKeysDB",
    "ICredentialsChecker",
    "IPluggableAuthenticationModules",
    "IRealm",
    "ISSHPrivateKey",
    "IUsernameHashedPassword",
    "IUsernamePassword",
    "InMemorySSHKeyDB",
    "InMemoryUsernamePasswordDatabase",
    "KeyAvatarId",
    "LoginFailed",
    "LoginResult",
    "PAMChecker",
    "PluggableAuthenticationModules",
    "Portal",
    "SSHPrivateKey",
    "SSHPublicKeyChecker",
    "UNIXPasswordChecker",
    "UnauthorizedLogin",
    "UnhandledCredentials",
    "UsernamePassword",
    "ValidPublicKey",
    "hashPassword",
    "identifyHash",
    "pamAvailable",
    "sha256Crypt",
    "sha512Crypt",
    "verifyPassword",
]
