"""What the GUI reactor tests (Gtk, Qt, Tk) share: an echo round trip and loop checks.

Each check takes a reactor that has not run yet, runs it and asserts; the test modules keep
their own skips and fixtures.
"""

from __future__ import annotations

import resource
import threading
import time
from typing import Any

from plait.defer import Deferred
from plait.protocol import ClientFactory, Factory, Protocol


class Echo(Protocol):
    """Writes back what it receives."""

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class _OneShot(Protocol):
    """Sends ``factory.payload``, fires ``factory.done`` with the echo, disconnects."""

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.got = b""
        self.transport.write(self.factory.payload)

    def dataReceived(self, data: bytes) -> None:
        self.got += data
        if len(self.got) >= len(self.factory.payload):
            assert self.transport is not None
            self.transport.loseConnection()
            self.factory.done.callback(self.got)


def echoRoundTrip(reactor: Any, payload: bytes) -> Deferred[bytes]:
    """Listen with ``Echo`` on 127.0.0.1 and connect: fires with ``payload`` echoed back."""
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    client = ClientFactory.forProtocol(_OneShot)
    client.payload = payload  # type: ignore[attr-defined]
    client.done = Deferred()  # type: ignore[attr-defined]
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    done: Deferred[bytes] = client.done  # type: ignore[attr-defined]
    return done


def cpuSeconds() -> float:
    """The CPU time (user + system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def checkEchoThroughRun(reactor: Any) -> None:
    """A 1 MiB TCP echo round trip completes under ``reactor.run()``."""
    payload = bytes(range(256)) * 4096
    d = echoRoundTrip(reactor, payload)
    got: list[bytes] = []
    d.addCallback(got.append).addCallback(lambda _: reactor.stop())
    guard = reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert got == [payload]
    assert guard.active()
    guard.cancel()


def checkCallFromThreadWakesLoop(reactor: Any) -> None:
    """callFromThread from another thread runs on the reactor's loop within milliseconds."""
    seen: list[tuple[int, float]] = []
    sentAt: list[float] = []

    def fromThread() -> None:
        time.sleep(0.2)
        sentAt.append(time.monotonic())
        reactor.callFromThread(lambda: seen.append((threading.get_ident(), time.monotonic())))
        reactor.callFromThread(reactor.stop)

    thread = threading.Thread(target=fromThread)
    reactor.callWhenRunning(thread.start)
    guard = reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    thread.join()
    assert guard.active()
    guard.cancel()
    [(ident, at)] = seen
    assert ident == threading.get_ident()
    assert at - sentAt[0] < 0.1


def checkTimerMovedEarlierRearms(reactor: Any) -> None:
    """A DelayedCall reset to an earlier time fires at the new time, not the old one."""
    fired: list[float] = []
    call = reactor.callLater(30, lambda: fired.append(time.monotonic()))
    reactor.callWhenRunning(call.reset, 0.05)
    reactor.callLater(0.1, lambda: reactor.stop() if fired else None)
    guard = reactor.callLater(5, reactor.stop)
    started = time.monotonic()
    reactor.run(installSignalHandlers=False)
    assert fired and fired[0] - started < 1.0
    assert guard.active()
    guard.cancel()
