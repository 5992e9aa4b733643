"""Fakes for endpoint tests: a hand-driven name resolver on a MemoryReactorClock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plait.protocol import IPv4Address, IPv6Address, Protocol
from plait.testing import MemoryReactorClock


class FakeResolution:
    """One resolution in progress; records being cancelled."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class ResolveCall:
    """One ``resolveHostName`` call, to be answered by the test."""

    receiver: Any
    hostName: str
    portNumber: int
    addressTypes: Any
    transportSemantics: str
    resolution: FakeResolution = field(init=False)

    def deliver(self, *hosts: str) -> None:
        """Deliver ``hosts`` (IPv6 when they contain ':') and complete the resolution."""
        for host in hosts:
            cls = IPv6Address if ":" in host else IPv4Address
            self.receiver.addressResolved(cls("TCP", host, self.portNumber))
        self.receiver.resolutionComplete()


class FakeResolver:
    """An ``IHostnameResolver`` that records calls; the test answers them by hand."""

    def __init__(self) -> None:
        self.calls: list[ResolveCall] = []

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> FakeResolution:
        call = ResolveCall(
            resolutionReceiver, hostName, portNumber, addressTypes, transportSemantics
        )
        call.resolution = FakeResolution(hostName)
        self.calls.append(call)
        resolutionReceiver.resolutionBegan(call.resolution)
        return call.resolution


class ResolvingMemoryReactor(MemoryReactorClock):
    """A MemoryReactorClock with a hand-driven ``nameResolver``."""

    def __init__(self) -> None:
        super().__init__()
        self.nameResolver = FakeResolver()


class RecordingProtocol(Protocol):
    """A protocol that records its events."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def connectionMade(self) -> None:
        self.events.append("made")

    def dataReceived(self, data: bytes) -> None:
        self.events.append(data)

    def connectionLost(self, reason: Any) -> None:
        self.events.append(("lost", reason))
