"""``HTTPChannel``: the thin protocol between a transport and ``plait.wire.http``.

It feeds bytes to the parser, makes one ``Request`` per request head, and owns the policy:
requests are answered in order (the parser holds a pipelined request until the response
before it is finished, and reading pauses when more than ``maxPipelineBytes`` wait), idle,
header and body timeouts on the site's clock, and errors answered once with their status
followed by a lingering close (the write side shut, reading and discarding for a bounded
time, so the client can read the answer before the connection goes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plait.log import Logger
from plait.protocol import Protocol
from plait.wire.http import DONE as _DONE
from plait.wire.http import (
    RESPONSES,
    BodyReceived,
    EndOfRequest,
    HTTPRequestError,
    HTTPRequestParser,
    RequestReceived,
)

if TYPE_CHECKING:
    from plait.defer import Failure
    from plait.web._server import Request, Site

__all__ = ["HTTPChannel"]

_log = Logger("plait.web")

_IDLE, _HEADERS, _BODY, _BUSY, _LINGER = range(5)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _errorResponse(code: int, version: bytes = b"1.1") -> bytes:
    reason = RESPONSES.get(code, b"Error")
    body = b"%d %s\n" % (code, reason)
    return (
        b"HTTP/%s %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
    ) % (version, code, reason, len(body), body)


class HTTPChannel(Protocol):
    """One HTTP/1.x server connection of a ``Site`` (see the module doc)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._parser = HTTPRequestParser(
            site.maxRequestLine, site.maxHeaderBytes, site.maxHeaders, site.maxBodySize
        )
        self._clock = site.reactor
        self._request: Request | None = None
        self._phase = _IDLE
        self._deadline: float | None = None
        self._timer: Any = None
        self._timerAt = 0.0  # when self._timer fires
        self._feeding = False
        self._cycled = False
        self._readPaused = False
        self._discarded = 0
        self._closed = False
        self.secure = False

    # -- connection events -----------------------------------------------------------------

    def connectionMade(self) -> None:
        """Arm the idle timeout; note whether the transport is TLS."""
        transport = self.transport
        self.secure = hasattr(transport, "getPeerCertificate")
        setNoDelay = getattr(transport, "setTcpNoDelay", None)
        if setNoDelay is not None:
            try:
                setNoDelay(True)
            except OSError:
                pass
        self._arm(self.site.idleTimeout)

    def dataReceived(self, data: bytes) -> None:
        """Feed the parser and act on its events."""
        if self._phase == _LINGER:
            self._discarded += len(data)
            if self._discarded > self.site.lingerBytes:
                self._close()
            return
        self._feed(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        """Tell a request in progress that the client went away; drop the timer."""
        self._closed = True
        self._deadline = None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        request, self._request = self._request, None
        if request is not None:
            request.connectionLost(reason)

    # -- parsing -----------------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        parser = self._parser
        self._feeding = True
        self._cycled = False
        try:
            while True:
                try:
                    events = parser.receiveData(data)
                except HTTPRequestError as e:
                    self._protocolError(e.statusCode, str(e))
                    return
                data = b""
                for event in events:
                    kind = type(event)
                    if kind is RequestReceived:
                        self._requestReceived(event)  # type: ignore[arg-type]
                    elif kind is EndOfRequest:
                        self._endOfRequest()
                    elif kind is BodyReceived:
                        self._bodyReceived(event)  # type: ignore[arg-type]
                    if self._closed:
                        return
                if not self._cycled:
                    break
                if not parser.hasBufferedData:
                    return  # answered at once and nothing waits: idle, as requestDone left it
                # A response finished at once and a pipelined request waits: go on with it.
                self._cycled = False
        finally:
            self._feeding = False
        if parser.state == _DONE:
            if not self._readPaused and parser.bufferedSize > self.site.maxPipelineBytes:
                self._readPaused = True
                self.transport.pauseProducing()  # type: ignore[union-attr]
        elif self._phase == _IDLE and parser.hasBufferedData:
            # A slow head (slowloris) gets one deadline; more bytes do not extend it.
            self._phase = _HEADERS
            self._arm(self.site.headerTimeout)

    def _requestReceived(self, event: RequestReceived) -> None:
        request = self.site.requestFactory(self, event)
        self._request = request
        if self._parser.state != _DONE:
            if event.expectContinue:
                self.transport.write(_CONTINUE)  # type: ignore[union-attr]
            self._phase = _BODY
            self._arm(self.site.bodyTimeout)

    def _bodyReceived(self, event: BodyReceived) -> None:
        request = self._request
        if request is not None and event.data:
            request.handleContentChunk(event.data)
            self._arm(self.site.bodyTimeout)

    def _endOfRequest(self) -> None:
        self._phase = _BUSY
        self._deadline = None
        request = self._request
        if request is not None:
            request.requestReceived()

    # -- answering ---------------------------------------------------------------------------

    def requestDone(self, request: Request) -> None:
        """``request`` sent its whole response: close, or start on the next request."""
        if request is not self._request or self._closed:
            return
        self._request = None
        if not request.keepAlive:
            self._close()
            return
        self._parser.startNextCycle()
        self._cycled = True
        if self._readPaused:
            self._readPaused = False
            self.transport.resumeProducing()  # type: ignore[union-attr]
        self._phase = _IDLE
        self._arm(self.site.idleTimeout)
        if not self._feeding and self._parser.bufferedSize:
            self._feed(b"")

    def _protocolError(self, code: int, message: str) -> None:
        _log.debug("Bad request from {peer}: {message}", peer=self._peer(), message=message)
        transport = self.transport
        assert transport is not None
        transport.write(_errorResponse(code))
        self._linger()

    def _linger(self) -> None:
        """Shut the write side, discard what still comes for a short while, then close."""
        self._phase = _LINGER
        self._discarded = 0
        request, self._request = self._request, None
        if request is not None:
            request.connectionLost(None)
        loseWrite = getattr(self.transport, "loseWriteConnection", None)
        if loseWrite is None:
            self._close()
            return
        loseWrite()
        self._arm(self.site.lingerTimeout)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.transport.loseConnection()  # type: ignore[union-attr]

    def _peer(self) -> str:
        try:
            peer = self.transport.getPeer()  # type: ignore[union-attr]
        except Exception:
            return "?"
        return str(getattr(peer, "host", peer))

    # -- timeouts ----------------------------------------------------------------------------

    def _arm(self, seconds: float | None) -> None:
        clock = self._clock
        if clock is None or seconds is None:
            self._deadline = None
            return
        deadline = self._deadline = clock.seconds() + seconds
        # One pending call at a time; it re-arms itself if the deadline moved later, and is
        # moved earlier here (cheaper than a reset on every request).
        if self._timer is None:
            self._timer = clock.callLater(seconds, self._checkTimeout)
            self._timerAt = deadline
        elif self._timerAt > deadline:
            self._timer.reset(seconds)
            self._timerAt = deadline

    def _checkTimeout(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self._closed:
            return
        clock = self._clock
        remaining = deadline - clock.seconds()
        if remaining > 0:
            self._timer = clock.callLater(remaining, self._checkTimeout)
            self._timerAt = deadline
            return
        self._deadline = None
        phase = self._phase
        if phase == _IDLE:
            self._close()
        elif phase in (_HEADERS, _BODY):
            _log.debug("Timed out reading a request from {peer}", peer=self._peer())
            self.transport.write(_errorResponse(408))  # type: ignore[union-attr]
            self._linger()
        elif phase == _LINGER:
            self._close()
