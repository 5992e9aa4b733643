"""The SOCKS server on in-memory transports: grants, refusals, auth, timeouts, relaying."""

from __future__ import annotations

from typing import Any

import pytest

from plait.defer import Deferred, Failure, succeed
from plait.log import globalLogPublisher
from plait.protocol import ConnectionRefusedError, IPv4Address, Protocol
from plait.protocols.socks import SOCKSFactory, parseUsers
from plait.testing import IOPump, MemoryReactorClock, connect

SOCKS4 = b"\x04\x01\x00\x50\x7f\x00\x00\x01alice\x00"
SOCKS4A = b"\x04\x01\x00\x50\x00\x00\x00\x01\x00target.test\x00"
NOAUTH = b"\x05\x01\x00"
REQ5 = b"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"
REQ5_NAME = b"\x05\x01\x00\x03\x0btarget.test\x00\x50"


class Recorder(Protocol):
    """Keeps what it receives and whether it was disconnected."""

    def __init__(self) -> None:
        self.received = b""
        self.lost = False

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = True


class Echo(Recorder):
    """Echoes everything back."""

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        assert self.transport is not None
        self.transport.write(data)


class Reactor(MemoryReactorClock):
    """A memory reactor that resolves target.test to 127.0.0.1 and far.test to 10.9.9.9."""

    def resolve(self, name: str, timeout: Any = (1, 3, 11, 45)) -> Deferred[str]:
        """Resolve the two test names; anything else fails."""
        table = {"target.test": "127.0.0.1", "far.test": "10.9.9.9"}
        if name in table:
            return succeed(table[name])
        return super().resolve(name, timeout)


def start(
    allow: tuple[str, ...] = ("127.0.0.0/8",), users: dict[bytes, bytes] | None = None
) -> tuple[Reactor, Recorder, IOPump]:
    """A SOCKS server connected in memory to a recording client."""
    reactor = Reactor()
    factory = SOCKSFactory(reactor, allow, users, handshakeTimeout=5)
    server = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 4000))
    client = Recorder()
    pump = connect(server, client, clock=None)
    return reactor, client, pump


def send(client: Recorder, pump: IOPump, data: bytes) -> None:
    """Write from the client and deliver."""
    assert client.transport is not None
    client.transport.write(data)
    pump.flush()


def finishConnect(reactor: Reactor) -> tuple[Echo, IOPump]:
    """Complete the outbound connection the server asked for, to an echo server."""
    host, port, factory, _, _ = reactor.tcpClients[-1]
    outbound = factory.buildProtocol(IPv4Address("TCP", host, port))
    target = Echo()
    return target, connect(target, outbound)


@pytest.fixture
def logged() -> Any:
    """Collect log events during the test."""
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def texts(events: list[dict[str, Any]]) -> str:
    """All SOCKS log lines joined."""
    from plait.log import formatEvent

    return "\n".join(
        formatEvent(e) for e in events if e.get("log_namespace") == "plait.protocols.socks"
    )


def test_socks4_connect_and_relay() -> None:
    """SOCKS4 CONNECT to an allowed address is granted and relayed both ways."""
    reactor, client, pump = start()
    send(client, pump, SOCKS4 + b"early")
    assert reactor.tcpClients[-1][:2] == ("127.0.0.1", 80)
    target, pump2 = finishConnect(reactor)
    pump.flush()
    pump2.flush()
    assert client.received[:2] == b"\x00\x5a"
    assert target.received == b"early"
    send(client, pump, b"hello")
    pump2.flush()
    pump.flush()
    assert client.received[8:] == b"earlyhello"


def test_socks4a_resolves_then_checks() -> None:
    """A SOCKS4a name is resolved through the reactor and the address is checked."""
    reactor, client, pump = start()
    send(client, pump, SOCKS4A)
    assert reactor.tcpClients[-1][:2] == ("127.0.0.1", 80)


def test_socks4a_name_outside_allow(logged: list[dict[str, Any]]) -> None:
    """A name resolving outside every --allow rule is refused (91) and logged."""
    reactor, client, pump = start()
    send(client, pump, b"\x04\x01\x00\x50\x00\x00\x00\x01\x00far.test\x00")
    assert reactor.tcpClients == []
    assert client.received[:2] == b"\x00\x5b"
    assert client.lost
    assert "10.9.9.9" in texts(logged)


def test_no_allow_refuses_everything(logged: list[dict[str, Any]]) -> None:
    """With no --allow rule every request is refused with a clear log line."""
    reactor, client, pump = start(allow=())
    send(client, pump, NOAUTH)
    send(client, pump, REQ5)
    assert client.received == b"\x05\x00" + b"\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00"
    assert reactor.tcpClients == []
    assert "not admitted by any --allow rule" in texts(logged)


def test_socks5_connect_name() -> None:
    """SOCKS5 CONNECT by name is granted with the bound address and relays."""
    reactor, client, pump = start()
    send(client, pump, NOAUTH + REQ5_NAME)
    _target, pump2 = finishConnect(reactor)
    pump.flush()
    assert client.received[:4] == b"\x05\x00\x05\x00"
    send(client, pump, b"ping")
    pump2.flush()
    pump.flush()
    assert client.received.endswith(b"ping")


def test_socks5_unresolvable() -> None:
    """A name that does not resolve is answered with host unreachable (4)."""
    _reactor, client, pump = start()
    send(client, pump, NOAUTH + b"\x05\x01\x00\x03\x07nowhere\x00\x50")
    assert client.received == b"\x05\x00\x05\x04\x00\x01" + b"\x00" * 6


def test_socks5_connect_failure() -> None:
    """A refused outbound connection is answered with reply 5 and the client is closed."""
    reactor, client, pump = start()
    send(client, pump, NOAUTH + REQ5)
    _, _, factory, _, _ = reactor.tcpClients[-1]
    connector = reactor.connectors[-1]
    factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))
    pump.flush()
    assert client.received[2:4] == b"\x05\x05"
    assert client.lost


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (b"\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", 7),  # BIND
        (b"\x05\x03\x00\x01\x7f\x00\x00\x01\x00\x50", 7),  # UDP ASSOCIATE
        (b"\x05\x01\x00\x09\x00", 8),  # unknown address type
    ],
)
def test_socks5_unsupported(request_: bytes, code: int) -> None:
    """BIND, UDP ASSOCIATE and unknown address types get their reply codes."""
    _reactor, client, pump = start()
    send(client, pump, NOAUTH + request_)
    assert client.received[2:4] == bytes([5, code])
    assert client.lost


def test_socks4_bind_refused() -> None:
    """SOCKS4 BIND is rejected with 91."""
    _reactor, client, pump = start()
    send(client, pump, b"\x04\x02" + SOCKS4[2:])
    assert client.received[:2] == b"\x00\x5b"


USERS = {b"alice": b"secret"}


def test_auth_required_and_accepted() -> None:
    """With users, SOCKS5 must use username/password; right credentials go on."""
    reactor, client, pump = start(users=USERS)
    send(client, pump, b"\x05\x02\x00\x02")
    assert client.received == b"\x05\x02"
    send(client, pump, b"\x01\x05alice\x06secret" + REQ5)
    assert client.received == b"\x05\x02\x01\x00"
    assert reactor.tcpClients[-1][:2] == ("127.0.0.1", 80)


@pytest.mark.parametrize("creds", [b"\x01\x05alice\x05wrong", b"\x01\x03bob\x06secret"])
def test_auth_rejected(creds: bytes) -> None:
    """A wrong password or unknown user gets status 1 and the connection closes."""
    reactor, client, pump = start(users=USERS)
    send(client, pump, b"\x05\x01\x02" + creds)
    assert client.received == b"\x05\x02\x01\x01"
    assert client.lost
    assert reactor.tcpClients == []


def test_auth_method_not_offered() -> None:
    """A client offering only 'no auth' to a server with users gets 0xFF."""
    _reactor, client, pump = start(users=USERS)
    send(client, pump, NOAUTH)
    assert client.received == b"\x05\xff"
    assert client.lost


def test_socks4_refused_when_users_set() -> None:
    """SOCKS4 cannot authenticate, so it is refused when users are configured."""
    _reactor, client, pump = start(users=USERS)
    send(client, pump, SOCKS4)
    assert client.received[:2] == b"\x00\x5b"


def test_handshake_timeout() -> None:
    """A client that never finishes the handshake is dropped after the timeout."""
    reactor, client, pump = start()
    send(client, pump, b"\x05")
    reactor.advance(4.9)
    pump.flush()
    assert not client.lost
    reactor.advance(0.2)
    pump.flush()
    assert client.lost


def test_timeout_cancelled_once_relaying() -> None:
    """The handshake timer stops once the relay starts."""
    reactor, client, pump = start()
    send(client, pump, NOAUTH + REQ5)
    finishConnect(reactor)
    pump.flush()
    reactor.advance(60)
    pump.flush()
    assert not client.lost


def test_malformed_closes(logged: list[dict[str, Any]]) -> None:
    """Garbage is logged as a protocol error and the connection closed."""
    _reactor, client, pump = start()
    send(client, pump, b"GET / HTTP/1.0\r\n")
    assert client.lost
    assert "protocol error" in texts(logged)


def test_relay_close_propagates() -> None:
    """Losing the target connection loses the client connection."""
    reactor, client, pump = start()
    send(client, pump, NOAUTH + REQ5)
    target, pump2 = finishConnect(reactor)
    pump.flush()
    assert target.transport is not None
    target.transport.loseConnection()
    pump2.flush()
    pump.flush()
    assert client.lost


def test_parse_users() -> None:
    """Users files are user:password lines with comments; bad lines raise ValueError."""
    assert parseUsers("# c\nalice:se:cret\n\nbob:\n") == {b"alice": b"se:cret", b"bob": b""}
    with pytest.raises(ValueError):
        parseUsers("nocolon\n")


def test_client_leaving_cancels_connect() -> None:
    """A client that leaves while its destination is connecting cancels that attempt."""
    reactor, client, pump = start()
    send(client, pump, NOAUTH + REQ5)
    connector = reactor.connectors[-1]
    assert client.transport is not None
    client.transport.loseConnection()
    pump.flush()
    assert connector.stoppedConnecting


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_handshake_in_small_chunks(chunk: int) -> None:
    """The whole SOCKS5 handshake with auth works when the client's bytes arrive in pieces."""
    reactor, client, pump = start(users=USERS)
    stream = b"\x05\x01\x02" + b"\x01\x05alice\x06secret" + REQ5_NAME
    for i in range(0, len(stream), chunk):
        send(client, pump, stream[i : i + chunk])
    assert client.received == b"\x05\x02\x01\x00"
    assert reactor.tcpClients[-1][:2] == ("127.0.0.1", 80)
