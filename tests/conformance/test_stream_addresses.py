"""Addresses, IPv6 and dual-stack, Unix socket files, the abstract namespace, adoption."""

from __future__ import annotations

import os
import socket
import stat
import sys
from typing import Any

import pytest

from plait.defer import Deferred, DeferredList
from plait.protocol import BadFileError, CannotListenError, IPv4Address, IPv6Address, UNIXAddress

from ._support import Echo, SenderFactory, ServerFactory
from .conftest import UNIX, TransportKind, ipv6Available, runUntil

needsIPv6 = pytest.mark.skipif(not ipv6Available(), reason="IPv6 (::1) is not available")


def test_host_and_peer(reactor: Any, kind: TransportKind) -> None:
    """getHost/getPeer on both ends mirror each other; the connector knows its destination."""
    server = ServerFactory()
    port = kind.listen(reactor, server)
    client = SenderFactory([b"abc"], expect=3)
    connector = kind.connect(reactor, port, client)
    seen: dict[str, Any] = {}
    original = client.buildProtocol

    def build(addr: Any) -> Any:
        seen["clientBuiltFor"] = addr
        return original(addr)

    client.buildProtocol = build  # type: ignore[method-assign]
    runUntil(reactor, client.done)
    srv, cli = server.made[0], client.instance
    assert srv.host == port.getHost()
    assert cli.peer == port.getHost()
    if isinstance(kind, UNIX):
        assert isinstance(srv.host, UNIXAddress)
        assert connector.getDestination() == UNIXAddress(port.getHost().name)
    else:
        assert srv.peer == cli.host
        assert connector.getDestination().port == port.getHost().port
        expected = IPv6Address if kind.family == socket.AF_INET6 else IPv4Address
        assert isinstance(srv.peer, expected)
    assert seen["clientBuiltFor"] == port.getHost()


@needsIPv6
def test_dual_stack_listener_accepts_both(reactor: Any) -> None:
    """A listener on '::' accepts IPv4 and IPv6 clients; an IPv4 peer is an IPv4Address."""
    server = ServerFactory()
    port = reactor.listenTCP(0, server, interface="::")
    number = port.getHost().port
    assert isinstance(port.getHost(), IPv6Address)
    v4 = SenderFactory([b"four"], expect=4)
    v6 = SenderFactory([b"six"], expect=3)
    reactor.connectTCP("127.0.0.1", number, v4)
    reactor.connectTCP("::1", number, v6)
    results = runUntil(reactor, DeferredList([v4.done, v6.done]))
    assert [r[1][0] for r in results] == [b"four", b"six"]
    peers = {type(p.peer): p.peer for p in server.made}
    assert peers[IPv4Address] == IPv4Address("TCP", "127.0.0.1", peers[IPv4Address].port)
    assert peers[IPv6Address].host == "::1"


class OptionsProbe(Echo):
    """Records the TCP options before and after switching them on."""

    def connectionMade(self) -> None:
        super().connectionMade()
        t: Any = self.transport
        self.states = [t.getTcpNoDelay(), t.getTcpKeepAlive()]
        t.setTcpNoDelay(True)
        t.setTcpKeepAlive(True)
        self.states += [t.getTcpNoDelay(), t.getTcpKeepAlive()]


def test_tcp_options(reactor: Any) -> None:
    """TCP_NODELAY and SO_KEEPALIVE are off by default and can be switched on."""
    server = ServerFactory(OptionsProbe)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    client = SenderFactory([b"x"], expect=1)
    reactor.connectTCP("127.0.0.1", port.getHost().port, client)
    runUntil(reactor, client.done)
    assert server.made[0].states == [False, False, True, True]


def test_stale_unix_socket_is_replaced(reactor: Any, unixKind: UNIX) -> None:
    """A socket file nobody listens on is removed and listened on; the mode is applied."""
    path = unixKind.path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    assert os.path.exists(path)
    server = ServerFactory()
    port = reactor.listenUNIX(path, server, mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    client = SenderFactory([b"fresh"], expect=5)
    reactor.connectUNIX(path, client)
    received, _ = runUntil(reactor, client.done)
    assert received == b"fresh"
    assert not os.path.exists(path)  # the port removed its file when the reactor stopped
    assert port.getHost() == UNIXAddress(path)


def test_regular_file_is_not_replaced(reactor: Any, unixKind: UNIX) -> None:
    """listenUNIX never deletes a file that is not a socket."""
    path = unixKind.path()
    with open(path, "w") as f:
        f.write("precious")
    with pytest.raises(CannotListenError):
        reactor.listenUNIX(path, ServerFactory())
    with open(path) as f:
        assert f.read() == "precious"


def test_pid_lock(reactor: Any, unixKind: UNIX) -> None:
    """wantPID writes our pid to the lock file; checkPID connects only while it is held."""
    path = unixKind.path()
    port = reactor.listenUNIX(path, ServerFactory(), wantPID=1)
    with open(path + ".lock") as f:
        assert int(f.read()) == os.getpid()
    good = SenderFactory([b"pid"], expect=3)
    reactor.connectUNIX(path, good, checkPID=1)
    received, _ = runUntil(reactor, good.done)
    assert received == b"pid"
    assert not port.connected
    assert not os.path.exists(path + ".lock")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract namespace is Linux")
def test_abstract_namespace(reactor: Any) -> None:
    """An address starting with NUL lives in the abstract namespace: no file is made."""
    address = f"\0plait-test-{os.getpid()}-{id(reactor)}"
    server = ServerFactory()
    port = reactor.listenUNIX(address, server)
    client = SenderFactory([b"abstract"], expect=8)
    reactor.connectUNIX(address, client)
    received, _ = runUntil(reactor, client.done)
    assert received == b"abstract"
    assert port.getHost() == UNIXAddress(address)


def test_adopt_stream_port(reactor: Any, kind: TransportKind) -> None:
    """adoptStreamPort serves a listening socket made elsewhere; the caller's fd stays open."""
    if getattr(kind, "tls", False):
        pytest.skip("adoptStreamPort serves plain TCP; TLS over it is listenSSL's job")
    if isinstance(kind, UNIX):
        mine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mine.bind(kind.path())
    else:
        mine = socket.socket(kind.family, socket.SOCK_STREAM)
        mine.bind(("::1" if kind.family == socket.AF_INET6 else "127.0.0.1", 0))
    mine.listen(16)
    try:
        server = ServerFactory()
        port = reactor.adoptStreamPort(mine.fileno(), kind.family, server)
        assert port.getHost() is not None
        client = SenderFactory([b"adopted"], expect=7)
        kind.connect(reactor, port, client)
        received, _ = runUntil(reactor, client.done)
        assert received == b"adopted"
        assert mine.fileno() >= 0
        os.fstat(mine.fileno())  # still ours, still open
    finally:
        mine.close()


def test_adopt_stream_connection(reactor: Any) -> None:
    """adoptStreamConnection runs a protocol over a connected socket made elsewhere."""
    ours, theirs = socket.socketpair()
    try:
        server = ServerFactory()
        reactor.adoptStreamConnection(ours.fileno(), socket.AF_UNIX, server)
        ours.close()  # the reactor has its own duplicate
        theirs.sendall(b"over a pair")
        theirs.shutdown(socket.SHUT_WR)
        got = bytearray()
        done: Deferred[None] = Deferred()

        def poll() -> None:
            theirs.setblocking(False)
            try:
                chunk = theirs.recv(100)
            except BlockingIOError:
                reactor.callLater(0.005, poll)
                return
            got.extend(chunk)
            if chunk:
                reactor.callLater(0, poll)
            else:
                done.callback(None)

        reactor.callWhenRunning(poll)
        runUntil(reactor, done)
        assert bytes(got) == b"over a pair"
        assert isinstance(server.made[0].transport.getPeer(), UNIXAddress)
    finally:
        theirs.close()


def test_pid_lock_of_a_dead_process_is_taken_over(reactor: Any, unixKind: UNIX) -> None:
    """A lock file naming a process that is gone is replaced; a live one refuses."""
    import subprocess

    path = unixKind.path()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with open(path + ".lock", "w") as f:
        f.write(str(gone.pid))
    port = reactor.listenUNIX(path, ServerFactory(), wantPID=1)
    with open(path + ".lock") as f:
        assert int(f.read()) == os.getpid()
    other = unixKind.path()
    with open(other + ".lock", "w") as f:
        f.write(str(os.getpid()))  # held by a live process (us)
    with pytest.raises(CannotListenError):
        reactor.listenUNIX(other, ServerFactory(), wantPID=1)
    assert not os.path.exists(other)
    port.stopListening()
    assert not os.path.exists(path + ".lock")


def test_check_pid_without_a_lock_fails(reactor: Any, unixKind: UNIX) -> None:
    """connectUNIX(checkPID=1) to a listener without a pid lock fails with BadFileError."""
    path = unixKind.path()
    reactor.listenUNIX(path, ServerFactory())
    client = SenderFactory([b"x"], expect=1)
    reactor.connectUNIX(path, client, checkPID=1)
    failures: list[Any] = []
    client.done.addErrback(failures.append)
    runUntil(reactor, client.done)
    assert failures[0].check(BadFileError)
