"""Protocols and factories the conformance tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plait.defer import Deferred, Failure
from plait.protocol import ClientFactory, Factory, Protocol


class Echo(Protocol):
    """Writes back what it receives; records how it ended."""

    def connectionMade(self) -> None:
        self.lost: list[Failure] = []
        assert self.transport is not None
        self.host, self.peer = self.transport.getHost(), self.transport.getPeer()
        registry = getattr(self.factory, "made", None)
        if registry is not None:
            registry.append(self)

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.append(reason)
        d = getattr(self.factory, "onLost", None)
        if d is not None and not d.called:
            d.callback(self)


class HalfCloseableEcho(Echo):
    """Echoes, and on the peer's EOF writes ``"<n bytes>"`` and closes."""

    received = 0

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)

    def readConnectionLost(self) -> None:
        assert self.transport is not None
        self.transport.write(b"got %d" % self.received)
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass


class ServerFactory(Factory):
    """A factory recording its protocols; ``onLost`` fires with the first one's reason."""

    def __init__(self, protocol: Any = Echo) -> None:
        self.protocol = protocol
        self.made: list[Any] = []
        self.onLost: Deferred[Any] = Deferred()


class Sender(Protocol):
    """Writes the factory's chunks, collects ``expect`` bytes back, then loses the connection."""

    def connectionMade(self) -> None:
        self.received = bytearray()
        self.lost: list[Failure] = []
        factory = self.factory
        factory.instance = self
        assert self.transport is not None
        self.host, self.peer = self.transport.getHost(), self.transport.getPeer()
        for chunk in factory.chunks:
            self.transport.write(chunk)
        if factory.halfClose:
            self.transport.loseWriteConnection()
        if factory.expect == 0 and not factory.halfClose:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= self.factory.expect and not self.factory.halfClose:
            assert self.transport is not None
            self.transport.loseConnection()

    def readConnectionLost(self) -> None:
        # Half-closeable so that it can half-close itself; the peer's EOF ends it.
        assert self.transport is not None
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.append(reason)
        if not self.factory.done.called:
            self.factory.done.callback((bytes(self.received), reason))


class SenderFactory(ClientFactory):
    """Client factory: ``done`` fires with (received, reason) or fails with the connect error."""

    protocol = Sender

    def __init__(self, chunks: list[bytes], expect: int, halfClose: bool = False) -> None:
        self.chunks = chunks
        self.expect = expect
        self.halfClose = halfClose
        self.done: Deferred[tuple[bytes, Failure]] = Deferred()
        self.failedReason: Failure | None = None

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.failedReason = reason
        if not self.done.called:
            self.done.errback(reason)


def chunked(data: bytes, rng: Any, maxChunk: int) -> list[bytes]:
    """``data`` cut into random pieces of 1..maxChunk bytes."""
    out = []
    i = 0
    while i < len(data):
        n = rng.randint(1, maxChunk)
        out.append(data[i : i + n])
        i += n
    return out


def childPids() -> set[int]:
    """This process's children, live or not yet reaped (Linux ``/proc``).

    Tests compare it before and after: other tests' long-lived helpers (Xvfb, servers) are
    children too, so "no child at all" would depend on test order.
    """
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids
