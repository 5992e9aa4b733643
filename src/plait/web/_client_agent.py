"""``Agent``, ``ProxyAgent`` and ``HTTPConnectionPool``: making requests over connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from plait.defer import CancelledError, Deferred, Failure
from plait.endpoints import HostnameEndpoint, wrapClientTLS
from plait.protocol import Factory, IAddress, Protocol
from plait.tls import clientOptions
from plait.web._client_errors import ResponseNeverReceived, SchemeNotSupported
from plait.web._client_protocol import (
    QUIESCENT,
    BytesBodyProducer,
    HTTP11ClientProtocol,
    Request,
    Response,
)
from plait.web._client_wrappers import ContentDecoderAgent
from plait.web._headers import Headers
from plait.wire import ProtocolError
from plait.wire.http_client import EndOfResponse, HTTPClientMachine, ResponseReceived

__all__ = [
    "URI",
    "Agent",
    "BrowserLikePolicyForHTTPS",
    "HTTPConnectionPool",
    "ProxyAgent",
    "TunnelError",
]

_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})


class URI:
    """A parsed ``http``/``https`` URI: ``scheme``, ``host``, ``port``, ``path`` (with query)."""

    def __init__(self, scheme: bytes, host: bytes, port: int, path: bytes) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path

    @classmethod
    def fromBytes(cls, uri: bytes) -> URI:
        """Parse ``uri``; raises ``SchemeNotSupported`` or ``ValueError``."""
        parts = urlsplit(uri.decode("ascii"))
        scheme = parts.scheme.lower().encode("ascii")
        if scheme not in (b"http", b"https"):
            raise SchemeNotSupported(f"unsupported scheme {scheme!r}")
        if not parts.hostname:
            raise ValueError(f"no host in {uri!r}")
        port = parts.port or (443 if scheme == b"https" else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(scheme, parts.hostname.encode("ascii"), port, path.encode("ascii"))

    @property
    def netloc(self) -> bytes:
        """``host[:port]`` as for the Host header (the port only when not the default)."""
        host = b"[" + self.host + b"]" if b":" in self.host else self.host
        default = 443 if self.scheme == b"https" else 80
        return host if self.port == default else b"%s:%d" % (host, self.port)

    def toBytes(self) -> bytes:
        """The absolute URI again."""
        return self.scheme + b"://" + self.netloc + self.path


class BrowserLikePolicyForHTTPS:
    """TLS as a browser does it: the certificate must chain to ``trustRoots`` (the system
    store when None) and name the host."""

    def __init__(self, trustRoots: Any = None) -> None:
        self._trustRoots = trustRoots

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        """The client context factory for ``hostname``."""
        return clientOptions(hostname.decode("idna"), self._trustRoots)


class _PoolFactory(Factory):
    def __init__(self, build: Callable[[], HTTP11ClientProtocol]) -> None:
        self._build = build

    def buildProtocol(self, addr: IAddress) -> Protocol | None:
        return self._build()


class HTTPConnectionPool:
    """Connections kept for reuse, per (scheme, host, port) key.

    With ``persistent`` (the default) a connection whose response completed and which the
    server did not close is kept, at most ``maxPersistentPerHost`` per key, for at most
    ``cachedConnectionTimeout`` seconds idle. ``retryAutomatically``: a request on a reused
    connection that fails before any response byte is sent once more on a fresh connection,
    for idempotent methods (the server may have closed the idle connection meanwhile).
    """

    def __init__(
        self,
        reactor: Any,
        persistent: bool = True,
        maxPersistentPerHost: int = 2,
        cachedConnectionTimeout: float = 240,
        retryAutomatically: bool = True,
    ) -> None:
        self._reactor = reactor
        self.persistent = persistent
        self.maxPersistentPerHost = maxPersistentPerHost
        self.cachedConnectionTimeout = cachedConnectionTimeout
        self.retryAutomatically = retryAutomatically
        self._connections: dict[Any, list[HTTP11ClientProtocol]] = {}
        self._timeouts: dict[HTTP11ClientProtocol, Any] = {}
        self.readTimeout: float | None = None

    def getConnection(self, key: Any, endpoint: Any) -> Deferred[HTTP11ClientProtocol]:
        """A cached connection for ``key`` or a new one through ``endpoint``."""
        cached = self._connections.get(key)
        while cached:
            connection = cached.pop()
            self._timeouts.pop(connection).cancel()
            if connection.state == QUIESCENT:
                connection.reused = True
                d: Deferred[HTTP11ClientProtocol] = Deferred()
                d.callback(connection)
                return d
        return self.newConnection(key, endpoint)

    def newConnection(self, key: Any, endpoint: Any) -> Deferred[HTTP11ClientProtocol]:
        """A fresh connection through ``endpoint``, returned to the pool when quiescent."""

        def build() -> HTTP11ClientProtocol:
            connection = HTTP11ClientProtocol(
                self._reactor, self.readTimeout, lambda c: self._putConnection(key, c)
            )
            connection.notifyOnLost(lambda: self._forget(key, connection))
            return connection

        d: Deferred[HTTP11ClientProtocol] = endpoint.connect(_PoolFactory(build))
        return d

    def _putConnection(self, key: Any, connection: HTTP11ClientProtocol) -> None:
        transport: Any = connection.transport
        cached = self._connections.setdefault(key, [])
        if not self.persistent or len(cached) >= self.maxPersistentPerHost:
            transport.loseConnection()
            return
        cached.append(connection)
        self._timeouts[connection] = self._reactor.callLater(
            self.cachedConnectionTimeout, self._expire, key, connection
        )

    def _expire(self, key: Any, connection: HTTP11ClientProtocol) -> None:
        self._timeouts.pop(connection, None)
        cached = self._connections.get(key, [])
        if connection in cached:
            cached.remove(connection)
        transport: Any = connection.transport
        if transport is not None:
            transport.loseConnection()

    def _forget(self, key: Any, connection: HTTP11ClientProtocol) -> None:
        """A connection was lost: it leaves the cache (and its idle timer stops)."""
        cached = self._connections.get(key, [])
        if connection in cached:
            cached.remove(connection)
        timer = self._timeouts.pop(connection, None)
        if timer is not None and timer.active():
            timer.cancel()

    def closeCachedConnections(self) -> None:
        """Close every idle connection (call before stopping the reactor)."""
        for cached in self._connections.values():
            for connection in list(cached):
                timer = self._timeouts.pop(connection, None)
                if timer is not None and timer.active():
                    timer.cancel()
                transport: Any = connection.transport
                if transport is not None:
                    transport.loseConnection()
            cached.clear()


class _Requester:
    """Shared by the agents: Host header, pooled connection, one retry, cancellation."""

    def __init__(self, reactor: Any, pool: HTTPConnectionPool | None, readTimeout: Any) -> None:
        self._reactor = reactor
        if pool is None:
            pool = HTTPConnectionPool(reactor, persistent=False)
        self._pool = pool
        if readTimeout is not None:
            pool.readTimeout = readTimeout

    def _send(
        self,
        key: Any,
        endpoint: Any,
        method: bytes,
        uri: URI,
        target: bytes,
        headers: Headers | None,
        bodyProducer: Any,
    ) -> Deferred[Response]:
        headers = Headers() if headers is None else headers.copy()
        if not headers.hasHeader(b"host"):
            headers.setRawHeaders(b"host", [uri.netloc])
        request = Request(method, target, headers, bodyProducer, uri.toBytes())
        current: dict[str, Deferred[Any]] = {}

        def cancel(outer: Deferred[Response]) -> None:
            outer.errback(CancelledError("request cancelled"))
            inner = current.get("d")
            if inner is not None and not inner.called:
                inner.cancel()  # stops connecting, or aborts the connection

        outer: Deferred[Response] = Deferred(cancel)
        retryable = method in _IDEMPOTENT and (
            bodyProducer is None or isinstance(bodyProducer, BytesBodyProducer)
        )

        def attempt(fresh: bool) -> None:
            if fresh:
                connecting = self._pool.newConnection(key, endpoint)
            else:
                connecting = self._pool.getConnection(key, endpoint)
            current["d"] = connecting

            def connected(connection: HTTP11ClientProtocol) -> None:
                if outer.called:
                    connection.abort()
                    return None
                sent = connection.request(request)
                current["d"] = sent

                def failed(failure: Failure) -> Failure | None:
                    if (
                        not fresh
                        and connection.reused
                        and retryable
                        and self._pool.retryAutomatically
                        and failure.check(ResponseNeverReceived)
                        and not outer.called
                    ):
                        attempt(True)
                        return None
                    return failure

                def deliver(result: object) -> None:
                    if result is None:
                        return  # retried on a fresh connection
                    if outer.called:
                        if isinstance(result, Failure):
                            result.trap(Exception)
                        return
                    if isinstance(result, Failure):
                        outer.errback(result)
                    else:
                        outer.callback(result)  # type: ignore[arg-type]

                sent.addErrback(failed).addBoth(deliver)
                return None

            def connectFailed(failure: Failure) -> None:
                if not outer.called:
                    outer.errback(failure)
                else:
                    failure.trap(Exception)

            connecting.addCallbacks(connected, connectFailed)

        attempt(False)
        return outer


class Agent(_Requester):
    """Make HTTP/1.1 requests: ``request(method, uri, headers, bodyProducer)`` fires with the
    ``Response`` once its head has arrived.

    ``https://`` goes over TLS from ``tlsPolicy.creatorForNetloc(host, port)`` (by default
    ``BrowserLikePolicyForHTTPS()``: the system trust store, host name checked).
    ``connectTimeout`` bounds connecting; ``readTimeout`` aborts a response that goes silent
    for that many seconds. ``decompress=True`` asks for gzip/deflate and decodes bodies (as
    ``ContentDecoderAgent`` does). ``endpointFactory(scheme, host, port)`` overrides how
    connections are made (tests use in-memory endpoints).
    """

    def __init__(
        self,
        reactor: Any,
        connectTimeout: float | None = None,
        pool: HTTPConnectionPool | None = None,
        tlsPolicy: Any = None,
        readTimeout: float | None = None,
        endpointFactory: Callable[[bytes, bytes, int], Any] | None = None,
        contextFactory: Any = None,
        decompress: bool = False,
    ) -> None:
        super().__init__(reactor, pool, readTimeout)
        self._connectTimeout = connectTimeout
        self._tlsPolicy = tlsPolicy or contextFactory or BrowserLikePolicyForHTTPS()
        self._endpointFactory = endpointFactory
        self._decoder: Any = None
        if decompress:
            self._decoder = ContentDecoderAgent(_Raw(self))

    def _endpoint(self, uri: URI) -> Any:
        if self._endpointFactory is not None:
            return self._endpointFactory(uri.scheme, uri.host, uri.port)
        kwargs: dict[str, Any] = {}
        if self._connectTimeout is not None:
            kwargs["timeout"] = self._connectTimeout
        endpoint: Any = HostnameEndpoint(self._reactor, uri.host, uri.port, **kwargs)
        if uri.scheme == b"https":
            endpoint = wrapClientTLS(self._tlsPolicy.creatorForNetloc(uri.host, uri.port), endpoint)
        return endpoint

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: Any = None,
    ) -> Deferred[Response]:
        """Send a request; fires with the ``Response`` (read its body with ``readBody``)."""
        if self._decoder is not None:
            d: Deferred[Response] = self._decoder.request(method, uri, headers, bodyProducer)
            return d
        return self._request(method, uri, headers, bodyProducer)

    def _request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None,
        bodyProducer: Any,
    ) -> Deferred[Response]:
        try:
            parsed = URI.fromBytes(uri)
            endpoint = self._endpoint(parsed)
        except Exception:
            failed: Deferred[Response] = Deferred()
            failed.errback(Failure())
            return failed
        key = (parsed.scheme, parsed.host, parsed.port)
        return self._send(key, endpoint, method, parsed, parsed.path, headers, bodyProducer)


class _Raw:
    """The agent without its own decoding, for ``ContentDecoderAgent`` to wrap."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    def request(
        self, method: bytes, uri: bytes, headers: Headers | None = None, bodyProducer: Any = None
    ) -> Deferred[Response]:
        return self._agent._request(method, uri, headers, bodyProducer)


class TunnelError(Exception):
    """The proxy refused the CONNECT: ``code`` is its answer."""

    def __init__(self, code: int, phrase: bytes) -> None:
        super().__init__(f"proxy answered CONNECT with {code} {phrase!r}")
        self.code = code
        self.phrase = phrase


class _TunnelProtocol(Protocol):
    """Sends CONNECT, then hands the connection to the real protocol."""

    def __init__(self, target: bytes, factory: Any, connected: Deferred[Any]) -> None:
        self._target = target
        self._factory = factory
        self._connected = connected
        self._machine = HTTPClientMachine()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(
            self._machine.sendRequest(b"CONNECT", self._target, [(b"Host", self._target)])
        )

    def dataReceived(self, data: bytes) -> None:
        transport: Any = self.transport
        try:
            events = self._machine.receiveData(data)
        except ProtocolError:
            self._fail(Failure())
            transport.abortConnection()
            return
        code, phrase = 0, b""
        for event in events:
            if isinstance(event, ResponseReceived):
                code, phrase = event.code, event.phrase
            elif isinstance(event, EndOfResponse):
                if not 200 <= code < 300:
                    self._fail(Failure(TunnelError(code, phrase)))
                    transport.abortConnection()
                    return
                rest = self._machine.takeBufferedData()
                protocol = self._factory.buildProtocol(transport.getPeer())
                transport.protocol = protocol
                protocol.makeConnection(transport)
                if not self._connected.called:
                    self._connected.callback(protocol)
                if rest:
                    protocol.dataReceived(rest)
                return
            elif code:
                # A refusal with a body: read no further, the tunnel is not coming.
                self._fail(Failure(TunnelError(code, phrase)))
                transport.abortConnection()
                return

    def _fail(self, failure: Failure) -> None:
        if not self._connected.called:
            self._connected.errback(failure)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if not self._connected.called:
            self._connected.errback(reason)


class _TunnelEndpoint:
    """Connect through an HTTP proxy's CONNECT to ``host:port``."""

    def __init__(self, proxyEndpoint: Any, host: bytes, port: int) -> None:
        self._proxyEndpoint = proxyEndpoint
        self._target = b"%s:%d" % (b"[" + host + b"]" if b":" in host else host, port)

    def connect(self, protocolFactory: Any) -> Deferred[Any]:
        result: Deferred[Any] = Deferred(lambda d: state["inner"].cancel())
        tunnel = _TunnelProtocol(self._target, protocolFactory, result)

        class OneFactory(Factory):
            def buildProtocol(self, addr: IAddress) -> Protocol | None:
                return tunnel

        state: dict[str, Deferred[Any]] = {}
        inner: Deferred[Any] = self._proxyEndpoint.connect(OneFactory())
        state["inner"] = inner

        def failed(failure: Failure) -> None:
            if not result.called:
                result.errback(failure)

        inner.addErrback(failed)
        return result


class ProxyAgent(_Requester):
    """Requests through an HTTP proxy at ``endpoint``: ``http://`` URIs in absolute form,
    ``https://`` through a CONNECT tunnel with TLS (verified as by ``Agent``) inside it."""

    def __init__(
        self,
        endpoint: Any,
        reactor: Any = None,
        pool: HTTPConnectionPool | None = None,
        tlsPolicy: Any = None,
        readTimeout: float | None = None,
    ) -> None:
        super().__init__(reactor, pool, readTimeout)
        self._proxyEndpoint = endpoint
        self._tlsPolicy = tlsPolicy or BrowserLikePolicyForHTTPS()

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: Any = None,
    ) -> Deferred[Response]:
        """Send a request through the proxy; fires with the ``Response``."""
        try:
            parsed = URI.fromBytes(uri)
        except Exception:
            d: Deferred[Response] = Deferred()
            d.errback(Failure())
            return d
        if parsed.scheme == b"http":
            key: Any = ("http-proxy", id(self._proxyEndpoint))
            return self._send(
                key, self._proxyEndpoint, method, parsed, parsed.toBytes(), headers, bodyProducer
            )
        endpoint = wrapClientTLS(
            self._tlsPolicy.creatorForNetloc(parsed.host, parsed.port),
            _TunnelEndpoint(self._proxyEndpoint, parsed.host, parsed.port),
        )
        key = ("https-tunnel", id(self._proxyEndpoint), parsed.host, parsed.port)
        return self._send(key, endpoint, method, parsed, parsed.path, headers, bodyProducer)
