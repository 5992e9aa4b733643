"""Errors at the paper's three levels (§4.3), and the user-code error boundary (DESIGN §5)."""

from __future__ import annotations

import errno
import os
import socket
import threading
from typing import Any

import pytest

from plait.defer import Deferred, DeferredList, Failure
from plait.protocol import (
    BadFileError,
    CannotListenError,
    ConnectError,
    ConnectionDone,
    ConnectionRefusedError,
    DNSLookupError,
    IPv4Address,
    TimeoutError,
    UserError,
)
from plait.reactor._resolver import GAIResolver
from plait.testing import flushLoggedErrors

from ._support import Echo, SenderFactory, ServerFactory
from .conftest import UNIX, TransportKind, runUntil


def failureOf(reactor: Any, d: Deferred[Any]) -> Failure:
    """Run until ``d`` fires and return the Failure it must have failed with."""
    box: list[Failure] = []

    def caught(f: Failure) -> None:
        box.append(f)

    d.addErrback(caught)
    result = runUntil(reactor, d)
    assert box, f"expected a failure, got {result!r}"
    return box[0]


def test_refused_connection(reactor: Any, kind: TransportKind) -> None:
    """Connecting where nobody listens: ConnectionRefusedError with osError ECONNREFUSED."""
    port = kind.listen(reactor, ServerFactory())
    port.stopListening()
    if isinstance(kind, UNIX):
        # A socket file with no listener behind it refuses, as a closed TCP port does.
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(port.getHost().name)
        stale.close()
    client = SenderFactory([b"x"], expect=1)
    kind.connect(reactor, port, client)
    reason = failureOf(reactor, client.done)
    assert reason.check(ConnectError)
    assert reason.check(ConnectionRefusedError)
    assert reason.value.osError == errno.ECONNREFUSED


def test_missing_unix_socket_is_bad_file(reactor: Any, unixKind: UNIX) -> None:
    """connectUNIX to a path that does not exist fails with BadFileError (ENOENT)."""
    client = SenderFactory([b"x"], expect=1)
    reactor.connectUNIX(unixKind.path(), client)
    reason = failureOf(reactor, client.done)
    assert reason.check(BadFileError)
    assert reason.value.osError == errno.ENOENT


def test_listen_on_a_port_in_use(reactor: Any) -> None:
    """listenTCP on a bound port raises CannotListenError naming the address and OS error."""
    port = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
    number = port.getHost().port
    with pytest.raises(CannotListenError) as info:
        reactor.listenTCP(number, ServerFactory(), interface="127.0.0.1")
    assert info.value.osError == errno.EADDRINUSE
    assert info.value.port == number
    assert f"127.0.0.1:{number}" in str(info.value)
    port.stopListening()


def test_listen_on_a_live_unix_socket(reactor: Any, unixKind: UNIX) -> None:
    """listenUNIX where another listener is alive raises CannotListenError."""
    path = unixKind.path()
    live = reactor.listenUNIX(path, ServerFactory())
    with pytest.raises(CannotListenError) as info:
        reactor.listenUNIX(path, ServerFactory())
    live.stopListening()
    assert info.value.port == path


def test_connect_timeout(reactor: Any, unixKind: UNIX) -> None:
    """A connect that cannot complete fails with TimeoutError once the timeout expires."""
    path = unixKind.path()
    # A listener that never accepts, its tiny backlog filled: connects cannot complete.
    blocker = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    blocker.bind(path)
    blocker.listen(0)
    fillers = []
    for _ in range(8):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except BlockingIOError:
            s.close()
            break
        fillers.append(s)
    client = SenderFactory([b"x"], expect=1)
    reactor.connectUNIX(path, client, timeout=0.3)
    try:
        reason = failureOf(reactor, client.done)
    finally:
        for s in fillers:
            s.close()
        blocker.close()
    assert reason.check(TimeoutError)
    assert reason.check(UserError)


class StubResolver:
    """An IHostnameResolver that knows no names."""

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0, *a: Any) -> Any:
        receiver.resolutionBegan(self)
        receiver.resolutionComplete()
        return self

    def cancel(self) -> None:
        pass


def test_dns_failure(reactor: Any) -> None:
    """A host name that does not resolve fails with DNSLookupError."""
    reactor.installNameResolver(StubResolver())
    client = SenderFactory([b"x"], expect=1)
    reactor.connectTCP("no-such-host.invalid", 80, client)
    reason = failureOf(reactor, client.done)
    assert reason.check(DNSLookupError)


def test_host_name_is_resolved_off_the_loop_thread(reactor: Any) -> None:
    """connectTCP('localhost') resolves in the thread pool and connects."""
    threads: list[int] = []
    real = socket.getaddrinfo

    def spy(*args: Any, **kw: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args, **kw)

    server = ServerFactory()
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    client = SenderFactory([b"ping"], expect=4)

    class V4Only:
        def resolveHostName(self, receiver: Any, name: str, port: int = 0, *a: Any) -> Any:
            return resolver.resolveHostName(receiver, name, port, [IPv4Address])

    resolver = GAIResolver(reactor, getaddrinfo=spy)
    reactor.installNameResolver(V4Only())
    reactor.connectTCP("localhost", port.getHost().port, client)
    received, _ = runUntil(reactor, client.done)
    assert received == b"ping"
    assert threads and threading.get_ident() not in threads


def test_stop_connecting(reactor: Any) -> None:
    """connector.stopConnecting() before the connect completes fails it with UserError."""
    client = SenderFactory([b"x"], expect=1)
    port = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
    connector = reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    assert connector.state == "connecting"
    connector.stopConnecting()
    reason = failureOf(reactor, client.done)
    assert reason.check(UserError)
    assert connector.state == "disconnected"


class Explosive(Echo):
    """Raises from dataReceived when it sees b'boom'; otherwise echoes."""

    def dataReceived(self, data: bytes) -> None:
        if b"boom" in data:
            raise ZeroDivisionError("user bug")
        super().dataReceived(data)


class ExplodesOnConnect(Echo):
    """Raises from connectionMade for the first connection only."""

    def connectionMade(self) -> None:
        super().connectionMade()
        if len(self.factory.made) == 1:
            raise ValueError("bad connectionMade")


def test_user_exception_loses_only_that_connection(reactor: Any, kind: TransportKind) -> None:
    """An exception in dataReceived is logged and loses that connection; others go on."""
    server = ServerFactory(Explosive)
    port = kind.listen(reactor, server)
    bad = SenderFactory([b"boom"], expect=10)
    good = SenderFactory([b"fine"], expect=4)
    kind.connect(reactor, port, bad)
    kind.connect(reactor, port, good)
    results = runUntil(reactor, DeferredList([bad.done, good.done]))
    (_, (badData, _badReason)), (_, (goodData, goodReason)) = results
    assert badData == b""
    assert goodData == b"fine"
    assert goodReason.check(ConnectionDone)
    lost = [p.lost[0] for p in server.made if p.lost]
    assert any(r.check(ZeroDivisionError) for r in lost)
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_exception_in_connection_made(reactor: Any, kind: TransportKind) -> None:
    """An exception in connectionMade loses that connection only, with that Failure."""
    server = ServerFactory(ExplodesOnConnect)
    port = kind.listen(reactor, server)
    first = SenderFactory([], expect=1)
    kind.connect(reactor, port, first)
    runUntil(reactor, first.done)
    assert server.made[0].lost[0].check(ValueError)
    assert len(flushLoggedErrors(ValueError)) == 1


def test_exception_in_build_protocol(reactor: Any, kind: TransportKind) -> None:
    """buildProtocol raising is logged and closes that connection; the port keeps serving."""
    server = ServerFactory()
    calls: list[int] = []
    original = server.buildProtocol

    def build(addr: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("no protocol for you")
        return original(addr)

    server.buildProtocol = build  # type: ignore[method-assign]
    port = kind.listen(reactor, server)
    first = SenderFactory([b"x"], expect=1)
    second = SenderFactory([b"ok"], expect=2)
    kind.connect(reactor, port, first)

    def thenSecond(_: object) -> Deferred[Any]:
        kind.connect(reactor, port, second)
        return second.done

    # Over TLS the first client never connects (its handshake is cut): either way, go on.
    results = runUntil(reactor, first.done.addBoth(thenSecond))
    assert results[0] == b"ok"
    assert len(flushLoggedErrors(RuntimeError)) == 1


def test_call_from_thread_from_eight_threads(reactor: Any) -> None:
    """callFromThread from 8 threads at once: every call runs, on the loop thread, in order."""
    seen: dict[int, list[int]] = {i: [] for i in range(8)}
    loopThreads: set[int] = set()
    done: Deferred[None] = Deferred()
    total = 8 * 500
    count = [0]

    def record(worker: int, n: int) -> None:
        loopThreads.add(threading.get_ident())
        seen[worker].append(n)
        count[0] += 1
        if count[0] == total:
            done.callback(None)

    def work(worker: int) -> None:
        for n in range(500):
            reactor.callFromThread(record, worker, n)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]

    def start() -> None:
        for t in threads:
            t.start()

    reactor.callWhenRunning(start)
    runUntil(reactor, done)
    for t in threads:
        t.join()
    assert all(seen[i] == list(range(500)) for i in range(8))
    assert loopThreads == {threading.get_ident()}


def test_unix_connects_wait_for_a_full_backlog(reactor: Any, unixKind: UNIX) -> None:
    """More Unix clients than the backlog at once: the extra connects retry, none fails."""
    server = ServerFactory()
    port = reactor.listenUNIX(unixKind.path(), server, backlog=2)
    clients = [SenderFactory([b"n%d" % i], expect=len(b"n%d" % i)) for i in range(60)]
    for f in clients:
        reactor.connectUNIX(port.getHost().name, f, timeout=8)
    results = runUntil(reactor, DeferredList([f.done for f in clients], consumeErrors=True))
    assert [value[0] for ok, value in results if ok] == [b"n%d" % i for i in range(60)]


def test_bind_address(reactor: Any) -> None:
    """connectTCP's bindAddress sets the client's local address."""
    server = ServerFactory()
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    local = socket.socket()
    local.bind(("127.0.0.1", 0))
    wanted = local.getsockname()[1]
    local.close()
    client = SenderFactory([b"bound"], expect=5)
    reactor.connectTCP("127.0.0.1", port.getHost().port, client, bindAddress=("127.0.0.1", wanted))
    received, _ = runUntil(reactor, client.done)
    assert received == b"bound"
    assert server.made[0].peer.port == wanted


def test_listen_on_a_busy_unix_socket_does_not_block(reactor: Any, unixKind: UNIX) -> None:
    """A live listener whose backlog is full is detected as live, without blocking."""
    path = unixKind.path()
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    busy.bind(path)
    busy.listen(0)
    fillers = []
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            fillers.append(s)
            try:
                s.connect(path)
            except BlockingIOError:
                break
        with pytest.raises(CannotListenError):
            reactor.listenUNIX(path, ServerFactory())
    finally:
        for s in fillers:
            s.close()
        busy.close()
    assert os.path.exists(path)


class TwoAddresses:
    """Resolves every name to a closed port first, then to the real one."""

    def __init__(self, closed: int, open: int) -> None:
        self.ports = (closed, open)

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0, *a: Any) -> Any:
        receiver.resolutionBegan(self)
        for port in self.ports:
            receiver.addressResolved(IPv4Address("TCP", "127.0.0.1", port))
        receiver.resolutionComplete()
        return self

    def cancel(self) -> None:
        pass


def test_next_address_is_tried_when_one_refuses(reactor: Any) -> None:
    """A name with several addresses: a refused one is skipped for the next."""
    closed = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
    closedPort = closed.getHost().port
    closed.stopListening()
    port = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
    reactor.installNameResolver(TwoAddresses(closedPort, port.getHost().port))
    client = SenderFactory([b"second"], expect=6)
    reactor.connectTCP("two.example", 1, client)
    received, _ = runUntil(reactor, client.done)
    assert received == b"second"
