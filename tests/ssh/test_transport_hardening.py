"""The SSH transport adapters against hostile or odd peers: answers after the peer's DISCONNECT,
timers without a factory reactor, escaped log lines, unauthenticated connection limits, stalled
rekeys."""

from __future__ import annotations

from typing import Any

import pytest

from plait.log import formatEvent, globalLogPublisher
from plait.ssh.transport import SSHServerFactory, SSHServerTransport
from plait.testing import Clock, StringTransport
from plait.wire.ssh.transport import SSHTransportConnection
from plait.wire.ssh.types import DisconnectReason

from .test_transport import HOST_KEY, Recorder, setUp


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


def test_answer_after_disconnect_in_same_read_is_dropped(logged: list[str]) -> None:
    """Data and a DISCONNECT in one read: the service's answer to the data is dropped, no error."""
    client, server, pump, _, made = setUp()
    client.machine.sendMessage(80, b"ping")
    client.machine.sendDisconnect(DisconnectReason.BY_APPLICATION, "bye")
    server.dataReceived(client.machine.dataToSend())  # the echo service answers: must not raise
    assert made["server"].received == [(80, b"ping")]
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert any("message 81 dropped" in line for line in logged)
    server.sendIgnore(b"late")  # later sends are dropped too
    server.sendUnimplemented()
    pump.flush()


def test_grace_timer_uses_the_connections_reactor(logged: list[str]) -> None:
    """A factory built without reactor= times logins out on the transport's own reactor."""
    clock = Clock()
    factory = SSHServerFactory([HOST_KEY], {}, loginGraceTime=10)
    server = factory.buildProtocol(None)  # type: ignore[arg-type]
    transport = StringTransport()
    transport.reactor = clock  # type: ignore[attr-defined]  # as plait's TCP transports have
    server.makeConnection(transport)
    assert server.reactor is clock
    clock.advance(11)
    assert transport.disconnecting
    assert any("login grace time exceeded (10 s)" in line for line in logged)


def test_no_reactor_anywhere_means_no_timers() -> None:
    """Neither the factory nor the transport has a reactor: no timers, no error."""
    server = SSHServerFactory([HOST_KEY], {}).buildProtocol(None)  # type: ignore[arg-type]
    transport = StringTransport()
    server.makeConnection(transport)
    assert server.reactor is None and not transport.disconnecting


def test_peer_text_is_escaped_in_log_lines(logged: list[str]) -> None:
    """The peer's version, DEBUG and DISCONNECT texts reach the log with control characters
    escaped, so an unauthenticated peer cannot forge log lines."""
    server = SSHServerFactory([HOST_KEY], {}).buildProtocol(None)  # type: ignore[arg-type]
    server.makeConnection(StringTransport())
    client = SSHTransportConnection("client")
    client.dataToSend()
    server.dataReceived(b"SSH-2.0-evil\x1b[2J\r\n")
    client.receiveData(b"SSH-2.0-x\r\n")
    client.sendDisconnect(DisconnectReason.BY_APPLICATION, "bye\r\nfake: line\\")
    server.dataReceived(client.dataToSend())
    text = "\n".join(logged)
    assert "\x1b" not in text and "\r" not in text
    assert "SSH-2.0-evil\\x1b[2J" in text
    assert "peer disconnected: BY_APPLICATION (bye\\r\\nfake: line\\\\)" in text
    assert not any(line.startswith("fake") for line in text.split("\n"))
    client2, _server, pump, _, _ = setUp()
    client2.machine.sendDebug("x\nfake: root logged in")
    client2.sendIgnore()  # flushes
    pump.flush()
    assert any(line.endswith("peer debug: x\\nfake: root logged in") for line in logged)


def test_userauth_uses_the_shared_helper() -> None:
    """One escaping helper serves the transport and userauth (not copies)."""
    from plait.ssh import _logtext, _transport, _userauth

    assert _userauth._shown is _logtext.shown and _transport.shown is _logtext.shown
    assert _logtext.shown(b"a\nb\\") == "a\\nb\\\\" and _logtext.shown("ok") == "ok"


def startConnection(factory: SSHServerFactory) -> tuple[SSHServerTransport, StringTransport]:
    """One server transport made on a StringTransport."""
    server = factory.buildProtocol(None)  # type: ignore[arg-type]
    assert isinstance(server, SSHServerTransport)
    transport = StringTransport()
    server.makeConnection(transport)
    return server, transport


def test_max_startups_hard_cap(logged: list[str]) -> None:
    """Past the cap a connection is refused at once; ending or authenticating one frees a slot."""
    factory = SSHServerFactory([HOST_KEY], {}, maxStartups=2)
    first, firstIO = startConnection(factory)
    second, _ = startConnection(factory)
    third, thirdIO = startConnection(factory)
    assert factory.startups == 2
    assert thirdIO.value() == b"Exceeded MaxStartups\r\n" and thirdIO.disconnecting
    assert not firstIO.disconnecting and firstIO.value().startswith(b"SSH-2.0-")
    assert any("refused: 2 unauthenticated connections (maxStartups)" in x for x in logged)
    third.connectionLost()
    assert factory.startups == 2  # a refused connection was never counted
    first.connectionLost()
    assert factory.startups == 1
    _, fourthIO = startConnection(factory)
    assert not fourthIO.disconnecting and factory.startups == 2
    second.authenticationSucceeded()
    second.authenticationSucceeded()  # counted off once only
    assert factory.startups == 1
    second.connectionLost()
    assert factory.startups == 1


def test_max_startups_random_early_drop() -> None:
    """start:rate:full: from start, refused with probability rate %, rising to 100 % at full."""
    factory = SSHServerFactory([HOST_KEY], {}, maxStartups=(2, 50, 4))
    draws = iter([0.49, 0.5, 0.74, 0.75, 0.99])
    factory.startupRandom = lambda: next(draws)  # type: ignore[method-assign]
    startConnection(factory)
    startConnection(factory)  # below start: no draw
    assert startConnection(factory)[1].disconnecting  # 2 of 2..4: 50 %, drew 0.49
    assert not startConnection(factory)[1].disconnecting  # drew 0.5
    assert startConnection(factory)[1].disconnecting  # 3: 75 %, drew 0.74
    assert not startConnection(factory)[1].disconnecting  # drew 0.75
    assert factory.startups == 4
    assert startConnection(factory)[1].disconnecting  # full: no draw
    assert next(draws) == 0.99


def test_max_startups_options() -> None:
    """OpenSSH's 10:30:100 by default; None is unlimited; nonsense is refused."""
    assert SSHServerFactory([HOST_KEY], {}).maxStartups == (10, 30, 100)
    unlimited = SSHServerFactory([HOST_KEY], {}, maxStartups=None)
    for _ in range(150):
        assert not startConnection(unlimited)[1].disconnecting
    with pytest.raises(ValueError):
        SSHServerFactory([HOST_KEY], {}, maxStartups=(10, 130, 100))
    with pytest.raises(ValueError):
        SSHServerFactory([HOST_KEY], {}, maxStartups=(20, 30, 10))


class ProducerRecorder(Recorder):
    """A service that is also a push producer (as ssh-connection is), recording pauses."""

    def __init__(self) -> None:
        super().__init__(echo=True)
        self.calls: list[str] = []
        self.paused = False

    def pauseProducing(self) -> None:
        self.calls.append("pause")
        self.paused = True

    def resumeProducing(self) -> None:
        self.calls.append("resume")
        self.paused = False


def producerSetUp(**options: Any) -> tuple[Any, SSHServerTransport, Any, Clock, ProducerRecorder]:
    """setUp with a producing server service."""
    made: list[ProducerRecorder] = []

    def build() -> ProducerRecorder:
        made.append(ProducerRecorder())
        return made[-1]

    client, server, pump, clock, _ = setUp(services={b"ssh-userauth": build}, **options)
    return client, server, pump, clock, made[0]


def test_rekey_pauses_the_service_until_it_completes(logged: list[str]) -> None:
    """A re-exchange (ours or the peer's) pauses a producing service; KexComplete resumes it."""
    client, server, pump, _, service = producerSetUp()
    assert service.calls == []  # not for the first exchange
    server.requestRekey()
    assert service.calls == ["pause"]
    pump.flush()
    assert service.calls == ["pause", "resume"] and not service.paused
    client.requestRekey()  # the peer's
    pump.flush()
    assert service.calls == ["pause", "resume"] * 2
    assert sum("rekey complete" in line for line in logged) == 4
    client.sendPacket(90, b"after")
    pump.flush()
    assert service.received[-1] == (90, b"after")


def test_rekey_the_peer_never_completes_times_out(logged: list[str]) -> None:
    """kexTimeout seconds after our KEXINIT with no answer, the connection ends."""
    _client, server, _pump, clock, service = producerSetUp(kexTimeout=30)
    server.requestRekey()
    clock.advance(29)
    assert not server.transport.disconnecting  # type: ignore[union-attr]
    clock.advance(2)
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert any("KEY_EXCHANGE_FAILED (key re-exchange not completed in 30 s)" in x for x in logged)
    assert service.calls == ["pause"]  # never resumed into a closed connection


def test_completed_rekey_cancels_its_timeout() -> None:
    """A re-exchange that completes leaves no timeout behind."""
    _client, server, pump, clock, _ = producerSetUp(kexTimeout=30)
    server.requestRekey()
    pump.flush()
    clock.advance(100)
    assert not server.transport.disconnecting  # type: ignore[union-attr]


def test_held_bytes_are_capped(logged: list[str]) -> None:
    """Service messages held past maxHeldBytes while the peer ignores our KEXINIT disconnect."""
    _client, server, _pump, _, _service = producerSetUp(maxHeldBytes=1000)
    server.requestRekey()
    server.sendPacket(94, b"x" * 600)
    assert server.machine.heldBytes == 600
    assert not server.transport.disconnecting  # type: ignore[union-attr]
    server.sendPacket(94, b"x" * 600)
    assert server.transport.disconnecting  # type: ignore[union-attr]
    assert server.machine.heldBytes == 0
    assert any("not completed: over 1000 bytes held" in line for line in logged)
    server.sendPacket(94, b"more")  # dropped, no error


class ReasonRecorder(ProducerRecorder):
    """A producing service that is paused per reason (as ssh-connection is)."""

    def pauseFor(self, reason: str) -> None:
        self.calls.append("pause " + reason)

    def resumeFor(self, reason: str) -> None:
        self.calls.append("resume " + reason)


def test_rekey_pauses_for_kex_even_when_tcp_paused_it() -> None:
    """A service paused per reason is paused for "kex" (even if TCP paused it) and resumed."""
    made: list[ReasonRecorder] = []

    def build() -> ReasonRecorder:
        made.append(ReasonRecorder())
        return made[-1]

    _, server, pump, _, _ = setUp(services={b"ssh-userauth": build})
    service = made[0]
    service.paused = True  # the TCP connection paused it
    server.requestRekey()
    assert service.calls == ["pause kex"]
    pump.flush()
    assert service.calls == ["pause kex", "resume kex"]
