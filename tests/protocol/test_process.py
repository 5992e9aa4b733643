"""ProcessProtocol and DatagramProtocol dispatch and bookkeeping."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import (
    ConnectedDatagramProtocol,
    DatagramProtocol,
    IDatagramProtocol,
    IProcessProtocol,
    ProcessDone,
    ProcessProtocol,
)


class Recorder(ProcessProtocol):
    """Records the specific events the generic ones dispatch to."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def outReceived(self, data: bytes) -> None:
        self.events.append(("out", data))

    def errReceived(self, data: bytes) -> None:
        self.events.append(("err", data))

    def inConnectionLost(self) -> None:
        self.events.append("inLost")

    def outConnectionLost(self) -> None:
        self.events.append("outLost")

    def errConnectionLost(self) -> None:
        self.events.append("errLost")


def test_child_data_dispatches_by_fd() -> None:
    """fd 1 goes to outReceived, fd 2 to errReceived, others nowhere."""
    p = Recorder()
    p.childDataReceived(1, b"o")
    p.childDataReceived(2, b"e")
    p.childDataReceived(3, b"x")
    assert p.events == [("out", b"o"), ("err", b"e")]


def test_child_connection_lost_dispatches_by_fd() -> None:
    """fds 0, 1, 2 closing go to in/out/errConnectionLost, others nowhere."""
    p = Recorder()
    for fd in (2, 0, 1, 5):
        p.childConnectionLost(fd)
    assert p.events == ["errLost", "inLost", "outLost"]


def test_process_protocol_defaults_accept_every_event() -> None:
    """The base ProcessProtocol accepts every event and provides IProcessProtocol."""
    p = ProcessProtocol()
    assert isinstance(p, IProcessProtocol)
    p.childDataReceived(1, b"x")
    p.childConnectionLost(0)
    p.processExited(Failure(ProcessDone(0)))
    p.processEnded(Failure(ProcessDone(0)))
    assert p.transport is None


class FakeUDPTransport:
    """The bit of a UDP port a DatagramProtocol touches."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def write(self, packet: bytes, addr: tuple[str, int] | None = None) -> None:
        self.sent.append((packet, addr))


class Echo(DatagramProtocol):
    """Echoes datagrams and records start/stop."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def startProtocol(self) -> None:
        self.events.append("start")

    def stopProtocol(self) -> None:
        self.events.append("stop")

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.write(datagram, addr)


def test_datagram_protocol_start_send_stop() -> None:
    """makeConnection starts the protocol, which can then send; doStop detaches it."""
    p = Echo()
    assert isinstance(p, IDatagramProtocol)
    t = FakeUDPTransport()
    p.makeConnection(t)  # type: ignore[arg-type]
    assert p.events == ["start"]
    p.datagramReceived(b"ping", ("10.0.0.2", 53))
    assert t.sent == [(b"ping", ("10.0.0.2", 53))]
    p.doStop()
    assert p.events == ["start", "stop"]
    assert p.transport is None
    p.doStop()
    assert p.events == ["start", "stop"]


def test_datagram_protocol_cannot_attach_twice() -> None:
    """Attaching an attached datagram protocol to a second transport is an error."""
    p = Echo()
    p.makeConnection(FakeUDPTransport())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="already attached"):
        p.makeConnection(FakeUDPTransport())  # type: ignore[arg-type]


def test_connected_datagram_protocol_defaults() -> None:
    """ConnectedDatagramProtocol receives datagrams without addresses."""
    p = ConnectedDatagramProtocol()
    p.datagramReceived(b"x")
    p.connectionFailed(Failure(ValueError("no")))
    p.doStart()
    assert p.numPorts == 1
