"""SSHUserAuthServer on a fake transport: methods, PK_OK, passwords, limits, delays, logout."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.auth import (
    PAM_PROMPT_ECHO_OFF,
    PAM_PROMPT_ECHO_ON,
    PAM_TEXT_INFO,
    InMemorySSHKeyDB,
    InMemoryUsernamePasswordDatabase,
    IPluggableAuthenticationModules,
    Portal,
    SSHPublicKeyChecker,
    UnauthorizedLogin,
)
from plait.defer import Deferred, maybeDeferred
from plait.ssh._service import SSHService
from plait.ssh.userauth import SSHUserAuthServer
from plait.testing import Clock
from plait.wire.ssh.keys import PrivateKey
from plait.wire.ssh.types import MSG, DisconnectReason, SSHWriter
from plait.wire.ssh.userauth import (
    KeyboardInteractiveRequest,
    NoneRequest,
    PasswordRequest,
    PublicKeyRequest,
    UnknownMethodRequest,
    UserauthInfoResponse,
    parseServerMessage,
    publicKeySignatureData,
)

from .connfakes import FakeSSHTransport

KEY = PrivateKey.generate("ed25519")
STRANGER = PrivateKey.generate("ed25519")
SVC = b"ssh-connection"


class Realm:
    """Avatars are ("avatar", avatarId); logouts are recorded."""

    def __init__(self) -> None:
        self.loggedOut: list[Any] = []
        self.deferred: Deferred[Any] | None = None

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """Return now, or later when the test set ``deferred``."""
        result = (interfaces[0], ("avatar", avatarId), lambda: self.loggedOut.append(avatarId))
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            return d.addCallback(lambda _: result)
        return result


class NextService(SSHService):
    """The service started after authentication; remembers its avatar."""

    name = b"ssh-connection"

    def __init__(self, avatar: Any) -> None:
        self.avatar = avatar
        self.stopped = False

    def serviceStopped(self) -> None:
        """Note it."""
        self.stopped = True


def make(
    passwords: bool = True, keys: bool = True, **kw: Any
) -> tuple[SSHUserAuthServer, FakeSSHTransport, Realm, Clock]:
    """A started server service on a fake transport with a Clock."""
    realm = Realm()
    checkers: list[Any] = []
    if keys:
        checkers.append(SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [KEY.publicKey()]})))
    if passwords:
        checkers.append(InMemoryUsernamePasswordDatabase({b"alice": b"secret"}))
    clock = Clock()
    transport = FakeSSHTransport(isClient=False, reactor=clock)
    server = SSHUserAuthServer(Portal(realm, checkers), ("IUser",), NextService, **kw)
    transport.setService(server)
    return server, transport, realm, clock


def send(transport: FakeSSHTransport, request: Any) -> None:
    """Deliver a client request to the active service."""
    assert transport.service is not None
    transport.service.packetReceived(request.messageNumber, request.encode())


def replies(transport: FakeSSHTransport, method: bytes | None = None) -> list[Any]:
    """Parse and clear what the server sent."""
    out = [parseServerMessage(num, payload, method) for num, payload in transport.packets]
    transport.packets.clear()
    return out


def signedRequest(key: PrivateKey, user: bytes = b"alice") -> PublicKeyRequest:
    """A publickey request signed over the fake transport's session id."""
    alg = key.signatureAlgorithms()[0].encode()
    blob = key.publicKey().blob()
    data = publicKeySignatureData(b"session-id", user, SVC, alg, blob)
    return PublicKeyRequest(user, SVC, alg, blob, key.sign(data))


def test_none_lists_methods() -> None:
    """ "none" fails with the methods the portal's checkers allow, and is not counted."""
    server, transport, _, _ = make()
    send(transport, NoneRequest(b"alice", SVC))
    [failure] = replies(transport)
    assert failure.methods == ("publickey", "password", "keyboard-interactive")
    assert server.attempts == 0
    _, transport2, _, _ = make(keys=False)
    send(transport2, NoneRequest(b"alice", SVC))
    assert replies(transport2)[0].methods == ("password", "keyboard-interactive")


def test_password_success_starts_next_service() -> None:
    """A right password: SUCCESS, then the next service is built with the avatar."""
    server, transport, realm, _ = make()
    send(transport, PasswordRequest(b"alice", SVC, b"secret"))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthSuccess"]
    assert isinstance(transport.service, NextService)
    assert transport.service.avatar == ("avatar", b"alice")
    assert server.username == b"alice"
    # Logout happens when the connection ends (the next service stops), once.
    assert realm.loggedOut == []
    transport.loseConnection()
    assert transport.service.stopped
    assert realm.loggedOut == [b"alice"]


def test_password_failure_is_delayed() -> None:
    """A wrong password is answered only after failureDelay on the reactor."""
    server, transport, _, clock = make(failureDelay=2.0)
    send(transport, PasswordRequest(b"alice", SVC, b"wrong"))
    assert transport.packets == []
    clock.advance(1.9)
    assert transport.packets == []
    clock.advance(0.1)
    [failure] = replies(transport)
    assert failure.methods and not failure.partialSuccess
    assert server.attempts == 1


def test_requests_queued_during_delay() -> None:
    """A request pipelined during the delay is handled after the failure is sent."""
    _, transport, _, clock = make(failureDelay=1.0)
    send(transport, PasswordRequest(b"alice", SVC, b"wrong"))
    send(transport, PasswordRequest(b"alice", SVC, b"secret"))
    assert transport.packets == []
    clock.advance(1.0)
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure", "UserauthSuccess"]


def test_publickey_query_and_signed() -> None:
    """A query for an authorized key gets PK_OK (not counted); the signed request succeeds."""
    server, transport, _, _ = make()
    blob = KEY.publicKey().blob()
    send(transport, PublicKeyRequest(b"alice", SVC, b"ssh-ed25519", blob))
    [pkok] = replies(transport, b"publickey")
    assert (pkok.algorithm, pkok.blob) == (b"ssh-ed25519", blob)
    assert server.attempts == 0
    send(transport, signedRequest(KEY))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthSuccess"]


def test_publickey_unknown_key_fails_at_once() -> None:
    """An unknown key fails without the password delay and counts as an attempt."""
    server, transport, _, _ = make(failureDelay=5.0)
    send(transport, PublicKeyRequest(b"alice", SVC, b"ssh-ed25519", STRANGER.publicKey().blob()))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"]
    send(transport, signedRequest(STRANGER))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"]
    assert server.attempts == 2


def test_signature_over_other_session_refused() -> None:
    """A signature made for another session id is refused."""
    _, transport, _, _ = make()
    alg, blob = b"ssh-ed25519", KEY.publicKey().blob()
    data = publicKeySignatureData(b"other-session", b"alice", SVC, alg, blob)
    send(transport, PublicKeyRequest(b"alice", SVC, alg, blob, KEY.sign(data)))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"]


def test_client_address_reaches_checker() -> None:
    """The credentials carry the peer's address (for from=)."""
    seen: list[Any] = []

    class Spy:
        credentialInterfaces = SSHPublicKeyChecker.credentialInterfaces

        def requestAvatarId(self, credentials: Any) -> Any:
            seen.append(credentials)
            return b"alice"

    transport = FakeSSHTransport(isClient=False, reactor=Clock())
    transport.setService(SSHUserAuthServer(Portal(Realm(), [Spy()]), ("I",), NextService))
    send(transport, signedRequest(KEY))
    assert seen[0].clientAddress == "192.0.2.1"
    assert seen[0].sigData == publicKeySignatureData(
        b"session-id", b"alice", SVC, b"ssh-ed25519", KEY.publicKey().blob()
    )


def test_keyboard_interactive() -> None:
    """keyboard-interactive asks one hidden Password: prompt and checks the answer."""
    _, transport, _, clock = make()
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    [info] = replies(transport, b"keyboard-interactive")
    assert info.prompts == (("Password: ", False),)
    send(transport, UserauthInfoResponse((b"wrong",)))
    clock.advance(1.0)
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"]
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    replies(transport, b"keyboard-interactive")
    send(transport, UserauthInfoResponse((b"secret",)))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthSuccess"]


def test_info_response_without_request_is_protocol_error() -> None:
    """An INFO_RESPONSE nobody asked for, or with the wrong count, disconnects."""
    _, transport, _, _ = make()
    send(transport, UserauthInfoResponse((b"x",)))
    assert transport.disconnected is not None
    assert transport.disconnected[0] == DisconnectReason.PROTOCOL_ERROR
    _, transport, _, _ = make()
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    send(transport, UserauthInfoResponse((b"a", b"b")))
    assert transport.disconnected is not None
    assert transport.disconnected[0] == DisconnectReason.PROTOCOL_ERROR


def test_attempt_limit_disconnects() -> None:
    """The maxAttempts-th failure disconnects with NO_MORE_AUTH_METHODS_AVAILABLE."""
    server, transport, _, clock = make(maxAttempts=3, failureDelay=0.5)
    for _ in range(2):
        send(transport, PasswordRequest(b"alice", SVC, b"wrong"))
        clock.advance(0.5)
    assert transport.disconnected is None
    send(transport, PasswordRequest(b"alice", SVC, b"wrong"))
    assert transport.disconnected == (
        DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
        "too many authentication failures",
    )
    assert server.attempts == 3


def test_default_limit_is_six() -> None:
    """By default the sixth failure disconnects (OpenSSH's MaxAuthTries)."""
    _, transport, _, _ = make()
    for i in range(6):
        assert transport.disconnected is None, i
        send(
            transport, PublicKeyRequest(b"alice", SVC, b"ssh-ed25519", STRANGER.publicKey().blob())
        )
    assert transport.disconnected is not None


def test_unknown_method_and_password_change_fail() -> None:
    """hostbased and password changes are refused as failures."""
    server, transport, _, _ = make(failureDelay=0)
    send(transport, UnknownMethodRequest(b"alice", SVC, b"hostbased", b""))
    send(transport, PasswordRequest(b"alice", SVC, b"secret", b"new"))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"] * 2
    assert server.attempts == 2


def test_method_not_offered() -> None:
    """A password attempt when only keys are configured fails without asking anyone."""
    _, transport, _, clock = make(passwords=False)
    send(transport, PasswordRequest(b"alice", SVC, b"secret"))
    clock.advance(1.0)
    [failure] = replies(transport)
    assert failure.methods == ("publickey",)


def test_wrong_service_disconnects() -> None:
    """Asking for a service other than serviceName disconnects SERVICE_NOT_AVAILABLE."""
    _, transport, _, _ = make()
    send(transport, PasswordRequest(b"alice", b"ssh-telepathy", b"secret"))
    assert transport.disconnected is not None
    assert transport.disconnected[0] == DisconnectReason.SERVICE_NOT_AVAILABLE


def test_garbage_request_disconnects() -> None:
    """A truncated request is a protocol error."""
    server, transport, _, _ = make()
    server.packetReceived(MSG.USERAUTH_REQUEST, SSHWriter().string(b"alice").bytes())
    assert transport.disconnected is not None
    assert transport.disconnected[0] == DisconnectReason.PROTOCOL_ERROR


def test_unknown_message_unimplemented() -> None:
    """A non-userauth message gets UNIMPLEMENTED."""
    server, transport, _, _ = make()
    server.packetReceived(MSG.CHANNEL_DATA, b"")
    assert transport.unimplemented == 1


def test_banner_sent_once_first() -> None:
    """The banner precedes the first answer and is sent once."""
    _, transport, _, _ = make(banner="Authorised users only\r\n")
    send(transport, NoneRequest(b"alice", SVC))
    send(transport, NoneRequest(b"alice", SVC))
    kinds = [type(m).__name__ for m in replies(transport)]
    assert kinds == ["UserauthBanner", "UserauthFailure", "UserauthFailure"]


def test_login_grace_time() -> None:
    """Not authenticated within loginGraceTime: disconnected."""
    _, transport, _, clock = make(loginGraceTime=30)
    clock.advance(29)
    assert transport.disconnected is None
    clock.advance(1)
    assert transport.disconnected is not None


def test_grace_timer_cancelled_on_success() -> None:
    """After success no timer is left behind."""
    _, transport, _, clock = make(loginGraceTime=30)
    assert len(clock.getDelayedCalls()) == 1
    send(transport, PasswordRequest(b"alice", SVC, b"secret"))
    assert clock.getDelayedCalls() == []


def test_connection_lost_while_realm_works_cancels() -> None:
    """If the connection ends before the realm answers, the login is cancelled, nothing sent."""
    _, transport, realm, _ = make()
    realm.deferred = Deferred()
    pending = realm.deferred
    send(transport, PasswordRequest(b"alice", SVC, b"secret"))
    assert not pending.called
    transport.loseConnection()
    assert pending.called  # cancelled
    assert transport.packets == []
    assert not isinstance(transport.service, NextService)


def test_no_delay_without_reactor() -> None:
    """With a transport that has no reactor, failures are answered at once."""
    transport = FakeSSHTransport(isClient=False)
    transport.reactor = None
    portal = Portal(Realm(), [InMemoryUsernamePasswordDatabase({b"a": b"b"})])
    transport.setService(SSHUserAuthServer(portal, ("I",), NextService))
    send(transport, PasswordRequest(b"a", SVC, b"x"))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"]


@pytest.mark.parametrize("bad", [b"", b"\x00\x00\x00\x05alice"])
def test_truncated_requests(bad: bytes) -> None:
    """Truncated requests end the connection with PROTOCOL_ERROR."""
    server, transport, _, _ = make()
    server.packetReceived(MSG.USERAUTH_REQUEST, bad)
    assert transport.disconnected is not None


@given(st.lists(st.tuples(st.sampled_from([50, 61, 60, 94]), st.binary(max_size=80)), max_size=6))
@settings(max_examples=60, deadline=None)
def test_garbage_never_raises(packets: list[tuple[int, bytes]]) -> None:
    """Arbitrary packets are answered, queued or end the connection; nothing raises."""
    server, transport, _, clock = make()
    for num, payload in packets:
        server.packetReceived(num, payload)
    clock.advance(10)
    for num, _payload in transport.packets:
        assert num in (51, 52, 53, 60)


class TwoFactor:
    """A conversation checker: asks a hidden password and a visible code, with a notice."""

    credentialInterfaces = (IPluggableAuthenticationModules,)

    def __init__(self) -> None:
        self.rounds: list[list[tuple[str, int]]] = []

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        """Ask twice through the credentials' conversation."""
        first = [("Welcome", PAM_TEXT_INFO), ("Password: ", PAM_PROMPT_ECHO_OFF)]
        second = [("Code: ", PAM_PROMPT_ECHO_ON)]
        self.rounds.append(first)

        def check(answers: list[bytes]) -> Any:
            if answers[1] != b"secret":
                raise UnauthorizedLogin("bad password")
            self.rounds.append(second)
            return maybeDeferred(credentials.pamConversation, second).addCallback(code)

        def code(answers: list[bytes]) -> bytes:
            if answers != [b"123456"]:
                raise UnauthorizedLogin("bad code")
            return bytes(credentials.username)

        return maybeDeferred(credentials.pamConversation, first).addCallback(check)


def conversationServer() -> tuple[SSHUserAuthServer, FakeSSHTransport, Clock]:
    """A server whose only checker is TwoFactor."""
    clock = Clock()
    transport = FakeSSHTransport(isClient=False, reactor=clock)
    server = SSHUserAuthServer(Portal(Realm(), [TwoFactor()]), ("I",), NextService)
    transport.setService(server)
    return server, transport, clock


def test_conversation_two_rounds() -> None:
    """Each back-end question is an INFO_REQUEST; notices ride in the next instruction."""
    _, transport, _ = conversationServer()
    send(transport, NoneRequest(b"alice", SVC))
    assert replies(transport)[0].methods == ("keyboard-interactive",)
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    [first] = replies(transport, b"keyboard-interactive")
    assert first.instruction == "Welcome"
    assert first.prompts == (("Password: ", False),)
    send(transport, UserauthInfoResponse((b"secret",)))
    [second] = replies(transport, b"keyboard-interactive")
    assert second.prompts == (("Code: ", True),)
    send(transport, UserauthInfoResponse((b"123456",)))
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthSuccess"]
    assert isinstance(transport.service, NextService)


def test_conversation_wrong_answer_fails() -> None:
    """A wrong answer fails the attempt after the delay."""
    server, transport, clock = conversationServer()
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    replies(transport, b"keyboard-interactive")
    send(transport, UserauthInfoResponse((b"wrong",)))
    clock.advance(1.0)
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"]
    assert server.attempts == 1


def test_conversation_abandoned_by_new_request() -> None:
    """A new request during a conversation ends it (a failure), then is answered."""
    server, transport, clock = conversationServer()
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    replies(transport, b"keyboard-interactive")
    send(transport, NoneRequest(b"alice", SVC))
    clock.advance(1.0)
    assert [type(m).__name__ for m in replies(transport)] == ["UserauthFailure"] * 2
    assert server.attempts == 1


def test_conversation_wrong_response_count() -> None:
    """Two answers to one prompt is a protocol error."""
    _, transport, _ = conversationServer()
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    replies(transport, b"keyboard-interactive")
    send(transport, UserauthInfoResponse((b"a", b"b")))
    assert transport.disconnected is not None
    assert transport.disconnected[0] == DisconnectReason.PROTOCOL_ERROR


def test_conversation_connection_lost() -> None:
    """Losing the connection mid-conversation fails the back end's question."""
    seen: list[Any] = []

    class Waiting:
        credentialInterfaces = (IPluggableAuthenticationModules,)

        def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
            d = maybeDeferred(credentials.pamConversation, [("P: ", PAM_PROMPT_ECHO_OFF)])
            return d.addBoth(lambda r: seen.append(r) or Deferred())

    transport = FakeSSHTransport(isClient=False, reactor=Clock())
    transport.setService(SSHUserAuthServer(Portal(Realm(), [Waiting()]), ("I",), NextService))
    send(transport, KeyboardInteractiveRequest(b"alice", SVC))
    assert seen == []
    transport.loseConnection()
    assert len(seen) == 1 and seen[0].check(UnauthorizedLogin)


def test_log_lines_name_method_user_and_address() -> None:
    """Accepted and failed attempts are logged with method, user and peer address."""
    from plait.log import formatEvent, globalLogPublisher

    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.ssh.userauth":
            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    try:
        _, transport, _, clock = make()
        send(transport, PasswordRequest(b"alice", SVC, b"wrong"))
        clock.advance(1.0)
        send(transport, PasswordRequest(b"alice", SVC, b"secret"))
    finally:
        globalLogPublisher.removeObserver(observe)
    assert lines[0].startswith("failed password for alice from 192.0.2.1: ")
    assert lines[1] == "accepted password for alice from 192.0.2.1"


def test_log_lines_escape_control_characters_in_usernames() -> None:
    """A username with a newline or terminal escapes cannot forge or garble a log line."""
    from plait.log import formatEvent, globalLogPublisher

    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == "plait.ssh.userauth":
            lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    try:
        _, transport, _, clock = make()
        forged = b"bob\naccepted password for root from 10.0.0.1\x1b[2J\\x0a"
        send(transport, PasswordRequest(forged, SVC, b"wrong"))
        clock.advance(1.0)
        send(transport, UnknownMethodRequest(b"eve", SVC, b"x\ry"))
    finally:
        globalLogPublisher.removeObserver(observe)
    assert len(lines) == 2
    assert all("\n" not in line and "\r" not in line and "\x1b" not in line for line in lines)
    assert lines[0].startswith(
        "failed password for bob\\naccepted password for root from 10.0.0.1\\x1b[2J\\\\x0a "
        "from 192.0.2.1: "
    )
    assert lines[1].startswith("failed x\\ry for eve from 192.0.2.1: ")


def test_failure_limiter_counts_across_connections() -> None:
    """A FailureLimiter shared by connections refuses an address after maxFailures failures
    in its window (at its next request, on any connection), and forgets them after it."""
    from plait.ssh.userauth import FailureLimiter

    clock = Clock()
    limiter = FailureLimiter(clock, maxFailures=3, window=60.0)

    def connection() -> FakeSSHTransport:
        portal = Portal(
            Realm(), [SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [KEY.publicKey()]}))]
        )
        transport = FakeSSHTransport(isClient=False, reactor=clock)
        server = SSHUserAuthServer(portal, ("IUser",), NextService, failureLimiter=limiter)
        transport.setService(server)
        return transport

    first = connection()
    send(first, NoneRequest(b"alice", SVC))  # "none" is not a failure
    for _ in range(2):
        send(first, signedRequest(STRANGER))
    second = connection()
    send(second, signedRequest(STRANGER))  # the third failure, on another connection
    assert second.disconnected is None
    third = connection()
    send(third, signedRequest(KEY))  # even the right key: the address is refused first
    assert third.disconnected is not None
    assert third.disconnected[0] == DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE
    assert not isinstance(third.service, NextService)
    clock.advance(60.0)
    fourth = connection()
    send(fourth, signedRequest(KEY))
    assert fourth.disconnected is None and isinstance(fourth.service, NextService)


def test_failure_limiter_bounds_its_memory() -> None:
    """At most maxAddresses addresses are remembered; the oldest is forgotten first."""
    from plait.ssh.userauth import FailureLimiter

    limiter = FailureLimiter(Clock(), maxFailures=1, maxAddresses=2)
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        limiter.failed(address)
    assert not limiter.blocked("192.0.2.1")
    assert limiter.blocked("192.0.2.2") and limiter.blocked("192.0.2.3")
    limiter.failed(None)
    assert not limiter.blocked(None)
