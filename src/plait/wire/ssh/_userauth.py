"""SSH user authentication messages (RFC 4252; keyboard-interactive RFC 4256), sans-IO.

Each message is a frozen dataclass with ``messageNumber`` and ``encode()`` (the payload
without the message-number byte, as ``sendPacket`` takes it). :func:`parseUserauthRequest`
reads a client's USERAUTH_REQUEST; :func:`parseServerMessage` reads what a server sends,
where message 60 means PK_OK, PASSWD_CHANGEREQ or INFO_REQUEST depending on the method in
progress. :func:`publicKeySignatureData` builds the data a publickey signature covers.
Every malformed, truncated or over-long message raises ``SSHDisconnectError(PROTOCOL_ERROR)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._types import MSG, DisconnectReason, SSHDisconnectError, SSHReader, SSHWriter

__all__ = [
    "MAX_PROMPTS",
    "KeyboardInteractiveRequest",
    "NoneRequest",
    "PasswordRequest",
    "PublicKeyRequest",
    "UnknownMethodRequest",
    "UserauthBanner",
    "UserauthFailure",
    "UserauthInfoRequest",
    "UserauthInfoResponse",
    "UserauthPKOK",
    "UserauthPasswdChangeReq",
    "UserauthRequest",
    "UserauthSuccess",
    "parseInfoResponse",
    "parseServerMessage",
    "parseUserauthRequest",
    "publicKeySignatureData",
]

#: At most this many keyboard-interactive prompts/responses in one message (as OpenSSH).
MAX_PROMPTS = 100


def _protocolError(description: str) -> SSHDisconnectError:
    return SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, description)


# --- USERAUTH_REQUEST (client -> server) ---------------------------------------------------


@dataclass(frozen=True)
class NoneRequest:
    """Method "none": asks which methods may continue (RFC 4252 §5.2)."""

    username: bytes
    service: bytes
    messageNumber: ClassVar[int] = MSG.USERAUTH_REQUEST
    method: ClassVar[bytes] = b"none"

    def encode(self) -> bytes:
        """The payload."""
        return SSHWriter().string(self.username).string(self.service).string(b"none").bytes()


@dataclass(frozen=True)
class PublicKeyRequest:
    """Method "publickey" (RFC 4252 §7): a query without ``signature``, or a signed attempt.

    ``algorithm`` is the public-key algorithm name (``rsa-sha2-512`` for an RSA key signing
    with SHA-512), ``blob`` the public key blob.
    """

    username: bytes
    service: bytes
    algorithm: bytes
    blob: bytes
    signature: bytes | None = None
    messageNumber: ClassVar[int] = MSG.USERAUTH_REQUEST
    method: ClassVar[bytes] = b"publickey"

    def encode(self) -> bytes:
        """The payload."""
        w = SSHWriter().string(self.username).string(self.service).string(b"publickey")
        w.boolean(self.signature is not None).string(self.algorithm).string(self.blob)
        if self.signature is not None:
            w.string(self.signature)
        return w.bytes()


@dataclass(frozen=True, repr=False)
class PasswordRequest:
    """Method "password" (RFC 4252 §8), with ``newPassword`` for a change request."""

    username: bytes
    service: bytes
    password: bytes
    newPassword: bytes | None = None
    messageNumber: ClassVar[int] = MSG.USERAUTH_REQUEST
    method: ClassVar[bytes] = b"password"

    def encode(self) -> bytes:
        """The payload."""
        w = SSHWriter().string(self.username).string(self.service).string(b"password")
        w.boolean(self.newPassword is not None).string(self.password)
        if self.newPassword is not None:
            w.string(self.newPassword)
        return w.bytes()

    def __repr__(self) -> str:
        return f"PasswordRequest(username={self.username!r}, service={self.service!r}, ...)"


@dataclass(frozen=True)
class KeyboardInteractiveRequest:
    """Method "keyboard-interactive" (RFC 4256 §3.1)."""

    username: bytes
    service: bytes
    language: bytes = b""
    submethods: bytes = b""
    messageNumber: ClassVar[int] = MSG.USERAUTH_REQUEST
    method: ClassVar[bytes] = b"keyboard-interactive"

    def encode(self) -> bytes:
        """The payload."""
        w = SSHWriter().string(self.username).string(self.service)
        return w.string(self.method).string(self.language).string(self.submethods).bytes()


@dataclass(frozen=True)
class UnknownMethodRequest:
    """A method this module does not parse (``hostbased``, ``gssapi-with-mic``...)."""

    username: bytes
    service: bytes
    method: bytes
    data: bytes = b""
    messageNumber: ClassVar[int] = MSG.USERAUTH_REQUEST

    def encode(self) -> bytes:
        """The payload."""
        w = SSHWriter().string(self.username).string(self.service).string(self.method)
        return w.raw(self.data).bytes()


UserauthRequest = (
    NoneRequest
    | PublicKeyRequest
    | PasswordRequest
    | KeyboardInteractiveRequest
    | UnknownMethodRequest
)


def parseUserauthRequest(payload: bytes) -> UserauthRequest:
    """Read a USERAUTH_REQUEST payload (without the message number)."""
    r = SSHReader(payload)
    username, service, method = r.string(), r.string(), r.string()
    request: UserauthRequest
    if method == b"none":
        request = NoneRequest(username, service)
    elif method == b"publickey":
        signed = r.boolean()
        algorithm, blob = r.string(), r.string()
        request = PublicKeyRequest(
            username, service, algorithm, blob, r.string() if signed else None
        )
    elif method == b"password":
        change = r.boolean()
        password = r.string()
        request = PasswordRequest(username, service, password, r.string() if change else None)
    elif method == b"keyboard-interactive":
        request = KeyboardInteractiveRequest(username, service, r.string(), r.string())
    else:
        return UnknownMethodRequest(username, service, method, r.rest())
    r.done()
    return request


def publicKeySignatureData(
    sessionID: bytes, username: bytes, service: bytes, algorithm: bytes, blob: bytes
) -> bytes:
    """What a publickey signature signs (RFC 4252 §7): the session id, then the request."""
    w = SSHWriter().string(sessionID).byte(MSG.USERAUTH_REQUEST)
    w.string(username).string(service).string(b"publickey").boolean(True)
    return w.string(algorithm).string(blob).bytes()


# --- server -> client ------------------------------------------------------------------------


@dataclass(frozen=True)
class UserauthFailure:
    """The attempt failed; ``methods`` may continue (RFC 4252 §5.1)."""

    methods: tuple[str, ...]
    partialSuccess: bool = False
    messageNumber: ClassVar[int] = MSG.USERAUTH_FAILURE

    def encode(self) -> bytes:
        """The payload."""
        return SSHWriter().nameList(self.methods).boolean(self.partialSuccess).bytes()


@dataclass(frozen=True)
class UserauthSuccess:
    """Authentication is complete; the requested service starts (RFC 4252 §5.1)."""

    messageNumber: ClassVar[int] = MSG.USERAUTH_SUCCESS

    def encode(self) -> bytes:
        """The (empty) payload."""
        return b""


@dataclass(frozen=True)
class UserauthBanner:
    """Text to show the user before authentication (RFC 4252 §5.4)."""

    message: str
    language: bytes = b""
    messageNumber: ClassVar[int] = MSG.USERAUTH_BANNER

    def encode(self) -> bytes:
        """The payload."""
        return SSHWriter().string(self.message).string(self.language).bytes()


@dataclass(frozen=True)
class UserauthPKOK:
    """The queried key would be accepted; sign with it (RFC 4252 §7)."""

    algorithm: bytes
    blob: bytes
    messageNumber: ClassVar[int] = MSG.USERAUTH_PK_OK

    def encode(self) -> bytes:
        """The payload."""
        return SSHWriter().string(self.algorithm).string(self.blob).bytes()


@dataclass(frozen=True)
class UserauthPasswdChangeReq:
    """The password has expired; send a change request (RFC 4252 §8)."""

    prompt: str
    language: bytes = b""
    messageNumber: ClassVar[int] = MSG.USERAUTH_PK_OK

    def encode(self) -> bytes:
        """The payload."""
        return SSHWriter().string(self.prompt).string(self.language).bytes()


@dataclass(frozen=True)
class UserauthInfoRequest:
    """Keyboard-interactive prompts (RFC 4256 §3.2): ``(prompt, echo)`` pairs."""

    name: str
    instruction: str
    prompts: tuple[tuple[str, bool], ...]
    language: bytes = b""
    messageNumber: ClassVar[int] = MSG.USERAUTH_PK_OK  # 60, SSH_MSG_USERAUTH_INFO_REQUEST

    def encode(self) -> bytes:
        """The payload."""
        w = SSHWriter().string(self.name).string(self.instruction).string(self.language)
        w.uint32(len(self.prompts))
        for prompt, echo in self.prompts:
            w.string(prompt).boolean(echo)
        return w.bytes()


@dataclass(frozen=True, repr=False)
class UserauthInfoResponse:
    """The client's answers to an INFO_REQUEST, one per prompt (RFC 4256 §3.4)."""

    responses: tuple[bytes, ...]
    messageNumber: ClassVar[int] = MSG.USERAUTH_INFO_RESPONSE

    def encode(self) -> bytes:
        """The payload."""
        w = SSHWriter().uint32(len(self.responses))
        for response in self.responses:
            w.string(response)
        return w.bytes()

    def __repr__(self) -> str:
        return f"UserauthInfoResponse(<{len(self.responses)} responses>)"


def parseInfoResponse(payload: bytes) -> UserauthInfoResponse:
    """Read an INFO_RESPONSE payload (client -> server)."""
    r = SSHReader(payload)
    count = r.uint32()
    if count > MAX_PROMPTS:
        raise _protocolError(f"too many keyboard-interactive responses ({count})")
    responses = tuple(r.string() for _ in range(count))
    r.done()
    return UserauthInfoResponse(responses)


ServerMessage = (
    UserauthFailure
    | UserauthSuccess
    | UserauthBanner
    | UserauthPKOK
    | UserauthPasswdChangeReq
    | UserauthInfoRequest
)


def parseServerMessage(
    messageNum: int, payload: bytes, method: bytes | None = None
) -> ServerMessage:
    """Read a server's userauth message; ``method`` (the one in progress) decides message 60."""
    r = SSHReader(payload)
    message: ServerMessage
    if messageNum == MSG.USERAUTH_FAILURE:
        message = UserauthFailure(tuple(r.nameList()), r.boolean())
    elif messageNum == MSG.USERAUTH_SUCCESS:
        message = UserauthSuccess()
    elif messageNum == MSG.USERAUTH_BANNER:
        message = UserauthBanner(r.text(), r.string())
    elif messageNum == 60 and method == b"publickey":
        message = UserauthPKOK(r.string(), r.string())
    elif messageNum == 60 and method == b"password":
        message = UserauthPasswdChangeReq(r.text(), r.string())
    elif messageNum == 60 and method == b"keyboard-interactive":
        name, instruction, language = r.text(), r.text(), r.string()
        count = r.uint32()
        if count > MAX_PROMPTS:
            raise _protocolError(f"too many keyboard-interactive prompts ({count})")
        prompts = tuple((r.text(), r.boolean()) for _ in range(count))
        message = UserauthInfoRequest(name, instruction, prompts, language)
    else:
        raise _protocolError(f"unexpected userauth message {messageNum}")
    r.done()
    return message
