"""CGI/1.1 (RFC 3875) scripts as resources (see ``plait.web.cgi``)."""

from __future__ import annotations

import os
from typing import Any

from plait.defer import Failure
from plait.log import Logger
from plait.protocol import ProcessProtocol
from plait.web._resource import NOT_DONE_YET, ForbiddenResource, NoResource, Resource
from plait.web._server import Request

__all__ = ["CGIDirectory", "CGIProcessProtocol", "CGIScript", "cgiEnvironment"]

_log = Logger("plait.web.cgi")

#: Request headers never passed as ``HTTP_*``: credentials, the two already given as
#: CONTENT_TYPE/CONTENT_LENGTH, and ``Proxy`` (httpoxy: HTTP_PROXY would steer the script's
#: own HTTP clients).
_HIDDEN = frozenset(
    (b"authorization", b"proxy-authorization", b"content-type", b"content-length", b"proxy")
)
_TOKEN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def cgiEnvironment(request: Request, scriptFilename: str) -> dict[str, str]:
    """The RFC 3875 meta-variables for ``request`` run by the script at ``scriptFilename``."""
    content = request.content
    content.seek(0, os.SEEK_END)
    length = content.tell()
    content.seek(0)
    qpos = request.uri.find(b"?")
    host = request.getHost()
    peer = request.getClientAddress()
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "plait",
        "SERVER_NAME": _text(request.getRequestHostname()),
        "SERVER_PORT": str(getattr(host, "port", "")),
        "SERVER_PROTOCOL": _text(request.clientproto),
        "REQUEST_METHOD": _text(request.method),
        "SCRIPT_NAME": "/" + _text(b"/".join(request.prepath)),
        "SCRIPT_FILENAME": scriptFilename,
        "QUERY_STRING": _text(request.uri[qpos + 1 :]) if qpos >= 0 else "",
        "REQUEST_URI": _text(request.uri),
        "REMOTE_ADDR": str(getattr(peer, "host", "")),
        "REMOTE_PORT": str(getattr(peer, "port", "")),
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
    }
    if request.postpath:
        env["PATH_INFO"] = "/" + _text(b"/".join(request.postpath))
    if request.isSecure():
        env["HTTPS"] = "on"
    contentType = request.getHeader(b"content-type")
    if contentType is not None:
        env["CONTENT_TYPE"] = _text(contentType)
    if length or request.method in (b"POST", b"PUT", b"PATCH"):
        env["CONTENT_LENGTH"] = str(length)
    for name, values in request.requestHeaders.getAllRawHeaders():
        lower = name.lower()
        # Underscores (and other odd bytes) would let "X_Y" collide with "X-Y": drop them.
        if lower in _HIDDEN or not set(lower) <= _TOKEN:
            continue
        key = "HTTP_" + _text(lower).upper().replace("-", "_")
        env[key] = ", ".join(_text(v) for v in values)
    return env


class CGIProcessProtocol(ProcessProtocol):
    """Feeds the request body to the script and streams its output back as the response.

    Header block bounded by ``maxHeaderBytes``; stderr kept up to ``maxErrBytes`` for the log.
    """

    maxHeaderBytes = 64 * 1024
    maxErrBytes = 64 * 1024

    def __init__(self, request: Request, scriptFilename: str) -> None:
        self.request = request
        self.scriptFilename = scriptFilename
        self._headerBuffer = b""
        self._headersDone = False
        self._failed = False
        self._stderr = bytearray()
        self._gone = False
        self._producing = False
        request.notifyFinish().addErrback(self._requestLost)

    def _requestLost(self, reason: Failure) -> None:
        self._gone = True
        self._producing = False
        if self.transport is not None:
            try:
                self.transport.signalProcess("KILL")
            except Exception:  # already exited
                pass

    def connectionMade(self) -> None:
        """Write the request body to the script's stdin, then close it."""
        assert self.transport is not None
        content = self.request.content
        content.seek(0)
        while chunk := content.read(65536):
            self.transport.write(chunk)
        self.transport.closeStdin()
        # The script's stdout is paced by the client: a slow reader pauses our pipe reads.
        self.request.registerProducer(self.transport, True)
        self._producing = True

    def _unregister(self) -> None:
        if self._producing:
            self._producing = False
            self.request.unregisterProducer()

    def errReceived(self, data: bytes) -> None:
        """Keep (bounded) stderr for the log."""
        room = self.maxErrBytes - len(self._stderr)
        if room > 0:
            self._stderr += data[:room]

    def outReceived(self, data: bytes) -> None:
        """Parse the CGI header block, then stream the body."""
        if self._gone or self._failed:
            return
        if self._headersDone:
            self.request.write(data)
            return
        self._headerBuffer += data
        buf = self._headerBuffer
        end, sep = buf.find(b"\r\n\r\n"), 4
        lf = buf.find(b"\n\n")
        if lf >= 0 and (end < 0 or lf < end):
            end, sep = lf, 2
        if end < 0:
            if len(buf) > self.maxHeaderBytes:
                self._fail("CGI header block over {limit} bytes", limit=self.maxHeaderBytes)
            return
        if end > self.maxHeaderBytes:
            self._fail("CGI header block over {limit} bytes", limit=self.maxHeaderBytes)
            return
        head, body = buf[:end], buf[end + sep :]
        self._headerBuffer = b""
        if not self._applyHeaders(head):
            return
        self._headersDone = True
        if body:
            self.request.write(body)

    def _applyHeaders(self, head: bytes) -> bool:
        status: bytes | None = None
        location = False
        sawContent = False
        for line in head.replace(b"\r\n", b"\n").split(b"\n"):
            name, colon, value = line.partition(b":")
            name = name.strip()
            if not colon or not name or not set(name.lower()) <= _TOKEN | {ord("_")}:
                self._fail("malformed CGI header line {line!r}", line=line)
                return False
            value = value.strip()
            lower = name.lower()
            if lower == b"status":
                status = value
            elif lower == b"location":
                location = True
                self.request.responseHeaders.addRawHeader(b"location", value)
            elif lower in (b"content-length", b"transfer-encoding", b"connection"):
                continue  # framing is the server's business
            else:
                if lower == b"content-type":
                    sawContent = True
                try:
                    self.request.responseHeaders.addRawHeader(name, value)
                except ValueError:
                    self._fail("bad CGI header value for {name!r}", name=name)
                    return False
        if status is not None:
            code, _, message = status.partition(b" ")
            if not code.isdigit() or not 100 <= int(code) <= 599:
                self._fail("bad CGI Status header {status!r}", status=status)
                return False
            self.request.setResponseCode(int(code), message or None)
        elif location:
            self.request.setResponseCode(302)
        if not sawContent and not location and status is None:
            self.request.setHeader(b"content-type", b"text/html")
        return True

    def _fail(self, format: str, **kwargs: Any) -> None:
        self._failed = True
        _log.error(format, script=self.scriptFilename, **kwargs)
        if self.transport is not None:
            try:
                self.transport.signalProcess("KILL")
            except Exception:
                pass
        self._answerError()

    def _answerError(self) -> None:
        if self._gone or self.request.finished or self.request.startedWriting:
            return
        self._unregister()
        self.request.responseHeaders.removeHeader(b"location")
        self.request.setResponseCode(500)
        self.request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        self.request.write(b"CGI script error\n")
        self.request.finish()

    def processEnded(self, reason: Failure) -> None:
        """Finish the response; a script that failed before its headers is a 500."""
        exitCode = getattr(reason.value, "exitCode", 0)
        stderr = bytes(self._stderr).decode("utf-8", "replace")
        if self._gone:
            return
        if not self._headersDone:
            if not self._failed:
                _log.error(
                    "CGI script {script} ended without headers (exit {code}); stderr: {stderr}",
                    script=self.scriptFilename,
                    code=exitCode,
                    stderr=stderr,
                )
                self._answerError()
            return
        if exitCode:
            _log.warn(
                "CGI script {script} exited with {code}; stderr: {stderr}",
                script=self.scriptFilename,
                code=exitCode,
                stderr=stderr,
            )
        elif stderr:
            _log.info(
                "CGI script {script} stderr: {stderr}", script=self.scriptFilename, stderr=stderr
            )
        self._unregister()
        if not self.request.finished:
            self.request.finish()


class CGIScript(Resource):
    """Runs ``filename`` as a CGI/1.1 script for every request (any method).

    The reactor (``IReactorProcess``) is ``reactor`` or else the site's. ``interpreter``
    (e.g. ``sys.executable``) runs the script as its argument instead of executing it.
    """

    isLeaf = True

    def __init__(self, filename: str, reactor: Any = None, interpreter: str | None = None) -> None:
        super().__init__()
        self.filename = os.path.abspath(filename)
        self.reactor = reactor
        self.interpreter = interpreter

    def render(self, request: Request) -> Any:
        """Start the script; its output becomes the response."""
        reactor = self.reactor if self.reactor is not None else request.site.reactor
        if reactor is None or not hasattr(reactor, "spawnProcess"):
            raise RuntimeError("CGIScript needs a reactor with spawnProcess (pass reactor=)")
        env = cgiEnvironment(request, self.filename)
        if self.interpreter is not None:
            executable, args = self.interpreter, [self.interpreter, self.filename]
        else:
            executable, args = self.filename, [self.filename]
        protocol = CGIProcessProtocol(request, self.filename)
        reactor.spawnProcess(protocol, executable, args, env, path=os.path.dirname(self.filename))
        return NOT_DONE_YET


class CGIDirectory(Resource):
    """Serves each file under ``path`` as a ``CGIScript`` (subdirectories as ``CGIDirectory``).

    Names that are empty, ``.``/``..``, hidden, or contain a separator or NUL are refused, and
    a name whose real path (symlinks resolved) leaves ``path`` is refused (403).
    """

    def __init__(self, path: str, reactor: Any = None, interpreter: str | None = None) -> None:
        super().__init__()
        self.path = os.path.abspath(path)
        self.reactor = reactor
        self.interpreter = interpreter

    def getChild(self, path: bytes, request: Request) -> Resource:
        """The script or subdirectory called ``path``."""
        name = os.fsdecode(path)
        if not name or name.startswith(".") or "/" in name or "\0" in name or os.sep in name:
            return ForbiddenResource()
        full = os.path.join(self.path, name)
        root = os.path.realpath(self.path)
        real = os.path.realpath(full)
        if os.path.commonpath([root, real]) != root:
            return ForbiddenResource()
        if os.path.isdir(real):
            return CGIDirectory(full, self.reactor, self.interpreter)
        if os.path.isfile(real):
            return CGIScript(full, self.reactor, self.interpreter)
        return NoResource()

    def render(self, request: Request) -> bytes:
        """Listing is not offered."""
        request.setResponseCode(403)
        return b"CGI directory listing is forbidden\n"
