"""The ``ssh-userauth`` service (see ``plait.ssh._userauth``)."""

from plait.ssh._userauth import AuthenticationFailed, SSHUserAuthClient, SSHUserAuthServer

__all__ = ["AuthenticationFailed", "SSHUserAuthClient", "SSHUserAuthServer"]
