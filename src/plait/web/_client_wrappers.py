"""Agents wrapping agents: ``RedirectAgent`` and ``ContentDecoderAgent``."""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import urljoin, urlsplit

from plait.defer import Deferred, Failure
from plait.web._client_errors import RedirectLimitError, ResponseFailed
from plait.web._client_protocol import UNKNOWN_LENGTH, Response
from plait.web._headers import Headers

__all__ = ["ContentDecoderAgent", "DeflateDecoder", "GzipDecoder", "RedirectAgent"]

_SENSITIVE = (b"authorization", b"cookie", b"proxy-authorization")


class _Discard:
    """Reads a redirect's body to its end so the connection can go back to the pool."""

    def __init__(self) -> None:
        self.done: Deferred[None] = Deferred()

    def makeConnection(self, transport: Any) -> None:
        pass

    def dataReceived(self, data: bytes) -> None:
        pass

    def connectionLost(self, reason: Failure) -> None:
        reason.trap(Exception)  # a redirect's body is of no interest, cut or not
        self.done.callback(None)


class RedirectAgent:
    """Follow redirects: 301/302/303 become GET (HEAD stays HEAD, the body is dropped) for
    other methods; 307/308 repeat the method and body. A relative ``Location`` is resolved
    against the request's URI; credentials are not sent to another origin. More than
    ``redirectLimit`` redirects fail with ``RedirectLimitError``. Each response's
    ``previousResponse`` is the redirect before it."""

    def __init__(self, agent: Any, redirectLimit: int = 20) -> None:
        self._agent = agent
        self._redirectLimit = redirectLimit

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: Any = None,
    ) -> Deferred[Response]:
        """Send the request and follow where it is redirected."""
        return self._follow(method, uri, headers, bodyProducer, 0, None)

    def _follow(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None,
        bodyProducer: Any,
        count: int,
        previous: Response | None,
    ) -> Deferred[Response]:
        d: Deferred[Response] = self._agent.request(method, uri, headers, bodyProducer)

        def handle(response: Response) -> Response | Deferred[Response]:
            response.previousResponse = previous
            if response.code not in (301, 302, 303, 307, 308):
                return response
            locations = response.headers.getRawHeaders(b"location")
            if not locations:
                return response  # nowhere to go: the caller sees the 3xx
            location = urljoin(uri.decode("ascii"), locations[0].decode("ascii")).encode("ascii")
            discard = _Discard()
            response.deliverBody(discard)
            if count >= self._redirectLimit:
                raise RedirectLimitError(location, response)
            newMethod, newBody, newHeaders = method, bodyProducer, headers
            if response.code in (301, 302, 303) and method not in (b"GET", b"HEAD"):
                newMethod, newBody = b"GET", None
            if newHeaders is not None and _origin(uri) != _origin(location):
                newHeaders = newHeaders.copy()
                for name in _SENSITIVE:
                    newHeaders.removeHeader(name)
            # Follow once the body is read, so the connection can be reused for it.
            return discard.done.addCallback(
                lambda _: self._follow(
                    newMethod, location, newHeaders, newBody, count + 1, response
                )
            )

        d.addCallback(handle)
        return d


def _origin(uri: bytes) -> tuple[str, str | None, int | None]:
    parts = urlsplit(uri.decode("ascii"))
    return (parts.scheme, parts.hostname, parts.port)


class _DecodingProtocol:
    """Passes a body through a decompressor to the user's protocol."""

    def __init__(self, protocol: Any, wbits: int) -> None:
        self._protocol = protocol
        self._decompressor = zlib.decompressobj(wbits)
        self._wbits = wbits
        self._started = False
        self._failed = False

    def makeConnection(self, transport: Any) -> None:
        self._transport = transport
        self._protocol.makeConnection(transport)

    def dataReceived(self, data: bytes) -> None:
        if self._failed:
            return
        try:
            if not self._started and self._wbits == zlib.MAX_WBITS and data[:1] not in (b"x", b""):
                # "deflate" in the wild is often raw DEFLATE without the zlib wrapper.
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
            out = self._decompressor.decompress(data)
        except zlib.error:
            self._failed = True
            self._protocol.connectionLost(Failure(ResponseFailed([Failure()])))
            if self._transport is not None:
                self._transport.stopProducing()
            return
        if out:
            self._protocol.dataReceived(out)

    def connectionLost(self, reason: Failure) -> None:
        if self._failed:
            reason.trap(Exception)
            return
        try:
            rest = self._decompressor.flush()
        except zlib.error:
            self._protocol.connectionLost(Failure(ResponseFailed([reason, Failure()])))
            return
        if rest:
            self._protocol.dataReceived(rest)
        self._protocol.connectionLost(reason)


class _DecodedResponse(Response):
    def __init__(self, original: Response, wbits: int) -> None:
        headers = original.headers.copy()
        headers.removeHeader(b"content-encoding")
        headers.removeHeader(b"content-length")
        super().__init__(
            original.version,
            original.code,
            original.phrase,
            headers,
            UNKNOWN_LENGTH,
            original.request,
            original._transport,
        )
        self.previousResponse = original.previousResponse
        self._original = original
        self._wbits = wbits

    def deliverBody(self, protocol: Any) -> None:
        """The decoded body to ``protocol``."""
        self._original.deliverBody(_DecodingProtocol(protocol, self._wbits))


class GzipDecoder(_DecodedResponse):
    """A response whose ``Content-Encoding: gzip`` body is delivered decoded."""

    def __init__(self, response: Response) -> None:
        super().__init__(response, 16 + zlib.MAX_WBITS)


class DeflateDecoder(_DecodedResponse):
    """A response whose ``Content-Encoding: deflate`` body (zlib-wrapped, or raw as some
    servers send it) is delivered decoded."""

    def __init__(self, response: Response) -> None:
        super().__init__(response, zlib.MAX_WBITS)


class ContentDecoderAgent:
    """Ask for compressed bodies (``Accept-Encoding``) and decode them transparently.

    ``decoders`` is a list of ``(b"gzip", GzipDecoder)`` pairs: a decoder is called with the
    response and returns the decoded response.
    """

    def __init__(self, agent: Any, decoders: list[tuple[bytes, Any]] | None = None) -> None:
        self._agent = agent
        if decoders is None:
            decoders = [(b"gzip", GzipDecoder), (b"deflate", DeflateDecoder)]
        self._decoders = {name.lower(): decoder for name, decoder in decoders}
        self._accept = b",".join(name for name, _ in decoders)

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: Any = None,
    ) -> Deferred[Response]:
        """Send with ``Accept-Encoding``; the response's body arrives decoded."""
        headers = Headers() if headers is None else headers.copy()
        headers.setRawHeaders(b"accept-encoding", [self._accept])
        d: Deferred[Response] = self._agent.request(method, uri, headers, bodyProducer)
        d.addCallback(self._decode)
        return d

    def _decode(self, response: Response) -> Response:
        codings = response.headers.getRawHeaders(b"content-encoding")
        if not codings or response.code in (204, 304):
            return response
        names = [c.strip().lower() for v in codings for c in v.split(b",") if c.strip()]
        if len(names) != 1 or names[0] not in self._decoders:
            return response  # unknown or stacked coding: hand over the body as it came
        decoded: Response = self._decoders[names[0]](response)
        return decoded
