"""The buffered stream transport (``plait.reactor._stream.Connection``) on a socketpair.

A tiny fake reactor records registrations and runs readiness by hand (``select`` with a zero
timeout), so each step of the write buffer, the close paths and backpressure is visible.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ConnectionAborted, ConnectionDone, ConnectionLost, Protocol
from plait.reactor._stream import Connection
from plait.testing import flushLoggedErrors


class _Call:
    def __init__(self, f: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.f, self.args, self.cancelled = f, args, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeReactor:
    """Registration sets, a list of ``callLater(0)`` calls and a hand-cranked loop."""

    def __init__(self) -> None:
        self.readers: set[Any] = set()
        self.writers: set[Any] = set()
        self.calls: list[_Call] = []

    def addReader(self, r: Any) -> None:
        self.readers.add(r)

    def addWriter(self, w: Any) -> None:
        self.writers.add(w)

    def removeReader(self, r: Any) -> None:
        self.readers.discard(r)

    def removeWriter(self, w: Any) -> None:
        self.writers.discard(w)

    def callLater(self, delay: float, f: Callable[..., object], *args: Any) -> _Call:
        call = _Call(f, args)
        self.calls.append(call)
        return call

    def step(self) -> None:
        """One loop turn: due calls, then ready readers and writers."""
        calls, self.calls = self.calls, []
        for c in calls:
            if not c.cancelled:
                c.f(*c.args)
        readers = [r for r in self.readers if r.fileno() >= 0]
        writers = [w for w in self.writers if w.fileno() >= 0]
        if not readers and not writers:
            return
        r, w, _ = select.select(readers, writers, [], 0)
        for sel in r:
            if sel in self.readers:
                sel.doRead()
        for sel in w:
            if sel in self.writers:
                sel.doWrite()

    def run(self, until: Callable[[], bool], steps: int = 10000) -> None:
        for _ in range(steps):
            if until():
                return
            self.step()
        raise AssertionError("condition not reached")


class Recorder(Protocol):
    """Records what the transport tells it."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: list[Failure | None] = []

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure | None = None) -> None:  # type: ignore[override]
        self.lost.append(reason)


class HalfCloser(Recorder):
    """A half-closeable protocol."""

    readLost = 0
    writeLost = 0

    def readConnectionLost(self) -> None:
        self.readLost += 1

    def writeConnectionLost(self) -> None:
        self.writeLost += 1


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def connect(
    sock: socket.socket, protocol: Recorder | None = None
) -> tuple[FakeReactor, Connection, Recorder]:
    reactor = FakeReactor()
    proto = protocol if protocol is not None else Recorder()
    t = Connection(sock, proto, reactor)
    t.startReading()
    proto.makeConnection(t)
    return reactor, t, proto


def drain(sock: socket.socket) -> bytes:
    out = bytearray()
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def test_write_sends_at_once_when_nothing_is_buffered(pair: Any) -> None:
    """A small write goes straight to the socket without waiting for writability."""
    a, b = pair
    reactor, t, _ = connect(a)
    t.write(b"hello")
    assert drain(b) == b"hello"
    assert t not in reactor.writers
    assert t.getWriteBufferSize() == 0


def test_big_write_buffers_the_rest_and_flushes_in_order(pair: Any) -> None:
    """What the kernel does not take is buffered, sent on writability, in order."""
    a, b = pair
    reactor, t, _ = connect(a)
    payload = bytes(range(256)) * 40000
    t.write(payload)
    t.writeSequence([b"tail-", b"end"])
    assert t in reactor.writers
    assert t.getWriteBufferSize() > 0
    got = bytearray()
    for _ in range(10000):
        got += drain(b)
        reactor.step()
        if len(got) == len(payload) + 8:
            break
    assert bytes(got) == payload + b"tail-end"
    assert t not in reactor.writers


def test_lose_connection_flushes_then_closes_once(pair: Any) -> None:
    """loseConnection sends what is buffered first; connectionLost gets ConnectionDone once."""
    a, b = pair
    reactor, t, proto = connect(a)
    payload = b"x" * 3_000_000
    t.write(payload)
    t.loseConnection()
    t.loseConnection()
    got = bytearray()
    for _ in range(10000):
        got += drain(b)
        reactor.step()
        if proto.lost:
            break
    got += drain(b)
    assert len(got) == len(payload)
    assert len(proto.lost) == 1
    assert proto.lost[0].check(ConnectionDone)
    reactor.step()
    assert len(proto.lost) == 1


def test_abort_drops_the_buffer(pair: Any) -> None:
    """abortConnection closes without flushing; the reason is ConnectionAborted."""
    a, b = pair
    reactor, t, proto = connect(a)
    t.write(b"y" * 3_000_000)
    t.abortConnection()
    reactor.run(lambda: bool(proto.lost))
    assert proto.lost[0].check(ConnectionAborted)
    assert len(drain(b)) < 3_000_000
    t.write(b"ignored")
    assert len(proto.lost) == 1


def test_peer_eof_flushes_what_was_written_before_closing(pair: Any) -> None:
    """A non-half-closeable protocol loses nothing it wrote when the peer half-closes."""
    a, b = pair
    reactor, t, proto = connect(a)
    payload = b"z" * 3_000_000
    t.write(payload)
    b.shutdown(socket.SHUT_WR)
    got = bytearray()
    for _ in range(10000):
        got += drain(b)
        reactor.step()
        if proto.lost:
            break
    got += drain(b)
    assert bytes(got) == payload
    assert proto.lost[0].check(ConnectionDone)


def test_half_close_both_directions(pair: Any) -> None:
    """readConnectionLost on the peer's EOF; writes still go out; loseWriteConnection ends it."""
    a, b = pair
    reactor, t, proto = connect(a, HalfCloser())
    assert isinstance(proto, HalfCloser)
    b.sendall(b"request")
    b.shutdown(socket.SHUT_WR)
    reactor.run(lambda: proto.readLost == 1)
    assert proto.data == b"request"
    assert proto.lost == []
    t.write(b"answer")
    t.loseWriteConnection()
    reactor.run(lambda: bool(proto.lost))
    assert proto.writeLost == 1
    assert drain(b) == b"answer"
    assert proto.lost[0].check(ConnectionDone)


def test_exception_in_data_received_is_logged_and_loses_the_connection(pair: Any) -> None:
    """A protocol error is logged with its traceback and loses the connection with it."""
    a, b = pair

    class Broken(Recorder):
        def dataReceived(self, data: bytes) -> None:
            raise ZeroDivisionError("boom")

    reactor, _t, proto = connect(a, Broken())
    b.sendall(b"hi")
    reactor.run(lambda: bool(proto.lost))
    assert proto.lost[0].check(ZeroDivisionError)
    failures = flushLoggedErrors(ZeroDivisionError)
    assert len(failures) == 1
    assert "boom" in failures[0].getTraceback()
    assert drain(b) == b""  # closed


def test_keyboard_interrupt_passes_through(pair: Any) -> None:
    """KeyboardInterrupt from dataReceived is not swallowed by the error boundary."""
    a, b = pair

    class Interrupted(Recorder):
        def dataReceived(self, data: bytes) -> None:
            raise KeyboardInterrupt

    reactor, _t, _proto = connect(a, Interrupted())
    b.sendall(b"hi")
    with pytest.raises(KeyboardInterrupt):
        reactor.run(lambda: False, steps=100)


def test_reset_by_peer_is_connection_lost_with_errno(pair: Any) -> None:
    """An OS error while writing ends the connection with ConnectionLost carrying the errno."""
    a, b = pair
    reactor, t, proto = connect(a)
    b.close()
    t.write(b"data")
    reactor.run(lambda: bool(proto.lost))
    reason = proto.lost[0]
    assert reason.check(ConnectionLost) or reason.check(ConnectionDone)
    if reason.check(ConnectionLost):
        assert reason.value.osError is not None


class PushProducer:
    """A streaming producer that writes a chunk each time it is asked to (while unpaused)."""

    def __init__(self, transport: Connection) -> None:
        self.transport = transport
        self.paused = False
        self.pauses = 0
        self.resumes = 0
        self.stopped = False

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def resumeProducing(self) -> None:
        self.paused = False
        self.resumes += 1

    def stopProducing(self) -> None:
        self.stopped = True


def test_streaming_producer_paused_above_high_resumed_below_low(pair: Any) -> None:
    """The buffer stays near the high-water mark: the producer is paused, then resumed."""
    a, b = pair
    reactor, t, _ = connect(a)
    t.setWriteBufferLimits(high=64 * 1024, low=16 * 1024)
    producer = PushProducer(t)
    t.registerProducer(producer, True)
    chunk = b"p" * 8192
    peak = 0
    for _ in range(2000):
        if not producer.paused:
            t.write(chunk)
        peak = max(peak, t.getWriteBufferSize())
        if producer.pauses:
            break
    assert producer.paused
    assert peak <= 64 * 1024 + len(chunk)
    for _ in range(1000):
        drain(b)
        reactor.step()
        if not producer.paused:
            break
    assert producer.resumes == 1
    assert t.getWriteBufferSize() < 16 * 1024


def test_pull_producer_is_asked_for_more_when_the_buffer_empties(pair: Any) -> None:
    """A non-streaming producer gets resumeProducing at registration and after each drain."""
    a, b = pair
    reactor, t, _ = connect(a)

    class Pull:
        count = 0

        def resumeProducing(self) -> None:
            self.count += 1
            if self.count <= 3:
                t.write(b"q" * 500_000)
            else:
                t.unregisterProducer()
                t.loseConnection()

        def stopProducing(self) -> None:
            pass

    pull = Pull()
    t.registerProducer(pull, False)
    got = bytearray()
    for _ in range(10000):
        got += drain(b)
        reactor.step()
        if t.disconnected:
            break
    got += drain(b)
    assert pull.count == 4
    assert len(got) == 1_500_000


def test_write_rejects_text(pair: Any) -> None:
    """write() takes bytes; a str is a TypeError, not silently encoded."""
    a, _b = pair
    _reactor, t, _ = connect(a)
    with pytest.raises(TypeError):
        t.write("text")  # type: ignore[arg-type]


def test_pause_and_resume_producing_stop_and_start_reading(pair: Any) -> None:
    """pauseProducing on the transport stops dataReceived until resumeProducing."""
    a, b = pair
    reactor, t, proto = connect(a)
    t.pauseProducing()
    b.sendall(b"later")
    for _ in range(5):
        reactor.step()
    assert proto.data == b""
    t.resumeProducing()
    reactor.run(lambda: proto.data == b"later")


def test_pull_producer_with_small_writes_keeps_being_asked(pair: Any) -> None:
    """Small writes from a pull producer (which the kernel takes at once) do not stall it."""
    a, b = pair
    reactor, t, _ = connect(a)

    class SmallPull:
        count = 0

        def resumeProducing(self) -> None:
            self.count += 1
            if self.count <= 50:
                t.write(b"%03d" % self.count)
            else:
                t.unregisterProducer()
                t.loseConnection()

        def stopProducing(self) -> None:
            pass

    pull = SmallPull()
    t.registerProducer(pull, False)
    got = bytearray()
    for _ in range(1000):
        got += drain(b)
        reactor.step()
        if t.disconnected:
            break
    got += drain(b)
    assert pull.count == 51
    assert bytes(got) == b"".join(b"%03d" % i for i in range(1, 51))
    # Once unregistered, writes go straight out again.
    assert t._bufferAll is False
