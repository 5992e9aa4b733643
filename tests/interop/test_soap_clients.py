"""zeep and suds against plait's SOAPPublisher through its generated WSDL (real loopback sockets,
a plait reactor in a thread); skipped when a client is not installed."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from plait.reactor import defaultReactorClass
from plait.web import Site
from plait.web.soap import SOAPFault, SOAPPublisher


class Calculator(SOAPPublisher):
    """The service the clients call."""

    def soap_add(self, a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    def soap_join(self, words: list[str], sep: str) -> str:
        """Join words with sep."""
        return sep.join(words)

    def soap_reverse(self, xs: list[int]) -> list[int]:
        """Reverse a list."""
        return xs[::-1]

    def soap_half(self, x: float) -> float:
        """Half of x."""
        return x / 2

    def soap_negate(self, flag: bool) -> bool:
        """Not flag."""
        return not flag

    def soap_shout(self, data: bytes) -> bytes:
        """Upper-case bytes."""
        return data.upper()

    def soap_refuse(self) -> str:
        """Always a fault."""
        raise SOAPFault("Server", "refused on purpose")


def _onReactor(reactor: Any, f: Callable[[], Any]) -> Any:
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(f())
        except BaseException as e:
            future.set_exception(e)

    reactor.callFromThread(run)
    return future.result(timeout=20)


@pytest.fixture(scope="module")
def wsdl() -> Iterator[str]:
    """A plait SOAP server in a reactor thread; yields the WSDL URL."""
    reactor = defaultReactorClass()()
    thread = threading.Thread(
        target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
    )
    thread.start()
    port = _onReactor(
        reactor,
        lambda: reactor.listenTCP(
            0, Site(Calculator(), reactor, accessLog=False), interface="127.0.0.1"
        ),
    )
    yield f"http://127.0.0.1:{port.getHost().port}/soap?wsdl"
    reactor.callFromThread(reactor.stop)
    thread.join(10)


def test_raw_post(wsdl: str) -> None:
    """A hand-written SOAP-encoded POST (the paper's era) gets addResponse/Result."""
    body = (
        b'<?xml version="1.0"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        b' xmlns:xsd="http://www.w3.org/2001/XMLSchema"><e:Body><m:add xmlns:m="urn:x">'
        b'<a xsi:type="xsd:int">20</a><b xsi:type="xsd:int">22</b></m:add></e:Body></e:Envelope>'
    )
    request = urllib.request.Request(
        wsdl.split("?")[0], data=body, headers={"Content-Type": "text/xml", "SOAPAction": '""'}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        out = response.read()
    assert b'<Result xsi:type="xsd:int">42</Result>' in out and b"addResponse" in out


def test_zeep(wsdl: str) -> None:
    """zeep reads the WSDL and calls every operation; a fault is zeep's Fault."""
    zeep = pytest.importorskip("zeep")
    client = zeep.Client(wsdl)
    assert client.service.add(2, 3) == 5
    assert client.service.join({"item": ["a", "b", "c"]}, "-") == "a-b-c"
    assert client.service.reverse({"item": [1, 2, 3]}) == [3, 2, 1]
    assert client.service.half(5.0) == 2.5
    assert client.service.negate(True) is False
    assert client.service.shout(b"abc") == b"ABC"
    with pytest.raises(zeep.exceptions.Fault) as e:
        client.service.refuse()
    assert e.value.message == "refused on purpose"
    client.transport.session.close()


def test_suds(wsdl: str) -> None:
    """suds reads the WSDL and calls the operations; a fault is suds' WebFault."""
    suds_client = pytest.importorskip("suds.client")
    import suds

    client = suds_client.Client(wsdl, cache=None)
    assert client.service.add(2, 3) == 5
    words = client.factory.create("ArrayOf_string")
    words.item = ["a", "b"]
    assert client.service.join(words, "+") == "a+b"
    xs = client.factory.create("ArrayOf_int")
    xs.item = [1, 2, 3]
    assert list(client.service.reverse(xs).item) == [3, 2, 1]
    assert client.service.half(3.0) == 1.5
    assert client.service.negate(False) is True
    with pytest.raises(suds.WebFault) as e:
        client.service.refuse()
    assert "refused on purpose" in str(e.value)
