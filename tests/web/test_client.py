"""plait.web.client on in-memory transports: Agent, pool, retries, redirects, decoding, errors."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plait.defer import CancelledError, Deferred, Failure, TimeoutError
from plait.protocol import ConnectionDone, ConnectionLost
from plait.testing import Clock, StringTransport, failureResultOf, successResultOf
from plait.web import Headers
from plait.web.client import (
    Agent,
    BytesBodyProducer,
    ContentDecoderAgent,
    HTTPConnectionPool,
    PartialDownloadError,
    RedirectAgent,
    RedirectLimitError,
    ResponseNeverReceived,
    SchemeNotSupported,
    readBody,
)


class Connection:
    """One fake connection: the client protocol and its StringTransport."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.transport = StringTransport()
        protocol.makeConnection(self.transport)

    def respond(self, data: bytes) -> None:
        """Deliver server bytes to the client."""
        self.protocol.dataReceived(data)

    def close(self, reason: BaseException | None = None) -> None:
        """The server closes (or the connection drops with ``reason``)."""
        self.protocol.connectionLost(Failure(reason or ConnectionDone()))

    def sent(self) -> bytes:
        """Everything the client wrote, cleared."""
        value = self.transport.value()
        self.transport.clear()
        return value


class FakeEndpoints:
    """An endpointFactory whose connects succeed at once with a fake connection."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self.targets: list[tuple[bytes, bytes, int]] = []

    def __call__(self, scheme: bytes, host: bytes, port: int) -> Any:
        self.targets.append((scheme, host, port))
        return self

    def connect(self, factory: Any) -> Deferred[Any]:
        connection = Connection(factory.buildProtocol(None))
        self.connections.append(connection)
        d: Deferred[Any] = Deferred()
        d.callback(connection.protocol)
        return d


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def makeAgent(clock: Clock, persistent: bool = True, **kw: Any) -> tuple[Agent, FakeEndpoints]:
    endpoints = FakeEndpoints()
    pool = HTTPConnectionPool(clock, persistent=persistent)
    return Agent(clock, pool=pool, endpointFactory=endpoints, **kw), endpoints


def test_get_sends_request_and_reads_body() -> None:
    """A GET goes out with Host and origin-form target; readBody gives the body."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://example.com:8080/a?b=1")
    (conn,) = endpoints.connections
    assert conn.sent() == b"GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"
    conn.respond(OK)
    response = successResultOf(d)
    assert (response.code, response.phrase, response.length) == (200, b"OK", 5)
    assert response.version == (b"HTTP", 1, 1)
    assert successResultOf(readBody(response)) == b"hello"


def test_post_body_with_length() -> None:
    """A BytesBodyProducer body is sent with its Content-Length."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    agent.request(b"POST", b"http://h/", None, BytesBodyProducer(b"data"))
    sent = endpoints.connections[0].sent()
    assert sent.endswith(b"Content-Length: 4\r\n\r\ndata")


def test_keep_alive_connection_reused() -> None:
    """A completed keep-alive response returns its connection to the pool for the next one."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    for _ in range(3):
        d = agent.request(b"GET", b"http://h/")
        endpoints.connections[-1].respond(OK)
        assert successResultOf(readBody(successResultOf(d))) == b"hello"
    assert len(endpoints.connections) == 1


def test_non_persistent_pool_closes() -> None:
    """Without persistence each connection is closed after its response."""
    clock = Clock()
    agent, endpoints = makeAgent(clock, persistent=False)
    d = agent.request(b"GET", b"http://h/")
    endpoints.connections[0].respond(OK)
    successResultOf(readBody(successResultOf(d)))
    assert endpoints.connections[0].transport.disconnecting


def test_cached_connection_expires() -> None:
    """An idle cached connection is closed after cachedConnectionTimeout."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    endpoints.connections[0].respond(OK)
    successResultOf(d)
    clock.advance(239)
    assert not endpoints.connections[0].transport.disconnecting
    clock.advance(2)
    assert endpoints.connections[0].transport.disconnecting


def test_stale_connection_retried_once_for_get() -> None:
    """A reused connection that drops before any response byte is retried on a new one."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    endpoints.connections[0].respond(OK)
    successResultOf(d)
    d2 = agent.request(b"GET", b"http://h/x")
    endpoints.connections[0].close(ConnectionLost())
    assert len(endpoints.connections) == 2
    assert endpoints.connections[1].sent().startswith(b"GET /x ")
    endpoints.connections[1].respond(OK)
    assert successResultOf(d2).code == 200


def test_stale_connection_not_retried_for_post() -> None:
    """A non-idempotent request on a dropped reused connection fails, not retried."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    endpoints.connections[0].respond(OK)
    successResultOf(d)
    d2 = agent.request(b"POST", b"http://h/", None, BytesBodyProducer(b"x"))
    endpoints.connections[0].close(ConnectionLost())
    failureResultOf(d2, ResponseNeverReceived)
    assert len(endpoints.connections) == 1


def test_truncated_body_is_partial_download() -> None:
    """A body cut short fails readBody with PartialDownloadError holding the partial bytes."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    conn.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel")
    body = readBody(successResultOf(d))
    conn.close(ConnectionLost())
    failure = failureResultOf(body, PartialDownloadError)
    assert failure.value.partial == b"hel"


def test_close_delimited_body() -> None:
    """A body without framing ends at the close and is complete."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    conn.respond(b"HTTP/1.1 200 OK\r\n\r\nsome")
    body = readBody(successResultOf(d))
    conn.respond(b" more")
    conn.close()
    assert successResultOf(body) == b"some more"


def test_read_timeout_before_response() -> None:
    """No bytes for readTimeout seconds fails with ResponseNeverReceived(TimeoutError)."""
    clock = Clock()
    agent, endpoints = makeAgent(clock, readTimeout=5)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    clock.advance(4)
    conn.respond(b"HTTP/1.1 1")  # a byte resets the timer
    clock.advance(4)
    assert conn.transport.aborted is False
    clock.advance(2)
    assert conn.transport.aborted
    conn.close(ConnectionLost())
    failure = failureResultOf(d, ResponseNeverReceived)
    assert failure.value.reasons[0].check(TimeoutError)


def test_cancel_aborts_connection() -> None:
    """Cancelling the request Deferred aborts the connection and fails with CancelledError."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    d.cancel()
    assert endpoints.connections[0].transport.aborted
    failureResultOf(d, CancelledError)


def test_malformed_response_fails() -> None:
    """A malformed response head aborts the connection and fails the request."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    conn.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
    assert conn.transport.aborted
    conn.close(ConnectionLost())
    failureResultOf(d, ResponseNeverReceived)


def test_unsupported_scheme() -> None:
    """A non-HTTP scheme fails at once with SchemeNotSupported."""
    agent, _ = makeAgent(Clock())
    failureResultOf(agent.request(b"GET", b"ftp://h/"), SchemeNotSupported)


def test_redirect_303_becomes_get_and_resolves_relative() -> None:
    """A 303 after POST is followed with GET to the resolved relative Location."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = RedirectAgent(agent).request(b"POST", b"http://h/a/b", None, BytesBodyProducer(b"x"))
    conn = endpoints.connections[0]
    conn.sent()
    conn.respond(b"HTTP/1.1 303 See Other\r\nLocation: ../c\r\nContent-Length: 0\r\n\r\n")
    assert conn.sent() == b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
    conn.respond(OK)
    response = successResultOf(d)
    assert response.code == 200
    assert response.previousResponse is not None
    assert response.previousResponse.code == 303


def test_redirect_307_keeps_method_and_body() -> None:
    """A 307 repeats the method and the body."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    RedirectAgent(agent).request(b"PUT", b"http://h/", None, BytesBodyProducer(b"body"))
    conn = endpoints.connections[0]
    conn.sent()
    conn.respond(b"HTTP/1.1 307 T\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n")
    sent = conn.sent()
    assert sent.startswith(b"PUT /new HTTP/1.1\r\n")
    assert sent.endswith(b"\r\n\r\nbody")


def test_redirect_limit() -> None:
    """Following more than redirectLimit redirects fails with RedirectLimitError."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = RedirectAgent(agent, redirectLimit=2).request(b"GET", b"http://h/")
    for _ in range(3):
        endpoints.connections[0].respond(
            b"HTTP/1.1 302 F\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"
        )
    failureResultOf(d, RedirectLimitError)


def test_redirect_cross_origin_drops_credentials() -> None:
    """Authorization is not sent to another host on redirect."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    headers = Headers({b"Authorization": [b"secret"]})
    RedirectAgent(agent).request(b"GET", b"http://h/", headers)
    endpoints.connections[0].respond(
        b"HTTP/1.1 302 F\r\nLocation: http://other/\r\nContent-Length: 0\r\n\r\n"
    )
    assert endpoints.targets[-1] == (b"http", b"other", 80)
    assert b"secret" not in endpoints.connections[-1].sent()


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        (b"gzip", gzip.compress),
        (b"deflate", zlib.compress),
        (b"deflate", lambda d: zlib.compress(d)[2:-4]),
    ],
)
def test_content_decoding(coding: bytes, compress: Any) -> None:
    """gzip and deflate (zlib and raw) bodies are decoded, and Accept-Encoding is sent."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = ContentDecoderAgent(agent).request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    assert b"accept-encoding: gzip,deflate" in conn.sent().lower()
    payload = compress(b"decoded " * 100)
    conn.respond(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s"
        % (coding, len(payload), payload)
    )
    response = successResultOf(d)
    assert not response.headers.hasHeader(b"content-encoding")
    assert successResultOf(readBody(response)) == b"decoded " * 100


def test_corrupt_gzip_fails_body() -> None:
    """A corrupt compressed body fails readBody rather than returning garbage."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = ContentDecoderAgent(agent).request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    conn.respond(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope")
    failureResultOf(readBody(successResultOf(d)), PartialDownloadError)


class UnknownLengthProducer:
    """A body producer whose size is not known: the request goes chunked."""

    length = -1

    def startProducing(self, consumer: Any) -> Deferred[None]:
        consumer.write(b"abc")
        consumer.write(b"de")
        d: Deferred[None] = Deferred()
        d.callback(None)
        return d

    def stopProducing(self) -> None:
        pass


def test_unknown_length_body_is_chunked() -> None:
    """A producer with UNKNOWN_LENGTH is sent with chunked framing."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    agent.request(b"POST", b"http://h/", None, UnknownLengthProducer())
    sent = endpoints.connections[0].sent()
    assert b"Transfer-Encoding: chunked\r\n" in sent
    assert sent.endswith(b"\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")


class HeldProducer:
    """A producer that writes when told to and finishes when its Deferred is fired."""

    length = 10

    def startProducing(self, consumer: Any) -> Deferred[None]:
        self.consumer = consumer
        self.done: Deferred[None] = Deferred()
        return self.done

    def stopProducing(self) -> None:
        pass


def test_early_response_is_not_reused() -> None:
    """A response that arrives before the body was sent is delivered; the connection closes."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    producer = HeldProducer()
    d = agent.request(b"POST", b"http://h/", None, producer)
    conn = endpoints.connections[0]
    producer.consumer.write(b"12345")
    conn.respond(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
    response = successResultOf(d)
    assert response.code == 413
    producer.done.callback(None)
    assert successResultOf(readBody(response)) == b""
    assert conn.transport.disconnecting
    assert not conn.transport.aborted


def test_read_timeout_mid_body_is_partial() -> None:
    """A body that stalls longer than readTimeout fails readBody with the partial bytes."""
    clock = Clock()
    agent, endpoints = makeAgent(clock, readTimeout=5)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    conn.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    body = readBody(successResultOf(d))
    clock.advance(6)
    assert conn.transport.aborted
    conn.close(ConnectionLost())
    failure = failureResultOf(body, PartialDownloadError)
    assert failure.value.partial == b"abc"
    assert failure.value.reasons[0].check(TimeoutError)


def test_cancel_while_connecting() -> None:
    """Cancelling before the connection exists cancels the connect attempt."""
    cancelled: list[bool] = []

    class Pending:
        def __call__(self, scheme: bytes, host: bytes, port: int) -> Any:
            return self

        def connect(self, factory: Any) -> Deferred[Any]:
            return Deferred(lambda d: cancelled.append(True))

    agent = Agent(Clock(), endpointFactory=Pending())
    d = agent.request(b"GET", b"http://h/")
    d.cancel()
    failureResultOf(d, CancelledError)
    assert cancelled == [True]


def test_pooled_connection_lost_leaves_pool() -> None:
    """A cached connection the server closes is dropped from the pool, its timer stopped."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    endpoints.connections[0].respond(OK)
    successResultOf(d)
    assert len(clock.getDelayedCalls()) == 1
    endpoints.connections[0].close()
    assert clock.getDelayedCalls() == []
    agent.request(b"GET", b"http://h/")
    assert len(endpoints.connections) == 2


def test_proxy_agent_absolute_form() -> None:
    """ProxyAgent sends http:// requests in absolute form to the proxy endpoint."""
    from plait.web.client import ProxyAgent

    endpoints = FakeEndpoints()
    agent = ProxyAgent(endpoints, Clock())
    d = agent.request(b"GET", b"http://example.com/a")
    conn = endpoints.connections[0]
    assert conn.sent() == b"GET http://example.com/a HTTP/1.1\r\nHost: example.com\r\n\r\n"
    conn.respond(OK)
    assert successResultOf(d).code == 200


def test_proxy_agent_connect_refused() -> None:
    """A non-2xx answer to CONNECT fails the request with TunnelError."""
    from plait.web.client import ProxyAgent, TunnelError

    endpoints = FakeEndpoints()
    agent = ProxyAgent(endpoints, Clock())
    d = agent.request(b"GET", b"https://example.com/")
    conn = endpoints.connections[0]
    assert conn.sent() == b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    conn.respond(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
    failureResultOf(d, TunnelError)


def test_unread_body_pauses_reading() -> None:
    """A body nobody has asked for yet pauses the transport past 1 MiB; deliverBody resumes."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    size = 3 << 20
    conn.respond(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
    response = successResultOf(d)
    for _ in range(3):
        conn.respond(b"x" * (1 << 20))
        if conn.transport.producerState == "paused":
            break
    assert conn.transport.producerState == "paused"
    body = readBody(response)
    assert conn.transport.producerState == "producing"
    conn.respond(b"x" * (size - (2 << 20)))
    assert len(successResultOf(body)) == size


def test_connect_timeout_reaches_endpoint() -> None:
    """connectTimeout is the timeout of the endpoint the Agent builds."""
    from plait.web.client import URI

    agent = Agent(Clock(), connectTimeout=7)
    endpoint = agent._endpoint(URI.fromBytes(b"http://example.com/"))
    assert endpoint._timeout == 7


CHUNKED_RESPONSE = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n"
)


@given(st.lists(st.integers(min_value=1, max_value=len(CHUNKED_RESPONSE) - 1), max_size=12))
def test_agent_every_chunking(cuts: list[int]) -> None:
    """However the response bytes arrive, the Agent delivers the same body and reuses."""
    clock = Clock()
    agent, endpoints = makeAgent(clock)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    start = 0
    for cut in [*sorted(set(cuts)), len(CHUNKED_RESPONSE)]:
        conn.respond(CHUNKED_RESPONSE[start:cut])
        start = cut
    assert successResultOf(readBody(successResultOf(d))) == b"wikipedia"
    agent.request(b"GET", b"http://h/")
    assert len(endpoints.connections) == 1


def test_agent_decompress_flag() -> None:
    """Agent(decompress=True) asks for gzip and hands back the decoded body."""
    clock = Clock()
    agent, endpoints = makeAgent(clock, decompress=True)
    d = agent.request(b"GET", b"http://h/")
    conn = endpoints.connections[0]
    assert b"accept-encoding: gzip,deflate" in conn.sent().lower()
    payload = gzip.compress(b"plain text")
    conn.respond(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
        % (len(payload), payload)
    )
    assert successResultOf(readBody(successResultOf(d))) == b"plain text"
