"""plait's TCP server and client against a real third-party peer: socat.

- socat pipes a file through plait's echo server and gets it back byte for byte;
- plait's client talks to ``socat TCP-LISTEN:...,fork EXEC:cat`` (an echo socat runs).
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.protocol import ClientFactory, ConnectionDone, ConnectionRefusedError, Factory, Protocol
from plait.reactor import reactorClassNamed, reactorNames

SOCAT = shutil.which("socat")
pytestmark = pytest.mark.skipif(
    SOCAT is None, reason="socat is not installed (apt-get install socat; .ci/run does)"
)

TIMEOUT = 15.0


@pytest.fixture(params=[n for n in ("epoll", "poll", "select") if n in reactorNames()])
def reactor(request: pytest.FixtureRequest) -> Any:
    r = reactorClassNamed(request.param)()
    yield r
    if r._started:
        r.crash()
        r._started = False
    r.close()


def runUntil(reactor: Any, d: Deferred[Any]) -> Any:
    """Run until ``d`` fires (or fail after TIMEOUT seconds)."""
    box: list[Any] = []

    def done(result: object) -> None:
        box.append(result)
        if reactor.running:
            reactor.stop()

    def guard() -> None:
        if reactor.running:
            reactor.stop()

    reactor.callWhenRunning(d.addBoth, done)
    reactor.callLater(TIMEOUT, guard)
    reactor.run(installSignalHandlers=False)
    assert box, f"timed out after {TIMEOUT}s"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


def test_socat_pipes_a_file_through_plait_echo_server(reactor: Any, tmp_path: Path) -> None:
    """socat sends a 2 MiB file to plait's echo server and receives it back identical."""
    data = random.Random(1).randbytes(2 << 20)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
    number = port.getHost().port
    finished: Deferred[subprocess.CompletedProcess[bytes]] = Deferred()

    def runSocat() -> None:
        with open(source, "rb") as stdin:
            result = subprocess.run(
                [str(SOCAT), "-t", "5", "-", f"TCP:127.0.0.1:{number}"],
                stdin=stdin,
                capture_output=True,
                timeout=TIMEOUT,
            )
        reactor.callFromThread(finished.callback, result)

    worker = threading.Thread(target=runSocat)
    reactor.callWhenRunning(worker.start)
    result = runUntil(reactor, finished)
    worker.join()
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) == len(data)
    assert result.stdout == data


class Talker(Protocol):
    """Sends the factory's payload, half-closes, collects the echo until the peer closes."""

    def connectionMade(self) -> None:
        self.received = bytearray()
        t: Any = self.transport
        t.write(self.factory.payload)
        t.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def readConnectionLost(self) -> None:
        assert self.transport is not None
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.factory.done.callback((bytes(self.received), reason))


class RetryingFactory(ClientFactory):
    """Retries refused connects (socat may not be listening yet), for up to ~5 s."""

    protocol = Talker

    def __init__(self, reactor: Any, payload: bytes) -> None:
        self.reactor = reactor
        self.payload = payload
        self.done: Deferred[tuple[bytes, Failure]] = Deferred()
        self.tries = 0

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.tries += 1
        if reason.check(ConnectionRefusedError) and self.tries < 100:
            self.reactor.callLater(0.05, connector.connect)
        else:
            self.done.errback(reason)


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_plait_client_against_socat_echo(reactor: Any) -> None:
    """plait's client sends 1 MiB to socat's EXEC:cat echo and reads it all back."""
    number = freePort()
    peer = subprocess.Popen(
        [str(SOCAT), f"TCP-LISTEN:{number},bind=127.0.0.1,reuseaddr,fork", "EXEC:cat"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        payload = random.Random(2).randbytes(1 << 20)
        factory = RetryingFactory(reactor, payload)
        reactor.connectTCP("127.0.0.1", number, factory)
        received, reason = runUntil(reactor, factory.done)
    finally:
        peer.terminate()
        peer.wait(5)
        assert peer.stderr is not None
        peer.stderr.close()
    assert received == payload
    assert reason.check(ConnectionDone)
