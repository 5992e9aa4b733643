"""The system's accounts: PAM (through ``libpam.so.0``) and ``/etc/shadow``.

Both block (PAM may sleep on a failure, hashing takes time), so with a reactor they run in its
thread pool. ``$y$`` (yescrypt, Debian's default since 11) and other schemes plait does not
implement are checked by the system's own ``libcrypt.so.1`` (libxcrypt's ``crypt_rn``) when it
is there; plait does not implement yescrypt itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any

from plait.defer import Deferred, Failure, fail, maybeDeferred
from plait.log import Logger
from plait.reactor import blockingCallFromThread

from ._checkers import _verdict, runBlocking
from ._credentials import (
    PAM_PROMPT_ECHO_OFF,
    PAM_PROMPT_ECHO_ON,
    IPluggableAuthenticationModules,
    IUsernamePassword,
)
from ._errors import UnauthorizedLogin
from ._hashes import identifyHash, verifyPassword

__all__ = ["PAMChecker", "UNIXPasswordChecker", "pamAvailable", "systemCrypt"]

_log = Logger("plait.auth")

# --- PAM ----------------------------------------------------------------------------------

_PAM_SUCCESS = 0
_PAM_CONV_ERR = 19
_PAM_RHOST = 4


class _PamMessage(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class _PamResponse(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


_ConvFunc = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_int,
    ctypes.POINTER(ctypes.POINTER(_PamMessage)),
    ctypes.POINTER(ctypes.POINTER(_PamResponse)),
    ctypes.c_void_p,
)


class _PamConv(ctypes.Structure):
    _fields_ = [("conv", _ConvFunc), ("appdata_ptr", ctypes.c_void_p)]


_libs: dict[str, Any] = {}


def _load(name: str, soname: str) -> Any:
    if name not in _libs:
        try:
            _libs[name] = ctypes.CDLL(soname, use_errno=True)
        except OSError:
            _libs[name] = None
    return _libs[name]


def pamAvailable() -> bool:
    """Whether ``libpam.so.0`` can be loaded here."""
    return _load("pam", "libpam.so.0") is not None


Responder = Callable[[list[tuple[str, int]]], Sequence[bytes | None]]


def _passwordResponder(username: bytes, password: bytes) -> Responder:
    def respond(messages: list[tuple[str, int]]) -> list[bytes | None]:
        answers: list[bytes | None] = []
        for _text, style in messages:
            if style == PAM_PROMPT_ECHO_OFF:
                answers.append(password)
            elif style == PAM_PROMPT_ECHO_ON:
                answers.append(username)
            else:
                answers.append(None)
        return answers

    return respond


def _pamAuthenticate(
    service: str, username: bytes, respond: Responder, rhost: str | None, confdir: str | None
) -> bool:
    pam = _load("pam", "libpam.so.0")
    libc = _load("c", ctypes.util.find_library("c") or "libc.so.6")
    if pam is None or libc is None:
        raise UnauthorizedLogin("libpam.so.0 is not available")
    libc.calloc.restype = ctypes.c_void_p
    libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    libc.strdup.restype = ctypes.c_void_p
    libc.strdup.argtypes = [ctypes.c_char_p]

    def conversation(n: int, messages: Any, response: Any, appdata: Any) -> int:
        try:
            asked = [
                (
                    (messages[i].contents.msg or b"").decode("utf-8", "replace"),
                    int(messages[i].contents.msg_style),
                )
                for i in range(n)
            ]
            answers = list(respond(asked))
        except Exception as e:  # the user went away, or gave up
            _log.info("PAM conversation ended: {error}", error=str(e))
            return _PAM_CONV_ERR
        if len(answers) != n or any(a is not None and b"\0" in a for a in answers):
            return _PAM_CONV_ERR  # an answer C cannot hold whole
        # libpam frees the array and each answer, so both come from the C heap.
        array = libc.calloc(n, ctypes.sizeof(_PamResponse))
        if not array:
            return _PAM_CONV_ERR
        out = ctypes.cast(array, ctypes.POINTER(_PamResponse))
        for i, answer in enumerate(answers):
            if answer is not None:
                out[i].resp = libc.strdup(answer)
        response[0] = out
        return _PAM_SUCCESS

    conv = _PamConv(_ConvFunc(conversation), None)
    handle = ctypes.c_void_p()
    svc = service.encode()
    if confdir is not None:
        status = pam.pam_start_confdir(
            svc, username, ctypes.byref(conv), confdir.encode(), ctypes.byref(handle)
        )
    else:
        status = pam.pam_start(svc, username, ctypes.byref(conv), ctypes.byref(handle))
    if status != _PAM_SUCCESS:
        raise UnauthorizedLogin(f"pam_start failed ({status})")
    try:
        if rhost is not None:
            pam.pam_set_item.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p]
            pam.pam_set_item(handle, _PAM_RHOST, rhost.encode())
        status = pam.pam_authenticate(handle, 0)
        if status == _PAM_SUCCESS:
            status = pam.pam_acct_mgmt(handle, 0)
    finally:
        pam.pam_end(handle, status)
    return bool(status == _PAM_SUCCESS)


def _conversationResponder(reactor: Any, credentials: IPluggableAuthenticationModules) -> Responder:
    """Answers from the credentials' conversation, which runs on the reactor thread."""

    def respond(messages: list[tuple[str, int]]) -> list[bytes | None]:
        if reactor is not None:
            answers = blockingCallFromThread(reactor, credentials.pamConversation, messages)
        else:
            # No reactor: PAM runs in the caller's thread, so the answers must be ready now.
            d = maybeDeferred(credentials.pamConversation, messages)
            box: list[Any] = []
            d.addBoth(box.append)
            if not box:
                raise RuntimeError("a conversation needs a reactor to wait for answers")
            if isinstance(box[0], Failure):
                box[0].raiseException()
            answers = box[0]
        return [None if a is None else bytes(a) for a in answers]

    return respond


class PAMChecker:
    """Checks a username and password with the system's PAM stack (service ``service``).

    Runs ``pam_authenticate`` and ``pam_acct_mgmt`` through ctypes on ``libpam.so.0`` in the
    thread pool of ``reactor`` (pass None to block the caller, e.g. in a script). For
    ``UsernamePassword`` every PAM prompt with echo off is answered with the password, prompts
    with echo on with the username; ``PluggableAuthenticationModules`` credentials answer PAM's
    prompts themselves (SSH keyboard-interactive), through the reactor thread. ``confdir``
    (Linux-PAM >= 1.4) reads the service's configuration from another
    directory than ``/etc/pam.d``. The avatar id is the username as bytes.

    Each check holds a pool thread for as long as PAM takes: seconds after a failure (pam_unix's
    delay), and until the client answers for a conversation. At most ``maxConcurrent`` (4) run
    at once; more are refused at once, so that logins (any client's, before authentication)
    cannot take the whole pool (10 threads by default) from the reactor's other work.
    """

    credentialInterfaces: Sequence[type] = (IUsernamePassword, IPluggableAuthenticationModules)

    def __init__(
        self,
        reactor: Any,
        service: str = "sshd",
        confdir: str | None = None,
        *,
        maxConcurrent: int = 4,
    ) -> None:
        self.reactor = reactor
        self.service = service
        self.confdir = confdir
        self.maxConcurrent = maxConcurrent
        self.inProgress = 0

    def requestAvatarId(
        self, credentials: IUsernamePassword | IPluggableAuthenticationModules
    ) -> Deferred[bytes]:
        """The username when PAM accepts; else ``UnauthorizedLogin``."""
        if not pamAvailable():
            return fail(UnauthorizedLogin("libpam.so.0 is not available"))
        # libpam takes C strings: "alice\0junk" would log in as alice (and be "alice\0junk"
        # to the realm), a password would be cut at its NUL.
        if b"\0" in credentials.username or b"\0" in getattr(credentials, "password", b""):
            return fail(UnauthorizedLogin("NUL in user name or password"))
        if self.inProgress >= self.maxConcurrent:
            _log.warn("PAM: {n} logins in progress already; refusing one", n=self.inProgress)
            return fail(UnauthorizedLogin("too many PAM logins in progress"))
        rhost = getattr(credentials, "clientAddress", None)
        if isinstance(credentials, IUsernamePassword):
            respond = _passwordResponder(credentials.username, credentials.password)
        else:
            respond = _conversationResponder(self.reactor, credentials)
        self.inProgress += 1
        d = runBlocking(
            self.reactor,
            _pamAuthenticate,
            self.service,
            credentials.username,
            respond,
            rhost,
            self.confdir,
        )
        d.addBoth(self._finished)
        return d.addCallback(_verdict, credentials.username)

    def _finished(self, result: Any) -> Any:
        self.inProgress -= 1
        return result


# --- /etc/shadow ----------------------------------------------------------------------------

_CRYPT_DATA_SIZE = 32768  # sizeof(struct crypt_data) in libxcrypt


def systemCrypt(password: bytes, setting: str) -> str | None:
    """The system's ``crypt_rn(password, setting)`` (libxcrypt), or None when unavailable.

    Used for schemes plait does not implement, such as yescrypt (``$y$``).
    """
    lib = _load("crypt", "libcrypt.so.1")
    if lib is None or not hasattr(lib, "crypt_rn"):
        return None
    lib.crypt_rn.restype = ctypes.c_char_p
    lib.crypt_rn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    data = ctypes.create_string_buffer(_CRYPT_DATA_SIZE)
    out = lib.crypt_rn(password, setting.encode("ascii"), data, _CRYPT_DATA_SIZE)
    if not out or out.startswith(b"*"):
        return None
    return str(out.decode("ascii"))


def _checkShadow(password: bytes, hashed: str) -> bool:
    if identifyHash(hashed) is not None:
        try:
            return verifyPassword(password, hashed)
        except ValueError:
            return False
    if b"\0" in password:
        return False  # crypt(3) would check only what comes before the NUL
    computed = systemCrypt(password, hashed)
    return computed is not None and hmac.compare_digest(computed.encode(), hashed.encode())


class UNIXPasswordChecker:
    """Checks passwords against ``/etc/shadow`` (readable by root only).

    ``$6$``, ``$5$`` and ``$2b$`` are checked by plait; other schemes (``$y$`` yescrypt,
    ``$1$``...) by the system's libcrypt when present, else refused. Locked (``!``, ``*``),
    empty and expired accounts are refused. The avatar id is the username as bytes.
    """

    credentialInterfaces: Sequence[type] = (IUsernamePassword,)

    def __init__(self, reactor: Any = None, shadowPath: str = "/etc/shadow") -> None:
        self.reactor = reactor
        self.shadowPath = shadowPath

    def _lookup(self, username: bytes) -> str | None:
        try:
            with open(self.shadowPath, "rb") as f:
                for line in f:
                    fields = line.rstrip(b"\n").split(b":")
                    if fields[0] == username and len(fields) >= 2:
                        expires = fields[7] if len(fields) >= 8 else b""
                        if expires.isdigit() and time.time() // 86400 >= int(expires):
                            return None  # the account has expired
                        return fields[1].decode("ascii", "replace")
        except OSError as e:
            _log.error("cannot read {path}: {error}", path=self.shadowPath, error=str(e))
        return None

    def _check(self, username: bytes, password: bytes) -> bool:
        hashed = self._lookup(username)
        if not hashed or hashed[0] in "!*":
            return False
        return _checkShadow(password, hashed)

    def requestAvatarId(self, credentials: IUsernamePassword) -> Deferred[bytes]:
        """The username when the password matches its shadow entry; else ``UnauthorizedLogin``."""
        d = runBlocking(self.reactor, self._check, credentials.username, credentials.password)
        return d.addCallback(_verdict, credentials.username)
