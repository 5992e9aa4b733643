"""``Site`` (the factory), ``Request`` (one request and its response) and ``Session``."""

from __future__ import annotations

import inspect
import io
import secrets
import tempfile
import time
from email.utils import formatdate
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote_to_bytes

from plait.defer import Deferred, Failure, ensureDeferred, fail, succeed
from plait.log import Logger
from plait.protocol import ServerFactory
from plait.web._forms import parseMultipart
from plait.web._headers import Headers, canonicalName
from plait.web._http import HTTPChannel
from plait.web._resource import NOT_DONE_YET, ErrorPage, Resource, getChildForRequest
from plait.wire.http import RESPONSES, encodeChunk

if TYPE_CHECKING:
    from plait.wire.http import RequestReceived

__all__ = ["Request", "Session", "Site"]

_log = Logger("plait.web")
_NO_BODY_CODES = frozenset((204, 304))
_SERVER_LINE = b"Server: plait\r\n"
_OK_11 = b"HTTP/1.1 200 OK\r\n"
_dateCache: list[Any] = [0, b"", b""]
_statusCache: dict[tuple[bytes, int], bytes] = {}
_lengthCache: dict[int, bytes] = {}
_SCANNED_HEADERS = 12  # getHeader looks through this many parsed pairs before building Headers


def _dateLine(withServer: bool = False) -> bytes:
    """``Date: ...\\r\\n`` (and then the Server line if ``withServer``), made once a second."""
    now = int(time.time())
    if _dateCache[0] != now:
        line = b"Date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
        _dateCache[:] = [now, line, line + _SERVER_LINE]
    return _dateCache[2 if withServer else 1]  # type: ignore[no-any-return]


def _lengthLine(length: int) -> bytes:
    line = _lengthCache.get(length)
    if line is None:
        line = b"Content-Length: %d\r\n" % length
        if length < 1024:  # small bodies repeat (error pages, fixed answers); keep it bounded
            _lengthCache[length] = line
    return line


def _statusLine(version: bytes, code: int) -> bytes:
    line = _statusCache.get((version, code))
    if line is None:
        reason = RESPONSES.get(code, b"Unknown Status")
        line = b"HTTP/%s %d %s\r\n" % (version, code, reason)
        if len(_statusCache) < 2048:  # codes come from the application; keep it bounded
            _statusCache[(version, code)] = line
    return line


class Session:
    """Per-browser state kept by a ``Site``; expires after ``sessionTimeout`` idle seconds."""

    sessionTimeout: float = 900

    def __init__(self, site: Site, uid: bytes) -> None:
        self.site = site
        self.uid = uid
        self.lastModified = site._now()
        self._expireCallbacks: list[Any] = []
        self._timer: Any = None
        self._schedule(self.sessionTimeout)

    def _schedule(self, delay: float) -> None:
        clock = self.site.reactor
        if clock is not None:
            self._timer = clock.callLater(delay, self._check)

    def _check(self) -> None:
        self._timer = None
        remaining = self.lastModified + self.sessionTimeout - self.site._now()
        if remaining > 0:
            self._schedule(remaining)
        else:
            self.expire()

    def touch(self) -> None:
        """Mark the session used now (postpones expiry)."""
        self.lastModified = self.site._now()

    def notifyOnExpire(self, callback: Any) -> None:
        """Call ``callback()`` when the session expires."""
        self._expireCallbacks.append(callback)

    def expire(self) -> None:
        """End the session now."""
        self.site.sessions.pop(self.uid, None)
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        callbacks, self._expireCallbacks = self._expireCallbacks, []
        for callback in callbacks:
            callback()


class Site(ServerFactory):
    """Publishes a resource tree over HTTP/1.1; builds an ``HTTPChannel`` per connection.

    ``reactor`` (an ``IReactorTime``) drives timeouts and session expiry; without one there
    are none. ``accessLog``: True logs each request in the Combined Log Format to the
    ``plait.web.access`` namespace; ``logPath`` also appends those lines to a file.
    """

    requestFactory: Any = None  # set below to Request
    sessionFactory: type[Session] = Session
    displayTracebacks = False
    maxRequestLine = 8190
    maxHeaderBytes = 65536
    maxHeaders = 100
    maxBodySize: int | None = 64 * 1024 * 1024
    maxPipelineBytes = 65536
    spoolSize = 1024 * 1024
    idleTimeout: float | None = 60.0
    headerTimeout: float | None = 30.0
    bodyTimeout: float | None = 60.0
    lingerTimeout: float = 2.0
    lingerBytes = 1024 * 1024

    def __init__(
        self,
        resource: Resource,
        reactor: Any = None,
        *,
        accessLog: bool = True,
        logPath: str | None = None,
    ) -> None:
        self.resource = resource
        self.reactor = reactor
        self.sessions: dict[bytes, Session] = {}
        self.accessLog = accessLog
        self.logPath = logPath
        self._logFile: IO[str] | None = None
        self._accessLogger = Logger("plait.web.access")

    def buildProtocol(self, addr: Any) -> HTTPChannel:
        """A channel for one connection."""
        channel = HTTPChannel(self)
        channel.factory = self
        return channel

    def _now(self) -> float:
        return self.reactor.seconds() if self.reactor is not None else time.monotonic()

    def getResourceFor(self, request: Request) -> Resource:
        """The resource that renders ``request`` (walking its ``postpath``)."""
        request.sitepath = request.prepath[:]
        resource = self.resource
        if resource.isLeaf:
            return resource
        return getChildForRequest(resource, request)

    def makeSession(self) -> Session:
        """A new session with an unguessable id."""
        uid = secrets.token_hex(20).encode("ascii")
        session = self.sessionFactory(self, uid)
        self.sessions[uid] = session
        return session

    def getSession(self, uid: bytes) -> Session:
        """The live session ``uid`` (``KeyError`` if there is none)."""
        return self.sessions[uid]

    def log(self, request: Request) -> None:
        """Log ``request`` in the Combined Log Format (and append it to ``logPath``)."""
        if not self.accessLog and self.logPath is None:
            return
        line = combinedLogLine(request)
        if self.accessLog:
            self._accessLogger.info("{line}", line=line)
        if self.logPath is not None:
            if self._logFile is None:
                self._logFile = open(self.logPath, "a", encoding="utf-8")  # noqa: SIM115
            self._logFile.write(line + "\n")
            self._logFile.flush()

    def stopFactory(self) -> None:
        """Close the access log file."""
        if self._logFile is not None:
            self._logFile.close()
            self._logFile = None


def _quoteLog(value: bytes | None) -> str:
    if value is None:
        return "-"
    text = value.decode("latin-1")
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text


_logDateCache: list[Any] = [0, ""]


def combinedLogLine(request: Request) -> str:
    """``host - - [date] "METHOD uri HTTP/x" code length "referer" "agent"``."""
    now = int(time.time())
    if _logDateCache[0] != now:
        _logDateCache[0] = now
        _logDateCache[1] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    peer = request.getClientAddress()
    host = getattr(peer, "host", "-")
    line = _quoteLog(b"%s %s %s" % (request.method, request.uri, request.clientproto))
    return (
        f'{host} - - [{_logDateCache[1]}] "{line}" {request.code} {request.sentLength or "-"} '
        f'"{_quoteLog(request.getHeader(b"referer"))}" '
        f'"{_quoteLog(request.getHeader(b"user-agent"))}"'
    )


class Request:
    """One HTTP request and the response being written to it (Twisted's API)."""

    __slots__ = (
        "__weakref__",
        "_args",
        "_chunked",
        "_content",
        "_cookies",
        "_cookiesOut",
        "_lost",
        "_noBody",
        "_notifications",
        "_producer",
        "_requestHeaders",
        "_requestPairs",
        "_responseHeaders",
        "channel",
        "clientproto",
        "code",
        "code_message",
        "finished",
        "keepAlive",
        "method",
        "path",
        "postpath",
        "prepath",
        "sentLength",
        "session",
        "site",
        "sitepath",
        "startedWriting",
        "uri",
    )

    def __init__(self, channel: HTTPChannel, event: RequestReceived) -> None:
        self.channel = channel
        self.site: Site = channel.site
        self.method = event.method
        target = event.target
        self.uri = target
        version = event.version
        self.clientproto = b"HTTP/1.1" if version == b"1.1" else b"HTTP/" + version
        # Both header objects are built on first use: a plain GET often needs neither.
        self._requestPairs = event.headers
        self._requestHeaders: Headers | None = None
        self._responseHeaders: Headers | None = None
        if target[:1] != b"/":
            target = self._absoluteForm(target)
        qpos = target.find(b"?")
        path = target if qpos < 0 else target[:qpos]
        self.path = path
        self.prepath: list[bytes] = []
        segments = path[1:].split(b"/")
        if b"%" in path:
            segments = [unquote_to_bytes(s) for s in segments]
        self.postpath: list[bytes] = segments
        self.sitepath: list[bytes] = []
        self.code = 200
        self.code_message: bytes | None = None
        self.keepAlive = event.keepAlive
        self.finished = False
        self.startedWriting = False
        self.sentLength = 0
        self.session: Session | None = None
        self._args: dict[bytes, list[bytes]] | None = None
        self._cookies: dict[bytes, bytes] | None = None
        self._content: IO[bytes] | None = None
        self._chunked = False
        self._noBody = False
        self._notifications: list[Deferred[None]] | None = None
        self._lost: Failure | None = None
        self._producer: Any = None
        self._cookiesOut: list[bytes] | None = None

    def _absoluteForm(self, target: bytes) -> bytes:
        """``http://host/path?q`` -> ``/path?q``, with the target's host as the Host header."""
        scheme, sep, rest = target.partition(b"://")
        if not sep or scheme.lower() not in (b"http", b"https"):
            return b"/" + target if target != b"*" else b"/"
        slash = rest.find(b"/")
        authority = rest if slash < 0 else rest[:slash]
        path = b"/" if slash < 0 else rest[slash:]
        if b"?" in authority:
            authority, _, query = authority.partition(b"?")
            path = b"/?" + query
        self.requestHeaders.setRawHeaders(b"host", [authority])
        return path

    def __repr__(self) -> str:
        return f"<Request {self.method.decode()} {self.uri!r} {self.clientproto.decode()}>"

    @property
    def requestHeaders(self) -> Headers:
        """The request's header fields."""
        headers = self._requestHeaders
        if headers is None:
            headers = self._requestHeaders = Headers.fromPairs(self._requestPairs)
        return headers

    @requestHeaders.setter
    def requestHeaders(self, value: Headers) -> None:
        self._requestHeaders = value

    @property
    def responseHeaders(self) -> Headers:
        """The response's header fields (written with the first byte of the body)."""
        headers = self._responseHeaders
        if headers is None:
            headers = self._responseHeaders = Headers()
        return headers

    @responseHeaders.setter
    def responseHeaders(self, value: Headers) -> None:
        self._responseHeaders = value

    # -- receiving ---------------------------------------------------------------------------

    def handleContentChunk(self, data: bytes) -> None:
        """Store a piece of the body (in memory, spooled to disk past ``site.spoolSize``)."""
        if self._content is None:
            self._content = tempfile.SpooledTemporaryFile(max_size=self.site.spoolSize)  # noqa: SIM115
        self._content.write(data)

    @property
    def content(self) -> IO[bytes]:
        """The request body as a file object, positioned at its start."""
        if self._content is None:
            self._content = io.BytesIO()
        return self._content

    @content.setter
    def content(self, value: IO[bytes]) -> None:
        self._content = value

    def requestReceived(self) -> None:
        """The whole request is in: find the resource and render it."""
        if self._content is not None:
            self._content.seek(0)
        try:
            resource = self.site.getResourceFor(self)
        except Exception:
            self.processingFailed(Failure())
            return
        self.render(resource)

    def render(self, resource: Resource) -> None:
        """Render ``resource`` and write what it returns (see ``Resource.render``)."""
        try:
            body = resource.render(self)
        except Exception:
            self.processingFailed(Failure())
            return
        if type(body) is bytes:
            self._finishWith(body)
        elif body is NOT_DONE_YET:
            return
        elif isinstance(body, Deferred) or inspect.isawaitable(body):
            d: Deferred[Any] = ensureDeferred(body)  # type: ignore[call-overload]
            d.addCallbacks(self._rendered, self.processingFailed)
        else:
            self.processingFailed(
                Failure(TypeError(f"{resource!r}.render returned {body!r}, not bytes"))
            )

    def _rendered(self, body: object) -> None:
        if self.finished or self._lost is not None:
            return
        if isinstance(body, bytes):
            self._finishWith(body)
        elif body is None:
            self.finish()
        elif body is not NOT_DONE_YET:
            self.processingFailed(Failure(TypeError(f"render's Deferred fired with {body!r}")))

    def processingFailed(self, reason: Failure) -> None:
        """Log an error from rendering; answer 500 if nothing was written yet."""
        _log.failure("Error rendering {request!r}", reason, request=self)
        if self.finished or self._lost is not None:
            return
        if self.startedWriting:
            self.keepAlive = False
            self.channel.transport.abortConnection()  # type: ignore[union-attr]
            self.finished = True
            self.channel.requestDone(self)
            return
        self.responseHeaders = Headers()
        self._cookiesOut = None
        page = ErrorPage(500, "Internal Server Error", "An error occurred rendering the page.")
        if self.site.displayTracebacks:
            page.detail = reason.getTraceback()
        self._finishWith(page.render(self))

    # -- arguments, headers, cookies -----------------------------------------------------------

    @property
    def args(self) -> dict[bytes, list[bytes]]:
        """Query and form arguments (urlencoded or multipart), bytes keys to lists of bytes."""
        if self._args is None:
            self._args = self._parseArgs()
        return self._args

    @args.setter
    def args(self, value: dict[bytes, list[bytes]]) -> None:
        self._args = value

    def _parseArgs(self) -> dict[bytes, list[bytes]]:
        args: dict[bytes, list[bytes]] = {}
        qpos = self.uri.find(b"?")
        if qpos >= 0:
            args = parse_qs(self.uri[qpos + 1 :], keep_blank_values=True)
        if self._content is None:
            return args
        ctype = self.getHeader(b"content-type") or b""
        kind = ctype.split(b";", 1)[0].strip().lower()
        if kind == b"application/x-www-form-urlencoded":
            position = self._content.tell()
            self._content.seek(0)
            body = self._content.read()
            self._content.seek(position)
            for key, values in parse_qs(body, keep_blank_values=True).items():
                args.setdefault(key, []).extend(values)
        elif kind == b"multipart/form-data":
            position = self._content.tell()
            self._content.seek(0)
            body = self._content.read()
            self._content.seek(position)
            for key, values in parseMultipart(ctype, body).items():
                args.setdefault(key, []).extend(values)
        return args

    def getHeader(self, key: bytes | str) -> bytes | None:
        """The last value of request header ``key``, or None."""
        if isinstance(key, str):
            key = key.encode("ascii")
        key = key.lower()
        headers = self._requestHeaders
        if headers is None and len(self._requestPairs) <= _SCANNED_HEADERS:
            found = None
            for name, value in self._requestPairs:  # a few pairs: no need for the dict yet
                if name == key:
                    found = value
            return found
        values = self.requestHeaders._raw.get(key)
        return values[-1] if values else None

    def setHeader(self, name: bytes | str, value: bytes | str) -> None:
        """Set response header ``name`` to the single ``value``."""
        self.responseHeaders.setRawHeaders(name, [value])

    def getAllHeaders(self) -> dict[bytes, bytes]:
        """Request headers as a dict (lower-case name -> last value)."""
        return {name: values[-1] for name, values in self.requestHeaders._raw.items()}

    def getCookie(self, key: bytes) -> bytes | None:
        """The value of the request cookie ``key``, or None."""
        if self._cookies is None:
            cookies: dict[bytes, bytes] = {}
            for header in self.requestHeaders._raw.get(b"cookie", ()):
                for pair in header.split(b";"):
                    name, sep, value = pair.strip().partition(b"=")
                    if sep and name not in cookies:
                        cookies[name] = value
            self._cookies = cookies
        return self._cookies.get(key)

    def addCookie(
        self,
        k: bytes | str,
        v: bytes | str,
        expires: bytes | str | None = None,
        domain: bytes | str | None = None,
        path: bytes | str | None = None,
        max_age: bytes | str | int | None = None,
        comment: bytes | str | None = None,
        secure: bool | None = None,
        httpOnly: bool = False,
        sameSite: bytes | str | None = None,
    ) -> None:
        """Add a ``Set-Cookie`` header (values with ``;``, CR or LF are refused)."""

        def b(value: bytes | str | int) -> bytes:
            out = str(value).encode() if not isinstance(value, bytes) else value
            if any(c in out for c in (b";", b"\r", b"\n", b"\0")):
                raise ValueError(f"invalid cookie attribute {out!r}")
            return out

        parts = [b(k) + b"=" + b(v)]
        for label, value in (
            (b"Expires", expires),
            (b"Domain", domain),
            (b"Path", path),
            (b"Max-Age", max_age),
            (b"Comment", comment),
            (b"SameSite", sameSite),
        ):
            if value is not None:
                parts.append(label + b"=" + b(value))
        if secure:
            parts.append(b"Secure")
        if httpOnly:
            parts.append(b"HttpOnly")
        if self._cookiesOut is None:
            self._cookiesOut = []
        self._cookiesOut.append(b"; ".join(parts))

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        """Set the response status (before anything is written)."""
        if not isinstance(code, int):
            raise TypeError("code must be an int")
        self.code = code
        self.code_message = message

    def redirect(self, url: bytes | str) -> None:
        """Answer 302 Found with ``Location: url``."""
        self.setResponseCode(302)
        self.setHeader(b"location", url)

    def getHost(self) -> Any:
        """The server's address of this connection."""
        return self.channel.transport.getHost()  # type: ignore[union-attr]

    def getClientAddress(self) -> Any:
        """The client's address."""
        return self.channel.transport.getPeer()  # type: ignore[union-attr]

    def getRequestHostname(self) -> bytes:
        """The host named by the Host header (without port), else the server's address."""
        host = self.getHeader(b"host")
        if host:
            if host.startswith(b"["):
                return host[1 : host.find(b"]")]
            return host.rsplit(b":", 1)[0] if host.count(b":") == 1 else host
        return str(getattr(self.getHost(), "host", "")).encode("ascii")

    def isSecure(self) -> bool:
        """Whether the request came over TLS."""
        return self.channel.secure

    def getSession(self) -> Session:
        """This browser's session (created, and its cookie set, on first use)."""
        if self.session is not None:
            self.session.touch()
            return self.session
        uid = self.getCookie(b"PLAIT_SESSION")
        if uid is not None:
            found = self.site.sessions.get(uid)
            if found is not None:
                found.touch()
                self.session = found
                return found
        session = self.site.makeSession()
        self.addCookie(
            b"PLAIT_SESSION",
            session.uid,
            path=b"/",
            httpOnly=True,
            sameSite=b"Lax",
            secure=self.isSecure() or None,
        )
        self.session = session
        return session

    def prePathURL(self) -> bytes:
        """The absolute URL of the resource being rendered."""
        scheme = b"https" if self.isSecure() else b"http"
        host = self.getHeader(b"host") or self.getRequestHostname()
        path = b"/".join(self.prepath)
        return b"%s://%s/%s" % (scheme, host, path)

    # -- writing -----------------------------------------------------------------------------

    def _head(self, bodyLength: int | None) -> bytes:
        """The status line and headers; decides how the body is framed."""
        self.startedWriting = True
        code = self.code
        headers = self._responseHeaders
        raw = headers._raw if headers is not None else None
        version = self.clientproto[5:]
        noBody = code in _NO_BODY_CODES or code < 200 or self.method == b"HEAD"
        self._noBody = noBody
        extra = b""
        framed = False
        if raw:
            connection = raw.get(b"connection")
            if connection is not None and b"close" in b",".join(connection).lower():
                self.keepAlive = False
            framed = b"content-length" in raw or b"transfer-encoding" in raw
        if not framed:
            if bodyLength is not None:
                if code not in _NO_BODY_CODES and code >= 200:
                    extra = _lengthCache.get(bodyLength) or _lengthLine(bodyLength)
            elif not noBody:
                if version == b"1.1":
                    extra = b"Transfer-Encoding: chunked\r\n"
                    self._chunked = True
                else:
                    self.keepAlive = False  # the body ends when the connection does
        if not self.keepAlive:
            raw = self.responseHeaders._raw
            raw[b"connection"] = [b"close"]
        elif version == b"1.0":
            raw = self.responseHeaders._raw
            raw[b"connection"] = [b"keep-alive"]
        message = self.code_message
        if message is None:
            status = _statusCache.get((version, code)) or _statusLine(version, code)
        else:
            if b"\n" in message or b"\r" in message or b"\0" in message:
                raise ValueError("the reason phrase holds CR, LF or NUL")
            status = b"HTTP/%s %d %s\r\n" % (version, code, message)
        if not raw:
            if not self._cookiesOut:  # the common answer: nothing set but the body
                return b"".join((status, _dateLine(True), extra, b"\r\n"))
            raw = {}
        parts = [status]
        if b"date" not in raw:
            parts.append(_dateLine(b"server" not in raw))
        elif b"server" not in raw:
            parts.append(_SERVER_LINE)
        for name, values in raw.items():
            cname = canonicalName(name)
            for value in values:
                if b"\n" in value or b"\r" in value or b"\0" in value:
                    raise ValueError(f"response header {cname!r} holds CR, LF or NUL")
                parts.append(cname + b": " + value + b"\r\n")
        if self._cookiesOut:
            for cookie in self._cookiesOut:
                parts.append(b"Set-Cookie: " + cookie + b"\r\n")
        parts.append(extra)
        parts.append(b"\r\n")
        return b"".join(parts)

    def _transportWrite(self, data: bytes) -> None:
        if self._lost is None:
            self.channel.transport.write(data)  # type: ignore[union-attr]

    def write(self, data: bytes) -> None:
        """Write part of the body (the head goes first, chunked framing when needed)."""
        if self.finished:
            raise RuntimeError("Request.write called after Request.finish")
        if self._lost is not None:
            return
        if not self.startedWriting:
            head = self._head(None)
            if data and not self._noBody:
                self.sentLength += len(data)
                data = encodeChunk(data) if self._chunked else data
                self._transportWrite(head + data)
            else:
                self._transportWrite(head)
            return
        if not data or self._noBody:
            return
        self.sentLength += len(data)
        self._transportWrite(encodeChunk(data) if self._chunked else data)

    def writeSequence(self, data: list[bytes]) -> None:
        """Write several pieces of the body."""
        self.write(b"".join(data))

    def _finishWith(self, body: bytes) -> None:
        """Write ``body`` as the whole response (Content-Length set) and finish."""
        if self.finished or self._lost is not None:
            return
        if self.startedWriting:
            self.write(body)
            self.finish()
            return
        transport = self.channel.transport
        assert transport is not None
        if (
            self._responseHeaders is None
            and self.code == 200
            and self.keepAlive
            and self.clientproto == b"HTTP/1.1"
            and self.code_message is None
            and self._cookiesOut is None
            and self.method != b"HEAD"
        ):
            # The common answer (200, keep-alive, only the body set): what _head would write.
            self.startedWriting = True
            length = self.sentLength = len(body)
            lengthLine = _lengthCache.get(length) or _lengthLine(length)
            transport.write(b"".join((_OK_11, _dateLine(True), lengthLine, b"\r\n", body)))
            self._finished()
            return
        try:
            head = self._head(len(body))
        except ValueError:
            self.startedWriting = False
            self.processingFailed(Failure())
            return
        if self._noBody:
            transport.write(head)
        else:
            self.sentLength = len(body)
            transport.write(head + body)
        self._finished()

    def finish(self) -> None:
        """End the response."""
        if self.finished:
            raise RuntimeError("Request.finish called twice")
        if self._lost is not None:
            self.finished = True
            return
        if not self.startedWriting:
            self._transportWrite(self._head(0))
        elif self._chunked:
            self._transportWrite(b"0\r\n\r\n")
        self._finished()

    def _closeContent(self) -> None:
        content = self._content
        if content is not None and not isinstance(content, io.BytesIO):
            content.close()

    def _finished(self) -> None:
        self.finished = True
        if self._content is not None:
            self._closeContent()
        site = self.site
        if site.accessLog or site.logPath is not None:
            try:
                site.log(self)
            except Exception:
                _log.failure("Error writing the access log")
        notifications = self._notifications
        if notifications is not None:
            self._notifications = None
            for d in notifications:
                d.callback(None)
        self.channel.requestDone(self)

    def notifyFinish(self) -> Deferred[None]:
        """Fires when the response is finished; fails if the client disconnects first."""
        if self._lost is not None:
            return fail(self._lost)
        if self.finished:
            return succeed(None)
        d: Deferred[None] = Deferred()
        if self._notifications is None:
            self._notifications = []
        self._notifications.append(d)
        return d

    def connectionLost(self, reason: Failure | None) -> None:
        """The connection went before the response was finished."""
        if self.finished or self._lost is not None:
            return
        if reason is None:
            from plait.protocol import ConnectionDone

            reason = Failure(ConnectionDone("connection closed before the response finished"))
        self._lost = reason
        self._closeContent()
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.stopProducing()
            except Exception:
                _log.failure("Error stopping {producer!r}", producer=producer)
        notifications, self._notifications = self._notifications, None
        if notifications:
            for d in notifications:
                d.errback(reason)

    # -- IConsumer ---------------------------------------------------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Let ``producer`` write the body; the transport paces it."""
        if self._lost is not None:
            producer.stopProducing()
            return
        self._producer = producer
        self.channel.transport.registerProducer(producer, streaming)  # type: ignore[union-attr]

    def unregisterProducer(self) -> None:
        """The producer is done."""
        self._producer = None
        if self._lost is None:
            self.channel.transport.unregisterProducer()  # type: ignore[union-attr]


Site.requestFactory = Request
