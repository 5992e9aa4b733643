"""Unix datagram sockets on every backend: listen, connect, round trip, errors, cleanup."""

from __future__ import annotations

import os
import stat
import sys
from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.protocol import (
    CannotListenError,
    ConnectedDatagramProtocol,
    DatagramProtocol,
    UNIXAddress,
)

from .conftest import UNIX, runUntil


class Echo(DatagramProtocol):
    """Sends each datagram back to its (bound) sender."""

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        assert self.transport is not None
        self.transport.write(datagram, addr)  # type: ignore[arg-type]


class Client(ConnectedDatagramProtocol):
    """Sends ``greeting`` on start; ``done`` fires with the first datagram back."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.done: Deferred[bytes] = Deferred()
        self.failed: list[Failure] = []
        self.refused = 0

    def startProtocol(self) -> None:
        if self.greeting:
            assert self.transport is not None
            self.transport.write(self.greeting)

    def datagramReceived(self, datagram: bytes) -> None:
        if not self.done.called:
            self.done.callback(datagram)

    def connectionFailed(self, failure: Failure) -> None:
        self.failed.append(failure)

    def connectionRefused(self) -> None:
        self.refused += 1


def test_round_trip(reactor: Any, unixKind: UNIX) -> None:
    """A connected client bound to a path gets its datagram echoed by a listening port."""
    serverPath, clientPath = unixKind.path(), unixKind.path()
    port = reactor.listenUNIXDatagram(serverPath, Echo())
    assert port.getHost() == UNIXAddress(serverPath)
    client = Client(b"over unix")
    cport = reactor.connectUNIXDatagram(serverPath, client, bindAddress=clientPath)
    assert cport.getPeer() == UNIXAddress(serverPath)
    assert runUntil(reactor, client.done) == b"over unix"


def test_sender_address_and_mode(reactor: Any, unixKind: UNIX) -> None:
    """datagramReceived gets the sender's bound path; the socket file gets the given mode."""
    serverPath, senderPath = unixKind.path(), unixKind.path()
    got: Deferred[tuple[bytes, Any]] = Deferred()

    class Recorder(DatagramProtocol):
        def datagramReceived(self, datagram: bytes, addr: Any) -> None:
            got.callback((datagram, addr))

    reactor.listenUNIXDatagram(serverPath, Recorder(), mode=0o600)
    assert stat.S_IMODE(os.stat(serverPath).st_mode) == 0o600
    sender = reactor.listenUNIXDatagram(senderPath, DatagramProtocol())
    sender.write(b"from a path", serverPath)
    assert runUntil(reactor, got) == (b"from a path", senderPath)


def test_connect_failure(reactor: Any, unixKind: UNIX) -> None:
    """Connecting to a path nobody listens on calls connectionFailed with the OS error."""
    client = Client()
    reactor.connectUNIXDatagram(unixKind.path(), client)
    assert len(client.failed) == 1 and client.failed[0].check(OSError)


def test_path_in_use(reactor: Any, unixKind: UNIX) -> None:
    """Listening on a path that exists raises CannotListenError."""
    path = unixKind.path()
    port = reactor.listenUNIXDatagram(path, DatagramProtocol())
    with pytest.raises(CannotListenError):
        reactor.listenUNIXDatagram(path, DatagramProtocol())
    port.stopListening()


def test_stop_listening_removes_file(reactor: Any, unixKind: UNIX) -> None:
    """stopListening closes the socket, removes its file and stops the protocol."""
    path = unixKind.path()
    stopped: list[bool] = []

    class Proto(DatagramProtocol):
        def stopProtocol(self) -> None:
            stopped.append(True)

    port = reactor.listenUNIXDatagram(path, Proto())
    d = port.stopListening()
    assert not os.path.exists(path)
    runUntil(reactor, d)
    assert stopped == [True]


def test_peer_gone_is_refused(reactor: Any, unixKind: UNIX) -> None:
    """Writing on a connected socket whose peer closed calls connectionRefused."""
    path = unixKind.path()
    port = reactor.listenUNIXDatagram(path, DatagramProtocol())
    client = Client()
    cport = reactor.connectUNIXDatagram(path, client)
    port.stopListening()
    cport.write(b"anyone?")
    assert client.refused == 1
    cport.stopListening()


def test_abstract_namespace(reactor: Any) -> None:
    """On Linux a path starting with NUL binds the abstract namespace (no file)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the abstract namespace is Linux-only")
    name = f"\0plait-test-{os.getpid()}-{id(reactor)}"
    port = reactor.listenUNIXDatagram(name, Echo())
    assert port.getHost().name in (name, name.encode())
    client = Client(b"abstract")
    reactor.connectUNIXDatagram(name, client, bindAddress=name + "-client")
    assert runUntil(reactor, client.done) == b"abstract"
