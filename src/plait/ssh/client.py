"""A high-level SSH client (see ``plait.ssh._client``).

- ``connect(reactor, host, port=22, username=None, *, keys=(), password=None,
  knownHosts=None, hostKeyPolicy="yes", verifyHostKey=None, timeout=30, ...)`` fires with an
  ``SSHClientConnection`` (``runCommand``, ``openSession``, ``openSFTP``, ``forwardLocal``,
  ``forwardRemote``, ``close``, ``whenClosed``) once logged in.
- ``KnownHostsVerifier(path, host, port, policy)``: OpenSSH's ``StrictHostKeyChecking``
  (``yes``/``accept-new``/``no``) over a ``known_hosts`` file.
- ``SSHCommandClientEndpoint.newConnection(...)`` / ``.existingConnection(...)``: an endpoint
  whose ``connect(factory)`` runs a remote command and connects the protocol to it.

Errors: ``HostKeyError`` (refused host key), ``ConnectionClosedError`` (the connection ended
before the login finished), ``plait.ssh.userauth.AuthenticationFailed``, connection errors
from ``plait.protocol``.
"""

from plait.ssh._client import (
    CommandResult,
    ConnectionClosedError,
    HostKeyError,
    KnownHostsVerifier,
    SSHClientConnection,
    SSHCommandClientEndpoint,
    connect,
)

__all__ = [
    "CommandResult",
    "ConnectionClosedError",
    "HostKeyError",
    "KnownHostsVerifier",
    "SSHClientConnection",
    "SSHCommandClientEndpoint",
    "connect",
]
