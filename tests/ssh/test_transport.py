"""The SSH transport adapters in memory: services started and fed, TCP_NODELAY, host key
decisions (also deferred), service requests refused, login grace and rekey timers on the
factory's reactor, errors in services, clear disconnects."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from plait.defer import Deferred
from plait.log import formatEvent, globalLogPublisher
from plait.ssh.service import SSHService
from plait.ssh.transport import (
    SSHClientFactory,
    SSHClientTransport,
    SSHServerFactory,
    SSHServerTransport,
)
from plait.testing import Clock, StringTransport, flushLoggedErrors
from plait.testing._iosim import IOPump, connect
from plait.wire.ssh.keys import PrivateKey, PublicKey

HOST_KEY = PrivateKey.generate("ed25519")


class Recorder(SSHService):
    """Records what it sees; the server one echoes messages back as number + 1."""

    def __init__(self, name: bytes = b"ssh-userauth", echo: bool = False) -> None:
        self.name = name
        self.echo = echo
        self.received: list[tuple[int, bytes]] = []
        self.started = self.stopped = 0

    def serviceStarted(self) -> None:
        self.started += 1

    def serviceStopped(self) -> None:
        self.stopped += 1

    def packetReceived(self, messageNum: int, payload: bytes) -> None:
        self.received.append((messageNum, payload))
        if self.echo:
            assert self.transport is not None
            self.transport.sendPacket(messageNum + 1, payload)


@pytest.fixture
def logged() -> Any:
    """Formatted plait.ssh.transport log lines of this test."""
    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.ssh.transport":
            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


def setUp(
    verify: Any = lambda key: True,
    services: dict[bytes, Any] | None = None,
    clientService: Any = None,
    requestService: bool = True,
    **serverOptions: Any,
) -> tuple[SSHClientTransport, SSHServerTransport, IOPump, Clock, dict[str, Recorder]]:
    """A client and server transport connected in memory on one Clock."""
    clock = Clock()
    made: dict[str, Recorder] = {}

    def serverService() -> Recorder:
        made["server"] = Recorder(echo=True)
        return made["server"]

    def defaultClientService() -> Recorder:
        made["client"] = Recorder()
        return made["client"]

    serverFactory = SSHServerFactory(
        [HOST_KEY],
        services if services is not None else {b"ssh-userauth": serverService},
        reactor=clock,
        **serverOptions,
    )
    clientFactory = SSHClientFactory(
        verify, (clientService or defaultClientService) if requestService else None, reactor=clock
    )
    server = serverFactory.buildProtocol(None)  # type: ignore[arg-type]
    client = clientFactory.buildProtocol(None)  # type: ignore[arg-type]
    assert isinstance(server, SSHServerTransport) and isinstance(client, SSHClientTransport)
    pump = connect(server, client, clock=clock)
    return client, server, pump, clock, made


def test_service_started_and_packets_flow(logged: list[str]) -> None:
    """After the kex the client's requested service starts on both sides and talks."""
    client, server, pump, _, made = setUp()
    assert made["client"].started == made["server"].started == 1
    assert client.sessionID == server.sessionID != b""
    assert client.transport.noDelay and server.transport.noDelay  # type: ignore[union-attr]
    client.sendPacket(80, b"hello")
    pump.flush()
    assert made["server"].received == [(80, b"hello")]
    assert made["client"].received == [(81, b"hello")]
    assert any("key exchange complete: kex mlkem768x25519-sha256" in line for line in logged)
    assert any("starting service ssh-userauth" in line for line in logged)


def test_host_key_refused(logged: list[str]) -> None:
    """verifyHostKey False: the client disconnects HOST_KEY_NOT_VERIFIABLE, no service."""
    seen: list[PublicKey] = []
    client, server, pump, _, made = setUp(lambda key: seen.append(key) or False)
    pump.flush()
    assert seen == [HOST_KEY.publicKey()]
    assert "client" not in made and "server" not in made
    assert client.transport.disconnecting and server.transport.disconnecting  # type: ignore
    assert any("peer disconnected: HOST_KEY_NOT_VERIFIABLE" in line for line in logged)


def test_host_key_decided_later() -> None:
    """A Deferred answer holds the exchange until it fires."""
    decision: Deferred[bool] = Deferred()
    client, _server, pump, _, made = setUp(lambda key: decision)
    pump.flush()
    assert not client.machine.secure and "client" not in made
    decision.callback(True)
    pump.flush()
    assert client.machine.secure and made["client"].started == 1


def test_unknown_service_refused(logged: list[str]) -> None:
    """A service the factory does not offer: SERVICE_NOT_AVAILABLE, connection closed."""
    _client, server, pump, _, _made = setUp(clientService=lambda: Recorder(b"ssh-nothing"))
    pump.flush()
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert any("SERVICE_NOT_AVAILABLE" in line and "ssh-nothing" in line for line in logged)


def test_second_service_request_refused() -> None:
    """Only one SERVICE_REQUEST per connection: a client cannot skip userauth later."""
    client, server, pump, _, made = setUp()
    client.requestService(Recorder(b"ssh-userauth"))
    pump.flush()
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert made["server"].stopped == 1


def test_login_grace_time(logged: list[str]) -> None:
    """Without authentication the server disconnects after loginGraceTime."""
    _client, server, pump, clock, _ = setUp(loginGraceTime=30)
    clock.advance(29)
    assert not server.transport.disconnecting  # type: ignore[union-attr]
    clock.advance(2)
    pump.flush()
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert any("login grace time exceeded (30 s)" in line for line in logged)


def test_authentication_stops_grace_timer() -> None:
    """authenticationSucceeded cancels the login timer (and enables delayed compression)."""
    _client, server, _pump, clock, _ = setUp(loginGraceTime=30)
    server.authenticationSucceeded()
    clock.advance(60)
    assert not server.transport.disconnecting  # type: ignore[union-attr]
    assert server.authenticated


def test_rekey_by_time(logged: list[str]) -> None:
    """Every rekeyInterval seconds the keys are re-exchanged; traffic goes on."""
    client, _server, pump, clock, made = setUp(rekeyInterval=100)
    clock.advance(100)
    pump.flush()
    assert sum("rekey complete" in line for line in logged) == 2  # logged by both sides
    client.sendPacket(90, b"after")
    pump.flush()
    assert made["server"].received[-1] == (90, b"after")


def test_message_without_service_is_protocol_error(logged: list[str]) -> None:
    """A service message before any service runs ends the connection."""
    client, server, pump, _, _ = setUp(requestService=False)
    client.sendPacket(94, b"early")
    pump.flush()
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert any("no service running" in line for line in logged)
    assert any("peer disconnected: PROTOCOL_ERROR" in line for line in logged)  # told the client


def test_service_error_disconnects(logged: list[str]) -> None:
    """An exception in a service is logged and ends the connection (BY_APPLICATION)."""
    client, _server, pump, _, made = setUp()

    def broken(messageNum: int, payload: bytes) -> None:
        raise ValueError("boom")

    made["server"].packetReceived = broken  # type: ignore[method-assign]
    client.sendPacket(80, b"x")
    pump.flush()
    assert [f.type for f in flushLoggedErrors(ValueError)] == [ValueError]
    assert any("peer disconnected: BY_APPLICATION (internal error)" in line for line in logged)


def test_lose_connection_stops_service() -> None:
    """loseConnection sends DISCONNECT; both services are stopped when the connection ends."""
    client, server, pump, _, made = setUp()
    client.loseConnection()
    pump.flush()
    assert made["client"].stopped == made["server"].stopped == 1
    assert client.service is None and server.service is None


def test_factory_options() -> None:
    """Algorithm options reach the machine; unknown options and keyless servers are errors."""
    _client, server, _pump, _, _ = setUp(ciphers=["aes256-ctr"], macs=["hmac-sha2-512"])
    assert server.machine.algorithms is not None
    assert server.machine.algorithms.cipherCS == "aes256-ctr"
    assert server.machine.algorithms.macSC == "hmac-sha2-512"
    with pytest.raises(TypeError):
        SSHServerFactory([HOST_KEY], {}, colour="blue")
    with pytest.raises(ValueError):
        SSHServerFactory([], {})
    assert SSHServerFactory({"k": HOST_KEY}, {}).hostKeys == (HOST_KEY,)


class RecordingSocket:
    """Records setsockopt calls (the adapter's quick ACKs)."""

    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, name: int, value: int) -> None:
        self.options.append((level, name, value))


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux only")
def test_small_reads_are_acked_at_once() -> None:
    """Each small read not answered at once (handshake messages) sets TCP_QUICKACK again; a bulk
    read does not."""
    server = SSHServerFactory([HOST_KEY], {}, reactor=Clock()).buildProtocol(None)  # type: ignore[arg-type]
    transport = StringTransport()
    sock = RecordingSocket()
    transport.socket = sock  # type: ignore[attr-defined]
    server.makeConnection(transport)
    quickAck = (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    server.dataReceived(b"SSH-2.0-OpenSSH_9.2\r\n")
    server.dataReceived(b"\0")
    assert sock.options == [quickAck, quickAck]
    server.dataReceived(b"\0" * 65536)
    assert sock.options == [quickAck, quickAck]


def test_packets_sent_outside_dataReceived_are_written_at_once() -> None:
    """Outside dataReceived (a process's output) each packet is written at once, one write a
    packet (batching was measured slower: the join copies everything once more)."""
    _, server, pump, _, made = setUp()
    io: Any = server.transport
    writes: list[bytes] = []
    write = io.write
    io.write = lambda data: (writes.append(data), write(data))
    for n in range(3):
        server.sendPacket(90, b"%d" % n)
    assert len(writes) == 3
    pump.flush()
    assert made["client"].received == [(90, b"%d" % n) for n in range(3)]


def test_batch_writes_its_packets_in_one_write() -> None:
    """Packets sent inside transport.batch() (nested too) reach TCP in one write, at its end."""
    _, server, pump, _, made = setUp()
    io: Any = server.transport
    writes: list[bytes] = []
    write = io.write
    io.write = lambda data: (writes.append(data), write(data))
    with server.batch():
        server.sendPacket(90, b"0")
        with server.batch():
            server.sendPacket(90, b"1")
        server.sendPacket(90, b"2")
        assert writes == []
    assert len(writes) == 1
    server.sendPacket(90, b"3")  # after the block: at once again
    assert len(writes) == 2
    pump.flush()
    assert made["client"].received == [(90, b"%d" % n) for n in range(4)]
