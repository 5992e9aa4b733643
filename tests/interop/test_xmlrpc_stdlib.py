"""plait's XML-RPC server against ``xmlrpc.client.ServerProxy``; plait's ``Proxy`` against the
stdlib ``SimpleXMLRPCServer`` (real loopback sockets, a plait reactor in a thread)."""

from __future__ import annotations

import datetime
import threading
import xmlrpc.client
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any
from xmlrpc.server import SimpleXMLRPCServer

import pytest

from plait.defer import Deferred
from plait.reactor import defaultReactorClass
from plait.web import Site
from plait.web.xmlrpc import XMLRPC, Binary, Fault, Proxy, addIntrospection


class Service(XMLRPC):
    """Procedures for the stdlib client."""

    def xmlrpc_add(self, a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    def xmlrpc_echo(self, x: object) -> object:
        """Return the argument."""
        return x

    def xmlrpc_fail(self) -> None:
        """Raise a Fault."""
        raise Fault(17, "no good")


class ReactorThread:
    """A plait reactor running in a background thread."""

    def __init__(self) -> None:
        self.reactor = defaultReactorClass()()
        self.thread = threading.Thread(
            target=self.reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
        )

    def call(self, f: Callable[[], Any]) -> Any:
        """Run ``f`` on the reactor thread; wait for its (Deferred's) result."""
        future: Future[Any] = Future()

        def run() -> None:
            try:
                result = f()
            except BaseException as e:
                future.set_exception(e)
                return
            if isinstance(result, Deferred):
                result.addCallbacks(future.set_result, lambda f: future.set_exception(f.value))
            else:
                future.set_result(result)

        self.reactor.callFromThread(run)
        return future.result(timeout=20)


@pytest.fixture(scope="module")
def rt() -> Iterator[ReactorThread]:
    """A running reactor thread."""
    r = ReactorThread()
    r.thread.start()
    yield r
    r.reactor.callFromThread(r.reactor.stop)
    r.thread.join(10)


def serve(rt: ReactorThread, resource: XMLRPC) -> str:
    """Listen on 127.0.0.1:0 with ``resource``; return the URL."""
    port = rt.call(
        lambda: rt.reactor.listenTCP(
            0, Site(resource, rt.reactor, accessLog=False), interface="127.0.0.1"
        )
    )
    return f"http://127.0.0.1:{port.getHost().port}/"


@pytest.fixture(scope="module")
def url(rt: ReactorThread) -> str:
    """A plait XML-RPC server (allowNone, introspection)."""
    service = Service(allowNone=True, useDateTime=True)
    addIntrospection(service)
    return serve(rt, service)


def test_values(url: str) -> None:
    """Numbers, strings, lists, structs and booleans round-trip through the stdlib client."""
    with xmlrpc.client.ServerProxy(url) as proxy:
        assert proxy.add(2, 3) == 5
        value = {"a": [1, 2.5, "x", True], "b": {"c": "ü"}}
        assert proxy.echo(value) == value


def test_fault(url: str) -> None:
    """A Fault raised in plait is a Fault in the stdlib client."""
    with xmlrpc.client.ServerProxy(url) as proxy, pytest.raises(xmlrpc.client.Fault) as e:
        proxy.fail()
    assert (e.value.faultCode, e.value.faultString) == (17, "no good")


def test_unknown_method(url: str) -> None:
    """An unknown method is Fault 8001."""
    with xmlrpc.client.ServerProxy(url) as proxy, pytest.raises(xmlrpc.client.Fault) as e:
        proxy.nope()
    assert e.value.faultCode == 8001


def test_list_methods(url: str) -> None:
    """system.listMethods lists the procedures."""
    with xmlrpc.client.ServerProxy(url) as proxy:
        names = proxy.system.listMethods()
    assert {"add", "echo", "fail", "system.listMethods"} <= set(names)


def test_none_datetime_binary(url: str) -> None:
    """None (allow_none), datetime and binary round-trip."""
    when = datetime.datetime(2003, 6, 9, 14, 30, 0)
    with xmlrpc.client.ServerProxy(url, allow_none=True, use_datetime=True) as proxy:
        assert proxy.echo(None) is None
        assert proxy.echo(when) == when
        assert proxy.echo(xmlrpc.client.Binary(b"\x00\x01\xfe")).data == b"\x00\x01\xfe"


@pytest.fixture(scope="module")
def stdlibServer() -> Iterator[str]:
    """A stdlib SimpleXMLRPCServer on 127.0.0.1:0 in a thread."""
    server = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
    server.register_function(lambda a, b: a + b, "add")
    server.register_function(lambda x: x, "echo")

    def boom() -> None:
        raise ValueError("boom")

    server.register_function(boom, "boom")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/RPC2"
    server.shutdown()
    server.server_close()


def test_proxy_against_stdlib(rt: ReactorThread, stdlibServer: str) -> None:
    """plait's Proxy calls the stdlib server: values, None, binary."""
    proxy = Proxy(stdlibServer, rt.reactor, allowNone=True)
    assert rt.call(lambda: proxy.callRemote("add", 40, 2)) == 42
    assert rt.call(lambda: proxy.callRemote("echo", None)) is None
    value = {"k": ["v", 1, 2.5]}
    assert rt.call(lambda: proxy.callRemote("echo", value)) == value
    assert rt.call(lambda: proxy.callRemote("echo", Binary(b"\x00"))).data == b"\x00"


def test_proxy_fault_from_stdlib(rt: ReactorThread, stdlibServer: str) -> None:
    """The stdlib server's Fault fails plait's Deferred with Fault."""
    proxy = Proxy(stdlibServer, rt.reactor)
    with pytest.raises(Fault) as e:
        rt.call(lambda: proxy.callRemote("boom"))
    assert "boom" in e.value.faultString


def test_proxy_against_plait(rt: ReactorThread, url: str) -> None:
    """plait's Proxy against plait's server."""
    proxy = Proxy(url, rt.reactor)
    assert rt.call(lambda: proxy.callRemote("add", 1, 1)) == 2


def test_proxy_keep_alive_against_plait(rt: ReactorThread) -> None:
    """Successive calls of one Proxy share one kept-alive connection (its Agent's pool)."""
    built: list[object] = []

    class CountingSite(Site):
        def buildProtocol(self, addr: Any) -> Any:
            built.append(addr)
            return super().buildProtocol(addr)

    site = CountingSite(Service(), rt.reactor, accessLog=False)
    port = rt.call(lambda: rt.reactor.listenTCP(0, site, interface="127.0.0.1"))
    proxy = Proxy(f"http://127.0.0.1:{port.getHost().port}/", rt.reactor)
    assert [rt.call(lambda n=n: proxy.callRemote("add", n, 1)) for n in range(3)] == [1, 2, 3]
    assert len(built) == 1
    rt.call(proxy.closeCachedConnections)
    rt.call(port.stopListening)


def test_proxy_connection_refused(rt: ReactorThread) -> None:
    """A refused connection fails the Deferred with a ConnectError."""
    from plait.protocol import ConnectError

    port = rt.call(
        lambda: rt.reactor.listenTCP(0, Site(Service(), rt.reactor), interface="127.0.0.1")
    )
    number = port.getHost().port
    rt.call(port.stopListening)
    with pytest.raises(ConnectError):
        rt.call(lambda: Proxy(f"http://127.0.0.1:{number}/", rt.reactor).callRemote("add", 1, 2))


def test_proxy_https(rt: ReactorThread) -> None:
    """Over https the Proxy verifies the certificate: trusted CA works, the default refuses."""
    from plait.tls import TLSError, clientOptions, serverOptions

    from ..tls.certs import CA

    ca = CA()
    leaf = ca.issue("127.0.0.1")
    options = serverOptions(leaf.certPEM, leaf.keyPEM)
    port = rt.call(
        lambda: rt.reactor.listenSSL(
            0, Site(Service(), rt.reactor, accessLog=False), options, interface="127.0.0.1"
        )
    )
    url = f"https://127.0.0.1:{port.getHost().port}/"
    trusting = Proxy(url, rt.reactor, contextFactory=clientOptions("127.0.0.1", ca.certPEM))
    assert rt.call(lambda: trusting.callRemote("add", 3, 4)) == 7
    with pytest.raises(TLSError):
        rt.call(lambda: Proxy(url, rt.reactor).callRemote("add", 3, 4))
    rt.call(port.stopListening)
