"""Site, HTTPChannel and Request on in-memory transports with a fake clock."""

from __future__ import annotations

import re
from typing import Any

import pytest

from plait.defer import Deferred
from plait.log import globalLogPublisher
from plait.testing import failureResultOf, flushLoggedErrors, successResultOf
from plait.web import NOT_DONE_YET, Headers, NoResource, Resource
from plait.web.server import combinedLogLine

from ..wire.test_http import BAD
from .support import Hello, Served, parseResponses

GET = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"


class Later(Resource):
    """Answers when the test fires ``pending``; records requests."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Any] = []

    def render_GET(self, request: Any) -> object:
        self.pending.append(request)
        return NOT_DONE_YET


def test_hello() -> None:
    """A GET is answered with the body and a Content-Length; the connection stays open."""
    s = Served(Hello())
    s.send(GET)
    [(status, headers, body)] = s.responses()
    assert (status, body, headers["content-length"]) == (200, b"Hello, world!", "13")
    assert "date" in headers and headers["server"] == "plait"
    assert not s.transport.disconnecting


def test_plain_answer_same_bytes_as_general_path() -> None:
    """A 200 with nothing set but the body is written exactly as the general head builder does."""

    class Reasoned(Hello):
        def render_GET(self, request: Any) -> bytes:
            request.setResponseCode(200, b"OK")  # an explicit reason takes the general path
            return b"Hello, world!"

    plain, general = Served(Hello()), Served(Reasoned())
    plain.send(GET)
    general.send(GET)
    # The Date line may differ if a second ends between the two; the rest may not.
    written = [re.sub(rb"Date: [^\r]*", b"Date: -", s.transport.value()) for s in (plain, general)]
    assert (
        written[0]
        == written[1]
        == (
            b"HTTP/1.1 200 OK\r\nDate: -\r\nServer: plait\r\nContent-Length: 13\r\n\r\nHello, world!"
        )
    )


def test_get_header_before_and_after_headers_object() -> None:
    """getHeader gives the last value of a name, case-insensitively, with few or many headers."""
    seen: list[object] = []

    class Peek(Hello):
        def render_GET(self, request: Any) -> bytes:
            seen.append((request.getHeader("X-A"), request.getHeader(b"x-b")))
            request.requestHeaders.addRawHeader(b"x-b", b"3")
            seen.append((request.getHeader(b"X-a"), request.getHeader(b"x-b")))
            return b"ok"

    s = Served(Peek())
    s.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\n\r\n")
    many = b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(30))
    s.send(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n" + many + b"X-A: 2\r\n\r\n")
    assert seen == [(b"2", None), (b"2", b"3")] * 2


def test_keep_alive_two_requests() -> None:
    """Two requests one after the other on one connection get two responses."""
    s = Served(Hello())
    s.send(GET)
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
    assert [(r[0], r[2]) for r in s.responses()] == [(200, b"Hello, world!"), (200, b"abc")]


def test_pipelined_answered_in_order() -> None:
    """A pipelined request waits until the response before it is finished."""
    later = Later()
    s = Served(later)
    s.send(b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert [r.path for r in later.pending] == [b"/1"]
    assert s.transport.value() == b""
    later.pending[0].write(b"one")
    later.pending[0].finish()
    assert [r.path for r in later.pending] == [b"/1", b"/2"]
    later.pending[1].write(b"two")
    later.pending[1].finish()
    assert [r[2] for r in s.responses()] == [b"one", b"two"]


def test_pipelining_pauses_reading() -> None:
    """While a response is pending and many bytes wait, the transport stops reading."""
    later = Later()
    s = Served(later, maxPipelineBytes=100)
    s.send(GET + GET * 20)
    assert s.transport.producerState == "paused"
    for i in range(21):
        later.pending[i].finish()
    assert s.transport.producerState == "producing" and len(later.pending) == 21


def test_chunked_response_and_close_delimited_on_10() -> None:
    """A streamed body is chunked on HTTP/1.1 and close-delimited on HTTP/1.0."""
    later = Later()
    s = Served(later)
    s.send(GET)
    later.pending[0].write(b"ab")
    later.pending[0].write(b"cd")
    later.pending[0].finish()
    [(_, headers, body)] = s.responses()
    assert headers["transfer-encoding"] == "chunked" and body == b"abcd"
    assert s.transport.value().endswith(b"0\r\n\r\n")
    s10 = Served(later)
    s10.send(b"GET / HTTP/1.0\r\n\r\n")
    later.pending[1].write(b"xyz")
    later.pending[1].finish()
    raw = s10.transport.value()
    assert b"Transfer-Encoding" not in raw and raw.endswith(b"\r\n\r\nxyz")
    assert b"Connection: close" in raw and s10.transport.disconnecting


def test_http10_keep_alive() -> None:
    """HTTP/1.0 with Connection: keep-alive keeps the connection when the length is known."""
    s = Served(Hello())
    s.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert b"Connection: keep-alive" in s.transport.value()
    assert not s.transport.disconnecting


def test_connection_close() -> None:
    """Connection: close from the client closes after the response."""
    s = Served(Hello())
    s.send(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert s.responses()[0][2] == b"Hello, world!" and s.transport.disconnecting


def test_head_has_no_body() -> None:
    """HEAD falls back to render_GET, keeps Content-Length and sends no body."""
    s = Served(Hello())
    s.send(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    raw = s.transport.value()
    assert raw.endswith(b"\r\n\r\n") and b"Content-Length: 13" in raw
    assert b"Hello" not in raw


def test_405_501_404() -> None:
    """An unimplemented method is 405 with Allow, an unknown one 501; a missing child 404."""
    s = Served(Hello())
    s.send(b"DELETE / HTTP/1.1\r\nHost: h\r\n\r\nBREW / HTTP/1.1\r\nHost: h\r\n\r\n")
    (s1, h1, _), (s2, _, _) = s.responses()
    assert (s1, h1["allow"], s2) == (405, "GET, HEAD, POST", 501)
    root = Resource()
    root.putChild(b"hello", Hello())
    s = Served(root)
    s.send(b"GET /hello HTTP/1.1\r\nHost: h\r\n\r\nGET /nope HTTP/1.1\r\nHost: h\r\n\r\n")
    assert [r[0] for r in s.responses()] == [200, 404]


def test_resource_tree_paths() -> None:
    """prepath/postpath/sitepath follow the walk; segments are percent-decoded."""
    seen: list[Any] = []

    class Leaf(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            seen.append((request.prepath, request.postpath, request.sitepath))
            return b""

    root = Resource()
    child = Resource()
    root.putChild(b"a b", child)
    child.putChild(b"c", Leaf())
    s = Served(root)
    s.send(b"GET /a%20b/c/d/e?x=1 HTTP/1.1\r\nHost: h\r\n\r\n")
    assert seen == [([b"a b", b"c"], [b"d", b"e"], [])]


@pytest.mark.parametrize(("name", "data", "status"), BAD, ids=[b[0] for b in BAD])
def test_malformed_answered_once(name: str, data: bytes, status: int) -> None:
    """Each malformed request is answered once with its status, then a lingering close."""
    s = Served(Hello(), maxBodySize=1_000_000)
    s.send(data)
    s.send(GET)  # read and discarded, never answered: no desync
    responses = s.responses()
    assert [r[0] for r in responses] == [status]
    assert s.transport.writeConnectionLost and not s.transport.disconnecting
    s.clock.advance(s.site.lingerTimeout)
    assert s.transport.disconnecting


def test_linger_bounded_in_bytes() -> None:
    """A client that keeps sending after an error is cut off after lingerBytes."""
    s = Served(Hello(), lingerBytes=1000)
    s.send(b"BAD\r\n\r\n")
    s.send(b"x" * 2000)
    assert s.transport.disconnecting


def test_expect_100_continue() -> None:
    """Expect: 100-continue gets an interim 100 before the body is read."""
    s = Served(Hello())
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert s.transport.value() == b"HTTP/1.1 100 Continue\r\n\r\n"
    s.send(b"hi")
    assert s.transport.value().endswith(b"\r\n\r\nhi")


def test_413_without_continue() -> None:
    """A declared body over the limit is refused with 413 before it is sent."""
    s = Served(Hello(), maxBodySize=10)
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
    assert b"100 Continue" not in s.transport.value()
    assert s.responses()[0][0] == 413


def test_chunked_request_body() -> None:
    """A chunked upload reaches the resource as one body."""
    s = Served(Hello())
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
    s.send(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert s.responses()[0][2] == b"abcde"


def test_idle_timeout() -> None:
    """An idle connection is closed after idleTimeout."""
    s = Served(Hello())
    s.send(GET)
    s.clock.advance(59)
    assert not s.transport.disconnecting
    s.clock.advance(1)
    assert s.transport.disconnecting


def test_header_timeout_not_extended_by_trickle() -> None:
    """A head trickling in is answered 408 at headerTimeout, however often bytes come."""
    s = Served(Hello())
    s.send(b"G")
    for _ in range(29):
        s.clock.advance(1)
        s.send(b"E")
    assert s.transport.value() == b""
    s.clock.advance(1)
    assert s.responses()[0][0] == 408


def test_body_timeout_and_other_clients() -> None:
    """A stalled body gets 408; another connection on the same site is unaffected."""
    slow = Served(Hello())
    slow.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab")
    fast = Served(Hello())
    fast.clock = slow.clock
    fast.channel._clock = slow.clock
    fast.send(GET)
    assert fast.responses()[0][0] == 200
    slow.clock.advance(60)
    assert slow.responses()[0][0] == 408


def test_render_deferred_and_coroutine() -> None:
    """render may return a Deferred or a coroutine firing with bytes."""
    d: Deferred[bytes] = Deferred()

    class Async(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> Deferred[bytes]:
            return d

        async def render_POST(self, request: Any) -> bytes:
            return b"from a coroutine"

    s = Served(Async())
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    s.send(GET)
    assert s.transport.value() != b""
    d.callback(b"later")
    assert [r[2] for r in s.responses()] == [b"from a coroutine", b"later"]


def test_render_error_is_500_without_traceback() -> None:
    """An exception in render is logged and answered 500 with no traceback."""

    class Broken(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            raise ZeroDivisionError("secret detail")

    s = Served(Broken())
    s.send(GET)
    [(status, _, body)] = s.responses()
    assert status == 500 and b"secret" not in body and b"Traceback" not in body
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_notify_finish() -> None:
    """notifyFinish fires on finish, fails on disconnect, and works after either."""
    later = Later()
    s = Served(later)
    s.send(GET)
    request = later.pending[0]
    d = request.notifyFinish()
    request.finish()
    assert successResultOf(d) is None
    assert successResultOf(request.notifyFinish()) is None
    s.send(GET)
    request2 = later.pending[1]
    d2 = request2.notifyFinish()
    s.channel.connectionLost(None)  # type: ignore[arg-type]
    failureResultOf(d2)
    failureResultOf(request2.notifyFinish())
    request2.write(b"ignored")


def test_args_query_and_forms() -> None:
    """args merges the query with urlencoded and multipart bodies."""
    seen: list[Any] = []

    class Args(Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> bytes:
            seen.append(request.args)
            return b""

    s = Served(Args())
    body = b"b=2&b=3&c="
    s.send(
        b"POST /?a=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    multipart = (
        b'--XX\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n'
        b'file\r\ndata\r\n--XX\r\nContent-Disposition: form-data; name="g"\r\n\r\nv\r\n--XX--\r\n'
    )
    s.send(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(multipart), multipart)
    )
    assert seen[0] == {b"a": [b"1"], b"b": [b"2", b"3"], b"c": [b""]}
    assert seen[1] == {b"f": [b"file\r\ndata"], b"g": [b"v"]}


def test_body_spooled_to_disk() -> None:
    """A body larger than spoolSize is kept in a temporary file, not in memory."""
    seen: list[Any] = []

    class Size(Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> bytes:
            seen.append((request.content._rolled, len(request.content.read())))
            return b""

    s = Served(Size(), spoolSize=100)
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000)
    assert seen == [(True, 1000)]


def test_cookies_sessions_headers() -> None:
    """getCookie, addCookie, getSession (HttpOnly, SameSite=Lax), expiring sessions."""
    seen: list[Any] = []

    class Sess(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            seen.append((request.getCookie(b"a"), request.getSession()))
            request.addCookie(b"k", b"v", path=b"/", httpOnly=True)
            request.setHeader(b"X-Thing", b"1")
            return b""

    s = Served(Sess())
    s.send(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=2\r\n\r\n")
    raw = s.transport.value()
    assert seen[0][0] == b"1"
    session = seen[0][1]
    assert b"Set-Cookie: PLAIT_SESSION=%s; Path=/; SameSite=Lax; HttpOnly\r\n" % session.uid in raw
    assert b"Set-Cookie: k=v; Path=/; HttpOnly\r\n" in raw and b"X-Thing: 1\r\n" in raw
    s.send(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: PLAIT_SESSION=%s\r\n\r\n" % session.uid)
    assert seen[1][1] is session
    expired: list[bool] = []
    session.notifyOnExpire(lambda: expired.append(True))
    s.clock.advance(session.sessionTimeout + 1)
    assert expired == [True] and session.uid not in s.site.sessions


def test_absolute_form_target() -> None:
    """An absolute-form target is routed by its path, its authority becomes Host."""
    seen: list[Any] = []

    class Where(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            seen.append((request.path, request.getHeader(b"host"), request.args))
            return b""

    s = Served(Where())
    s.send(b"GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n")
    assert seen == [(b"/p", b"example.com:8080", {b"q": [b"1"]})]


def test_redirect_and_response_code() -> None:
    """redirect answers 302 with Location; setResponseCode takes a custom reason."""

    class R(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            if request.path == b"/r":
                request.redirect(b"/elsewhere")
            else:
                request.setResponseCode(299, b"Fine")
            return b""

    s = Served(R())
    s.send(b"GET /r HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n")
    (s1, h1, _), (s2, _, _) = s.responses()
    assert (s1, h1["location"], s2) == (302, "/elsewhere", 299)
    assert b"HTTP/1.1 299 Fine\r\n" in s.transport.value()


def test_response_splitting_refused() -> None:
    """A response header holding CRLF is refused (500), never written."""

    class Split(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"x", b"a\r\nSet-Cookie: evil=1")
            return b""

    s = Served(Split())
    s.send(GET)
    assert s.responses()[0][0] == 500 and b"evil" not in s.transport.value()
    assert len(flushLoggedErrors(ValueError)) == 1


def test_headers_case_insensitive() -> None:
    """Headers compare names case-insensitively and keep value lists."""
    h = Headers({b"Content-Type": [b"a"]})
    h.addRawHeader("content-type", "b")
    assert h.getRawHeaders(b"CONTENT-TYPE") == [b"a", b"b"]
    h.setRawHeaders(b"X", [b"1"])
    assert h.hasHeader(b"x") and dict(h.getAllRawHeaders())[b"X"] == [b"1"]
    h.removeHeader(b"x")
    assert h.getRawHeaders(b"x") is None


def test_access_log_combined_format() -> None:
    """Each finished request is logged to plait.web.access in the Combined Log Format."""
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        s = Served(Hello())
        s.site.accessLog = True
        s.send(b'GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: t"x\r\nReferer: r\r\n\r\n')
    finally:
        globalLogPublisher.removeObserver(events.append)
    lines = [e["line"] for e in events if e.get("log_namespace") == "plait.web.access"]
    assert len(lines) == 1
    assert lines[0].startswith("192.168.1.1 - - [")
    assert lines[0].endswith('] "GET /x HTTP/1.1" 200 13 "r" "t\\"x"')


def test_access_log_file(tmp_path: Any) -> None:
    """logPath appends the access log lines to a file."""
    s = Served(Hello())
    s.site.logPath = str(tmp_path / "access.log")
    s.send(GET)
    s.site.stopFactory()
    text = (tmp_path / "access.log").read_text()
    assert '"GET / HTTP/1.1" 200 13' in text


def test_no_resource_page() -> None:
    """NoResource renders a 404 page."""
    s = Served(NoResource())
    s.send(GET)
    assert s.responses()[0][0] == 404


def test_parse_responses_helper() -> None:
    """The test helper splits pipelined responses (guards the other tests)."""
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 X\r\nContent-Length: 0\r\n\r\n"
    )
    assert [(r[0], r[2]) for r in parseResponses(data)] == [(200, b"a"), (404, b"")]
    assert combinedLogLine  # the public helper exists


def test_session_cookie_secure_on_tls() -> None:
    """Over TLS, isSecure is true and the session cookie carries Secure."""
    from plait.testing import StringTransport

    class TLSTransport(StringTransport):
        def getPeerCertificate(self) -> None:
            return None

    seen: list[bool] = []

    class Sess(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            seen.append(request.isSecure())
            request.getSession()
            return b""

    s = Served(Sess())
    s.transport = TLSTransport()
    s.channel = s.site.buildProtocol(None)
    s.channel.makeConnection(s.transport)
    s.send(GET)
    assert seen == [True]
    assert b"; SameSite=Lax; Secure; HttpOnly\r\n" in s.transport.value()


def test_trailer_fed_bytewise_is_dropped() -> None:
    """Trailers arriving a byte at a time are read and never become headers."""
    seen: list[Any] = []

    class Body(Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> bytes:
            seen.append((request.content.read(), request.getHeader(b"x-trailer")))
            return b""

    s = Served(Body())
    data = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nab\r\n0\r\nX-Trailer: " + b"t" * 5000 + b"\r\n\r\n"
    )
    for i in range(len(data)):
        s.send(data[i : i + 1])
    assert seen == [(b"ab", None)]
