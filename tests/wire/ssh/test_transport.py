"""The sans-IO SSH transport: version exchange, handshake in every chunking, every algorithm
pair between a client and a server machine, strict kex (Terrapin), ext-info, services,
disconnects, rekeying, delayed compression, malformed input."""

from __future__ import annotations

import itertools
import random
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.wire import LocalProtocolError
from plait.wire.ssh._cipher import CIPHERS, MACS
from plait.wire.ssh._kex import KEX_METHODS
from plait.wire.ssh.keys import PrivateKey
from plait.wire.ssh.transport import (
    DEFAULT_HOST_KEY_ALGORITHMS,
    Disconnected,
    ExtInfoReceived,
    HostKeyReceived,
    KexComplete,
    PacketReceived,
    ServiceAccepted,
    ServiceRequested,
    SSHTransportConnection,
    UnimplementedReceived,
    VersionReceived,
)
from plait.wire.ssh.types import MSG, DisconnectReason, SSHDisconnectError, SSHWriter

ED25519 = PrivateKey.generate("ed25519")


@pytest.fixture(scope="module")
def allHostKeys() -> list[PrivateKey]:
    """One key of each type."""
    return [
        ED25519,
        PrivateKey.generate("ecdsa", 256),
        PrivateKey.generate("ecdsa", 384),
        PrivateKey.generate("ecdsa", 521),
        PrivateKey.generate("rsa", 2048),
    ]


def _rng(seed: int) -> Any:
    r = random.Random(seed)
    return lambda n: r.randbytes(n)


def pair(
    client: dict[str, Any] | None = None, server: dict[str, Any] | None = None
) -> tuple[SSHTransportConnection, SSHTransportConnection]:
    """A client and a server machine (deterministic randomness)."""
    c = SSHTransportConnection("client", randomBytes=_rng(1), **(client or {}))
    options = {"randomBytes": _rng(2), **(server or {})}
    hostKeys = options.pop("hostKeys", [ED25519])
    s = SSHTransportConnection("server", hostKeys, **options)
    return c, s


def events(machine: SSHTransportConnection) -> list[Any]:
    """Drain the machine's events."""
    out = []
    while (e := machine.nextEvent()) is not None:
        out.append(e)
    return out


def pump(
    c: SSHTransportConnection, s: SSHTransportConnection, acceptKeys: bool = True
) -> tuple[list[Any], list[Any]]:
    """Exchange bytes until both are quiet; (client events, server events)."""
    ce: list[Any] = []
    se: list[Any] = []
    for _ in range(100):
        a, b = c.dataToSend(), s.dataToSend()
        if not a and not b:
            break
        if a:
            s.receiveData(a)
        if b:
            c.receiveData(b)
        new = events(c)
        ce += new
        se += events(s)
        if acceptKeys and any(isinstance(e, HostKeyReceived) for e in new):
            c.acceptHostKey()
    return ce, se


def handshake(**kwargs: Any) -> tuple[SSHTransportConnection, SSHTransportConnection]:
    """A pair after the first key exchange."""
    c, s = pair(**kwargs)
    ce, se = pump(c, s)
    assert c.secure and s.secure, (ce, se)
    return c, s


def packet(payload: bytes) -> bytes:
    """An unencrypted binary packet."""
    padding = 8 - (len(payload) + 5) % 8
    if padding < 4:
        padding += 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


# -- version exchange ---------------------------------------------------------------------------


def test_identification_strings() -> None:
    """Each side sends ``SSH-2.0-<version>`` first and reports the peer's without CR LF."""
    c = SSHTransportConnection("client", version="test_1")
    assert c.dataToSend().startswith(b"SSH-2.0-test_1\r\n")
    c.receiveData(b"SSH-2.0-Peer_2 comment\r\n")
    assert events(c) == [VersionReceived("SSH-2.0-Peer_2 comment")]


def test_client_skips_lines_before_banner() -> None:
    """A client ignores lines before the server's identification (RFC 4253 §4.2), LF only too."""
    c = SSHTransportConnection("client")
    for byte in b"hello there\r\nsecond line\nSSH-2.0-x\r\n":
        c.receiveData(bytes((byte,)))
    assert c.peerVersion == "SSH-2.0-x"


@pytest.mark.parametrize(
    ("role", "data", "reason"),
    [
        ("server", b"GET / HTTP/1.1\r\n", DisconnectReason.PROTOCOL_ERROR),
        ("client", b"SSH-1.5-old\r\n", DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED),
        ("client", b"x" * 9000, DisconnectReason.PROTOCOL_ERROR),
        ("client", b"line\n" * 1025, DisconnectReason.PROTOCOL_ERROR),
        ("client", b"SSH-2.0-a\0b\r\n", DisconnectReason.PROTOCOL_ERROR),
    ],
)
def test_bad_identification(role: Any, data: bytes, reason: int) -> None:
    """Not SSH, SSH-1, an endless line, endless pre-banner lines, NUL: refused."""
    m = SSHTransportConnection(role, [ED25519])
    with pytest.raises(SSHDisconnectError) as info:
        m.receiveData(data)
    assert info.value.reason == reason
    assert m.closed


def test_accepts_ssh_1_99() -> None:
    """``SSH-1.99-`` means SSH-2 compatible."""
    s = SSHTransportConnection("server", [ED25519])
    s.receiveData(b"SSH-1.99-old\r\n")
    assert s.peerVersion == "SSH-1.99-old"


# -- handshake ----------------------------------------------------------------------------------


def test_handshake_events_and_session() -> None:
    """Both sides complete with strict kex and the same session id; the client sees the key."""
    c, s = pair()
    ce, se = pump(c, s)
    assert [type(e) for e in ce] == [VersionReceived, HostKeyReceived, KexComplete, ExtInfoReceived]
    assert [type(e) for e in se] == [VersionReceived, KexComplete]
    assert ce[1].key == ED25519.publicKey()
    assert ce[2].initial and ce[2].algorithms == se[1].algorithms
    assert ce[2].algorithms.strict
    assert c.sessionID == s.sessionID and c.sessionID
    assert b"ssh-ed25519" in ce[3].extensions["server-sig-algs"]


@pytest.mark.parametrize("seed", range(6))
def test_handshake_in_every_chunking(seed: int) -> None:
    """Bytes split at random points (down to single bytes) give the same handshake."""
    rng = random.Random(seed)
    c, s = pair()
    ce: list[Any] = []
    for _ in range(50):
        a, b = c.dataToSend(), s.dataToSend()
        if not a and not b:
            break
        for data, target in ((a, s), (b, c)):
            i = 0
            while i < len(data):
                n = 1 if seed == 0 else rng.randint(1, 64)
                target.receiveData(data[i : i + n])
                i += n
        new = events(c)
        ce += new
        events(s)
        if any(isinstance(e, HostKeyReceived) for e in new):
            c.acceptHostKey()
    assert c.secure and s.secure
    c.sendMessage(94, b"x" * 1000)
    data = c.dataToSend()
    for i in range(len(data)):
        s.receiveData(data[i : i + 1])
    assert events(s) == [PacketReceived(94, b"x" * 1000, s.lastSequenceNumber)]


def _exchange(c: SSHTransportConnection, s: SSHTransportConnection) -> None:
    c.sendMessage(80, b"ping" * 300)
    s.sendMessage(81, b"pong" * 300)
    ce, se = pump(c, s)
    assert [(e.messageNum, e.payload) for e in ce if isinstance(e, PacketReceived)] == [
        (81, b"pong" * 300)
    ]
    assert [(e.messageNum, e.payload) for e in se if isinstance(e, PacketReceived)] == [
        (80, b"ping" * 300)
    ]


@pytest.mark.parametrize(
    ("cipher", "mac"),
    [(c, "hmac-sha2-256") for c in CIPHERS if CIPHERS[c].isAEAD]
    + [(c, m) for c in CIPHERS if CIPHERS[c].kind == "ctr" for m in MACS if m != "none"],
)
def test_every_cipher_and_mac(cipher: str, mac: str) -> None:
    """Every cipher/MAC pair carries messages both ways, and survives a rekey."""
    c, s = handshake(client={"ciphers": [cipher], "macs": [mac]})
    algs = c.algorithms
    assert algs is not None and algs.cipherCS == algs.cipherSC == cipher
    assert algs.macCS == (mac if not CIPHERS[cipher].isAEAD else "none")
    _exchange(c, s)
    assert c.requestRekey()
    _exchange(c, s)


@pytest.mark.parametrize("kex", sorted(KEX_METHODS))
def test_every_kex(kex: str) -> None:
    """Every key exchange method completes and protects traffic."""
    c, s = handshake(client={"kexAlgorithms": [kex]})
    assert c.algorithms is not None and c.algorithms.kex == kex
    _exchange(c, s)


@pytest.mark.parametrize("alg", DEFAULT_HOST_KEY_ALGORITHMS)
def test_every_host_key_algorithm(alg: str, allHostKeys: list[PrivateKey]) -> None:
    """Every host key algorithm is signed by the server's key and verified by the client."""
    c, _ = handshake(client={"hostKeyAlgorithms": [alg]}, server={"hostKeys": allHostKeys})
    assert c.algorithms is not None and c.algorithms.hostKey == alg
    assert c.hostKey is not None and c.hostKey.keyType == ("ssh-rsa" if "rsa" in alg else alg)


def test_wrong_kex_guess_is_ignored() -> None:
    """first_kex_packet_follows with a wrong guess: the guessed packet is skipped (RFC 4253 §7)."""
    c, s = pair(
        client={"kexAlgorithms": ["ecdh-sha2-nistp256", "curve25519-sha256"]},
        server={"kexAlgorithms": ["curve25519-sha256"]},
    )
    banner, rest = c.dataToSend().split(b"\r\n", 1)
    length, padding = struct.unpack(">IB", rest[:5])
    kexinit = bytearray(rest[5 : 4 + length - padding])
    kexinit[-5] = 1  # first_kex_packet_follows
    c._ourKexInit = bytes(kexinit)  # what the client hashes as I_C
    guess = packet(b"\x1e" + SSHWriter().string(b"\x04" + bytes(64)).bytes())  # bogus ECDH init
    s.receiveData(banner + b"\r\n" + packet(bytes(kexinit)) + guess)
    pump(c, s)  # parsing the guess as curve25519 would fail the exchange
    assert c.secure and s.secure
    assert c.algorithms is not None and c.algorithms.kex == "curve25519-sha256"


def test_no_common_algorithm() -> None:
    """Disjoint cipher lists fail the exchange with KEY_EXCHANGE_FAILED naming both lists."""
    c, s = pair(client={"ciphers": ["aes128-ctr"]}, server={"ciphers": ["aes256-ctr"]})
    with pytest.raises(SSHDisconnectError) as info:
        s.receiveData(c.dataToSend())
    assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED
    assert "aes128-ctr" in info.value.description and "aes256-ctr" in info.value.description
    with pytest.raises(SSHDisconnectError):
        c.receiveData(s.dataToSend())  # the server's KEXINIT fails here too


def test_misuse() -> None:
    """Unknown algorithms, a server without keys, calls for the other role: LocalProtocolError."""
    with pytest.raises(LocalProtocolError):
        SSHTransportConnection("client", ciphers=["rot13"])
    with pytest.raises(LocalProtocolError):
        SSHTransportConnection("server")
    with pytest.raises(LocalProtocolError):
        SSHTransportConnection("server", [ED25519]).requestService(b"x")
    with pytest.raises(LocalProtocolError):
        SSHTransportConnection("client").acceptHostKey()


# -- host key decision ------------------------------------------------------------------------


def test_kex_waits_for_host_key_decision() -> None:
    """Nothing after the reply is processed until the client accepts the key."""
    c, s = pair()
    ce, _ = pump(c, s, acceptKeys=False)
    assert isinstance(ce[-1], HostKeyReceived)
    assert not c.secure and not s.secure
    c.acceptHostKey()
    pump(c, s)
    assert c.secure and s.secure


def test_input_bounded_while_host_key_is_checked() -> None:
    """A server cannot make the client buffer without bound while it decides on the key."""
    c, s = pair()
    pump(c, s, acceptKeys=False)
    c.receiveData(bytes(100_000))  # held, not parsed
    with pytest.raises(SSHDisconnectError) as info:
        c.receiveData(bytes(1_000_000))
    assert "host key" in info.value.description


def test_rejected_host_key() -> None:
    """rejectHostKey sends DISCONNECT HOST_KEY_NOT_VERIFIABLE to the server."""
    c, s = pair()
    pump(c, s, acceptKeys=False)
    c.rejectHostKey("unknown key")
    s.receiveData(c.dataToSend())
    assert events(s)[-1] == Disconnected(DisconnectReason.HOST_KEY_NOT_VERIFIABLE, "unknown key")
    assert c.closed and s.closed


def test_bad_host_key_signature() -> None:
    """A reply signed by another key than the one sent fails the exchange."""
    c, s = pair()
    other = PrivateKey.generate("ed25519")
    s._hostKeys = (other,)
    original = other.sign

    def forged(data: bytes, algorithm: str | None = None) -> bytes:
        return original(data + b"x", algorithm)

    other.sign = forged  # type: ignore[method-assign]
    s.receiveData(c.dataToSend())
    c.receiveData(s.dataToSend())
    s.receiveData(c.dataToSend())
    with pytest.raises(SSHDisconnectError) as info:
        c.receiveData(s.dataToSend())
    assert info.value.reason == DisconnectReason.KEY_EXCHANGE_FAILED


def test_host_key_change_on_rekey_refused() -> None:
    """A rekey signed by a different host key ends the connection."""
    c, s = handshake()
    s._hostKeys = (PrivateKey.generate("ed25519"),)
    c.requestRekey()
    with pytest.raises(SSHDisconnectError) as info:
        pump(c, s)
    assert info.value.reason == DisconnectReason.HOST_KEY_NOT_VERIFIABLE


# -- strict kex (Terrapin) ----------------------------------------------------------------------


def test_terrapin_ignore_injected_before_newkeys_refused() -> None:
    """An IGNORE slipped into the server's unencrypted kex stream is fatal under strict kex."""
    c, s = pair()
    s.receiveData(c.dataToSend())  # version + KEXINIT + KEX_ECDH_INIT
    toClient = s.dataToSend()
    s.receiveData(c.dataToSend())
    toClient += s.dataToSend()  # version, KEXINIT, (after the init) reply, NEWKEYS, EXT_INFO
    banner, rest = toClient.split(b"\r\n", 1)
    (kexinitLength,) = struct.unpack(">I", rest[:4])
    split = 4 + kexinitLength
    attack = banner + b"\r\n" + rest[:split] + packet(b"\x02" + b"\0\0\0\0") + rest[split:]
    with pytest.raises(SSHDisconnectError) as info:
        c.receiveData(attack)
    assert "strict" in info.value.description
    assert c.closed


def test_terrapin_packet_before_kexinit_refused() -> None:
    """Under strict kex the peer's KEXINIT must be its very first packet."""
    c, s = pair()
    data = c.dataToSend()
    banner, rest = data.split(b"\r\n", 1)
    with pytest.raises(SSHDisconnectError) as info:
        s.receiveData(banner + b"\r\n" + packet(b"\x02\0\0\0\0") + rest)
    assert "first packet" in info.value.description


def test_strict_kex_resets_sequence_numbers() -> None:
    """Sequence numbers restart at 0 after each NEWKEYS under strict kex."""
    c, s = handshake()
    # the client sent KEXINIT, ECDH_INIT, NEWKEYS; nothing since the reset
    assert c._sendSeq == 0 and s._recvSeq == 0
    assert s._sendSeq == 1 and c._recvSeq == 1  # EXT_INFO after the server's NEWKEYS


def test_message_before_kex_refused() -> None:
    """A service message before the first key exchange completes is a protocol error."""
    c, s = pair()
    banner, rest = c.dataToSend().split(b"\r\n", 1)
    with pytest.raises(SSHDisconnectError):
        s.receiveData(banner + b"\r\n" + rest + packet(b"\x5e hi"))


# -- services, generic messages, disconnects ----------------------------------------------------


def test_service_request_accept() -> None:
    """SERVICE_REQUEST reaches the server, SERVICE_ACCEPT the client."""
    c, s = handshake()
    c.requestService(b"ssh-userauth")
    _, se = pump(c, s)
    assert se == [ServiceRequested(b"ssh-userauth")]
    s.acceptService(b"ssh-userauth")
    ce, _ = pump(c, s)
    assert ce == [ServiceAccepted(b"ssh-userauth")]


def test_service_request_to_client_refused() -> None:
    """A client refuses a SERVICE_REQUEST from the server."""
    c, s = handshake()
    s.sendMessage(MSG.SERVICE_REQUEST, SSHWriter().string(b"x").bytes())
    with pytest.raises(SSHDisconnectError):
        c.receiveData(s.dataToSend())


def test_unknown_message_gets_unimplemented() -> None:
    """An unknown transport message number is answered with UNIMPLEMENTED and its sequence."""
    c, s = handshake()
    c.sendMessage(15, b"")
    s.receiveData(c.dataToSend())
    seq = s.lastSequenceNumber
    c.receiveData(s.dataToSend())
    assert events(c) == [UnimplementedReceived(seq)]


def test_ignore_and_debug() -> None:
    """IGNORE is dropped; DEBUG becomes an event."""
    c, s = handshake()
    c.sendIgnore(b"padding")
    c.sendDebug("hello", alwaysDisplay=True)
    _, se = pump(c, s)
    assert [(e.alwaysDisplay, e.message) for e in se] == [(True, "hello")]


def test_disconnect_both_ways() -> None:
    """sendDisconnect reaches the peer with reason and description; both machines close."""
    c, s = handshake()
    s.sendDisconnect(DisconnectReason.BY_APPLICATION, "bye")
    c.receiveData(s.dataToSend())
    assert events(c) == [Disconnected(DisconnectReason.BY_APPLICATION, "bye")]
    assert c.closed and s.closed
    with pytest.raises(LocalProtocolError):
        s.sendMessage(94, b"late")


def test_corrupted_packet_is_mac_error() -> None:
    """A flipped bit after the kex is MAC_ERROR, and DISCONNECT is queued for the peer."""
    c, s = handshake()
    c.sendMessage(94, b"data" * 10)
    data = bytearray(c.dataToSend())
    data[10] ^= 0x40
    with pytest.raises(SSHDisconnectError) as info:
        s.receiveData(bytes(data))
    assert info.value.reason == DisconnectReason.MAC_ERROR
    c.receiveData(s.dataToSend())
    assert events(c) == [Disconnected(DisconnectReason.MAC_ERROR, "corrupted MAC on input")]


def test_oversized_packet_length_refused() -> None:
    """A packet length past 256 KiB is refused before its bytes are awaited."""
    s = SSHTransportConnection("server", [ED25519])
    with pytest.raises(SSHDisconnectError) as info:
        s.receiveData(b"SSH-2.0-x\r\n" + struct.pack(">I", 300_000) + b"\x04")
    assert "packet length" in info.value.description


def test_outgoing_payload_bound() -> None:
    """A payload too big for one packet is the caller's error."""
    c, _ = handshake()
    with pytest.raises(LocalProtocolError):
        c.sendMessage(94, bytes(300_000))


# -- rekeying and compression -------------------------------------------------------------------


def test_rekey_by_volume_holds_and_releases_messages() -> None:
    """Past rekeyBytes a new exchange starts; the session id stays; messages keep order."""
    c, s = handshake(client={"rekeyBytes": 100_000})
    session = c.sessionID
    for i in range(40):
        c.sendMessage(94, bytes((i,)) * 5000)
    assert c.kexInProgress
    ce, se = pump(c, s)
    got = [e.payload[0] for e in se if isinstance(e, PacketReceived)]
    assert got == list(range(40))
    assert any(isinstance(e, KexComplete) and not e.initial for e in ce)
    assert c.sessionID == s.sessionID == session


def test_rekey_on_request_from_either_side() -> None:
    """Either side may start a re-exchange; a second request while one runs is refused."""
    c, s = handshake()
    assert s.requestRekey()
    assert not s.requestRekey()
    ce, se = pump(c, s)
    assert [e.initial for e in ce + se if isinstance(e, KexComplete)] == [False, False]


def test_delayed_compression_starts_after_userauth_success() -> None:
    """zlib@openssh.com compresses only after USERAUTH_SUCCESS, then in both directions."""
    opts = {"compressions": ["zlib@openssh.com"]}
    c, s = handshake(client=opts, server=opts)
    c.sendMessage(94, bytes(20000))
    plain = c.dataToSend()
    assert len(plain) > 20000  # not yet compressed
    s.receiveData(plain)
    assert [e.messageNum for e in events(s)] == [94]
    s.sendMessage(MSG.USERAUTH_SUCCESS, b"")
    s.sendMessage(94, bytes(20000))  # in the same flight: must be decompressed by the client
    c.receiveData(s.dataToSend())
    assert [e.messageNum for e in events(c)] == [MSG.USERAUTH_SUCCESS, 94]
    c.sendMessage(94, bytes(20000))
    wire = c.dataToSend()
    assert len(wire) < 1000
    s.receiveData(wire)
    assert events(s) == [PacketReceived(94, bytes(20000), s.lastSequenceNumber)]
    assert c.requestRekey()
    _exchange(c, s)  # compression carries over the rekey


# -- fuzzing ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_after_banner_only_raises_disconnect(data: bytes) -> None:
    """Arbitrary bytes after the identification line raise nothing but SSHDisconnectError."""
    s = SSHTransportConnection("server", [ED25519], randomBytes=_rng(3))
    try:
        s.receiveData(b"SSH-2.0-fuzz\r\n" + data)
    except SSHDisconnectError:
        assert s.closed


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8), st.randoms(use_true_random=False))
def test_packet_decoder_any_chunking(payloads: list[bytes], rng: random.Random) -> None:
    """IGNORE packets with any contents, split anywhere, are all consumed without events."""
    s = SSHTransportConnection("server", [ED25519], randomBytes=_rng(4))
    stream = b"SSH-2.0-fuzz\r\n" + b"".join(
        packet(b"\x02" + SSHWriter().string(p).bytes()) for p in payloads
    )
    i = 0
    while i < len(stream):
        n = rng.randint(1, 50)
        s.receiveData(stream[i : i + n])
        i += n
    assert events(s) == [VersionReceived("SSH-2.0-fuzz")]
    assert s._recvSeq == len(payloads) and not s._inbuf


@pytest.fixture(scope="module")
def securedPairs() -> dict[str, tuple[SSHTransportConnection, SSHTransportConnection]]:
    """One handshaken pair per cipher kind, reused across hypothesis examples."""
    return {
        cipher: handshake(client={"ciphers": [cipher], "macs": ["hmac-sha2-512"]})
        for cipher in ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes192-ctr")
    }


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes192-ctr"]),
    st.lists(st.binary(max_size=5000), min_size=1, max_size=6),
    st.lists(st.sampled_from((1, 3, 16, 100, 4096)), min_size=1, max_size=40),
)
def test_encrypted_messages_any_chunking(
    securedPairs: dict[str, Any], cipher: str, bodies: list[bytes], sizes: list[int]
) -> None:
    """Messages of any size through each cipher, split anywhere, arrive whole and in order."""
    c, s = securedPairs[cipher]
    for body in bodies:
        c.sendMessage(94, body)
    stream = c.dataToSend()
    i = 0
    for n in itertools.cycle(sizes):  # all drawn up front: an example never stops half-fed
        if i >= len(stream):
            break
        s.receiveData(stream[i : i + n])
        i += n
    got = [e.payload for e in events(s)]
    assert got == bodies
