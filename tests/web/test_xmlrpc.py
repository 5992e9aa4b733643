"""plait.web.xmlrpc: the XMLRPC resource over an in-memory site; Proxy over a MemoryReactor."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any

import pytest

from plait.defer import Deferred, fail, succeed
from plait.testing import MemoryReactorClock, failureResultOf, flushLoggedErrors, successResultOf
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


def _answer(reactor: MemoryReactorClock, response: bytes) -> bytes:
    """Connect the Proxy's pending connection, answer it, return what the client sent."""
    from plait.testing import StringTransport

    _host, _port, factory, _timeout, _bind = reactor.tcpClients[-1]
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(response)
    protocol.connectionLost(None)
    return transport.value()  # type: ignore[no-any-return]


def test_proxy_call() -> None:
    """Proxy POSTs a methodCall and fires with the unmarshalled result."""
    reactor = MemoryReactorClock()
    d = Proxy("http://example.com:8080/RPC2", reactor).callRemote("add", 1, 2)
    body = xmlrpc.client.dumps((3,), methodresponse=True).encode()
    sent = _answer(reactor, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert sent.startswith(b"POST /RPC2 HTTP/1.1\r\n") and b"Host: example.com:8080" in sent
    assert xmlrpc.client.loads(sent.split(b"\r\n\r\n", 1)[1]) == ((1, 2), "add")
    assert reactor.tcpClients[0][:2] == ("example.com", 8080)
    assert successResultOf(d) == 3


def test_proxy_fault() -> None:
    """A Fault response fails the Deferred with Fault."""
    reactor = MemoryReactorClock()
    d = Proxy("http://h/", reactor).callRemote("x")
    body = xmlrpc.client.dumps(Fault(5, "no")).encode()
    _answer(reactor, b"HTTP/1.0 200 OK\r\n\r\n" + body)
    assert failureResultOf(d, Fault).value.faultCode == 5


def test_proxy_http_error() -> None:
    """A non-200 status fails the Deferred."""
    reactor = MemoryReactorClock()
    d = Proxy("http://h/", reactor).callRemote("x")
    _answer(reactor, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert "404" in str(failureResultOf(d, ValueError).value)


def test_proxy_rejects_bad_url() -> None:
    """Only http and https URLs are accepted."""
    with pytest.raises(ValueError):
        Proxy("ftp://h/", MemoryReactorClock())


def test_with_request() -> None:
    """@withRequest methods get the Request first."""
    assert rpc(Math(), "whoami", "hi") == "hi h"


def test_proxy_response_bounded() -> None:
    """A response over the client's limit fails the Deferred and drops the connection."""
    reactor = MemoryReactorClock()
    d = Proxy("http://h/", reactor).callRemote("x")
    from plait.testing import StringTransport

    factory = reactor.tcpClients[-1][2]
    factory.maxResponseSize = 100
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    protocol.dataReceived(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 200)
    assert transport.disconnecting
    protocol.connectionLost(None)
    assert "too large" in str(failureResultOf(d).value)
