"""UDP port logic on a scripted socket and a recording reactor (no real sockets or time)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import pytest

from plait.protocol import DatagramProtocol, MessageLengthError
from plait.reactor._udp import Port
from plait.testing import flushLoggedErrors


class ScriptedSocket:
    """Stands in for a bound datagram socket: ``recvfrom`` and ``send*`` follow a script."""

    def __init__(self) -> None:
        self.incoming: list[tuple[bytes, tuple[str, int]] | OSError] = []
        self.sendErrors: list[OSError] = []
        self.sent: list[tuple[bytes, tuple[str, int] | None]] = []
        self.recvCalls = 0
        self.closed = False
        self.connectedTo: tuple[str, int] | None = None

    def fileno(self) -> int:
        return -1 if self.closed else 7

    def setblocking(self, flag: bool) -> None:
        assert flag is False

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", 4321)

    def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int]]:
        self.recvCalls += 1
        if not self.incoming:
            raise BlockingIOError(errno.EAGAIN, "would block")
        item = self.incoming.pop(0)
        if isinstance(item, OSError):
            raise item
        return item[0][:size], item[1]

    def _send(self, data: bytes, addr: tuple[str, int] | None) -> int:
        if self.sendErrors:
            raise self.sendErrors.pop(0)
        self.sent.append((data, addr))
        return len(data)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        return self._send(data, addr)

    def send(self, data: bytes) -> int:
        return self._send(data, None)

    def connect(self, addr: tuple[str, int]) -> None:
        self.connectedTo = addr

    def close(self) -> None:
        self.closed = True


class RecordingReactor:
    """Records reader registrations and delayed calls."""

    def __init__(self) -> None:
        self.readers: list[Any] = []
        self.later: list[tuple[float, Callable[..., object], tuple[Any, ...]]] = []

    def addReader(self, reader: Any) -> None:
        self.readers.append(reader)

    def removeReader(self, reader: Any) -> None:
        self.readers.remove(reader)

    def callLater(self, delay: float, f: Callable[..., object], *args: Any) -> None:
        self.later.append((delay, f, args))

    def runLater(self) -> None:
        calls, self.later = self.later, []
        for _, f, args in calls:
            f(*args)


class Recorder(DatagramProtocol):
    """Keeps what arrives and counts refusals."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, tuple[str, int]]] = []
        self.refused = 0
        self.stopped = 0

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        self.received.append((datagram, addr))

    def connectionRefused(self) -> None:
        self.refused += 1

    def stopProtocol(self) -> None:
        self.stopped += 1


def makePort(
    maxPacketSize: int = 8192, proto: Recorder | None = None
) -> tuple[Port, ScriptedSocket, Recorder, RecordingReactor]:
    """A started port on a scripted socket."""
    reactor = RecordingReactor()
    proto = proto if proto is not None else Recorder()
    port = Port(4321, proto, "127.0.0.1", maxPacketSize, reactor)
    sock = ScriptedSocket()
    port._adopt(sock)  # type: ignore[arg-type]
    return port, sock, proto, reactor


def test_started_port_reads_and_is_the_transport() -> None:
    """Starting registers the port as a reader and makes it the protocol's transport."""
    port, _, proto, reactor = makePort()
    assert reactor.readers == [port]
    assert proto.transport is port


def test_one_read_event_is_bounded() -> None:
    """One doRead delivers at most maxReads datagrams; the rest wait for the next event."""
    port, sock, proto, _ = makePort()
    sock.incoming = [(b"%d" % i, ("10.0.0.1", 5)) for i in range(port.maxReads + 10)]
    port.doRead()
    assert len(proto.received) == port.maxReads
    port.doRead()
    assert len(proto.received) == port.maxReads + 10


def test_read_stops_when_socket_would_block() -> None:
    """doRead stops at the first EAGAIN (no busy loop)."""
    port, sock, proto, _ = makePort()
    sock.incoming = [(b"a", ("10.0.0.1", 5))]
    port.doRead()
    assert proto.received == [(b"a", ("10.0.0.1", 5))]
    assert sock.recvCalls == 2


def test_packets_truncated_to_max_packet_size() -> None:
    """recvfrom is asked for maxPacketSize bytes."""
    port, sock, proto, _ = makePort(maxPacketSize=3)
    sock.incoming = [(b"abcdef", ("10.0.0.1", 5))]
    port.doRead()
    assert proto.received == [(b"abc", ("10.0.0.1", 5))]


def test_ipv6_address_is_host_port_pair() -> None:
    """A 4-tuple IPv6 source address reaches the protocol as (host, port)."""
    port, sock, proto, _ = makePort()
    sock.incoming = [(b"v6", ("::1", 5, 0, 0))]  # type: ignore[list-item]
    port.doRead()
    assert proto.received == [(b"v6", ("::1", 5))]


def test_recv_refused_on_connected_port_calls_connection_refused() -> None:
    """ECONNREFUSED from recvfrom on a connected port calls connectionRefused; reading goes on."""
    port, sock, proto, _ = makePort()
    port.connect("127.0.0.1", 9)
    sock.incoming = [OSError(errno.ECONNREFUSED, "refused"), (b"after", ("127.0.0.1", 9))]
    port.doRead()
    assert proto.refused == 1
    assert proto.received == [(b"after", ("127.0.0.1", 9))]


def test_recv_refused_on_unconnected_port_is_ignored() -> None:
    """On an unconnected port a queued ICMP error is skipped silently."""
    port, sock, proto, _ = makePort()
    sock.incoming = [OSError(errno.ECONNREFUSED, "refused"), (b"x", ("10.0.0.1", 5))]
    port.doRead()
    assert proto.refused == 0 and len(proto.received) == 1


def test_unexpected_recv_error_is_logged_and_read_round_ends() -> None:
    """Another recvfrom error is logged; the port stays registered."""
    port, sock, _, reactor = makePort()
    sock.incoming = [OSError(errno.EBADF, "bad fd")]
    port.doRead()
    assert len(flushLoggedErrors(OSError)) == 1
    assert reactor.readers == [port]


@pytest.mark.parametrize("code", [errno.EAGAIN, errno.ENOBUFS])
def test_send_would_block_drops_the_datagram(code: int) -> None:
    """EAGAIN/ENOBUFS on send drop the datagram silently (UDP semantics)."""
    port, sock, _, _ = makePort()
    sock.sendErrors = [OSError(code, "full")]
    port.write(b"lost", ("10.0.0.1", 5))
    port.write(b"kept", ("10.0.0.1", 5))
    assert sock.sent == [(b"kept", ("10.0.0.1", 5))]


def test_send_interrupted_is_retried() -> None:
    """EINTR on send retries the same datagram."""
    port, sock, _, _ = makePort()
    sock.sendErrors = [InterruptedError(errno.EINTR, "interrupted")]
    port.write(b"again", ("10.0.0.1", 5))
    assert sock.sent == [(b"again", ("10.0.0.1", 5))]


def test_send_too_long_raises_message_length_error() -> None:
    """EMSGSIZE raises MessageLengthError."""
    port, sock, _, _ = makePort()
    sock.sendErrors = [OSError(errno.EMSGSIZE, "too long")]
    with pytest.raises(MessageLengthError):
        port.write(b"big", ("10.0.0.1", 5))


def test_send_refused_on_connected_port() -> None:
    """ECONNREFUSED from send on a connected port calls connectionRefused instead of raising."""
    port, sock, proto, _ = makePort()
    port.connect("10.0.0.1", 5)
    sock.sendErrors = [OSError(errno.ECONNREFUSED, "refused")]
    port.write(b"x")
    assert proto.refused == 1


def test_other_send_errors_raise() -> None:
    """An unexpected send error propagates to the caller."""
    port, sock, _, _ = makePort()
    sock.sendErrors = [OSError(errno.EACCES, "no")]
    with pytest.raises(OSError) as info:
        port.write(b"x", ("10.0.0.1", 5))
    assert info.value.errno == errno.EACCES


def test_connect_twice_fails() -> None:
    """A port connects once."""
    port, sock, _, _ = makePort()
    port.connect("10.0.0.1", 5)
    assert sock.connectedTo == ("10.0.0.1", 5)
    with pytest.raises(RuntimeError):
        port.connect("10.0.0.2", 5)


def test_stop_listening_inside_datagram_received_ends_the_round() -> None:
    """A protocol that stops the port while reading gets no more datagrams."""

    class Stopper(Recorder):
        def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
            super().datagramReceived(datagram, addr)
            assert self.transport is not None
            self.transport.stopListening()

    port, sock, proto, reactor = makePort(proto=Stopper())
    sock.incoming = [(b"1", ("10.0.0.1", 5)), (b"2", ("10.0.0.1", 5))]
    port.doRead()
    assert [d for d, _ in proto.received] == [b"1"]
    assert sock.closed and reactor.readers == []
    assert proto.stopped == 0  # stopProtocol comes on the next reactor iteration
    reactor.runLater()
    assert port.disconnected and proto.stopped == 1


def test_stop_listening_twice_shares_the_outcome() -> None:
    """Two stopListening calls both fire when the port has stopped; stopProtocol runs once."""
    port, _, proto, reactor = makePort()
    d1, d2 = port.stopListening(), port.stopListening()
    assert not d1.called and not d2.called
    reactor.runLater()
    assert d1.called and d2.called and proto.stopped == 1
