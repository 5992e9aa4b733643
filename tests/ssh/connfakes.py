"""Fakes for the connection-service tests: a transport that records packets, and a pair of
``SSHConnection`` services wired back to back through a queue that the test pumps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from plait.protocol import IPv4Address
from plait.ssh._service import SSHService
from plait.testing import Clock


class FakeSSHTransport:
    """An ``ISSHTransport`` that keeps what the service sends (``packets``)."""

    def __init__(self, isClient: bool, reactor: Any = None) -> None:
        self.isClient = isClient
        self.sessionID = b"session-id"
        self.factory: Any = None
        self.reactor: Any = reactor if reactor is not None else Clock()
        self.packets: list[tuple[int, bytes]] = []
        self.sent: list[tuple[int, bytes]] = []  # every packet ever sent, for inspection
        self.disconnected: tuple[int, str] | None = None
        self.lost = False
        self.service: SSHService | None = None
        self.transport: Any = None  # the TCP transport below, if a test gives one
        self.unimplemented = 0

    def sendPacket(self, messageType: int, payload: bytes) -> None:
        if self.disconnected is None:
            self.packets.append((messageType, payload))
            self.sent.append((messageType, payload))

    def sendPacketParts(self, messageType: int, header: bytes, data: bytes | memoryview) -> None:
        self.sendPacket(messageType, header + bytes(data))

    @contextmanager
    def batch(self) -> Iterator[None]:
        yield

    def setService(self, service: SSHService) -> None:
        if self.service is not None:
            self.service.serviceStopped()
        self.service = service
        service.transport = self  # type: ignore[assignment]
        service.serviceStarted()

    def sendDisconnect(self, reason: int, description: str) -> None:
        self.disconnected = (reason, description)
        self.loseConnection()

    def sendUnimplemented(self) -> None:
        self.unimplemented += 1

    def loseConnection(self) -> None:
        if not self.lost:
            self.lost = True
            if self.service is not None:
                self.service.serviceStopped()

    def getPeer(self) -> IPv4Address:
        return IPv4Address("TCP", "192.0.2.1", 40000 if not self.isClient else 22)

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "192.0.2.2", 22 if not self.isClient else 40000)

    def logPrefix(self) -> str:
        return "FakeSSHTransport"


class ServicePair:
    """Two services (client, server) whose packets reach each other when ``pump()`` runs."""

    def __init__(self, client: SSHService, server: SSHService, reactor: Any = None) -> None:
        self.clock = reactor if reactor is not None else Clock()
        self.clientTransport = FakeSSHTransport(True, self.clock)
        self.serverTransport = FakeSSHTransport(False, self.clock)
        self.client = client
        self.server = server
        self.serverTransport.setService(server)
        self.clientTransport.setService(client)

    def pump(self, limit: int = 10000) -> int:
        """Deliver queued packets both ways until none is left; returns how many moved."""
        moved = 0
        for _ in range(limit):
            progressed = False
            for src, dst in (
                (self.clientTransport, self.serverTransport),
                (self.serverTransport, self.clientTransport),
            ):
                if src.packets:
                    messageType, payload = src.packets.pop(0)
                    if not dst.lost and dst.service is not None:
                        dst.service.packetReceived(messageType, payload)
                    moved += 1
                    progressed = True
            if not progressed:
                return moved
        raise AssertionError("packets still flowing after the pump limit")


class LivePair(ServicePair):
    """A ``ServicePair`` on a real reactor: packets are delivered by ``callLater(0, ...)``."""

    def __init__(self, client: SSHService, server: SSHService, reactor: Any) -> None:
        self._scheduled = False
        super().__init__(client, server, reactor)
        for transport in (self.clientTransport, self.serverTransport):
            original = transport.sendPacket

            def sendPacket(messageType: int, payload: bytes, original: Any = original) -> None:
                original(messageType, payload)
                self._schedule()

            transport.sendPacket = sendPacket  # type: ignore[method-assign]
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self.clock.callLater(0, self._deliver)

    def _deliver(self) -> None:
        self._scheduled = False
        self.pump(limit=1000000)


def runUntil(reactor: Any, condition: Any, timeout: float = 10.0) -> None:
    """Run ``reactor`` until ``condition()`` is true (checked every 10 ms), at most ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    met: list[bool] = []

    def check() -> None:
        if condition():
            met.append(True)
            reactor.stop()
        elif time.monotonic() > deadline:
            reactor.stop()
        else:
            reactor.callLater(0.01, check)

    reactor.callLater(0, check)
    reactor.run(installSignalHandlers=False)
    # Judged while running: stopping the reactor closes connections, which may satisfy it.
    assert met, f"condition not reached in {timeout}s"
