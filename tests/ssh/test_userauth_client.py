"""SSHUserAuthClient on a fake transport, and client <-> server wired back to back in memory."""

from __future__ import annotations

from typing import Any

from plait.auth import (
    InMemorySSHKeyDB,
    InMemoryUsernamePasswordDatabase,
    Portal,
    SSHPublicKeyChecker,
)
from plait.defer import Deferred
from plait.ssh._service import SSHService
from plait.ssh.userauth import AuthenticationFailed, SSHUserAuthClient, SSHUserAuthServer
from plait.testing import Clock, assertNoResult, failureResultOf, successResultOf
from plait.wire.ssh.keys import PrivateKey
from plait.wire.ssh.types import MSG, DisconnectReason
from plait.wire.ssh.userauth import (
    KeyboardInteractiveRequest,
    NoneRequest,
    PasswordRequest,
    PublicKeyRequest,
    UserauthBanner,
    UserauthFailure,
    UserauthInfoRequest,
    UserauthPKOK,
    UserauthSuccess,
    parseInfoResponse,
    parseUserauthRequest,
)

from .connfakes import FakeSSHTransport

KEY = PrivateKey.generate("ed25519")
RSA = PrivateKey.generate("rsa", 2048)
STRANGER = PrivateKey.generate("ed25519")
SVC = b"ssh-connection"


class Next(SSHService):
    """The connection service stand-in."""

    name = b"ssh-connection"

    def __init__(self, avatar: Any = None) -> None:
        self.avatar = avatar
        self.started = False

    def serviceStarted(self) -> None:
        """Note it."""
        self.started = True


def client(**kw: Any) -> tuple[SSHUserAuthClient, FakeSSHTransport, Next]:
    """A started client service on a fake transport."""
    nxt = Next()
    transport = FakeSSHTransport(isClient=True)
    c = SSHUserAuthClient(kw.pop("username", "alice"), nxt, **kw)
    transport.setService(c)
    return c, transport, nxt


def sent(transport: FakeSSHTransport) -> list[Any]:
    """Parse and clear the client's requests."""
    out = []
    for num, payload in transport.packets:
        if num == MSG.USERAUTH_REQUEST:
            out.append(parseUserauthRequest(payload))
        else:
            out.append(parseInfoResponse(payload))
    transport.packets.clear()
    return out


def deliver(c: SSHUserAuthClient, message: Any) -> None:
    """Give the client a server message."""
    c.packetReceived(message.messageNumber, message.encode())


def test_starts_with_none_and_password() -> None:
    """none first; on failure listing password, getPassword's answer is sent."""
    prompts: list[str] = []
    c, transport, nxt = client(getPassword=lambda p: prompts.append(p) or "secret")
    assert sent(transport) == [NoneRequest(b"alice", SVC)]
    deliver(c, UserauthFailure(("password",)))
    assert sent(transport) == [PasswordRequest(b"alice", SVC, b"secret")]
    assert prompts == ["alice's password: "]
    deliver(c, UserauthSuccess())
    assert successResultOf(c.authenticated) is None
    assert transport.service is nxt and nxt.started


def test_publickey_query_then_sign() -> None:
    """A key is queried first and signed over the session id after PK_OK."""
    c, transport, _ = client(keys=[KEY])
    sent(transport)
    deliver(c, UserauthFailure(("publickey",)))
    [query] = sent(transport)
    assert query.signature is None and query.blob == KEY.publicKey().blob()
    deliver(c, UserauthPKOK(query.algorithm, query.blob))
    [signed] = sent(transport)
    assert signed.signature is not None
    from plait.wire.ssh.userauth import publicKeySignatureData

    data = publicKeySignatureData(b"session-id", b"alice", SVC, b"ssh-ed25519", query.blob)
    assert KEY.publicKey().verify(signed.signature, data)


def test_next_key_after_failure_then_gives_up() -> None:
    """Each key is tried; when all fail, DISCONNECT and AuthenticationFailed."""
    c, transport, _ = client(keys=[STRANGER, KEY])
    sent(transport)
    deliver(c, UserauthFailure(("publickey",)))
    assert sent(transport)[0].blob == STRANGER.publicKey().blob()
    deliver(c, UserauthFailure(("publickey",)))
    assert sent(transport)[0].blob == KEY.publicKey().blob()
    deliver(c, UserauthFailure(("publickey",)))
    f = failureResultOf(c.authenticated, AuthenticationFailed)
    assert "Permission denied (publickey)" in str(f.value)
    assert transport.disconnected is not None
    assert transport.disconnected[0] == DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE


def test_rsa_algorithm_from_server_sig_algs() -> None:
    """RSA signs with the first of rsa-sha2-512/256 that server-sig-algs lists."""
    c, transport, _ = client(keys=[RSA])
    transport.serverSigAlgs = ("ssh-ed25519", "rsa-sha2-256")  # type: ignore[attr-defined]
    sent(transport)
    deliver(c, UserauthFailure(("publickey",)))
    assert sent(transport)[0].algorithm == b"rsa-sha2-256"
    c3, transport3, _ = client(keys=[RSA])
    sigAlgs = {"server-sig-algs": b"ssh-ed25519,rsa-sha2-256"}
    transport3.extensions = sigAlgs  # type: ignore[attr-defined]
    sent(transport3)
    deliver(c3, UserauthFailure(("publickey",)))
    assert sent(transport3)[0].algorithm == b"rsa-sha2-256"
    c2, transport2, _ = client(keys=[RSA])
    sent(transport2)
    deliver(c2, UserauthFailure(("publickey",)))
    assert sent(transport2)[0].algorithm == b"rsa-sha2-512"


def test_keyboard_interactive_with_callback() -> None:
    """INFO_REQUEST prompts go to getKbdInteractive; its answers are sent back."""
    asked: list[Any] = []

    def kbd(name: str, instruction: str, prompts: list[tuple[str, bool]]) -> list[str]:
        asked.append((name, instruction, prompts))
        return ["one", "two"]

    c, transport, _ = client(getKbdInteractive=kbd)
    sent(transport)
    deliver(c, UserauthFailure(("keyboard-interactive", "password")))
    assert sent(transport) == [KeyboardInteractiveRequest(b"alice", SVC)]
    deliver(c, UserauthInfoRequest("n", "i", (("A: ", True), ("B: ", False))))
    assert sent(transport)[0].responses == (b"one", b"two")
    assert asked == [("n", "i", [("A: ", True), ("B: ", False)])]


def test_keyboard_interactive_with_password_and_empty_round() -> None:
    """Without getKbdInteractive a single hidden prompt takes getPassword; zero prompts
    are answered with an empty response."""
    c, transport, _ = client(getPassword=lambda p: b"pw")
    sent(transport)
    deliver(c, UserauthFailure(("keyboard-interactive",)))
    sent(transport)
    deliver(c, UserauthInfoRequest("", "", ()))
    assert sent(transport)[0].responses == ()
    deliver(c, UserauthInfoRequest("", "", (("Password: ", False),)))
    assert sent(transport)[0].responses == (b"pw",)


def test_deferred_password_and_none_gives_up() -> None:
    """getPassword may answer later; None abandons the method."""
    d: Deferred[Any] = Deferred()
    c, transport, _ = client(getPassword=lambda p: d)
    sent(transport)
    deliver(c, UserauthFailure(("password",)))
    assert sent(transport) == []
    assertNoResult(c.authenticated)
    d.callback(None)
    failureResultOf(c.authenticated, AuthenticationFailed)


def test_banner_callback() -> None:
    """Banners go to onBanner without changing the state."""
    banners: list[str] = []
    c, transport, _ = client(onBanner=banners.append, getPassword=lambda p: "x")
    sent(transport)
    deliver(c, UserauthBanner("hello\r\n"))
    deliver(c, UserauthFailure(("password",)))
    assert banners == ["hello\r\n"]
    assert isinstance(sent(transport)[0], PasswordRequest)


def test_pk_ok_for_other_key_is_protocol_error() -> None:
    """PK_OK naming a key we did not offer disconnects."""
    c, transport, _ = client(keys=[KEY])
    sent(transport)
    deliver(c, UserauthFailure(("publickey",)))
    deliver(c, UserauthPKOK(b"ssh-ed25519", STRANGER.publicKey().blob()))
    assert transport.disconnected is not None
    assert transport.disconnected[0] == DisconnectReason.PROTOCOL_ERROR
    failureResultOf(c.authenticated)


def test_garbage_is_protocol_error_and_stop_fails() -> None:
    """A malformed FAILURE disconnects; a connection lost mid-way fails authenticated."""
    c, transport, _ = client()
    c.packetReceived(MSG.USERAUTH_FAILURE, b"\x00\x00")
    assert transport.disconnected is not None
    failureResultOf(c.authenticated)
    c2, transport2, _ = client()
    transport2.loseConnection()
    failureResultOf(c2.authenticated, AuthenticationFailed)


def test_nothing_to_try() -> None:
    """No keys and no callbacks: the first FAILURE ends it."""
    c, _transport, _ = client(keys=[])
    deliver(c, UserauthFailure(("publickey", "password")))
    failureResultOf(c.authenticated, AuthenticationFailed)


# --- back to back ---------------------------------------------------------------------------


class Realm:
    """Avatars are the avatar ids."""

    def __init__(self) -> None:
        self.loggedOut: list[Any] = []

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """Return (iface, avatarId, logout)."""
        return interfaces[0], avatarId, lambda: self.loggedOut.append(avatarId)


def wire(
    c: SSHUserAuthClient, server: SSHUserAuthServer, clock: Clock
) -> tuple[FakeSSHTransport, FakeSSHTransport]:
    """Start both services on fake transports, then pump packets both ways until quiet."""
    ct = FakeSSHTransport(isClient=True, reactor=clock)
    st = FakeSSHTransport(isClient=False, reactor=clock)
    st.setService(server)
    ct.setService(c)
    pump(ct, st, clock)
    return ct, st


def pump(ct: FakeSSHTransport, st: FakeSSHTransport, clock: Clock) -> None:
    """Move packets until none are left and no timer is due within 10 s (bounded)."""
    for _ in range(200):
        moved = False
        for src, dst in ((ct, st), (st, ct)):
            while src.packets and dst.service is not None and not dst.lost:
                num, payload = src.packets.pop(0)
                dst.service.packetReceived(num, payload)
                moved = True
        if not moved:
            pending = [c for c in clock.getDelayedCalls() if c.getTime() - clock.seconds() <= 10]
            if not pending:
                return
            clock.advance(pending[0].getTime() - clock.seconds())
    raise AssertionError("dialogue did not settle")


def portal(realm: Realm) -> Portal:
    """Keys for alice (KEY, RSA) and her password."""
    return Portal(
        realm,
        [
            SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [KEY.publicKey(), RSA.publicKey()]})),
            InMemoryUsernamePasswordDatabase({b"alice": b"secret"}),
        ],
    )


def test_dialogue_by_key_after_a_stranger() -> None:
    """The client offers an unknown key, then the right one, and gets in."""
    clock, realm = Clock(), Realm()
    nxtClient = Next()
    c = SSHUserAuthClient("alice", nxtClient, keys=[STRANGER, RSA])
    server = SSHUserAuthServer(portal(realm), ("I",), Next)
    ct, st = wire(c, server, clock)
    assert successResultOf(c.authenticated) is None
    assert ct.service is nxtClient
    assert isinstance(st.service, Next) and st.service.avatar == b"alice"
    assert server.attempts == 1
    assert st.service.avatar.key == RSA.publicKey()


def test_dialogue_kbd_interactive_then_password() -> None:
    """A wrong kbd-int answer, then the password method with the right one."""
    clock, realm = Clock(), Realm()
    answers = iter([b"wrong", b"secret"])
    c = SSHUserAuthClient("alice", Next(), getPassword=lambda p: next(answers))
    server = SSHUserAuthServer(portal(realm), ("I",), Next, failureDelay=1.0)
    _ct, st = wire(c, server, clock)
    assert successResultOf(c.authenticated) is None
    assert clock.seconds() == 1.0  # one delayed failure
    assert server.attempts == 1
    st.loseConnection()
    assert realm.loggedOut == [b"alice"]


def test_dialogue_everything_refused() -> None:
    """Nothing works: the client gives up with a clear error; the server logged nobody in."""
    clock, realm = Clock(), Realm()
    c = SSHUserAuthClient("alice", Next(), keys=[STRANGER], getPassword=lambda p: "nope")
    server = SSHUserAuthServer(portal(realm), ("I",), Next)
    ct, st = wire(c, server, clock)
    f = failureResultOf(c.authenticated, AuthenticationFailed)
    assert f.value.serverMethods == ("publickey", "password", "keyboard-interactive")
    assert "password" in f.value.tried and "keyboard-interactive" in f.value.tried
    assert ct.disconnected is not None
    assert not isinstance(st.service, Next)


def test_dialogue_attempt_limit_hits_client() -> None:
    """With many bad keys the server's limit ends the dialogue."""
    clock = Clock()
    strangers = [PrivateKey.generate("ed25519") for _ in range(5)]
    c = SSHUserAuthClient("alice", Next(), keys=strangers)
    server = SSHUserAuthServer(portal(Realm()), ("I",), Next, maxAttempts=3)
    ct, st = wire(c, server, clock)
    assert st.disconnected is not None
    assert st.disconnected[0] == DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE
    ct.loseConnection()
    failureResultOf(c.authenticated, AuthenticationFailed)


def test_queued_pipelined_requests_in_order() -> None:
    """Requests pipelined by a client are answered in order."""
    clock = Clock()
    st = FakeSSHTransport(isClient=False, reactor=clock)
    server = SSHUserAuthServer(portal(Realm()), ("I",), Next, failureDelay=0.5)
    st.setService(server)
    for request in [
        PasswordRequest(b"alice", SVC, b"a"),
        PasswordRequest(b"alice", SVC, b"b"),
        PublicKeyRequest(b"alice", SVC, b"ssh-ed25519", KEY.publicKey().blob()),
    ]:
        server.packetReceived(request.messageNumber, request.encode())
    clock.advance(0.5)
    clock.advance(0.5)
    assert [num for num, _ in st.packets] == [51, 51, 60]


def test_unanswerable_prompts_move_on() -> None:
    """Prompts getPassword cannot answer (two of them) abandon keyboard-interactive for good."""
    c, transport, _ = client(getPassword=lambda p: "pw", passwordAttempts=3)
    sent(transport)
    deliver(c, UserauthFailure(("keyboard-interactive", "password")))
    assert sent(transport) == [KeyboardInteractiveRequest(b"alice", SVC)]
    deliver(c, UserauthInfoRequest("", "", (("Password: ", False), ("Code: ", True))))
    assert sent(transport) == [PasswordRequest(b"alice", SVC, b"pw")]
    deliver(c, UserauthFailure(("keyboard-interactive", "password")))
    assert sent(transport) == [PasswordRequest(b"alice", SVC, b"pw")]


def test_logged_banner_has_control_characters_escaped() -> None:
    """Without onBanner the server's banner is logged with its control characters escaped
    (a server cannot forge log lines or send terminal escapes through the client's log)."""
    from plait.log import formatEvent, globalLogPublisher

    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.ssh.userauth":
            lines.append(formatEvent(event))

    c, _, _ = client(getPassword=lambda p: "x")
    globalLogPublisher.addObserver(observe)
    try:
        deliver(c, UserauthBanner("hi\nfailed password for root\x1b[2J"))
    finally:
        globalLogPublisher.removeObserver(observe)
    assert lines == ["banner: hi\\nfailed password for root\\x1b[2J"]
