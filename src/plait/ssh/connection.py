"""The ``ssh-connection`` service (RFC 4254): ``SSHConnection``, channels, channel transports.

Errors: ``ChannelOpenError(reasonCode, description)`` (a refused channel open, either way),
``RequestFailedError`` (the peer answered a request with failure; also when a channel closes
or the connection ends with a request pending, then ``ConnectionLost``). A peer that breaks
the protocol (data past the window, an unknown channel, a window past 2**32-1) is
disconnected with ``PROTOCOL_ERROR``.
"""

from plait.ssh._channel import (
    ChannelOpenError,
    ChannelTransport,
    RequestFailedError,
    SSHChannel,
    connectProtocolToChannel,
)
from plait.ssh._connection import SSHConnection

__all__ = [
    "ChannelOpenError",
    "ChannelTransport",
    "RequestFailedError",
    "SSHChannel",
    "SSHConnection",
    "connectProtocolToChannel",
]
