"""Protocol, Factory and their start/stop bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plait.defer import Failure
from plait.log import LogEvent, formatEvent, globalLogPublisher
from plait.protocol import (
    BaseProtocol,
    ClientFactory,
    ConnectionDone,
    Factory,
    IAddress,
    IProtocol,
    IProtocolFactory,
    IPv4Address,
    ITransport,
    Protocol,
    ServerFactory,
    connectionDone,
)
from plait.testing import StringTransport

ADDR = IPv4Address("TCP", "127.0.0.1", 1234)


class Recorder(Protocol):
    """A protocol that records its events."""

    def __init__(self, tag: str = "") -> None:
        self.tag = tag
        self.events: list[Any] = []

    def connectionMade(self) -> None:
        self.events.append(("made", self.transport, self.connected))

    def dataReceived(self, data: bytes) -> None:
        self.events.append(("data", data))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.events.append(("lost", reason))


def test_make_connection_sets_transport_and_calls_connection_made() -> None:
    """makeConnection attaches the transport, marks connected, then calls connectionMade."""
    p = Recorder()
    t = StringTransport()
    assert (p.connected, p.transport) == (0, None)
    p.makeConnection(t)
    assert p.events == [("made", t, 1)]
    assert p.transport is t


def test_default_connection_lost_reason_is_connection_done() -> None:
    """Protocol.connectionLost can be called without a reason (it defaults to clean)."""
    import inspect

    default = inspect.signature(Protocol.connectionLost).parameters["reason"].default
    assert isinstance(default, Failure)
    assert default.check(ConnectionDone)


def test_log_prefix_is_the_class_name() -> None:
    """logPrefix names the protocol and factory classes."""
    assert Recorder().logPrefix() == "Recorder"
    assert ServerFactory().logPrefix() == "ServerFactory"


def test_structural_interfaces() -> None:
    """Protocol, Factory and StringTransport provide the interfaces by shape."""
    assert isinstance(Protocol(), IProtocol)
    assert isinstance(Factory(), IProtocolFactory)
    assert isinstance(StringTransport(), ITransport)
    assert not isinstance(BaseProtocol(), IProtocol)


def test_build_protocol_sets_factory() -> None:
    """buildProtocol calls ``protocol`` and sets the new protocol's factory."""
    f = Factory()
    f.protocol = Recorder
    p = f.buildProtocol(ADDR)
    assert isinstance(p, Recorder)
    assert p.factory is f
    assert f.buildProtocol(ADDR) is not p


def test_build_protocol_without_protocol_fails_clearly() -> None:
    """A factory with no protocol set says so."""
    with pytest.raises(TypeError, match="protocol is not set"):
        Factory().buildProtocol(ADDR)


def test_for_protocol_passes_arguments_to_the_factory() -> None:
    """forProtocol builds the factory class with the given arguments."""

    class Named(ClientFactory):
        def __init__(self, name: str, *, loud: bool = False) -> None:
            self.name = name
            self.loud = loud

    f = Named.forProtocol(Recorder, "n", loud=True)
    assert type(f) is Named
    assert (f.name, f.loud, f.protocol) == ("n", True, Recorder)
    p = f.buildProtocol(ADDR)
    assert isinstance(p, Recorder) and p.factory is f


class CountingFactory(Factory):
    """Records startFactory/stopFactory calls."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def startFactory(self) -> None:
        self.log.append("start")

    def stopFactory(self) -> None:
        self.log.append("stop")


def test_start_and_stop_only_on_first_and_last_port() -> None:
    """startFactory runs for the first port, stopFactory after the last one stops."""
    f = CountingFactory()
    f.doStart()
    f.doStart()
    assert (f.log, f.numPorts) == (["start"], 2)
    f.doStop()
    assert (f.log, f.numPorts) == (["start"], 1)
    f.doStop()
    assert (f.log, f.numPorts) == (["start", "stop"], 0)
    f.doStart()
    assert f.log == ["start", "stop", "start"]


def test_unbalanced_do_stop_is_ignored() -> None:
    """An extra doStop neither calls stopFactory nor drives the count negative."""
    f = CountingFactory()
    f.doStop()
    assert (f.log, f.numPorts) == ([], 0)


def test_factory_refusing_a_connection() -> None:
    """A buildProtocol returning None refuses (the return type allows it)."""

    class Refusing(ServerFactory):
        def buildProtocol(self, addr: IAddress) -> Protocol | None:
            return None

    assert Refusing().buildProtocol(ADDR) is None


@pytest.fixture
def events() -> Iterator[list[LogEvent]]:
    """Log events published while the test runs."""
    seen: list[LogEvent] = []
    globalLogPublisher.addObserver(seen.append)
    yield seen
    globalLogPublisher.removeObserver(seen.append)


def test_noisy_factory_logs_start_and_stop(events: list[LogEvent]) -> None:
    """A noisy factory logs starting and stopping; a quiet one does not."""
    f = CountingFactory()
    f.doStart()
    f.doStart()
    f.doStop()
    f.doStop()
    texts = [formatEvent(e) for e in events if e.get("log_namespace") == "plait.protocol"]
    assert texts == [f"Starting factory {f!r}", f"Stopping factory {f!r}"]
    events.clear()
    quiet = CountingFactory()
    quiet.noisy = False
    quiet.doStart()
    quiet.doStop()
    assert [e for e in events if e.get("log_namespace") == "plait.protocol"] == []
