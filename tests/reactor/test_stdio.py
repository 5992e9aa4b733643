"""StandardIO: a child process running a plait echo protocol on its stdin/stdout, driven by
a parent over pipes, on every backend; and StandardIO over pipes in this process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ConnectionDone, ProcessDone, ProcessProtocol, Protocol
from plait.reactor import PipeAddress, PosixReactorBase, StandardIO, reactorClassNamed

from .conftest import BACKENDS, runReactor

CHILD = """
import sys
from plait.protocol import Protocol
from plait.reactor import StandardIO, reactorClassNamed

reactor = reactorClassNamed(sys.argv[1])()

class Echo(Protocol):
    def connectionMade(self):
        peer = self.transport.getPeer()
        sys.stderr.write(f"peer {type(peer).__name__}\\n")

    def dataReceived(self, data):
        self.transport.write(data)

    def connectionLost(self, reason):
        sys.stderr.write(f"lost {type(reason.value).__name__}\\n")
        reactor.stop()

class HalfCloseableEcho(Echo):
    def readConnectionLost(self):
        self.transport.write(b"bye\\n")
        self.transport.loseConnection()

proto = Echo() if sys.argv[2] == "plain" else HalfCloseableEcho()
reactor.callWhenRunning(StandardIO, proto, reactor=reactor)
reactor.run()
"""


class Driver(ProcessProtocol):
    """Writes lines one at a time, each after the previous one came back, then closes."""

    def __init__(self, reactor: PosixReactorBase, lines: list[bytes]) -> None:
        self.reactor = reactor
        self.lines = list(lines)
        self.out = b""
        self.err = b""
        self.expected = b""
        self.reason: Failure | None = None

    def connectionMade(self) -> None:
        self.sendNext()

    def sendNext(self) -> None:
        assert self.transport is not None
        if self.lines:
            line = self.lines.pop(0)
            self.expected += line
            self.transport.write(line)
        else:
            self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        self.out += data
        if self.out == self.expected:
            self.sendNext()

    def errReceived(self, data: bytes) -> None:
        self.err += data

    def processEnded(self, reason: Failure) -> None:
        self.reason = reason
        self.reactor.stop()


@pytest.fixture
def parent() -> Iterator[PosixReactorBase]:
    """A reactor for the parent side (the child is the one under test)."""
    r = reactorClassNamed("poll")()
    yield r
    r.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["plain", "halfclose"])
def test_stdio_echo_child(parent: PosixReactorBase, backend: str, mode: str) -> None:
    """Lines written to the child come back; closing its stdin ends it with exit code 0
    (a half-closeable protocol still writes after the end of input)."""
    lines = [b"hello\n", b"second line\n", b"x" * 100_000 + b"\n"]
    driver = Driver(parent, lines)
    parent.callWhenRunning(
        parent.spawnProcess,
        driver,
        sys.executable,
        [sys.executable, "-c", CHILD, backend, mode],
        env=None,
    )
    runReactor(parent, timeout=10)
    assert driver.reason is not None and driver.reason.check(ProcessDone), driver.err
    tail = b"bye\n" if mode == "halfclose" else b""
    assert driver.out == b"".join(lines) + tail
    assert b"peer PipeAddress" in driver.err
    assert b"lost ConnectionDone" in driver.err


class Recorder(Protocol):
    """Keeps data and the reason; stops the reactor when lost."""

    def __init__(self, reactor: PosixReactorBase) -> None:
        self.reactor = reactor
        self.data = b""
        self.reasons: list[Failure] = []

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.reasons.append(reason)
        self.reactor.stop()


def test_stdio_needs_a_reactor() -> None:
    """There is no global reactor: StandardIO without one is a TypeError."""
    with pytest.raises(TypeError):
        StandardIO(Protocol())


def test_stdio_over_pipes(reactor: PosixReactorBase) -> None:
    """StandardIO on given descriptors: reads one, writes the other, loseConnection flushes
    and closes both, and their blocking mode is back."""
    inR, inW = os.pipe()
    outR, outW = os.pipe()
    watchIn, watchOut = os.dup(inR), os.dup(outW)
    proto = Recorder(reactor)
    transports: list[Any] = []

    def start() -> None:
        t = StandardIO(proto, stdin=inR, stdout=outW, reactor=reactor)
        transports.append(t)
        assert t.getHost() == PipeAddress()
        assert not os.get_blocking(watchIn)
        os.write(inW, b"in")
        reactor.callLater(0.05, finish, t)

    def finish(t: StandardIO) -> None:
        t.write(b"out")
        t.loseConnection()

    reactor.callWhenRunning(start)
    runReactor(reactor)
    try:
        assert proto.data == b"in"
        assert proto.reasons[0].check(ConnectionDone)
        assert os.get_blocking(watchIn) and os.get_blocking(watchOut)
        assert os.read(outR, 10) == b"out"
        os.close(watchOut)
        watchOut = -1
        assert os.read(outR, 10) == b""  # stdout closed
    finally:
        for fd in (inW, outR, watchIn, watchOut):
            if fd >= 0:
                os.close(fd)
