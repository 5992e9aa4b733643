"""The ``ssh-userauth`` service (RFC 4252, RFC 4256) for servers and clients.

The server checks every attempt through a :class:`plait.auth.Portal`: ``publickey`` as
``SSHPrivateKey`` credentials (with the peer's address, for ``from=``), ``password`` and
``keyboard-interactive`` (one "Password:" prompt) as ``UsernamePassword``. The methods it
offers follow the credential interfaces the portal's checkers handle. Failed attempts are
limited (``maxAttempts``, OpenSSH's MaxAuthTries) and failed passwords answered only after
``failureDelay`` seconds on the transport's reactor, without blocking anything else.

Errors: :class:`AuthenticationFailed` (the client tried every method it could and the server
refused them all); protocol violations end the connection with SSH_MSG_DISCONNECT.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from plait.auth import (
    PAM_PROMPT_ECHO_OFF,
    PAM_PROMPT_ECHO_ON,
    IPluggableAuthenticationModules,
    ISSHPrivateKey,
    IUsernamePassword,
    LoginFailed,
    PluggableAuthenticationModules,
    Portal,
    SSHPrivateKey,
    UnauthorizedLogin,
    UsernamePassword,
    ValidPublicKey,
)
from plait.defer import Deferred, Failure, maybeDeferred
from plait.log import Logger
from plait.ssh._logtext import shown as _shown
from plait.wire.ssh.keys import PrivateKey
from plait.wire.ssh.types import MSG, DisconnectReason, SSHDisconnectError
from plait.wire.ssh.userauth import (
    KeyboardInteractiveRequest,
    NoneRequest,
    PasswordRequest,
    PublicKeyRequest,
    UserauthBanner,
    UserauthFailure,
    UserauthInfoRequest,
    UserauthInfoResponse,
    UserauthPasswdChangeReq,
    UserauthPKOK,
    UserauthRequest,
    UserauthSuccess,
    parseInfoResponse,
    parseServerMessage,
    parseUserauthRequest,
    publicKeySignatureData,
)

from ._service import SSHService
from ._userauth_limits import FailureLimiter

__all__ = ["AuthenticationFailed", "FailureLimiter", "SSHUserAuthClient", "SSHUserAuthServer"]

_log = Logger("plait.ssh.userauth")

_SERVER_MESSAGES = (
    MSG.USERAUTH_FAILURE,
    MSG.USERAUTH_SUCCESS,
    MSG.USERAUTH_BANNER,
    MSG.USERAUTH_PK_OK,
)

# Requests a client may pipeline while one is being checked; more is a protocol error.
_MAX_QUEUED = 32


class AuthenticationFailed(Exception):
    """The server refused every method the client could try ("Permission denied")."""

    def __init__(self, serverMethods: Sequence[str], tried: Sequence[str]) -> None:
        self.serverMethods = tuple(serverMethods)
        self.tried = tuple(tried)
        super().__init__(
            f"Permission denied ({','.join(self.serverMethods)}); tried: "
            f"{', '.join(self.tried) or 'nothing'}"
        )


def _send(transport: Any, message: Any) -> None:
    transport.sendPacket(message.messageNumber, message.encode())


def _notifyAuthenticated(transport: Any) -> None:
    """Tell the transport authentication succeeded (delayed compression starts)."""
    hook = getattr(transport, "authenticationSucceeded", None) or getattr(
        transport, "enableCompression", None
    )
    if hook is not None:
        hook()


class SSHUserAuthServer(SSHService):
    """The server side of ``ssh-userauth``: checks attempts with ``portal``, then starts
    ``nextService(avatar)`` (for example an ``SSHConnection`` built with the avatar).

    ``interfaces`` are passed to ``portal.login`` (what the realm should return, e.g.
    ``IConchUser``). The realm's ``logout`` is called when the next service stops (the
    connection ended). Options:

    - ``serviceName``: the only service a client may ask for (``b"ssh-connection"``);
    - ``banner``: text sent before the first answer (SSH_MSG_USERAUTH_BANNER);
    - ``maxAttempts``: failed attempts ("none" and successful key queries excluded) before
      disconnecting with NO_MORE_AUTH_METHODS_AVAILABLE (6, as OpenSSH);
    - ``failureDelay``: seconds before answering a failed password or keyboard-interactive
      attempt (1.0), to slow down guessing;
    - ``loginGraceTime``: seconds to finish authenticating before being disconnected (None:
      the transport's own login grace timer, ``SSHServerFactory(loginGraceTime=...)``, rules);
    - ``failureLimiter``: a :class:`FailureLimiter` shared by a server's connections, counting
      failures per client address across connections (``maxAttempts`` counts them per
      connection only).
    """

    name = b"ssh-userauth"

    def __init__(
        self,
        portal: Portal,
        interfaces: Sequence[Any],
        nextService: Callable[[Any], SSHService],
        *,
        serviceName: bytes = b"ssh-connection",
        banner: str | None = None,
        maxAttempts: int = 6,
        failureDelay: float = 1.0,
        loginGraceTime: float | None = None,
        passwordPrompt: str = "Password: ",
        failureLimiter: FailureLimiter | None = None,
    ) -> None:
        self.portal = portal
        self.failureLimiter = failureLimiter
        self.interfaces = tuple(interfaces)
        self.nextService = nextService
        self.serviceName = serviceName
        self.banner = banner
        self.maxAttempts = maxAttempts
        self.failureDelay = failureDelay
        self.loginGraceTime = loginGraceTime
        self.passwordPrompt = passwordPrompt
        #: Failed attempts so far.
        self.attempts = 0
        #: The username that logged in, once one has.
        self.username: bytes | None = None
        self._busy = False
        self._queue: deque[tuple[int, bytes]] = deque()
        self._kbdIntUser: bytes | None = None
        self._bannerSent = False
        self._done = False
        self._stopped = False
        self._timers: list[Any] = []
        self._pending: Deferred[Any] | None = None
        # A keyboard-interactive conversation waiting for the client's INFO_RESPONSE:
        # (Deferred of the answers, how many messages PAM asked, indices of the prompts).
        self._conversation: tuple[Deferred[list[bytes]], int, list[int]] | None = None
        self._infoTexts: list[str] = []

    # -- the methods we offer

    def supportedMethods(self) -> list[str]:
        """The method names the portal's checkers make possible, in OpenSSH's order."""
        ifaces = self.portal.listCredentialsInterfaces()
        methods = []
        if ISSHPrivateKey in ifaces:
            methods.append("publickey")
        if IUsernamePassword in ifaces:
            methods.append("password")
        if IUsernamePassword in ifaces or IPluggableAuthenticationModules in ifaces:
            methods.append("keyboard-interactive")
        return methods

    # -- SSHService

    def serviceStarted(self) -> None:
        """Start the login grace timer."""
        reactor = self._reactor()
        if reactor is not None and self.loginGraceTime is not None:
            self._timers.append(reactor.callLater(self.loginGraceTime, self._graceExpired))

    def serviceStopped(self) -> None:
        """Cancel timers and any login in progress."""
        self._stopped = True
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers.clear()
        self._abortConversation("the connection ended")
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.cancel()

    def packetReceived(self, messageNum: int, payload: bytes) -> None:
        """Queue while an attempt is being checked; else handle now."""
        if self._done or self._stopped:
            return
        if self._conversation is not None:
            # The back end waits for the client's answers while a login is in progress.
            if messageNum == MSG.USERAUTH_INFO_RESPONSE:
                try:
                    self._conversationAnswered(payload)
                except SSHDisconnectError as e:
                    self._disconnect(e.reason, e.description)
                return
            self._abortConversation("the client sent another request")
        if self._busy:
            if len(self._queue) >= _MAX_QUEUED:
                self._disconnect(DisconnectReason.PROTOCOL_ERROR, "too many queued requests")
                return
            self._queue.append((messageNum, payload))
            return
        try:
            self._dispatch(messageNum, payload)
        except SSHDisconnectError as e:
            self._disconnect(e.reason, e.description)

    # -- internals

    def _reactor(self) -> Any:
        return getattr(self.transport, "reactor", None)

    def _disconnect(self, reason: int, description: str) -> None:
        self._stopped = True
        if self.transport is not None:
            self.transport.sendDisconnect(reason, description)

    def _graceExpired(self) -> None:
        if not self._done and not self._stopped:
            _log.info("authentication timed out")
            self._disconnect(DisconnectReason.BY_APPLICATION, "authentication timed out")

    def _dispatch(self, messageNum: int, payload: bytes) -> None:
        if messageNum == MSG.USERAUTH_REQUEST:
            self._request(parseUserauthRequest(payload))
        elif messageNum == MSG.USERAUTH_INFO_RESPONSE:
            user = self._kbdIntUser
            if user is None:
                raise SSHDisconnectError(
                    DisconnectReason.PROTOCOL_ERROR, "unexpected INFO_RESPONSE"
                )
            self._kbdIntUser = None
            responses = parseInfoResponse(payload).responses
            if len(responses) != 1:
                raise SSHDisconnectError(
                    DisconnectReason.PROTOCOL_ERROR, "wrong number of responses"
                )
            self._login(UsernamePassword(user, responses[0]), b"keyboard-interactive", None)
        else:
            super().packetReceived(messageNum, payload)

    def _request(self, request: UserauthRequest) -> None:
        limiter = self.failureLimiter
        if limiter is not None and limiter.blocked(self._peerAddress()):
            _log.info("refused {address}: too many failures", address=self._peerAddress())
            self._disconnect(
                DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
                "too many authentication failures from this address",
            )
            return
        if self.banner is not None and not self._bannerSent:
            self._bannerSent = True
            _send(self.transport, UserauthBanner(self.banner))
        if request.service != self.serviceName:
            self._disconnect(
                DisconnectReason.SERVICE_NOT_AVAILABLE,
                f"service {request.service.decode('ascii', 'replace')} not available",
            )
            return
        self._kbdIntUser = None  # a new request abandons a keyboard-interactive exchange
        methods = self.supportedMethods()
        if isinstance(request, NoneRequest):
            _send(self.transport, UserauthFailure(tuple(methods)))
        elif isinstance(request, PublicKeyRequest) and "publickey" in methods:
            sigData = None
            if request.signature is not None:
                sessionID = getattr(self.transport, "sessionID", b"")
                sigData = publicKeySignatureData(
                    sessionID, request.username, request.service, request.algorithm, request.blob
                )
            credentials = SSHPrivateKey(
                request.username,
                request.algorithm,
                request.blob,
                sigData,
                request.signature,
                self._peerAddress(),
            )
            self._login(credentials, b"publickey", request)
        elif isinstance(request, PasswordRequest) and "password" in methods:
            if request.newPassword is not None:
                self._failed(request.username, b"password", "password change not supported")
            else:
                password = UsernamePassword(request.username, request.password)
                self._login(password, b"password", None)
        elif (
            isinstance(request, KeyboardInteractiveRequest)
            and IPluggableAuthenticationModules in self.portal.listCredentialsInterfaces()
        ):
            self._infoTexts = []
            conversation = PluggableAuthenticationModules(
                request.username, self._converse, self._peerAddress()
            )
            self._login(conversation, b"keyboard-interactive", None)
        elif isinstance(request, KeyboardInteractiveRequest) and "keyboard-interactive" in methods:
            self._kbdIntUser = request.username
            prompt = UserauthInfoRequest("", "", ((self.passwordPrompt, False),))
            _send(self.transport, prompt)
        else:
            self._failed(request.username, request.method, "method not offered")

    def _peerAddress(self) -> str | None:
        peer = self.transport.getPeer() if self.transport is not None else None
        address = getattr(peer, "host", None)
        return address if isinstance(address, str) else None

    # -- keyboard-interactive conversations (RFC 4256 with a PAM-like back end)

    def _converse(self, messages: list[tuple[str, int]]) -> Deferred[list[bytes]]:
        """The back end asks: prompts go to the client; texts wait for the next prompt."""
        d: Deferred[list[bytes]] = Deferred()
        if self._stopped or self._conversation is not None:
            d.errback(Failure(UnauthorizedLogin("no client to ask")))
            return d
        prompts: list[tuple[str, bool]] = []
        indices: list[int] = []
        for i, (text, style) in enumerate(messages):
            if style in (PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON):
                prompts.append((text, style == PAM_PROMPT_ECHO_ON))
                indices.append(i)
            else:
                self._infoTexts.append(text)
        if not prompts:
            d.callback([b""] * len(messages))
            return d
        instruction = "\n".join(self._infoTexts)
        self._infoTexts = []
        self._conversation = (d, len(messages), indices)
        _send(self.transport, UserauthInfoRequest("", instruction, tuple(prompts)))
        return d

    def _conversationAnswered(self, payload: bytes) -> None:
        assert self._conversation is not None
        d, count, indices = self._conversation
        self._conversation = None
        responses = parseInfoResponse(payload).responses
        if len(responses) != len(indices):
            d.errback(Failure(UnauthorizedLogin("wrong number of responses")))
            raise SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "wrong number of responses")
        answers = [b""] * count
        for index, response in zip(indices, responses, strict=True):
            answers[index] = response
        d.callback(answers)

    def _abortConversation(self, why: str) -> None:
        if self._conversation is not None:
            d = self._conversation[0]
            self._conversation = None
            d.errback(Failure(UnauthorizedLogin(f"conversation abandoned: {why}")))

    def _login(self, credentials: Any, method: bytes, keyQuery: PublicKeyRequest | None) -> None:
        self._busy = True
        d = self.portal.login(credentials, None, *self.interfaces)
        self._pending = d
        d.addCallbacks(
            self._loggedIn,
            self._loginFailed,
            callbackArgs=(credentials.username, method),
            errbackArgs=(credentials.username, method, keyQuery),
        )

    def _loggedIn(self, result: Any, username: bytes, method: bytes) -> None:
        self._pending = None
        _interface, avatar, logout = result
        if self._stopped:
            logout()  # the connection went away while the realm was working
            return
        self._done = True
        self.username = username
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers.clear()
        _log.info(
            "accepted {method} for {user} from {address}",
            method=method.decode("ascii", "replace"),
            user=_shown(username),
            address=self._peerAddress(),
        )
        _send(self.transport, UserauthSuccess())
        _notifyAuthenticated(self.transport)
        try:
            service = self.nextService(avatar)
        except Exception:
            logout()
            raise
        _callOnStop(service, logout)
        assert self.transport is not None
        self.transport.setService(service)

    def _loginFailed(
        self, failure: Failure, username: bytes, method: bytes, keyQuery: PublicKeyRequest | None
    ) -> None:
        self._pending = None
        if self._stopped:
            return
        if keyQuery is not None and keyQuery.signature is None and failure.check(ValidPublicKey):
            _send(self.transport, UserauthPKOK(keyQuery.algorithm, keyQuery.blob))
            self._next()
            return
        if not failure.check(LoginFailed):
            _log.failure("error checking credentials", failure)
        self._failed(username, method, failure.getErrorMessage())

    def _failed(self, username: bytes, method: bytes, why: str) -> None:
        self.attempts += 1
        if self.failureLimiter is not None:
            self.failureLimiter.failed(self._peerAddress())
        _log.info(
            "failed {method} for {user} from {address}: {why}",
            method=_shown(method),
            user=_shown(username),
            address=self._peerAddress(),
            why=_shown(why.encode("utf-8", "replace")),
        )
        if self.attempts >= self.maxAttempts:
            self._disconnect(
                DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, "too many authentication failures"
            )
            return
        reactor = self._reactor()
        if method in (b"password", b"keyboard-interactive") and self.failureDelay > 0 and reactor:
            self._busy = True
            self._timers.append(reactor.callLater(self.failureDelay, self._sendFailure))
        else:
            self._sendFailure()

    def _sendFailure(self) -> None:
        if self._stopped:
            return
        _send(self.transport, UserauthFailure(tuple(self.supportedMethods())))
        self._next()

    def _next(self) -> None:
        """The current attempt is answered: handle what was queued meanwhile."""
        self._busy = False
        while self._queue and not self._busy and not self._done and not self._stopped:
            messageNum, payload = self._queue.popleft()
            try:
                self._dispatch(messageNum, payload)
            except SSHDisconnectError as e:
                self._disconnect(e.reason, e.description)


def _callOnStop(service: SSHService, logout: Callable[[], None]) -> None:
    """Make ``service.serviceStopped`` call ``logout`` once, after its own work."""
    original = service.serviceStopped
    called = False

    def serviceStopped() -> None:
        nonlocal called
        try:
            original()
        finally:
            if not called:
                called = True
                logout()

    setattr(service, "serviceStopped", serviceStopped)  # noqa: B010 -- an instance override


GetPassword = Callable[[str], Any]
GetKbdInteractive = Callable[[str, str, list[tuple[str, bool]]], Any]


class SSHUserAuthClient(SSHService):
    """The client side of ``ssh-userauth``: logs in as ``username``, then starts
    ``nextService`` (an ``SSHConnection``).

    Methods are tried in the order of ``methods`` among those the server allows:

    - ``publickey`` with each of ``keys`` (``PrivateKey``\\s): a query first (the key is
      signed only after SSH_MSG_USERAUTH_PK_OK), RSA signing with the first of
      rsa-sha2-512/256 the server lists in ``server-sig-algs``;
    - ``keyboard-interactive``: ``getKbdInteractive(name, instruction, [(prompt, echo)...])``
      returns the answers (or a Deferred of them; None gives up). Without it, a single
      hidden prompt is answered with ``getPassword(prompt)``;
    - ``password``: ``getPassword(prompt)`` returns the password (bytes or str, or a Deferred;
      None gives up), asked at most ``passwordAttempts`` times.

    ``authenticated`` fires with None on success, or fails with :class:`AuthenticationFailed`
    (after SSH_MSG_DISCONNECT NO_MORE_AUTH_METHODS_AVAILABLE) when everything was refused.
    Banners go to ``onBanner(text)`` (default: logged).
    """

    name = b"ssh-userauth"

    def __init__(
        self,
        username: bytes | str,
        nextService: SSHService,
        keys: Sequence[PrivateKey] = (),
        getPassword: GetPassword | None = None,
        getKbdInteractive: GetKbdInteractive | None = None,
        *,
        serviceName: bytes = b"ssh-connection",
        methods: Sequence[str] = ("publickey", "keyboard-interactive", "password"),
        passwordAttempts: int = 1,
        onBanner: Callable[[str], object] | None = None,
        queryKeys: bool = True,
    ) -> None:
        self.username = username.encode("utf-8") if isinstance(username, str) else username
        self.nextService = nextService
        self.keys = list(keys)
        self.getPassword = getPassword
        self.getKbdInteractive = getKbdInteractive
        self.serviceName = serviceName
        self.methods = tuple(methods)
        self.passwordAttempts = passwordAttempts
        self.onBanner = onBanner
        self.queryKeys = queryKeys
        #: Fires with None once authenticated, or fails with AuthenticationFailed.
        self.authenticated: Deferred[None] = Deferred()
        self._method: bytes | None = None
        self._serverMethods: tuple[str, ...] = ()
        self._keyIndex = 0
        self._current: tuple[PrivateKey, str] | None = None
        self._passwordTries = 0
        self._kbdIntTries = 0
        self._tried: list[str] = []
        self._finished = False

    # -- SSHService

    def serviceStarted(self) -> None:
        """Ask with "none" which methods the server allows."""
        self._method = b"none"
        self._sendRequest(NoneRequest(self.username, self.serviceName))

    def serviceStopped(self) -> None:
        """The connection ended before authentication finished: fail ``authenticated``."""
        if not self._finished:
            self._finished = True
            self.authenticated.errback(
                Failure(AuthenticationFailed(self._serverMethods, self._tried))
            )

    def packetReceived(self, messageNum: int, payload: bytes) -> None:
        """Handle the server's answer."""
        if self._finished:
            return
        if messageNum not in _SERVER_MESSAGES:
            super().packetReceived(messageNum, payload)
            return
        try:
            message = parseServerMessage(messageNum, payload, self._method)
        except SSHDisconnectError as e:
            self._protocolError(e)
            return
        if isinstance(message, UserauthBanner):
            if self.onBanner is not None:
                self.onBanner(message.message)
            else:
                _log.info("banner: {banner}", banner=_shown(message.message.encode()))
        elif isinstance(message, UserauthSuccess):
            self._succeeded()
        elif isinstance(message, UserauthFailure):
            self._serverMethods = message.methods
            self._tryNext()
        elif isinstance(message, UserauthPKOK):
            self._keyAccepted(message)
        elif isinstance(message, UserauthInfoRequest):
            self._infoRequest(message)
        elif isinstance(message, UserauthPasswdChangeReq):
            _log.warn("the server asks for a password change; not supported")
            self._passwordTries = self.passwordAttempts
            self._tryNext()

    # -- internals

    def _sendRequest(self, request: Any) -> None:
        if self.transport is not None:
            _send(self.transport, request)

    def _protocolError(self, error: SSHDisconnectError) -> None:
        if self.transport is not None:
            self.transport.sendDisconnect(error.reason, error.description)
        self._fail(error)

    def _fail(self, error: Exception) -> None:
        if not self._finished:
            self._finished = True
            self.authenticated.errback(Failure(error))

    def _succeeded(self) -> None:
        self._finished = True
        assert self.transport is not None
        _notifyAuthenticated(self.transport)
        self.transport.setService(self.nextService)
        self.authenticated.callback(None)

    def _allowed(self, method: str) -> bool:
        return method in self._serverMethods

    def _signatureAlgorithm(self, key: PrivateKey) -> str:
        algorithms = key.signatureAlgorithms()
        serverAlgs = _serverSigAlgs(self.transport)
        if serverAlgs is not None:
            for alg in algorithms:
                if alg in serverAlgs:
                    return alg
        return algorithms[0]

    def _tryNext(self) -> None:
        for method in self.methods:
            if not self._allowed(method):
                continue
            if method == "publickey" and self._nextKey():
                return
            if method == "keyboard-interactive" and self._startKbdInt():
                return
            if method == "password" and self._startPassword():
                return
        self._exhausted()

    def _nextKey(self) -> bool:
        if self._keyIndex >= len(self.keys):
            return False
        key = self.keys[self._keyIndex]
        self._keyIndex += 1
        algorithm = self._signatureAlgorithm(key)
        self._current = (key, algorithm)
        self._method = b"publickey"
        self._tried.append(f"publickey {key.publicKey().fingerprint()}")
        if self.queryKeys:
            blob = key.publicKey().blob()
            query = PublicKeyRequest(self.username, self.serviceName, algorithm.encode(), blob)
            self._sendRequest(query)
        else:
            self._sendSigned()
        return True

    def _sendSigned(self) -> None:
        assert self._current is not None and self.transport is not None
        key, algorithm = self._current
        blob = key.publicKey().blob()
        alg = algorithm.encode()
        data = publicKeySignatureData(
            self.transport.sessionID, self.username, self.serviceName, alg, blob
        )
        signature = key.sign(data, algorithm)
        self._sendRequest(PublicKeyRequest(self.username, self.serviceName, alg, blob, signature))

    def _keyAccepted(self, message: UserauthPKOK) -> None:
        current = self._current
        if current is None or message.blob != current[0].publicKey().blob():
            self._protocolError(
                SSHDisconnectError(DisconnectReason.PROTOCOL_ERROR, "PK_OK for another key")
            )
            return
        self._sendSigned()

    def _startKbdInt(self) -> bool:
        if self.getKbdInteractive is None and self.getPassword is None:
            return False
        if self._kbdIntTries >= self.passwordAttempts:
            return False
        self._kbdIntTries += 1
        self._method = b"keyboard-interactive"
        self._tried.append("keyboard-interactive")
        self._sendRequest(KeyboardInteractiveRequest(self.username, self.serviceName))
        return True

    def _infoRequest(self, message: UserauthInfoRequest) -> None:
        prompts = list(message.prompts)
        if not prompts:
            self._answer([])
            return
        if self.getKbdInteractive is not None:
            d = maybeDeferred(self.getKbdInteractive, message.name, message.instruction, prompts)
        elif self.getPassword is not None and len(prompts) == 1 and not prompts[0][1]:
            d = maybeDeferred(self.getPassword, prompts[0][0]).addCallback(
                lambda p: None if p is None else [p]
            )
        else:
            self._kbdIntTries = self.passwordAttempts  # prompts we cannot answer: give up
            self._tryNext()
            return
        self._ask(d, self._answer)

    def _answer(self, answers: Any) -> None:
        if answers is None:
            self._kbdIntTries = self.passwordAttempts
            # Abandon the exchange: any new request ends it (RFC 4256 §3.4).
            self._tryNext()
            return
        responses = tuple(_asBytes(a) for a in answers)
        self._sendRequest(UserauthInfoResponse(responses))

    def _startPassword(self) -> bool:
        if self.getPassword is None or self._passwordTries >= self.passwordAttempts:
            return False
        self._passwordTries += 1
        self._method = b"password"
        d = maybeDeferred(
            self.getPassword, f"{self.username.decode('utf-8', 'replace')}'s password: "
        )
        self._ask(d, self._sendPassword)
        return True

    def _sendPassword(self, password: Any) -> None:
        if password is None:
            self._passwordTries = self.passwordAttempts
            self._tryNext()
            return
        self._tried.append("password")
        self._sendRequest(PasswordRequest(self.username, self.serviceName, _asBytes(password)))

    def _ask(self, d: Deferred[Any], then: Callable[[Any], None]) -> None:
        def done(result: Any) -> None:
            if not self._finished:
                then(result)

        def failed(f: Failure) -> None:
            _log.failure("asking for authentication secrets failed", f)
            if not self._finished:
                then(None)

        d.addCallbacks(done, failed)

    def _exhausted(self) -> None:
        error = AuthenticationFailed(self._serverMethods, self._tried)
        _log.info("{error}", error=str(error))
        if self.transport is not None:
            self.transport.sendDisconnect(
                DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
                "no more authentication methods available",
            )
        self._fail(error)


def _asBytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _serverSigAlgs(transport: Any) -> tuple[str, ...] | None:
    """``server-sig-algs`` from the server's EXT_INFO, if the transport has seen it."""
    algs = getattr(transport, "serverSigAlgs", None)
    if algs is None:
        extensions = getattr(transport, "extensions", None)
        if isinstance(extensions, dict):
            algs = extensions.get("server-sig-algs")
    if algs is None:
        return None
    if isinstance(algs, bytes):
        algs = algs.decode("ascii", "replace")
    if isinstance(algs, str):
        return tuple(algs.split(","))
    return tuple(algs)
