"""plait.web.client over real loopback sockets against the stdlib's ``http.server``."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from plait.defer import Deferred, Failure, TimeoutError, inlineCallbacks
from plait.reactor import reactorClassNamed, reactorNames
from plait.web.client import (
    Agent,
    BytesBodyProducer,
    ContentDecoderAgent,
    HTTPConnectionPool,
    RedirectAgent,
    ResponseNeverReceived,
    readBody,
)

TIMEOUT = 20.0


class Handler(http.server.BaseHTTPRequestHandler):
    """A few routes: /hello, /chunked, /redirect/N, /gzip, /slow, /echo (POST)."""

    protocol_version = "HTTP/1.1"
    connections: list[int] = []

    def setup(self) -> None:
        super().setup()
        self.connections.append(1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, **headers: str) -> None:
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        if path == "/hello":
            self._send(200, b"hello world")
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(50):
                piece = b"piece %d;" % i
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if n == 0:
                self._send(200, b"arrived")
            else:
                self._send(302, b"", Location=f"/redirect/{n - 1}")
        elif path == "/gzip":
            self._send(200, gzip.compress(b"squeezed " * 1000), Content_Encoding="gzip")
        elif path == "/slow":
            time.sleep(1.5)
            try:
                self._send(200, b"late")
            except OSError:
                pass  # the client gave up (its read timeout): expected
        else:
            self._send(404, b"no")

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self._send(200, self.rfile.read(length))


@pytest.fixture
def server() -> Iterator[str]:
    """A threaded stdlib HTTP/1.1 server on 127.0.0.1; yields its base URL."""
    Handler.connections = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def reactor() -> Iterator[Any]:
    """A fresh real reactor."""
    name = "epoll" if "epoll" in reactorNames() else "select"
    r = reactorClassNamed(name)()
    yield r
    if r._started:
        r.crash()
        r._started = False
    r.close()


def runUntil(reactor: Any, d: Deferred[Any]) -> Any:
    """Run the reactor until ``d`` fires (bounded by TIMEOUT); its result or raise."""
    box: list[Any] = []

    def done(result: object) -> None:
        box.append(result)
        if reactor.running:
            reactor.stop()

    reactor.callWhenRunning(d.addBoth, done)
    guard = reactor.callLater(TIMEOUT, lambda: reactor.running and reactor.stop())
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    assert box, f"timed out after {TIMEOUT}s"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


def test_keep_alive_reuses_one_connection(reactor: Any, server: str) -> None:
    """Five sequential requests through a persistent pool use one TCP connection."""
    pool = HTTPConnectionPool(reactor)
    agent = Agent(reactor, pool=pool)

    @inlineCallbacks
    def run() -> Any:
        bodies = []
        for _ in range(5):
            response = yield agent.request(b"GET", (server + "/hello").encode())
            bodies.append((yield readBody(response)))
        pool.closeCachedConnections()
        return bodies

    assert runUntil(reactor, run()) == [b"hello world"] * 5
    assert len(Handler.connections) == 1


def test_chunked_response(reactor: Any, server: str) -> None:
    """A chunked response is reassembled."""

    @inlineCallbacks
    def run() -> Any:
        response = yield Agent(reactor).request(b"GET", (server + "/chunked").encode())
        return (yield readBody(response))

    assert runUntil(reactor, run()) == b"".join(b"piece %d;" % i for i in range(50))


def test_redirect_chain(reactor: Any, server: str) -> None:
    """A chain of five 302s is followed to the final 200, over one kept-alive connection."""
    pool = HTTPConnectionPool(reactor)

    @inlineCallbacks
    def run() -> Any:
        agent = RedirectAgent(Agent(reactor, pool=pool))
        response = yield agent.request(b"GET", (server + "/redirect/5").encode())
        body = yield readBody(response)
        pool.closeCachedConnections()
        return response.code, body

    assert runUntil(reactor, run()) == (200, b"arrived")
    assert len(Handler.connections) == 1


def test_gzip(reactor: Any, server: str) -> None:
    """A gzip body is decoded by ContentDecoderAgent."""

    @inlineCallbacks
    def run() -> Any:
        agent = ContentDecoderAgent(Agent(reactor))
        response = yield agent.request(b"GET", (server + "/gzip").encode())
        return (yield readBody(response))

    assert runUntil(reactor, run()) == b"squeezed " * 1000


def test_post_echo(reactor: Any, server: str) -> None:
    """A POST body arrives intact."""

    @inlineCallbacks
    def run() -> Any:
        body = BytesBodyProducer(b"x" * 100_000)
        response = yield Agent(reactor).request(b"POST", (server + "/echo").encode(), None, body)
        return (yield readBody(response))

    assert runUntil(reactor, run()) == b"x" * 100_000


def test_read_timeout(reactor: Any, server: str) -> None:
    """A server silent for longer than readTimeout fails with ResponseNeverReceived."""
    agent = Agent(reactor, readTimeout=0.3)
    with pytest.raises(ResponseNeverReceived) as info:
        runUntil(reactor, agent.request(b"GET", (server + "/slow").encode()))
    assert info.value.reasons[0].check(TimeoutError)


def test_connection_refused(reactor: Any) -> None:
    """Connecting to a closed port fails with the connect error."""
    import socket

    from plait.protocol import ConnectError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectError):
        runUntil(reactor, Agent(reactor).request(b"GET", b"http://127.0.0.1:%d/" % port))
