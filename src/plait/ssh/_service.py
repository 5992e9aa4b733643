"""The service contract between the SSH transport and the services that ride on it (RFC 4253 §10).

The transport (``plait.ssh.transport``) carries packets; a service (``ssh-userauth``,
``ssh-connection``) receives every packet whose message number is 50 or above and sends its own
through ``transport.sendPacket``. Exactly one service is active at a time.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from plait.protocol import IAddress

__all__ = ["ISSHTransport", "SSHService"]


class ISSHTransport(Protocol):
    """What a service may use of the transport under it."""

    isClient: bool
    sessionID: bytes  # the exchange hash of the first key exchange (RFC 4253 §7.2)
    factory: Any  # the server factory (host keys, portal) or the client's
    reactor: Any  # the reactor the transport runs on (for timers in services)

    def sendPacket(self, messageType: int, payload: bytes) -> None:
        """Send one message; ``payload`` excludes the message-number byte."""

    def sendPacketParts(self, messageType: int, header: bytes, data: bytes | memoryview) -> None:
        """Send one message whose payload is ``header`` then ``data`` (the bulk data path:
        the transport joins the pieces once, into the packet it encrypts)."""

    def batch(self) -> AbstractContextManager[None]:
        """A block whose packets are written to the connection below together, at its end."""

    def setService(self, service: SSHService) -> None:
        """Stop the current service and start ``service``."""

    def sendDisconnect(self, reason: int, description: str) -> None:
        """Send SSH_MSG_DISCONNECT and close the connection."""

    def loseConnection(self) -> None:
        """Close the connection after what is queued has been sent."""

    def getPeer(self) -> IAddress:
        """The peer's address (of the TCP connection below)."""

    def getHost(self) -> IAddress:
        """Our address (of the TCP connection below)."""

    def logPrefix(self) -> str:
        """The prefix for log lines about this connection."""


class SSHService:
    """Base class of an SSH service: subclasses set ``name`` and handle ``packetReceived``."""

    name: bytes = b""
    transport: ISSHTransport | None = None

    def serviceStarted(self) -> None:
        """The transport made this the active service; ``self.transport`` is set."""

    def serviceStopped(self) -> None:
        """The connection ended or another service replaced this one."""

    def packetReceived(self, messageNum: int, payload: bytes) -> None:
        """A message for this service; ``payload`` excludes the message-number byte.

        The default answers SSH_MSG_UNIMPLEMENTED via the transport, which knows the packet's
        sequence number.
        """
        unimplemented = getattr(self.transport, "sendUnimplemented", None)
        if unimplemented is not None:
            unimplemented()
