"""One HTTP/1.1 client connection: ``HTTP11ClientProtocol`` over ``plait.wire.http_client``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plait.defer import CancelledError, Deferred, Failure, TimeoutError, succeed
from plait.protocol import Protocol
from plait.web._client_errors import (
    PartialDownloadError,
    RequestTransmissionFailed,
    ResponseDone,
    ResponseFailed,
    ResponseNeverReceived,
)
from plait.web._headers import Headers
from plait.wire import ProtocolError
from plait.wire.http_client import (
    EndOfResponse,
    HTTPClientMachine,
    ResponseBodyReceived,
    ResponseReceived,
)

__all__ = [
    "UNKNOWN_LENGTH",
    "BytesBodyProducer",
    "HTTP11ClientProtocol",
    "Request",
    "Response",
    "readBody",
]

UNKNOWN_LENGTH = -1  # a body producer's ``length`` when the size is not known in advance
_MAX_UNREAD = 1 << 20  # body bytes held before deliverBody is called, before reading pauses


class BytesBodyProducer:
    """A request body from bytes in memory; it can be produced again (redirects, retries)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.length = len(body)

    def startProducing(self, consumer: Any) -> Deferred[None]:
        """Write the whole body to ``consumer``."""
        if self.body:
            consumer.write(self.body)
        return succeed(None)

    def pauseProducing(self) -> None:
        """Nothing to pause: the body is written at once."""

    def resumeProducing(self) -> None:
        """Nothing to resume."""

    def stopProducing(self) -> None:
        """Nothing to stop."""


class Request:
    """What to send: method, target (origin- or absolute-form), headers, body producer."""

    def __init__(
        self,
        method: bytes,
        target: bytes,
        headers: Headers,
        bodyProducer: Any = None,
        absoluteURI: bytes = b"",
    ) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.bodyProducer = bodyProducer
        self.absoluteURI = absoluteURI


class _BodyTransport:
    """What a body protocol sees as its transport: flow control over the connection."""

    def __init__(self, connection: HTTP11ClientProtocol) -> None:
        self._connection = connection

    def pauseProducing(self) -> None:
        """Stop reading from the connection."""
        transport = self._connection.transport
        if transport is not None and hasattr(transport, "pauseProducing"):
            transport.pauseProducing()

    def resumeProducing(self) -> None:
        """Read from the connection again."""
        transport = self._connection.transport
        if transport is not None and hasattr(transport, "resumeProducing"):
            transport.resumeProducing()

    def stopProducing(self) -> None:
        """Give up on the body: the connection is aborted (unless the body already ended)."""
        if self._connection.state == RECEIVING:
            self._connection.abort()


class Response:
    """An HTTP response: ``version`` (``(b"HTTP", 1, 1)``), ``code``, ``phrase``, ``headers``,
    ``length`` (the body's size, or ``UNKNOWN_LENGTH``), ``request`` and ``previousResponse``
    (set by ``RedirectAgent``). The body comes through ``deliverBody(protocol)``: the protocol
    gets ``dataReceived`` pieces, then ``connectionLost(reason)`` with ``ResponseDone`` or a
    ``ResponseFailed``.
    """

    def __init__(
        self,
        version: tuple[bytes, int, int],
        code: int,
        phrase: bytes,
        headers: Headers,
        length: int,
        request: Request | None = None,
        transport: Any = None,
    ) -> None:
        self.version = version
        self.code = code
        self.phrase = phrase
        self.headers = headers
        self.length = length
        self.request = request
        self.previousResponse: Response | None = None
        self._transport = transport
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self._protocol: Any = None
        self._finished: Failure | None = None

    def __repr__(self) -> str:
        return f"<Response {self.code} {self.phrase!r}>"

    def deliverBody(self, protocol: Any) -> None:
        """Send the body to ``protocol`` (once): what arrived already, then the rest."""
        if self._protocol is not None:
            raise RuntimeError("the body was already delivered to a protocol")
        self._protocol = protocol
        protocol.makeConnection(self._transport)
        buffered, self._buffer = self._buffer, []
        for data in buffered:
            protocol.dataReceived(data)
        if self._finished is not None:
            protocol.connectionLost(self._finished)
        elif self._paused:
            self._paused = False
            self._transport.resumeProducing()

    def _bodyDataReceived(self, data: bytes) -> None:
        if self._protocol is not None:
            self._protocol.dataReceived(data)
            return
        self._buffer.append(data)
        self._buffered += len(data)
        # Nobody reads the body yet: stop reading the socket rather than buffer without bound.
        if self._buffered > _MAX_UNREAD and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pauseProducing()

    def _bodyDataFinished(self, reason: Failure) -> None:
        if self._finished is not None:
            return
        self._finished = reason
        if self._protocol is not None:
            self._protocol.connectionLost(reason)


class _BodyCollector(Protocol):
    def __init__(self, response: Response, finished: Deferred[bytes]) -> None:
        self.response = response
        self.finished = finished
        self.data: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self.finished.called:
            return
        body = b"".join(self.data)
        if reason is not None and reason.check(ResponseDone):
            self.finished.callback(body)
        else:
            reasons = [reason] if reason is not None else []
            if reason is not None and isinstance(reason.value, ResponseFailed):
                reasons = reason.value.reasons
            self.finished.errback(PartialDownloadError(reasons, self.response, body))


def readBody(response: Response) -> Deferred[bytes]:
    """The whole body as bytes; fails with ``PartialDownloadError`` (``.partial``) if cut.

    Cancelling it aborts the connection.
    """

    def cancel(d: Deferred[bytes]) -> None:
        transport = response._transport
        if transport is not None and response._finished is None:
            transport.stopProducing()

    finished: Deferred[bytes] = Deferred(cancel)
    response.deliverBody(_BodyCollector(response, finished))
    return finished


class _BodyConsumer:
    """Where a body producer writes: frames the bytes through the machine."""

    def __init__(self, connection: HTTP11ClientProtocol) -> None:
        self._connection = connection

    def write(self, data: bytes) -> None:
        self._connection._writeBody(data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        transport: Any = self._connection.transport
        if transport is not None:
            transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        transport: Any = self._connection.transport
        if transport is not None:
            transport.unregisterProducer()


# Connection states.
QUIESCENT = "QUIESCENT"
TRANSMITTING = "TRANSMITTING"
WAITING = "WAITING"
RECEIVING = "RECEIVING"
DONE = "DONE"
LOST = "LOST"


class HTTP11ClientProtocol(Protocol):
    """One connection carrying one request at a time.

    ``request(request)`` fires with the ``Response`` once its head has arrived. When the
    response is complete and the connection can carry another, ``quiescentCallback(self)``
    is called (the pool keeps it). ``readTimeout`` seconds without a byte from the server
    (while a response is due) abort the connection with ``TimeoutError``.
    """

    def __init__(
        self,
        clock: Any = None,
        readTimeout: float | None = None,
        quiescentCallback: Callable[[HTTP11ClientProtocol], None] | None = None,
    ) -> None:
        self._clock = clock
        self._readTimeout = readTimeout
        self._quiescentCallback = quiescentCallback
        self._machine = HTTPClientMachine()
        self.state = QUIESCENT
        self.reused = False  # set by the pool when it hands out a cached connection
        self._responseDeferred: Deferred[Response] | None = None
        self._response: Response | None = None
        self._request: Request | None = None
        self._timer: Any = None
        self._timedOut = False
        self._abortReason: Failure | None = None
        self._transmitFailure: Failure | None = None
        self._lostCallbacks: list[Callable[[], None]] = []

    def notifyOnLost(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once when the connection is lost."""
        self._lostCallbacks.append(callback)

    def request(self, request: Request) -> Deferred[Response]:
        """Send ``request``; fires with its ``Response``. Cancelling aborts the connection."""
        if self.state != QUIESCENT:
            raise RuntimeError(f"the connection is busy ({self.state})")
        assert self.transport is not None
        producer = request.bodyProducer
        if producer is None:
            length: int | None = 0
        else:
            length = None if producer.length == UNKNOWN_LENGTH else int(producer.length)
        pairs = [
            (name, value) for name, values in request.headers.getAllRawHeaders() for value in values
        ]
        self._request = request
        self._response = None
        deferred: Deferred[Response] = Deferred(self._cancel)
        self._responseDeferred = deferred
        try:
            head = self._machine.sendRequest(request.method, request.target, pairs, length)
        except ProtocolError:
            self._responseDeferred = None
            return _failed(Failure())
        self.state = TRANSMITTING
        self.transport.write(head)
        self._startTimer()
        if producer is None:
            self._transmitted()
        else:
            try:
                produced = producer.startProducing(_BodyConsumer(self))
            except Exception:
                produced = Deferred()
                produced.errback(Failure())
            produced.addCallbacks(self._producerDone, self._producerFailed)
        return deferred

    def _writeBody(self, data: bytes) -> None:
        if self.state != TRANSMITTING or self.transport is None:
            return
        self.transport.write(self._machine.sendBody(data))

    def _producerDone(self, _: object) -> None:
        if self.state != TRANSMITTING or self.transport is None:
            return  # answered (or lost) before the body was sent: it is not reused
        try:
            self.transport.write(self._machine.endBody())
        except ProtocolError:
            self._producerFailed(Failure())
            return
        self._transmitted()

    def _producerFailed(self, failure: Failure) -> None:
        self._transmitFailure = failure
        deferred, self._responseDeferred = self._responseDeferred, None
        if deferred is not None and not deferred.called:
            deferred.errback(RequestTransmissionFailed([failure]))
        self.abort()

    def _transmitted(self) -> None:
        if self.state == TRANSMITTING:
            self.state = WAITING

    def _startTimer(self) -> None:
        if self._readTimeout is None or self._clock is None:
            return
        if self._timer is not None and self._timer.active():
            self._timer.reset(self._readTimeout)
        else:
            self._timer = self._clock.callLater(self._readTimeout, self._timeout)

    def _stopTimer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _timeout(self) -> None:
        self._timer = None
        if self._response is not None and self._response._paused:
            self._startTimer()  # we stopped reading, not the server: not its silence
            return
        self._timedOut = True
        self._abortReason = Failure(
            TimeoutError(f"no data from the server for {self._readTimeout} seconds")
        )
        self.abort()

    def _cancel(self, deferred: Deferred[Response]) -> None:
        self._responseDeferred = None
        self._abortReason = Failure(CancelledError("request cancelled"))
        deferred.errback(CancelledError("request cancelled"))
        self.abort()

    def abort(self) -> None:
        """Drop the connection now."""
        transport: Any = self.transport
        if transport is not None and self.state != LOST:
            transport.abortConnection()

    def dataReceived(self, data: bytes) -> None:
        if self.state in (QUIESCENT, LOST):
            # The server talked out of turn: the connection cannot be trusted.
            self.abort()
            return
        if self._timer is not None:
            self._startTimer()
        try:
            events = self._machine.receiveData(data)
        except ProtocolError:
            self._abortReason = Failure()
            self.abort()
            return
        for event in events:
            if isinstance(event, ResponseReceived):
                self._headReceived(event)
            elif isinstance(event, ResponseBodyReceived):
                if self._response is not None:
                    self._response._bodyDataReceived(event.data)
            elif isinstance(event, EndOfResponse):
                self._finished(event.keepAlive)
            if self.state == LOST:
                return

    def _headReceived(self, event: ResponseReceived) -> None:
        major, minor = event.version.split(b".")
        length = UNKNOWN_LENGTH if event.length is None else event.length
        self._response = response = Response(
            (b"HTTP", int(major), int(minor)),
            event.code,
            event.phrase,
            Headers.fromPairs(event.headers),
            length,
            self._request,
            _BodyTransport(self),
        )
        self.state = RECEIVING
        deferred, self._responseDeferred = self._responseDeferred, None
        if deferred is not None:
            deferred.callback(response)

    def _finished(self, keepAlive: bool) -> None:
        self._stopTimer()
        response, self._response = self._response, None
        reusable = keepAlive and self.state == RECEIVING and self._transmitFailure is None
        if reusable:
            try:
                self._machine.startNextCycle()
            except ProtocolError:  # bytes after the response: not safe to reuse
                reusable = False
        self.state = QUIESCENT if reusable else DONE
        transport: Any = self.transport
        # Back to the pool before the body's end is announced: whoever reacts to that end
        # (a redirect, the next request in a loop) then finds the connection ready.
        if not reusable or self._quiescentCallback is None:
            transport.loseConnection()
        else:
            self._quiescentCallback(self)
        if response is not None:
            response._bodyDataFinished(Failure(ResponseDone("response complete")))

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self._stopTimer()
        previous, self.state = self.state, LOST
        if self._abortReason is not None:
            reason = self._abortReason
        response, self._response = self._response, None
        if response is not None:
            try:
                self._machine.connectionClosed()
            except ProtocolError:
                failure = Failure()
                response._bodyDataFinished(Failure(ResponseFailed([reason, failure])))
            else:  # a close-delimited body ended
                if self._abortReason is not None:
                    response._bodyDataFinished(Failure(ResponseFailed([reason])))
                else:
                    response._bodyDataFinished(Failure(ResponseDone("response complete")))
        deferred, self._responseDeferred = self._responseDeferred, None
        if deferred is not None and not deferred.called and previous != QUIESCENT:
            deferred.errback(ResponseNeverReceived([reason]))
        callbacks, self._lostCallbacks = self._lostCallbacks, []
        for callback in callbacks:
            callback()


def _failed(failure: Failure) -> Deferred[Response]:
    d: Deferred[Response] = Deferred()
    d.errback(RequestTransmissionFailed([failure]))
    return d
