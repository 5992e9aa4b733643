"""plait.web.xmlrpc: the XMLRPC resource over an in-memory site; Proxy over fake connections."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any

import pytest

from plait.defer import Deferred, fail, succeed
from plait.testing import (
    Clock,
    MemoryReactorClock,
    failureResultOf,
    flushLoggedErrors,
    successResultOf,
)
from plait.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool
from plait.web.xmlrpc import (
    XMLRPC,
    Binary,
    Fault,
    NoSuchFunction,
    Proxy,
    addIntrospection,
    withRequest,
)

from .support import Served
from .test_client import FakeEndpoints


class Math(XMLRPC):
    """A test server."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.pending: list[Deferred[int]] = []

    def xmlrpc_add(self, a: int, b: int) -> int:
        """Return a + b."""
        return a + b

    xmlrpc_add.signature = [["int", "int", "int"]]  # type: ignore[attr-defined]

    def xmlrpc_later(self) -> Deferred[int]:
        """A result that comes later."""
        d: Deferred[int] = Deferred()
        self.pending.append(d)
        return d

    async def xmlrpc_coro(self, x: int) -> int:
        """A coroutine procedure."""
        return await succeed(x * 2)

    def xmlrpc_fault(self) -> None:
        """Raise a Fault."""
        raise Fault(42, "the answer")

    def xmlrpc_deferredFault(self) -> Deferred[None]:
        """Fail with a Fault through a Deferred."""
        return fail(Fault(7, "later fault"))

    def xmlrpc_boom(self) -> None:
        """Raise something unexpected."""
        raise ZeroDivisionError("boom")

    def xmlrpc_echo(self, x: object) -> object:
        """Return the argument."""
        return x

    @withRequest
    def xmlrpc_whoami(self, request: Any, greeting: str) -> str:
        """Use the request."""
        return f"{greeting} {request.getHeader(b'host').decode()}"


class Sub(XMLRPC):
    """A sub-handler."""

    def xmlrpc_hello(self) -> str:
        """Say hello."""
        return "hello"


def call(resource: XMLRPC, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """POST ``body`` to ``resource`` and return the one response."""
    s = Served(resource)
    s.send(
        b"POST /RPC2 HTTP/1.1\r\nHost: h\r\nContent-Type: text/xml\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    [response] = s.responses(["POST"])
    return response


def rpc(resource: XMLRPC, method: str, *args: Any, allowNone: bool = False) -> Any:
    """Call ``method`` and return the unmarshalled result (raises Fault)."""
    status, headers, body = call(
        resource, xmlrpc.client.dumps(args, method, allow_none=allowNone).encode()
    )
    assert status == 200 and headers["content-type"].startswith("text/xml")
    return xmlrpc.client.loads(body, use_datetime=True)[0][0]


def test_add() -> None:
    """A procedure's return value is marshalled as the response."""
    assert rpc(Math(), "add", 2, 3) == 5


def test_coroutine_procedure() -> None:
    """An ``async def`` procedure's result is sent."""
    assert rpc(Math(), "coro", 21) == 42


def test_deferred_procedure() -> None:
    """A Deferred result is sent when it fires, not before."""
    math = Math()
    s = Served(math)
    body = xmlrpc.client.dumps((), "later").encode()
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert s.transport.value() == b""
    math.pending[0].callback(9)
    [(_, _, out)] = s.responses(["POST"])
    assert xmlrpc.client.loads(out)[0] == (9,)


def test_fault_raised() -> None:
    """A raised Fault reaches the client with its code and string."""
    with pytest.raises(Fault) as e:
        rpc(Math(), "fault")
    assert (e.value.faultCode, e.value.faultString) == (42, "the answer")


def test_fault_from_deferred() -> None:
    """A Deferred failing with a Fault is answered with that Fault."""
    with pytest.raises(Fault) as e:
        rpc(Math(), "deferredFault")
    assert e.value.faultCode == 7


def test_unexpected_error_logged() -> None:
    """Another exception is logged and answered with Fault FAILURE (8002)."""
    with pytest.raises(Fault) as e:
        rpc(Math(), "boom")
    assert e.value.faultCode == XMLRPC.FAILURE
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_unknown_procedure() -> None:
    """An unknown name is Fault 8001 "procedure ... not found"."""
    with pytest.raises(Fault) as e:
        rpc(Math(), "nope")
    assert e.value.faultCode == 8001 and "nope" in e.value.faultString


def test_subhandler() -> None:
    """``putSubHandler`` publishes ``prefix.method``; unknown prefixes are 8001."""
    math = Math()
    math.putSubHandler("sub", Sub())
    assert rpc(math, "sub.hello") == "hello"
    with pytest.raises(Fault) as e:
        rpc(math, "other.hello")
    assert e.value.faultCode == 8001


def test_lookup_raises_no_such_function() -> None:
    """``lookupProcedure`` raises NoSuchFunction for missing names."""
    with pytest.raises(NoSuchFunction):
        Math().lookupProcedure("missing")


def test_introspection() -> None:
    """system.listMethods / methodHelp / methodSignature describe the procedures."""
    math = Math()
    math.putSubHandler("sub", Sub())
    addIntrospection(math)
    names = rpc(math, "system.listMethods")
    assert {"add", "sub.hello", "system.listMethods", "system.methodHelp"} <= set(names)
    assert rpc(math, "system.methodHelp", "add") == "Return a + b."
    assert rpc(math, "system.methodSignature", "add") == [["int", "int", "int"]]
    assert rpc(math, "system.methodSignature", "echo") == ""


def test_none_refused_without_allow_none() -> None:
    """Returning None without allowNone is a logged marshalling failure (Fault 8002)."""
    with pytest.raises(Fault) as e:
        rpc(Math(), "echo", None, allowNone=True)
    assert e.value.faultCode == XMLRPC.FAILURE
    assert flushLoggedErrors(TypeError)


def test_none_with_allow_none() -> None:
    """With allowNone, None round-trips as <nil/>."""
    assert rpc(Math(allowNone=True), "echo", None, allowNone=True) is None


def test_datetime_and_binary() -> None:
    """Dates (useDateTime) and binary data round-trip."""
    when = datetime.datetime(2003, 6, 9, 12, 0, 0)
    assert rpc(Math(useDateTime=True), "echo", when) == when
    assert rpc(Math(), "echo", Binary(b"\x00\xff")).data == b"\x00\xff"


def test_garbage_is_a_fault() -> None:
    """Unparseable XML is answered with a Fault, not a crash."""
    status, _, body = call(Math(), b"<methodCall><not closed")
    assert status == 200
    with pytest.raises(Fault):
        xmlrpc.client.loads(body)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<methodCall><methodName>echo</methodName><params><param><value><string>&lol2;</string>
</value></param></params></methodCall>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>echo</methodName><params><param><value><string>&ext;</string>
</value></param></params></methodCall>"""


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, EXTERNAL])
def test_xml_bombs_refused(bomb: bytes) -> None:
    """Entity declarations (billion laughs, external entities) are refused with a Fault."""
    _, _, body = call(Math(), bomb)
    with pytest.raises(Fault) as e:
        xmlrpc.client.loads(body)
    assert "DOCTYPE" in e.value.faultString


def test_body_too_large() -> None:
    """A body over maxBodySize is answered 413."""
    math = Math()
    math.maxBodySize = 10
    status, _, _ = call(math, xmlrpc.client.dumps((1,), "echo").encode())
    assert status == 413


def test_get_not_allowed() -> None:
    """GET is 405 (only POST is rendered)."""
    s = Served(Math())
    s.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert s.responses()[0][0] == 405


def fakeProxy(url: str = "http://h/", **kw: Any) -> tuple[Proxy, FakeEndpoints]:
    """A Proxy whose Agent connects to in-memory fake connections."""
    clock = Clock()
    endpoints = FakeEndpoints()
    agent = Agent(clock, pool=HTTPConnectionPool(clock), endpointFactory=endpoints)
    return Proxy(url, clock, agent=agent, **kw), endpoints


def methodResponse(value: Any) -> bytes:
    """A 200 keep-alive response carrying an XML-RPC methodResponse."""
    body = xmlrpc.client.dumps((value,), methodresponse=True).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_proxy_call() -> None:
    """Proxy POSTs a methodCall through its Agent and fires with the unmarshalled result."""
    proxy, endpoints = fakeProxy("http://user:pw@example.com:8080/RPC2?x=1")
    d = proxy.callRemote("add", 1, 2)
    (conn,) = endpoints.connections
    sent = conn.sent()
    head, body = sent.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /RPC2?x=1 HTTP/1.1\r\n")
    assert b"Host: example.com:8080" in head and b"user:pw" not in sent
    assert b"Content-Type: text/xml" in head and b"Content-Length: %d" % len(body) in head
    assert xmlrpc.client.loads(body) == ((1, 2), "add")
    assert endpoints.targets == [(b"http", b"example.com", 8080)]
    conn.respond(methodResponse(3))
    assert successResultOf(d) == 3


def test_proxy_keeps_connection_alive() -> None:
    """Successive calls reuse one kept-alive connection from the pool."""
    proxy, endpoints = fakeProxy()
    for n in range(3):
        d = proxy.callRemote("echo", n)
        endpoints.connections[-1].respond(methodResponse(n))
        assert successResultOf(d) == n
    assert len(endpoints.connections) == 1
    proxy.closeCachedConnections()
    assert endpoints.connections[0].transport.disconnecting


def test_proxy_fault() -> None:
    """A Fault response fails the Deferred with Fault."""
    proxy, endpoints = fakeProxy()
    d = proxy.callRemote("x")
    body = xmlrpc.client.dumps(Fault(5, "no")).encode()
    endpoints.connections[0].respond(b"HTTP/1.0 200 OK\r\n\r\n" + body)
    endpoints.connections[0].close()
    assert failureResultOf(d, Fault).value.faultCode == 5


def test_proxy_http_error() -> None:
    """A non-200 status fails the Deferred."""
    proxy, endpoints = fakeProxy()
    d = proxy.callRemote("x")
    endpoints.connections[0].respond(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert "404" in str(failureResultOf(d, ValueError).value)


def test_proxy_refuses_entity_declarations() -> None:
    """A response with a DOCTYPE is refused before the XML parser sees it."""
    proxy, endpoints = fakeProxy()
    d = proxy.callRemote("x")
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><methodResponse/>'
    endpoints.connections[0].respond(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert "DOCTYPE" in str(failureResultOf(d, ValueError).value)


def test_proxy_rejects_bad_url() -> None:
    """Only http and https URLs are accepted."""
    with pytest.raises(ValueError):
        Proxy("ftp://h/", MemoryReactorClock())


def test_proxy_default_agent_connects_with_timeout() -> None:
    """Without an agent, the Proxy's own Agent connects with connectTimeout."""
    reactor = MemoryReactorClock()
    Proxy("http://127.0.0.1:8080/RPC2", reactor, connectTimeout=7).callRemote("add", 1, 2)
    reactor.advance(0)
    host, port, _factory, timeout, _bind = reactor.tcpClients[-1]
    assert (host, port, timeout) == ("127.0.0.1", 8080, 7)


def test_proxy_https_context_factory() -> None:
    """https uses the given contextFactory for every host; by default it verifies."""
    options = object()
    proxy = Proxy("https://h/", MemoryReactorClock(), contextFactory=options)
    assert proxy.agent._tlsPolicy.creatorForNetloc(b"h", 443) is options
    default = Proxy("https://h/", MemoryReactorClock()).agent._tlsPolicy
    assert isinstance(default, BrowserLikePolicyForHTTPS)


def test_with_request() -> None:
    """@withRequest methods get the Request first."""
    assert rpc(Math(), "whoami", "hi") == "hi h"


def test_proxy_response_bounded() -> None:
    """A response over the client's limit fails the Deferred and drops the connection."""
    proxy, endpoints = fakeProxy()
    proxy.maxResponseSize = 100
    d = proxy.callRemote("x")
    conn = endpoints.connections[0]
    conn.respond(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 200)
    assert conn.transport.disconnecting or conn.transport.disconnected
    assert "too large" in str(failureResultOf(d).value)
