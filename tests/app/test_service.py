"""Services: ordering, Deferreds, privileged binding, timers and ClientService reconnection."""

from __future__ import annotations

from typing import Any

import pytest

from plait.app import (
    Application,
    ClientService,
    IService,
    MultiService,
    Service,
    StreamServerEndpointService,
    TimerService,
    backoffPolicy,
)
from plait.defer import CancelledError, Deferred, fail
from plait.endpoints import TCP4ServerEndpoint
from plait.protocol import CannotListenError, Factory, Protocol
from plait.testing import (
    Clock,
    MemoryReactor,
    StringTransportWithDisconnection,
    assertNoResult,
    failureResultOf,
    flushLoggedErrors,
    successResultOf,
)


class Recording(Service):
    """Records start/stop into a shared list; stop may return a Deferred."""

    def __init__(self, name: str, events: list[str], stopResult: Any = None) -> None:
        self.setName(name)
        self.events = events
        self.stopResult = stopResult

    def privilegedStartService(self) -> None:
        self.events.append(f"priv {self.name}")

    def startService(self) -> None:
        super().startService()
        self.events.append(f"start {self.name}")

    def stopService(self) -> Any:
        super().stopService()
        self.events.append(f"stop {self.name}")
        return self.stopResult


def test_multiservice_order() -> None:
    """Children get privileged start, then start, in order; stop runs in reverse."""
    events: list[str] = []
    top = MultiService()
    for name in "abc":
        Recording(name, events).setServiceParent(top)
    top.privilegedStartService()
    top.startService()
    successResultOf(top.stopService())
    assert events == [
        "priv a", "priv b", "priv c", "start a", "start b", "start c", "stop c", "stop b", "stop a",
    ]  # fmt: skip


def test_multiservice_stop_waits_for_children() -> None:
    """stopService fires only when every child's stop Deferred has fired."""
    events: list[str] = []
    pending: Deferred[None] = Deferred()
    top = MultiService()
    Recording("slow", events, pending).setServiceParent(top)
    Recording("fast", events).setServiceParent(top)
    top.startService()
    d = top.stopService()
    assertNoResult(d)
    pending.callback(None)
    successResultOf(d)
    assert not top.running


def test_multiservice_stop_failure_logged() -> None:
    """A child whose stop fails is logged; the others still stop and the Deferred fires."""
    events: list[str] = []
    top = MultiService()
    Recording("bad", events, fail(RuntimeError("boom"))).setServiceParent(top)
    Recording("good", events).setServiceParent(top)
    top.startService()
    successResultOf(top.stopService())
    assert events[-2:] == ["stop good", "stop bad"]
    assert len(flushLoggedErrors(RuntimeError)) == 1


def test_named_children() -> None:
    """getServiceNamed finds a child; duplicate names and renaming a child are refused."""
    top = MultiService()
    a = Recording("a", [])
    a.setServiceParent(top)
    assert top.getServiceNamed("a") is a
    with pytest.raises(RuntimeError):
        Recording("a", []).setServiceParent(top)
    with pytest.raises(RuntimeError):
        a.setName("b")
    a.disownServiceParent()
    with pytest.raises(KeyError):
        top.getServiceNamed("a")
    assert a.parent is None and isinstance(a, IService)


def test_add_to_running_parent_starts_child() -> None:
    """A child added to a running parent starts; removing it stops it."""
    events: list[str] = []
    top = MultiService()
    top.startService()
    child = Recording("x", events)
    child.setServiceParent(top)
    assert events == ["priv x", "start x"]
    child.disownServiceParent()
    assert events[-1] == "stop x"


def test_application_identity() -> None:
    """Application carries its name, uid and gid."""
    app = Application("demo", uid=1000, gid=1001)
    assert (app.name, app.uid, app.gid) == ("demo", 1000, 1001)
    assert app.services == []


def test_stream_server_binds_in_privileged_start() -> None:
    """The port is bound by privilegedStartService, before startService; stop stops listening."""
    reactor = MemoryReactor()
    service = StreamServerEndpointService(
        TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), Factory.forProtocol(Protocol)
    )
    service.privilegedStartService()
    assert len(reactor.tcpServers) == 1
    assert not service.running
    service.startService()
    assert len(reactor.tcpServers) == 1
    port = successResultOf(service.whenListening())
    successResultOf(service.stopService())
    assert service.port is None and port is not None


class FailingEndpoint:
    """A server endpoint that cannot listen."""

    def listen(self, factory: Any) -> Deferred[Any]:
        return fail(CannotListenError("127.0.0.1", 1, OSError(13, "Permission denied")))


def test_stream_server_listen_failure_raises() -> None:
    """A listen failure is logged and startService raises it."""
    service = StreamServerEndpointService(FailingEndpoint(), Factory.forProtocol(Protocol))
    with pytest.raises(CannotListenError):
        service.startService()
    failureResultOf(service.whenListening(), CannotListenError)
    assert flushLoggedErrors(CannotListenError)


def test_timer_service() -> None:
    """TimerService calls at once, then every step, and stops with the service."""
    clock = Clock()
    calls: list[str] = []
    service = TimerService(2.0, calls.append, "tick", clock=clock)
    service.startService()
    clock.advance(2.0)
    clock.advance(2.0)
    assert calls == ["tick"] * 3
    successResultOf(service.stopService())
    clock.advance(10)
    assert len(calls) == 3


class FakeClientEndpoint:
    """Hands out a Deferred per connect; the test fires them."""

    def __init__(self) -> None:
        self.attempts: list[tuple[Deferred[Any], Any]] = []

    def connect(self, factory: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.attempts.append((d, factory))
        return d

    def succeed(self) -> Any:
        d, factory = self.attempts[-1]
        protocol = factory.buildProtocol(None)
        transport = StringTransportWithDisconnection()
        transport.protocol = protocol
        protocol.makeConnection(transport)
        d.callback(protocol)
        return protocol


def test_backoff_policy() -> None:
    """Delays grow by the factor up to the maximum, plus jitter."""
    policy = backoffPolicy(1.0, 10.0, 2.0, jitter=lambda: 0.5)
    assert [policy(n) for n in (1, 2, 3, 4, 5, 100000)] == [1.5, 2.5, 4.5, 8.5, 10.5, 10.5]


def test_client_service_reconnects_with_backoff() -> None:
    """Failed attempts are retried after the policy's delays; whenConnected fires on success."""
    clock = Clock()
    endpoint = FakeClientEndpoint()
    service = ClientService(
        endpoint, Factory.forProtocol(Protocol), lambda n: float(n), clock=clock
    )
    service.startService()
    waiting = service.whenConnected()
    endpoint.attempts[-1][0].errback(ConnectionRefusedError())
    clock.advance(0.9)
    assert len(endpoint.attempts) == 1
    clock.advance(0.1)
    assert len(endpoint.attempts) == 2
    endpoint.attempts[-1][0].errback(ConnectionRefusedError())
    clock.advance(1.9)
    assert len(endpoint.attempts) == 2
    clock.advance(0.1)
    protocol = endpoint.succeed()
    assert successResultOf(waiting) is protocol
    assert successResultOf(service.whenConnected()) is protocol
    # A lost connection is redialled after the first delay.
    protocol.transport.loseConnection()
    clock.advance(1.0)
    assert len(endpoint.attempts) == 4


def test_client_service_fail_after_failures() -> None:
    """whenConnected(failAfterFailures=2) fails after two failed attempts in a row."""
    clock = Clock()
    endpoint = FakeClientEndpoint()
    service = ClientService(endpoint, Factory.forProtocol(Protocol), lambda n: 1.0, clock=clock)
    service.startService()
    d = service.whenConnected(failAfterFailures=2)
    endpoint.attempts[-1][0].errback(ConnectionRefusedError())
    assertNoResult(d)
    clock.advance(1.0)
    endpoint.attempts[-1][0].errback(ConnectionRefusedError())
    failureResultOf(d, ConnectionRefusedError)
    successResultOf(service.stopService())


def test_client_service_stop_disconnects() -> None:
    """stopService disconnects, stops retrying and fires once the connection is lost."""
    clock = Clock()
    endpoint = FakeClientEndpoint()
    service = ClientService(endpoint, Factory.forProtocol(Protocol), lambda n: 1.0, clock=clock)
    service.startService()
    protocol = endpoint.succeed()
    successResultOf(service.stopService())
    assert not protocol.transport.connected
    clock.advance(100)
    assert len(endpoint.attempts) == 1


def test_client_service_stop_cancels_waiters() -> None:
    """Stopping while unconnected cancels the attempt and fails pending whenConnected."""
    clock = Clock()
    endpoint = FakeClientEndpoint()
    service = ClientService(endpoint, Factory.forProtocol(Protocol), lambda n: 1.0, clock=clock)
    service.startService()
    d = service.whenConnected()
    successResultOf(service.stopService())
    failureResultOf(d, CancelledError)
    assert endpoint.attempts[0][0].called
    assert not clock.getDelayedCalls()


def test_stream_server_tracks_connections_until_drained() -> None:
    """whenDrained fires once every connection the service accepted has been lost."""
    reactor = MemoryReactor()
    service = StreamServerEndpointService(
        TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), Factory.forProtocol(Protocol)
    )
    service.startService()
    factory = reactor.tcpServers[0][1]
    protocols = [factory.buildProtocol(None) for _ in range(2)]
    transports = []
    for p in protocols:
        t = StringTransportWithDisconnection()
        t.protocol = p
        p.makeConnection(t)
        transports.append(t)
    assert service.connections == set(protocols)
    successResultOf(service.stopService())
    drained = service.whenDrained()
    transports[0].loseConnection()
    assertNoResult(drained)
    transports[1].loseConnection()
    successResultOf(drained)
    assert not service.connections
