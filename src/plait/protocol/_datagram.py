"""Datagram (UDP) protocols."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plait.defer import Failure
    from plait.protocol._interfaces import IUDPTransport

__all__ = ["ConnectedDatagramProtocol", "DatagramProtocol"]


class _AbstractDatagramProtocol:
    transport: IUDPTransport | None = None
    numPorts: int = 0
    noisy: bool = True

    def logPrefix(self) -> str:
        """The prefix for log messages about this protocol: the class name."""
        return type(self).__name__

    def makeConnection(self, transport: IUDPTransport) -> None:
        """Attach to a UDP port (done by the reactor) and start (``doStart``)."""
        if self.transport is not None:
            raise RuntimeError(f"{self.logPrefix()} is already attached to a transport")
        self.transport = transport
        self.doStart()

    def doStart(self) -> None:
        """A port started using this protocol; the first one calls ``startProtocol``."""
        if not self.numPorts:
            self.startProtocol()
        self.numPorts += 1

    def doStop(self) -> None:
        """A port stopped; detach from the transport, and the last calls ``stopProtocol``."""
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        self.transport = None
        if not self.numPorts:
            self.stopProtocol()

    def startProtocol(self) -> None:
        """The protocol is attached to a port and may send; override to start."""

    def stopProtocol(self) -> None:
        """The protocol is detached from its last port; override to clean up."""


class DatagramProtocol(_AbstractDatagramProtocol):
    """A UDP protocol: override ``datagramReceived``; send with ``self.transport.write``."""

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        """A datagram arrived from ``addr`` (``(host, port)``)."""

    def connectionRefused(self) -> None:
        """On a connected port, the peer refused a datagram (ICMP port unreachable)."""


class ConnectedDatagramProtocol(_AbstractDatagramProtocol):
    """A UDP protocol for a port connected to one peer: datagrams come without an address."""

    def datagramReceived(self, datagram: bytes) -> None:
        """A datagram arrived from the connected peer."""

    def connectionFailed(self, failure: Failure) -> None:
        """Connecting to the peer failed (e.g. its name could not be resolved)."""
