"""SSHConnection and SSHChannel over an in-memory back-to-back pair of services."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.protocol import ConnectionDone, ConnectionLost, Protocol, connectionDone
from plait.ssh.connection import (
    ChannelOpenError,
    RequestFailedError,
    SSHChannel,
    SSHConnection,
    connectProtocolToChannel,
)
from plait.testing import Clock, failureResultOf, successResultOf
from plait.wire.ssh.connection import (
    ChannelData,
    ChannelWindowAdjust,
    OpenFailureReason,
    TCPIPForward,
)
from plait.wire.ssh.types import MSG, DisconnectReason

from .connfakes import FakeSSHTransport, ServicePair


class RecordingChannel(SSHChannel):
    """A channel that records every event."""

    name = b"test"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[Any] = []
        self.received = b""
        self.pending: dict[bytes, Deferred[bool]] = {}

    def channelOpen(self, specificData: bytes) -> None:
        self.events.append(("open", specificData))

    def openFailed(self, reason: Any) -> None:
        self.events.append(("failed", reason))

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def extReceived(self, dataType: int, data: bytes) -> None:
        self.events.append(("ext", dataType, data))

    def eofReceived(self) -> None:
        self.events.append("eof")

    def closeReceived(self) -> None:
        self.events.append("closeReceived")

    def closed(self) -> None:
        self.events.append("closed")

    def request_yes(self, data: bytes) -> bool:
        return True

    def request_no(self, data: bytes) -> bool:
        return False

    def request_later(self, data: bytes) -> Deferred[bool]:
        d: Deferred[bool] = Deferred()
        self.pending[data] = d
        return d


class PlainChannel(SSHChannel):
    """A channel with the default (protocol-forwarding) events."""

    name = b"test"


class Avatar:
    """A server avatar that opens RecordingChannels and answers two global requests."""

    def __init__(self) -> None:
        self.channels: list[Any] = []
        self.plain = False
        self.protocolFactory: Any = None

    def lookupChannel(
        self, channelType: bytes, windowSize: int, maxPacket: int, data: bytes, conn: Any
    ) -> SSHChannel:
        if channelType != b"test":
            raise ChannelOpenError(OpenFailureReason.UNKNOWN_CHANNEL_TYPE, "no")
        factory = PlainChannel if self.plain else RecordingChannel
        channel = factory(localWindow=1000, localMaxPacket=100, data=data)
        if self.protocolFactory is not None:
            connectProtocolToChannel(self.protocolFactory(), channel)
        self.channels.append(channel)
        return channel

    def gotGlobalRequest(self, requestType: bytes, data: bytes, conn: Any) -> Any:
        if requestType == b"echo":
            return data
        return requestType == b"ok"


def makePair(**kwargs: Any) -> tuple[ServicePair, Avatar]:
    avatar = Avatar()
    pair = ServicePair(SSHConnection(**kwargs), SSHConnection(avatar, **kwargs))
    return pair, avatar


def openChannel(pair: ServicePair, avatar: Avatar) -> tuple[RecordingChannel, Any]:
    channel = RecordingChannel(localWindow=1000, localMaxPacket=100)
    assert isinstance(pair.client, SSHConnection)
    pair.client.openChannel(channel, b"extra")
    pair.pump()
    return channel, avatar.channels[-1]


def test_open_and_exchange_data() -> None:
    """A channel opens on both sides and carries data and extended data both ways."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    assert client.events == [("open", b"")]
    assert server.events == [("open", b"")]
    assert server.data == b"extra"
    client.write(b"ping")
    server.write(b"pong")
    server.writeExtended(1, b"err")
    pair.pump()
    assert server.received == b"ping"
    assert client.received == b"pong"
    assert ("ext", 1, b"err") in client.events
    assert pair.client.name == pair.server.name == b"ssh-connection"


def test_open_refused() -> None:
    """An unknown channel type fails with the avatar's reason code."""
    pair, _avatar = makePair()
    channel = RecordingChannel()
    channel.name = b"nope"
    pair.client.openChannel(channel)  # type: ignore[attr-defined]
    pair.pump()
    (what, reason), *_ = channel.events
    assert what == "failed"
    assert reason.value.reasonCode == OpenFailureReason.UNKNOWN_CHANNEL_TYPE
    assert pair.client.channels == {}  # type: ignore[attr-defined]


def test_channel_limit() -> None:
    """Opens past maxChannels are refused with RESOURCE_SHORTAGE, locally and remotely."""
    avatar = Avatar()
    pair = ServicePair(SSHConnection(maxChannels=5), SSHConnection(avatar, maxChannels=2))
    channels = [RecordingChannel() for _ in range(3)]
    for c in channels:
        pair.client.openChannel(c)  # type: ignore[attr-defined]
    pair.pump()
    assert [c.events[0][0] for c in channels] == ["open", "open", "failed"]
    assert channels[2].events[0][1].value.reasonCode == OpenFailureReason.RESOURCE_SHORTAGE
    local = SSHConnection(maxChannels=0)
    FakeSSHTransport(True).setService(local)
    refused = RecordingChannel()
    local.openChannel(refused)
    assert refused.events[0][1].value.reasonCode == OpenFailureReason.RESOURCE_SHORTAGE


def test_channel_requests_reply_in_order() -> None:
    """Replies come in request order even when an earlier handler answers later."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    conn: Any = pair.client
    d1 = conn.sendRequest(client, b"later", b"a", wantReply=True)
    d2 = conn.sendRequest(client, b"yes", b"", wantReply=True)
    d3 = conn.sendRequest(client, b"no", b"", wantReply=True)
    d4 = conn.sendRequest(client, b"unknown-type", b"", wantReply=True)
    assert conn.sendRequest(client, b"yes", b"") is None
    pair.pump()
    assert not d1.called and not d2.called
    server.pending[b"a"].callback(True)
    pair.pump()
    assert successResultOf(d1) == b""
    assert successResultOf(d2) == b""
    failureResultOf(d3, RequestFailedError)
    failureResultOf(d4, RequestFailedError)


def test_global_requests() -> None:
    """Global requests: success with data, plain success, failure; in order."""
    pair, _ = makePair()
    conn: Any = pair.client
    d1 = conn.sendGlobalRequest(b"echo", b"\x00\x00\x00\x05", wantReply=True)
    d2 = conn.sendGlobalRequest(b"ok", wantReply=True)
    d3 = conn.sendGlobalRequest(b"other", wantReply=True)
    pair.pump()
    assert successResultOf(d1) == b"\x00\x00\x00\x05"
    assert successResultOf(d2) == b""
    failureResultOf(d3, RequestFailedError)


def test_client_global_request_handlers() -> None:
    """Without an avatar a global_<name> method answers; unknown requests fail."""

    class Client(SSHConnection):
        def global_hello_at_example_com(self, data: bytes) -> bool:
            return data == b"hi"

    pair = ServicePair(Client(), SSHConnection(Avatar()))
    server: Any = pair.server
    d1 = server.sendGlobalRequest(b"hello@example.com", b"hi", wantReply=True)
    d2 = server.sendGlobalRequest(b"keepalive@openssh.com", wantReply=True)
    pair.pump()
    assert successResultOf(d1) == b""
    failureResultOf(d2, RequestFailedError)


def test_window_buffers_and_max_packet_chunks() -> None:
    """Writes beyond the peer's window wait; packets never exceed the peer's max packet."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    payload = bytes(range(256)) * 20  # 5120 bytes, server window 1000, max packet 100
    client.write(payload)
    sent = [p for t, p in pair.clientTransport.packets if t == MSG.CHANNEL_DATA]
    assert sum(len(ChannelData.fromPayload(p).data) for p in sent) == 1000
    assert all(len(ChannelData.fromPayload(p).data) <= 100 for p in sent)
    assert client.bufferSize == 4120
    pair.pump()
    assert server.received == payload
    assert client.bufferSize == 0


class Producer:
    """A push producer that records pause/resume."""

    def __init__(self) -> None:
        self.states: list[str] = []

    def pauseProducing(self) -> None:
        self.states.append("pause")

    def resumeProducing(self) -> None:
        self.states.append("resume")

    def stopProducing(self) -> None:
        self.states.append("stop")


def test_producer_paused_while_window_full() -> None:
    """A registered producer is paused when the window fills and resumed when it opens."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    producer = Producer()
    client.registerProducer(producer, True)
    client.write(b"x" * 1500)
    assert producer.states == ["pause"]
    pair.pump()
    assert producer.states == ["pause", "resume"]
    assert len(server.received) == 1500


def test_paused_channel_grants_no_window() -> None:
    """A channel paused as a producer stops sending WINDOW_ADJUST until resumed."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    server.pauseProducing()
    client.write(b"y" * 3000)
    pair.pump()
    assert len(server.received) == 1000
    assert client.bufferSize == 2000
    server.resumeProducing()
    pair.pump()
    assert len(server.received) == 3000


def test_connection_pause_pauses_channel_producers() -> None:
    """When the TCP transport below pauses the connection, channel producers pause too."""

    class TCP:
        producer: Any = None

        def registerProducer(self, producer: Any, streaming: bool) -> None:
            self.producer = producer

        def unregisterProducer(self) -> None:
            self.producer = None

    avatar = Avatar()
    client = SSHConnection()
    pair = ServicePair.__new__(ServicePair)
    pair.clock = Clock()
    pair.clientTransport = FakeSSHTransport(True, pair.clock)
    pair.serverTransport = FakeSSHTransport(False, pair.clock)
    pair.client, pair.server = client, SSHConnection(avatar)
    tcp = TCP()
    pair.clientTransport.transport = tcp
    pair.serverTransport.setService(pair.server)
    pair.clientTransport.setService(client)
    assert tcp.producer is client
    channel, _ = openChannel(pair, avatar)
    producer = Producer()
    channel.registerProducer(producer, True)
    client.pauseProducing()
    client.resumeProducing()
    assert producer.states == ["pause", "resume"]
    pair.clientTransport.loseConnection()
    assert tcp.producer is None


def test_connection_pauses_are_counted_per_reason() -> None:
    """Paused for TCP and a key exchange, the channels resume only when both have resumed."""
    pair, avatar = makePair()
    channel, _ = openChannel(pair, avatar)
    producer = Producer()
    channel.registerProducer(producer, True)
    conn: Any = pair.client
    conn.pauseFor("kex")
    conn.pauseProducing()  # the TCP buffer fills meanwhile
    conn.resumeProducing()  # and drains while the exchange still runs
    assert producer.states == ["pause"] and conn.paused
    conn.resumeFor("kex")
    assert producer.states == ["pause", "resume"] and not conn.paused
    conn.pauseProducing()
    conn.pauseFor("kex")
    conn.resumeFor("kex")
    conn.resumeFor("kex")  # resuming a reason twice is once
    assert producer.states == ["pause", "resume", "pause"] and conn.paused
    conn.resumeProducing()
    assert producer.states == ["pause", "resume", "pause", "resume"]


def test_data_past_window_is_protocol_error() -> None:
    """A peer sending more than the window (or than max packet) is disconnected."""
    pair, avatar = makePair()
    _client, server = openChannel(pair, avatar)
    assert server.id is not None
    conn: Any = pair.server
    conn.packetReceived(MSG.CHANNEL_DATA, ChannelData(server.id, b"z" * 101).toPayload())
    assert pair.serverTransport.disconnected is not None
    assert pair.serverTransport.disconnected[0] == DisconnectReason.PROTOCOL_ERROR
    assert server.events[-1] == "closed"

    pair, avatar = makePair()
    _client, server = openChannel(pair, avatar)
    conn = pair.server
    server.pauseProducing()  # no window granted back: the peer has exactly 1000 bytes
    for _ in range(10):
        conn.packetReceived(MSG.CHANNEL_DATA, ChannelData(server.id, b"z" * 100).toPayload())
    assert pair.serverTransport.disconnected is None
    conn.packetReceived(MSG.CHANNEL_DATA, ChannelData(server.id, b"z").toPayload())
    assert pair.serverTransport.disconnected is not None


def test_window_adjust_overflow_is_protocol_error() -> None:
    """A WINDOW_ADJUST taking our send window past 2**32-1 disconnects."""
    pair, avatar = makePair()
    client, _server = openChannel(pair, avatar)
    conn: Any = pair.client
    conn.packetReceived(
        MSG.CHANNEL_WINDOW_ADJUST, ChannelWindowAdjust(client.id, 2**32 - 1000).toPayload()
    )
    assert pair.clientTransport.disconnected is not None
    assert pair.clientTransport.disconnected[0] == DisconnectReason.PROTOCOL_ERROR


def test_unknown_channel_and_bad_message() -> None:
    """Messages for a channel that does not exist, or malformed ones, disconnect."""
    pair, _ = makePair()
    conn: Any = pair.server
    conn.packetReceived(MSG.CHANNEL_EOF, b"\x00\x00\x00\x09")
    assert pair.serverTransport.disconnected is not None
    pair, _ = makePair()
    pair.server.packetReceived(MSG.CHANNEL_OPEN, b"\x00\x00")
    assert pair.serverTransport.disconnected is not None
    pair, _ = makePair()
    pair.server.packetReceived(85, b"")
    assert pair.serverTransport.disconnected is None
    assert pair.serverTransport.unimplemented == 1


def test_unexpected_reply_is_protocol_error() -> None:
    """A REQUEST_SUCCESS nobody asked for disconnects."""
    pair, _ = makePair()
    pair.client.packetReceived(MSG.REQUEST_SUCCESS, b"")
    assert pair.clientTransport.disconnected is not None


def test_close_from_either_side_calls_closed_once() -> None:
    """CLOSE is answered with CLOSE; closed() runs once on each side and ids are freed."""
    for closer in ("client", "server"):
        pair, avatar = makePair()
        client, server = openChannel(pair, avatar)
        (client if closer == "client" else server).loseConnection()
        pair.pump()
        assert client.events.count("closed") == 1
        assert server.events.count("closed") == 1
        other = server if closer == "client" else client
        assert "closeReceived" in other.events
        assert pair.client.channels == {} and pair.server.channels == {}  # type: ignore[attr-defined]
        client.loseConnection()
        pair.pump()
        assert client.events.count("closed") == 1


def test_close_waits_for_buffered_data_and_eof_order() -> None:
    """loseConnection sends queued data, then EOF (if asked), then CLOSE."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    client.write(b"q" * 2500)
    client.sendEOF()
    client.loseConnection()
    client.write(b"dropped")
    pair.pump()
    assert server.received == b"q" * 2500
    assert server.events.index("eof") < server.events.index("closeReceived")
    assert server.events[-1] == "closed"


def test_connection_end_closes_channels_and_fails_requests() -> None:
    """serviceStopped: open channels get closed(), pending opens and requests fail."""
    pair, avatar = makePair()
    client, _server = openChannel(pair, avatar)
    conn: Any = pair.client
    d = conn.sendRequest(client, b"yes", b"", wantReply=True)
    g = conn.sendGlobalRequest(b"ok", wantReply=True)
    pending = RecordingChannel()
    conn.openChannel(pending)
    pair.clientTransport.loseConnection()
    assert client.events[-1] == "closed"
    assert pending.events[0][0] == "failed"
    failureResultOf(d, ConnectionLost)
    failureResultOf(g, ConnectionLost)


def test_channel_closed_while_request_pending() -> None:
    """A channel request still unanswered when the channel closes fails."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    d = pair.client.sendRequest(client, b"later", b"k", wantReply=True)  # type: ignore[attr-defined]
    pair.pump()
    server.loseConnection()
    pair.pump()
    failureResultOf(d, RequestFailedError)
    server.pending[b"k"].callback(True)
    pair.pump()
    assert pair.serverTransport.disconnected is None


def test_keepalive_answered_and_unanswered() -> None:
    """Keepalives every N seconds; M unanswered in a row disconnect, answers reset the count."""
    clock = Clock()
    pair = ServicePair(
        SSHConnection(), SSHConnection(Avatar(), keepaliveInterval=10, keepaliveCountMax=2), clock
    )
    for _ in range(5):
        clock.advance(10)
        pair.pump()
    assert pair.serverTransport.disconnected is None
    server: Any = pair.server
    assert server.keepalivesOutstanding == 0
    pair.clientTransport.lost = True  # the client stops answering
    for _ in range(3):
        clock.advance(10)
        pair.pump()
    assert pair.serverTransport.disconnected == (
        DisconnectReason.BY_APPLICATION,
        "keepalive timeout",
    )
    assert clock.getDelayedCalls() == []


class EchoProtocol(Protocol):
    """Echoes and records the connection's end."""

    def __init__(self) -> None:
        self.lost: list[Failure] = []
        self.readLost = 0

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data.upper())

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost.append(reason)


def test_protocol_over_channel() -> None:
    """A plait Protocol runs over a channel; its loseConnection is EOF then CLOSE."""
    pair, avatar = makePair()
    avatar.plain = True
    client, server = openChannel(pair, avatar)
    proto = EchoProtocol()
    transport = connectProtocolToChannel(proto, server)
    assert transport is not None and proto.transport is transport
    client.write(b"hello")
    pair.pump()
    assert client.received == b"HELLO"
    assert transport.getPeer().port == 40000
    transport.loseConnection()
    pair.pump()
    assert "eof" in client.events and client.events[-1] == "closed"
    assert len(proto.lost) == 1 and proto.lost[0].check(ConnectionDone)


def test_protocol_attached_before_open() -> None:
    """A protocol attached to an unopened channel connects on open and sees data."""
    pair, avatar = makePair()

    class Test(SSHChannel):
        name = b"test"

    channel = Test()
    proto = EchoProtocol()
    assert connectProtocolToChannel(proto, channel) is None
    pair.client.openChannel(channel)  # type: ignore[attr-defined]
    pair.pump()
    assert proto.transport is not None
    server = avatar.channels[-1]
    server.write(b"abc")
    pair.pump()
    assert server.received == b"ABC"
    server.sendEOF()
    pair.pump()  # no readConnectionLost: the channel closes
    assert server.events[-1] == "closed"
    assert len(proto.lost) == 1


@pytest.mark.parametrize("bad", ["text", 5])
def test_write_refuses_non_bytes(bad: Any) -> None:
    """Writing anything but bytes raises TypeError."""
    with pytest.raises(TypeError):
        SSHChannel().write(bad)


def test_tls_over_channel(tmp_path: Any) -> None:
    """TLS (plait.tls.TLSProtocol) runs over a channel like over any transport."""
    import ssl

    from plait.tls import TLSProtocol

    from ..tls.certs import CA

    ca = CA()
    leaf = ca.issue("localhost")
    cert, key = leaf.write(tmp_path, "server")
    serverContext = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serverContext.load_cert_chain(cert, key)
    clientContext = ssl.create_default_context(cadata=ca.certPEM.decode())

    class Client(Protocol):
        received = b""

        def connectionMade(self) -> None:
            assert self.transport is not None
            self.transport.write(b"secret")

        def dataReceived(self, data: bytes) -> None:
            self.received += data

    pair, avatar = makePair()
    avatar.plain = True
    avatar.protocolFactory = lambda: TLSProtocol(None, EchoProtocol(), serverContext, False)
    clientChannel = PlainChannel()
    client = Client()
    tls = TLSProtocol(None, client, clientContext, True, "localhost")
    connectProtocolToChannel(tls, clientChannel)
    pair.client.openChannel(clientChannel)  # type: ignore[attr-defined]
    pair.pump()
    sent = [p for _, p in pair.clientTransport.sent]
    assert client.received == b"SECRET"
    # TLS records, not the plaintext, crossed the channel.
    assert sent and not any(b"secret" in p for p in sent)


def _fuzzMessages() -> Any:
    from hypothesis import strategies as st

    from plait.wire.ssh.connection import (
        ChannelClose,
        ChannelEOF,
        ChannelExtendedData,
        ChannelOpen,
        ChannelRequest,
        ChannelSuccess,
        DirectTCPIP,
        ExecRequest,
        GlobalRequest,
        PtyRequest,
        WindowChange,
    )

    ids = st.integers(0, 3)
    data = st.one_of(
        st.binary(max_size=40),
        st.just(PtyRequest(b"xterm", 80, 24).toData()),
        st.just(WindowChange(100, 40).toData()),
        st.just(ExecRequest(b"x").toData()),
        st.just(TCPIPForward("127.0.0.1", 0).toData()),
        st.just(DirectTCPIP("127.0.0.1", 1, "a", 2).toData()),
    )
    kinds = st.sampled_from([b"session", b"direct-tcpip", b"x11", b"test"])
    requests = st.sampled_from(
        [b"pty-req", b"shell", b"exec", b"env", b"window-change", b"signal", b"subsystem", b"x"]
    )
    message = st.one_of(
        st.builds(ChannelOpen, kinds, ids, st.integers(0, 2**32 - 1), st.integers(1, 2**15), data),
        st.builds(ChannelData, ids, st.binary(max_size=300)),
        st.builds(ChannelExtendedData, ids, st.integers(0, 3), st.binary(max_size=50)),
        st.builds(ChannelWindowAdjust, ids, st.integers(0, 2**32 - 1)),
        st.builds(ChannelEOF, ids),
        st.builds(ChannelClose, ids),
        st.builds(ChannelRequest, ids, requests, st.booleans(), data),
        st.builds(ChannelSuccess, ids),
        st.builds(
            GlobalRequest,
            st.sampled_from([b"tcpip-forward", b"cancel-tcpip-forward", b"keepalive@openssh.com"]),
            st.booleans(),
            data,
        ),
    )
    raw = st.tuples(st.integers(80, 100), st.binary(max_size=30))
    return st.lists(
        st.one_of(message.map(lambda m: (m.messageType, m.toPayload())), raw), max_size=25
    )


def test_peer_messages_never_escape() -> None:
    """Any sequence of connection messages (valid, out of order or garbage) from the peer is
    handled or ends in a clean DISCONNECT; nothing raises and no error is logged."""
    from hypothesis import HealthCheck, given, settings

    from plait.ssh.session import ConchUser
    from plait.testing import MemoryReactorClock

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_fuzzMessages())
    def run(messages: list[tuple[int, bytes]]) -> None:
        avatar = ConchUser("fuzz", shellProtocolFactory=lambda a: EchoProtocol())
        conn = SSHConnection(avatar, maxChannels=3)
        transport = FakeSSHTransport(False, MemoryReactorClock())
        transport.setService(conn)
        for messageType, payload in messages:
            if transport.disconnected is not None:
                break
            conn.packetReceived(messageType, payload)
        transport.loseConnection()
        assert conn.channels == {}

    run()


def test_bulk_flush_is_not_batched() -> None:
    """A channel flush of many packets does not hold the transport's writes back (joining
    them was measured slower): each packet goes to the transport as it is made."""
    pair, avatar = makePair()
    client, _ = openChannel(pair, avatar)
    transport: Any = pair.clientTransport
    flushes: list[int] = []
    transport._delivering = False
    transport._flush = lambda: flushes.append(len(transport.packets))
    before = len(transport.packets)
    client.write(b"b" * 1000)  # ten 100-byte packets
    assert len(transport.packets) == before + 10
    assert flushes == []
    assert transport._delivering is False


def test_channel_data_sent_as_parts_without_copy() -> None:
    """A transport with sendPacketParts gets CHANNEL_DATA as a header and a view of the data."""
    pair, avatar = makePair()
    client, server = openChannel(pair, avatar)
    parts: list[tuple[int, bytes, Any]] = []

    def sendPacketParts(messageType: int, header: bytes, data: Any) -> None:
        parts.append((messageType, header, data))
        pair.clientTransport.sendPacket(messageType, header + bytes(data))

    pair.clientTransport.sendPacketParts = sendPacketParts  # type: ignore[attr-defined]
    client.write(b"a" * 150 + b"b" * 100)  # the server's max packet is 100
    pair.pump()
    assert server.received == b"a" * 150 + b"b" * 100
    assert [(m, h, bytes(d)) for m, h, d in parts] == [
        (MSG.CHANNEL_DATA, struct.pack(">II", client.remoteId, 100), b"a" * 100),
        (MSG.CHANNEL_DATA, struct.pack(">II", client.remoteId, 100), b"a" * 50 + b"b" * 50),
        (MSG.CHANNEL_DATA, struct.pack(">II", client.remoteId, 50), b"b" * 50),
    ]
    assert all(isinstance(d, memoryview) for _m, _h, d in parts)  # not copied on the way
