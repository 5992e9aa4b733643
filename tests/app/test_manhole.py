"""plait.app.ManholeService: a StreamServerEndpointService serving the SSH manhole."""

from __future__ import annotations

from typing import Any

import pytest

from plait.app import IService, ManholeService, MultiService, StreamServerEndpointService
from plait.defer import Deferred, succeed
from plait.protocol import IPv4Address
from plait.testing import Clock, MemoryReactor, successResultOf

pytest.importorskip("cryptography", reason="the manhole needs the ssh extra")

from plait.auth import Portal
from plait.ssh.manhole import ManholeRealm
from plait.ssh.transport import SSHServerFactory


class FakePort:
    """A listening port that records stopListening."""

    stopped = False

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 2200)

    def stopListening(self) -> None:
        self.stopped = True


class FakeEndpoint:
    """A server endpoint that listens at once."""

    def __init__(self) -> None:
        self.factories: list[Any] = []
        self.port = FakePort()

    def listen(self, factory: Any) -> Deferred[Any]:
        self.factories.append(factory)
        return succeed(self.port)


def test_service_listens_while_running() -> None:
    """ManholeService listens on start, reports the port, and stops listening on stop."""
    endpoint = FakeEndpoint()
    service = ManholeService(Clock(), endpoint, {}, Portal(ManholeRealm({})))
    parent = MultiService()
    assert isinstance(service, IService)
    assert isinstance(service, StreamServerEndpointService)
    assert isinstance(service.factory, SSHServerFactory)
    service.setName("manhole")
    service.setServiceParent(parent)
    assert parent.getServiceNamed("manhole") is service
    waiting = service.whenListening()
    parent.startService()
    assert service.running
    assert successResultOf(waiting) is endpoint.port
    assert endpoint.factories[0].hostKeys is service.factory.hostKeys  # it serves that factory
    assert successResultOf(service.whenListening()) is endpoint.port
    parent.stopService()
    assert endpoint.port.stopped and not service.running
    service.disownServiceParent()
    assert list(parent) == []


def test_endpoint_string_listens_on_the_reactor() -> None:
    """An endpoint string is parsed with the given reactor and listened on at start."""
    reactor = MemoryReactor()
    service = ManholeService(
        reactor, "tcp:2222:interface=127.0.0.1", {"x": 1}, Portal(ManholeRealm({}))
    )
    service.startService()
    [(port, factory, _, interface)] = reactor.tcpServers
    assert (port, interface) == (2222, "127.0.0.1")
    assert factory.hostKeys is service.factory.hostKeys


def test_needs_a_way_to_log_in() -> None:
    """Without a portal, authorized keys or a password file, construction fails."""
    with pytest.raises(ValueError):
        ManholeService(Clock(), FakeEndpoint(), {})
