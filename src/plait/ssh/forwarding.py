"""TCP/IP port forwarding (RFC 4254 §7): ``direct-tcpip`` and ``tcpip-forward`` on the server,
``forwardLocal`` (``-L``) and ``forwardRemote`` (``-R``) on the client.

Errors: a refused or failed forward is a ``ChannelOpenError`` (ADMINISTRATIVELY_PROHIBITED,
CONNECT_FAILED) to the peer, or a ``RequestFailedError`` on ``forwardRemote``'s Deferred; a
local port that cannot be bound raises ``CannotListenError`` from ``forwardLocal``.
"""

from plait.ssh._forwarding import (
    ClientForwarding,
    ForwardingChannel,
    ServerForwarding,
    forwardLocal,
    forwardRemote,
    openDirectTCPIP,
)

__all__ = [
    "ClientForwarding",
    "ForwardingChannel",
    "ServerForwarding",
    "forwardLocal",
    "forwardRemote",
    "openDirectTCPIP",
]
