"""The ``ssh-userauth`` service (see ``plait.ssh._userauth``)."""

from plait.ssh._userauth import (
    AuthenticationFailed,
    FailureLimiter,
    SSHUserAuthClient,
    SSHUserAuthServer,
)

__all__ = ["AuthenticationFailed", "FailureLimiter", "SSHUserAuthClient", "SSHUserAuthServer"]
