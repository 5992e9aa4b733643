"""The errors a login can fail with (the tree is in the package docstring)."""

from __future__ import annotations

__all__ = ["LoginFailed", "UnauthorizedLogin", "UnhandledCredentials", "ValidPublicKey"]


class LoginFailed(Exception):
    """A login did not succeed, for whatever reason."""


class UnauthorizedLogin(LoginFailed):
    """The credentials were checked and refused (wrong password, unknown user or key).

    The message is for the server's log; never send it to the client, which must not learn
    whether the user exists.
    """


class UnhandledCredentials(LoginFailed):
    """No checker registered with the portal handles this kind of credentials."""


class ValidPublicKey(UnauthorizedLogin):
    """A key offered without a signature is acceptable for this user (an SSH key query).

    Raised by public-key checkers instead of logging in: the SSH server answers with
    SSH_MSG_USERAUTH_PK_OK and the client then signs (RFC 4252 §7).
    """
