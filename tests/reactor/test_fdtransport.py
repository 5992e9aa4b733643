"""FileDescriptorTransport on every backend: a pty pair standing in for a serial port, pipes,
buffering and producers, end of input, half-close, errors, blocking mode restored."""

from __future__ import annotations

import os
import tty
from collections.abc import Iterator
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ConnectionAborted, ConnectionDone, ConnectionLost, Protocol
from plait.reactor import FileDescriptorTransport, PipeAddress, PosixReactorBase, connectFD

from .conftest import runReactor


class Recorder(Protocol):
    """Keeps what arrives and how the connection ended; stops the reactor when it ends."""

    def __init__(self, reactor: PosixReactorBase, stopOnLost: bool = True) -> None:
        self.reactor = reactor
        self.stopOnLost = stopOnLost
        self.received = b""
        self.lost: list[Failure] = []
        self.onData: Any = None

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.onData is not None:
            self.onData(self)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.append(reason)
        if self.stopOnLost:
            self.reactor.stop()


@pytest.fixture
def ptyPair() -> Iterator[tuple[int, int]]:
    """A raw pty pair (master, slave): a serial line with no echo or line editing."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def readAll(fd: int, count: int) -> bytes:
    """Read ``count`` bytes from a blocking descriptor."""
    data = b""
    while len(data) < count:
        chunk = os.read(fd, count - len(data))
        assert chunk
        data += chunk
    return data


def test_pty_pair_both_ways(reactor: PosixReactorBase, ptyPair: tuple[int, int]) -> None:
    """Bytes written on the slave reach the protocol, and the protocol's writes reach the
    slave; closing the slave ends the connection with ConnectionDone."""
    master, slave = ptyPair
    proto = Recorder(reactor)

    def onData(p: Recorder) -> None:
        if p.received.endswith(b"ping\n"):
            assert p.transport is not None
            p.transport.write(b"pong\n")

    proto.onData = onData

    def start() -> None:
        transport = connectFD(reactor, master, proto)
        assert proto.transport is transport and proto.connected
        os.write(slave, b"ping\n")

    def checkAndClose() -> None:
        assert readAll(slave, 5) == b"pong\n"
        os.close(slave)

    reactor.callWhenRunning(start)
    reactor.callLater(0.2, checkAndClose)
    runReactor(reactor)
    assert proto.received == b"ping\n"
    assert len(proto.lost) == 1 and proto.lost[0].check(ConnectionDone)
    with pytest.raises(OSError):
        os.fstat(master)  # the transport closed it


def test_large_write_buffered(reactor: PosixReactorBase) -> None:
    """A write much larger than a pipe holds is buffered and delivered whole, in order."""
    r, w = os.pipe()
    payload = bytes(range(256)) * 4096  # 1 MiB
    sink = Recorder(reactor, stopOnLost=False)
    source = Recorder(reactor, stopOnLost=False)
    dummyR, dummyW = os.pipe()

    def onData(p: Recorder) -> None:
        if len(p.received) >= len(payload):
            reactor.stop()

    sink.onData = onData

    def start() -> None:
        FileDescriptorTransport(reactor, r, sink)
        t = FileDescriptorTransport(reactor, dummyR, source, writeFD=w)
        t.write(payload)
        assert t._writer.getWriteBufferSize() > 0

    reactor.callWhenRunning(start)
    runReactor(reactor)
    os.close(dummyW)
    assert sink.received == payload


class PushProducer:
    """Counts pause/resume/stop calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")

    def stopProducing(self) -> None:
        self.calls.append("stop")


def test_push_producer_paused_and_resumed(reactor: PosixReactorBase) -> None:
    """A streaming producer is paused when the buffer passes the high water mark and resumed
    once the other end drains it."""
    r, w = os.pipe()
    producer = PushProducer()
    writerProto = Recorder(reactor, stopOnLost=False)
    sink = Recorder(reactor, stopOnLost=False)
    dummyR, dummyW = os.pipe()
    total = 1 << 20

    def onData(p: Recorder) -> None:
        if len(p.received) >= total:
            reactor.stop()

    sink.onData = onData

    def start() -> None:
        t = FileDescriptorTransport(reactor, dummyR, writerProto, writeFD=w)
        t.registerProducer(producer, True)
        t.write(b"x" * total)
        assert producer.calls == ["pause"]
        FileDescriptorTransport(reactor, r, sink)

    reactor.callWhenRunning(start)
    runReactor(reactor)
    os.close(dummyW)
    assert producer.calls[:2] == ["pause", "resume"]


def test_pull_producer_asked_for_more(reactor: PosixReactorBase) -> None:
    """A pull producer is asked for data at registration and whenever the buffer empties."""
    r, w = os.pipe()
    dummyR, dummyW = os.pipe()
    sink = Recorder(reactor, stopOnLost=True)
    writerProto = Recorder(reactor, stopOnLost=False)

    class Pull:
        def __init__(self) -> None:
            self.left = 3

        def resumeProducing(self) -> None:
            assert writerProto.transport is not None
            if self.left:
                self.left -= 1
                writerProto.transport.write(b"chunk")
            else:
                writerProto.transport.unregisterProducer()  # type: ignore[attr-defined]
                writerProto.transport.loseConnection()

        def stopProducing(self) -> None:
            pass

    def start() -> None:
        FileDescriptorTransport(reactor, r, sink)
        t = FileDescriptorTransport(reactor, dummyR, writerProto, writeFD=w)
        t.registerProducer(Pull(), False)

    reactor.callWhenRunning(start)
    runReactor(reactor)
    os.close(dummyW)
    assert sink.received == b"chunk" * 3
    assert sink.lost[0].check(ConnectionDone)
    assert writerProto.lost[0].check(ConnectionDone)


def test_lose_connection_flushes_and_restores_blocking(reactor: PosixReactorBase) -> None:
    """loseConnection flushes what was written, closes, and puts blocking mode back on the
    open file (seen through a duplicate)."""
    r, w = os.pipe()
    watchR, watchW = os.dup(r), os.dup(w)
    proto = Recorder(reactor)

    def start() -> None:
        t = FileDescriptorTransport(reactor, r, proto, writeFD=w)
        assert not os.get_blocking(watchW)
        t.write(b"bye")
        t.loseConnection()

    reactor.callWhenRunning(start)
    runReactor(reactor)
    try:
        assert proto.lost[0].check(ConnectionDone)
        assert os.get_blocking(watchR) and os.get_blocking(watchW)
        assert os.read(watchR, 10) == b"bye"
    finally:
        os.close(watchR)
        os.close(watchW)


def test_abort_connection(reactor: PosixReactorBase, ptyPair: tuple[int, int]) -> None:
    """abortConnection ends the connection with ConnectionAborted."""
    master, _ = ptyPair
    proto = Recorder(reactor)

    def start() -> None:
        t = connectFD(reactor, master, proto)
        t.abortConnection()

    reactor.callWhenRunning(start)
    runReactor(reactor)
    assert proto.lost[0].check(ConnectionAborted)


class HalfCloser(Recorder):
    """On end of input, answers and closes its write side."""

    readLost = 0
    writeLost = 0

    def readConnectionLost(self) -> None:
        self.readLost += 1
        assert self.transport is not None
        self.transport.write(b"got " + self.received)
        self.transport.loseWriteConnection()  # type: ignore[attr-defined]

    def writeConnectionLost(self) -> None:
        self.writeLost += 1


def test_half_close(reactor: PosixReactorBase) -> None:
    """End of input goes to readConnectionLost of a half-closeable protocol, which can still
    write; after loseWriteConnection the connection ends with ConnectionDone."""
    inR, inW = os.pipe()
    outR, outW = os.pipe()
    proto = HalfCloser(reactor)

    def start() -> None:
        FileDescriptorTransport(reactor, inR, proto, writeFD=outW)
        os.write(inW, b"abc")
        os.close(inW)

    reactor.callWhenRunning(start)
    runReactor(reactor)
    try:
        assert proto.readLost == 1 and proto.writeLost == 1
        assert proto.lost[0].check(ConnectionDone)
        assert os.read(outR, 100) == b"got abc"
        assert os.read(outR, 100) == b""  # the write end was closed
    finally:
        os.close(outR)


def test_eof_without_half_close_flushes(reactor: PosixReactorBase) -> None:
    """A protocol that is not half-closeable is lost with ConnectionDone at end of input,
    after what it wrote is flushed."""
    inR, inW = os.pipe()
    outR, outW = os.pipe()
    proto = Recorder(reactor)

    def onData(p: Recorder) -> None:
        assert p.transport is not None
        p.transport.write(p.received.upper())

    proto.onData = onData

    def start() -> None:
        FileDescriptorTransport(reactor, inR, proto, writeFD=outW)
        os.write(inW, b"abc")
        reactor.callLater(0.05, os.close, inW)

    reactor.callWhenRunning(start)
    runReactor(reactor)
    try:
        assert proto.lost[0].check(ConnectionDone)
        assert os.read(outR, 100) == b"ABC"
    finally:
        os.close(outR)


def test_write_error_is_connection_lost(reactor: PosixReactorBase) -> None:
    """Writing to a pipe whose reader is gone loses the connection with ConnectionLost."""
    inR, inW = os.pipe()
    outR, outW = os.pipe()
    os.close(outR)
    proto = Recorder(reactor)

    def start() -> None:
        t = FileDescriptorTransport(reactor, inR, proto, writeFD=outW)
        t.write(b"into the void")

    reactor.callWhenRunning(start)
    runReactor(reactor)
    os.close(inW)
    assert proto.lost[0].check(ConnectionLost)
    assert not proto.lost[0].check(ConnectionDone)


def test_protocol_error_loses_connection(reactor: PosixReactorBase, ptyPair: Any) -> None:
    """An exception from dataReceived is logged and loses the connection with it."""
    from plait.testing import flushLoggedErrors

    master, slave = ptyPair
    proto = Recorder(reactor)

    def onData(p: Recorder) -> None:
        raise ZeroDivisionError("boom")

    proto.onData = onData

    def start() -> None:
        connectFD(reactor, master, proto)
        os.write(slave, b"x")

    reactor.callWhenRunning(start)
    runReactor(reactor)
    assert proto.lost[0].check(ZeroDivisionError)
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_addresses_and_pause(reactor: PosixReactorBase, ptyPair: tuple[int, int]) -> None:
    """getHost/getPeer are PipeAddress; pauseProducing stops dataReceived until resumed."""
    master, slave = ptyPair
    proto = Recorder(reactor, stopOnLost=False)
    seen: list[bytes] = []

    def start() -> None:
        t = connectFD(reactor, master, proto)
        assert t.getHost() == PipeAddress() and t.getPeer() == PipeAddress()
        t.pauseProducing()
        os.write(slave, b"held")
        reactor.callLater(0.1, check, t)

    def check(t: FileDescriptorTransport) -> None:
        seen.append(proto.received)
        t.resumeProducing()
        reactor.callLater(0.1, reactor.stop)

    reactor.callWhenRunning(start)
    runReactor(reactor)
    assert seen == [b""]
    assert proto.received == b"held"
