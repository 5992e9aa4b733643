"""The SSH transport as a Protocol, client and server (see ``plait.ssh._transport``).

- ``SSHServerFactory(hostKeys, services, portal=None, *, reactor=None, loginGraceTime=120,
  kexAlgorithms=..., ciphers=..., macs=..., compressions=..., hostKeyAlgorithms=...,
  version=..., rekeyBytes=..., rekeyInterval=3600)`` builds ``SSHServerTransport``s.
- ``SSHClientFactory(verifyHostKey, service=None, *, reactor=None, ...)`` builds
  ``SSHClientTransport``s, which call ``verifyHostKey(key)`` then ``connectionSecure()``.

Both transports implement ``plait.ssh.service.ISSHTransport`` and add
``authenticationSucceeded()`` (delayed compression; the login timer stops), ``requestRekey()``,
``sendIgnore()`` and ``sendUnimplemented()``.
"""

from plait.ssh._transport import (
    SSHClientFactory,
    SSHClientTransport,
    SSHServerFactory,
    SSHServerTransport,
    SSHTransportBase,
)

__all__ = [
    "SSHClientFactory",
    "SSHClientTransport",
    "SSHServerFactory",
    "SSHServerTransport",
    "SSHTransportBase",
]
