"""Credentials and the interfaces checkers use to say which kinds they handle."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: PAM message styles, as in ``<security/pam_appl.h>``: a prompt whose answer is hidden, one
#: whose answer is shown, an error and an informational text (both answered with nothing).
PAM_PROMPT_ECHO_OFF = 1
PAM_PROMPT_ECHO_ON = 2
PAM_ERROR_MSG = 3
PAM_TEXT_INFO = 4

__all__ = [
    "ANONYMOUS",
    "PAM_ERROR_MSG",
    "PAM_PROMPT_ECHO_OFF",
    "PAM_PROMPT_ECHO_ON",
    "PAM_TEXT_INFO",
    "Anonymous",
    "IAnonymous",
    "IPluggableAuthenticationModules",
    "ISSHPrivateKey",
    "IUsernameHashedPassword",
    "IUsernamePassword",
    "PluggableAuthenticationModules",
    "SSHPrivateKey",
    "UsernamePassword",
]


@runtime_checkable
class IUsernamePassword(Protocol):
    """A username and a cleartext password."""

    username: bytes
    password: bytes

    def checkPassword(self, password: bytes) -> bool:
        """Whether ``password`` is this credential's password (compared in constant time)."""
        ...


@runtime_checkable
class IUsernameHashedPassword(Protocol):
    """A username and something that can check a password without revealing it."""

    username: bytes

    def checkPassword(self, password: bytes) -> bool:
        """Whether ``password`` matches."""
        ...


@runtime_checkable
class ISSHPrivateKey(Protocol):
    """Proof of holding an SSH private key (RFC 4252 §7).

    ``signature`` is None for a query ("would this key do?"); otherwise it is the SSH
    signature blob over ``sigData``. ``clientAddress`` is the peer's IP address as text, for
    ``from=`` options in authorized_keys (None when unknown).
    """

    username: bytes
    algName: bytes
    blob: bytes
    sigData: bytes | None
    signature: bytes | None
    clientAddress: str | None


@runtime_checkable
class IPluggableAuthenticationModules(Protocol):
    """A user who answers whatever the authentication back end asks (PAM's conversation).

    ``pamConversation(messages)`` takes ``[(text, style), ...]`` with the ``PAM_*`` styles
    and returns (or fires a Deferred with) one ``bytes`` answer per message (``b""`` for
    errors and informational texts). SSH's keyboard-interactive method is one such user.
    """

    username: bytes

    def pamConversation(self, messages: list[tuple[str, int]]) -> Any:
        """Answers to ``messages``: a list of bytes, or a Deferred of one."""
        ...


@runtime_checkable
class IAnonymous(Protocol):
    """No credentials at all: the caller asks to be let in as a guest."""

    isAnonymous: bool


@dataclass(frozen=True, repr=False)
class UsernamePassword(IUsernamePassword, IUsernameHashedPassword):
    """A username and a cleartext password (``repr`` hides the password)."""

    username: bytes
    password: bytes

    def checkPassword(self, password: bytes) -> bool:
        """Whether ``password`` equals this one, compared in constant time."""
        return hmac.compare_digest(self.password, password)

    def __repr__(self) -> str:
        return f"UsernamePassword(username={self.username!r}, password=<hidden>)"


@dataclass(frozen=True)
class SSHPrivateKey(ISSHPrivateKey):
    """An SSH public-key authentication attempt: the key's blob and, once signed, its signature.

    ``sigData`` is what the client signed (session id and the request, RFC 4252 §7), built by
    the server, not taken from the client.
    """

    username: bytes
    algName: bytes
    blob: bytes
    sigData: bytes | None
    signature: bytes | None
    clientAddress: str | None = field(default=None)


@dataclass(frozen=True)
class PluggableAuthenticationModules(IPluggableAuthenticationModules):
    """Conversation credentials: ``conversation(messages)`` answers the back end's prompts."""

    username: bytes
    conversation: Callable[[list[tuple[str, int]]], Any]
    clientAddress: str | None = None

    def pamConversation(self, messages: list[tuple[str, int]]) -> Any:
        """Ask ``conversation``."""
        return self.conversation(messages)


@dataclass(frozen=True)
class Anonymous(IAnonymous):
    """The anonymous credential; use the :data:`ANONYMOUS` instance."""

    isAnonymous: bool = True


#: The one anonymous credential.
ANONYMOUS = Anonymous()
