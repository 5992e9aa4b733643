"""plait.web.client against nginx (HTTP and HTTPS with a test CA) and through a CONNECT proxy.

nginx runs from a temporary prefix (``nginx -e stderr -p DIR -c DIR/nginx.conf``, ``daemon
off``) on 127.0.0.1; the tests skip when ``/usr/sbin/nginx`` is absent (Debian: nginx-light).
The proxy is a tiny threaded one written here with stdlib sockets: absolute-form requests are
forwarded, CONNECT opens a tunnel. HTTPS is verified against the test CA for ``localhost``.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from plait.defer import Deferred, Failure, inlineCallbacks
from plait.endpoints import TCP4ClientEndpoint
from plait.reactor import reactorClassNamed, reactorNames
from plait.tls import TLSVerificationError
from plait.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    BytesBodyProducer,
    ContentDecoderAgent,
    HTTPConnectionPool,
    ProxyAgent,
    RedirectAgent,
    TunnelError,
    readBody,
)

NGINX = "/usr/sbin/nginx"
TIMEOUT = 20.0
pytestmark = pytest.mark.skipif(
    not os.access(NGINX, os.X_OK), reason="nginx is not installed (apt-get install nginx-light)"
)


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def waitForPort(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stderr.read() if process.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """nginx serving /hello.txt, /big.txt (gzip), /echo, /redir on HTTP and HTTPS."""
    from ..tls.certs import CA

    d = tmp_path_factory.mktemp("nginx")
    ca = CA("nginx interop CA")
    (d / "ca.pem").write_bytes(ca.certPEM)
    cert, key = ca.issue("localhost", "127.0.0.1").write(d, "server")
    www = d / "www"
    www.mkdir()
    (www / "hello.txt").write_bytes(b"hello from nginx\n")
    (www / "big.txt").write_bytes(b"0123456789abcdef\n" * 20000)
    for sub in ("tmp", "logs"):
        (d / sub).mkdir()
    http, https = freePort(), freePort()
    user = "user root;\n" if os.geteuid() == 0 else ""
    echo = '"$request_method $request_uri $connection_requests\\n"'
    locations = (
        f"root {www};\n"
        f"        location = /echo {{ return 200 {echo}; }}\n"
        "        location = /redir { return 302 /hello.txt; }\n"
    )
    (d / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 0;
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{http};
        {locations}
    }}
    server {{
        listen 127.0.0.1:{https} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        {locations}
    }}
}}
"""
    )
    process = subprocess.Popen(
        [NGINX, "-e", "stderr", "-p", str(d), "-c", str(d / "nginx.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        waitForPort(http, process)
        waitForPort(https, process)
        yield {"http": http, "https": https, "ca": str(d / "ca.pem"), "dir": d}
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stderr is not None:
            process.stderr.close()


class ConnectProxy:
    """A tiny threaded HTTP proxy: CONNECT tunnels and absolute-form forwarding."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self.requestLines: list[bytes] = []
        self.stopping = False
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self.accept)
        self.acceptor.start()

    def accept(self) -> None:
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self.handle, args=(client,))
            self.threads.append(thread)
            thread.start()

    def handle(self, client: socket.socket) -> None:
        client.settimeout(TIMEOUT)
        with client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            end = head.index(b"\r\n\r\n") + 4
            head, rest = head[:end], head[end:]
            line = head.split(b"\r\n", 1)[0]
            self.requestLines.append(line)
            method, target, _ = line.split(b" ")
            if method == b"CONNECT":
                host, port = target.rsplit(b":", 1)
                if host not in (b"localhost", b"127.0.0.1"):
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                upstream = socket.create_connection(("127.0.0.1", int(port)), TIMEOUT)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                # absolute-form: http://host:port/path -> origin-form to that server
                authority, _, path = target[len(b"http://") :].partition(b"/")
                host, _, port = authority.partition(b":")
                upstream = socket.create_connection(("127.0.0.1", int(port or 80)), TIMEOUT)
                upstream.sendall(head.replace(target, b"/" + path, 1))
            with upstream:
                if rest:
                    upstream.sendall(rest)
                self.relay(client, upstream)

    def relay(self, a: socket.socket, b: socket.socket) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not self.stopping:
            readable, _, _ = select.select([a, b], [], [], 0.1)
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)

    def close(self) -> None:
        self.stopping = True
        self.listener.close()
        self.acceptor.join(5)
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    """The CONNECT proxy on 127.0.0.1."""
    p = ConnectProxy()
    yield p
    p.close()


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


@inlineCallbacks
def get(agent: Any, uri: str, method: bytes = b"GET", body: Any = None) -> Any:
    """(code, headers, body) of one request."""
    response = yield agent.request(method, uri.encode(), None, body)
    data = yield readBody(response)
    return response.code, response.headers, data


def fetch(reactor: Any, agent: Any, uri: str, method: bytes = b"GET", body: Any = None) -> Any:
    """Run the reactor for one request: (code, headers, body)."""
    return runUntil(reactor, get(agent, uri, method, body))


def test_http_get(reactor: Any, nginx: dict[str, Any]) -> None:
    """A plain GET of a static file from nginx."""
    code, headers, body = fetch(
        reactor, Agent(reactor), f"http://127.0.0.1:{nginx['http']}/hello.txt"
    )
    assert (code, body) == (200, b"hello from nginx\n")
    assert headers.getRawHeaders(b"server")[0].startswith(b"nginx")


def test_http_keep_alive(reactor: Any, nginx: dict[str, Any]) -> None:
    """Requests through a persistent pool share one nginx connection ($connection_requests)."""
    pool = HTTPConnectionPool(reactor)
    agent = Agent(reactor, pool=pool)
    uri = f"http://127.0.0.1:{nginx['http']}/echo?n"

    @inlineCallbacks
    def run() -> Any:
        counts = []
        for _ in range(4):
            counts.append((yield get(agent, uri))[2].split()[-1])
        pool.closeCachedConnections()
        return counts

    assert runUntil(reactor, run()) == [b"1", b"2", b"3", b"4"]


def test_http_gzip_and_redirect(reactor: Any, nginx: dict[str, Any]) -> None:
    """nginx's gzip is decoded, and its 302 followed."""
    agent = RedirectAgent(ContentDecoderAgent(Agent(reactor)))
    base = f"http://127.0.0.1:{nginx['http']}"

    @inlineCallbacks
    def run() -> Any:
        big = yield get(agent, base + "/big.txt")
        redirected = yield get(agent, base + "/redir")
        return big, redirected

    big, redirected = runUntil(reactor, run())
    assert (big[0], big[2]) == (200, b"0123456789abcdef\n" * 20000)
    assert (redirected[0], redirected[2]) == (200, b"hello from nginx\n")


def test_http_post(reactor: Any, nginx: dict[str, Any]) -> None:
    """A POST with a body is answered (nginx reads and discards it)."""
    body = BytesBodyProducer(b"p" * 50_000)
    code, _, data = fetch(
        reactor, Agent(reactor), f"http://127.0.0.1:{nginx['http']}/echo", b"POST", body
    )
    assert (code, data) == (200, b"POST /echo 1\n")


def test_https_verified(reactor: Any, nginx: dict[str, Any]) -> None:
    """HTTPS to nginx verifies its certificate against the test CA for localhost."""
    agent = Agent(reactor, tlsPolicy=BrowserLikePolicyForHTTPS(nginx["ca"]))
    code, _, body = fetch(reactor, agent, f"https://localhost:{nginx['https']}/hello.txt")
    assert (code, body) == (200, b"hello from nginx\n")


def test_https_untrusted_refused(reactor: Any, nginx: dict[str, Any]) -> None:
    """With the default trust store nginx's test certificate is refused."""
    with pytest.raises(TLSVerificationError):
        fetch(reactor, Agent(reactor), f"https://localhost:{nginx['https']}/hello.txt")


def test_proxy_plain_http(reactor: Any, nginx: dict[str, Any], proxy: ConnectProxy) -> None:
    """An http:// request through the proxy goes out in absolute form."""
    agent = ProxyAgent(TCP4ClientEndpoint(reactor, "127.0.0.1", proxy.port), reactor)
    uri = f"http://127.0.0.1:{nginx['http']}/echo"
    code, _, body = fetch(reactor, agent, uri)
    assert (code, body) == (200, b"GET /echo 1\n")
    assert proxy.requestLines == [b"GET " + uri.encode() + b" HTTP/1.1"]


def test_proxy_https_connect(reactor: Any, nginx: dict[str, Any], proxy: ConnectProxy) -> None:
    """An https:// request goes through CONNECT, then verified TLS inside the tunnel."""
    agent = ProxyAgent(
        TCP4ClientEndpoint(reactor, "127.0.0.1", proxy.port),
        reactor,
        tlsPolicy=BrowserLikePolicyForHTTPS(nginx["ca"]),
    )
    code, _, body = fetch(reactor, agent, f"https://localhost:{nginx['https']}/hello.txt")
    assert (code, body) == (200, b"hello from nginx\n")
    assert proxy.requestLines == [b"CONNECT localhost:%d HTTP/1.1" % nginx["https"]]


def test_proxy_https_unverified_refused(
    reactor: Any, nginx: dict[str, Any], proxy: ConnectProxy
) -> None:
    """Inside the tunnel the certificate is still verified (default trust store refuses it)."""
    agent = ProxyAgent(TCP4ClientEndpoint(reactor, "127.0.0.1", proxy.port), reactor)
    with pytest.raises(TLSVerificationError):
        fetch(reactor, agent, f"https://localhost:{nginx['https']}/hello.txt")


def test_proxy_connect_refused(reactor: Any, proxy: ConnectProxy) -> None:
    """A proxy refusing CONNECT fails the request with TunnelError."""
    agent = ProxyAgent(TCP4ClientEndpoint(reactor, "127.0.0.1", proxy.port), reactor)
    with pytest.raises(TunnelError) as info:
        fetch(reactor, agent, "https://example.invalid/")
    assert info.value.code == 403


def test_nginx_closes_idle_then_retry(reactor: Any, nginx: dict[str, Any]) -> None:
    """A pooled connection nginx has dropped is replaced transparently for a GET."""
    pool = HTTPConnectionPool(reactor)
    agent = Agent(reactor, pool=pool)
    uri = f"http://127.0.0.1:{nginx['http']}/echo"

    @inlineCallbacks
    def run() -> Any:
        yield get(agent, uri)
        for cached in pool._connections.values():
            for connection in cached:
                # nginx sees EOF and closes: the cached connection is now stale
                connection.transport.socket.shutdown(socket.SHUT_WR)
        result = yield get(agent, uri)
        pool.closeCachedConnections()
        return result

    code, _, body = runUntil(reactor, run())
    assert (code, body) == (200, b"GET /echo 1\n")
