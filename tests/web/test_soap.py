"""plait.web.soap: SOAPPublisher over an in-memory site (encoded and literal calls, faults, WSDL)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from plait.defer import Deferred, succeed
from plait.testing import flushLoggedErrors
from plait.web.soap import SOAPFault, SOAPPublisher

from .support import Served

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


class MySOAP(SOAPPublisher):
    """The paper's Figure 5 plus a few more."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Deferred[int]] = []

    def soap_add(self, a, b):  # type: ignore[no-untyped-def]
        """Untyped, as in the paper: the xsi:types decide."""
        return a + b

    def soap_typed(self, n: int, xs: list[float], flag: bool, data: bytes) -> list[Any]:
        """Annotated: literal arguments are converted by annotation."""
        return [n, sum(xs), flag, data]

    def soap_echo(self, x: object) -> object:
        """Return the argument."""
        return x

    def soap_later(self) -> Deferred[int]:
        """A result that comes later."""
        d: Deferred[int] = Deferred()
        self.pending.append(d)
        return d

    async def soap_coro(self, x: int) -> int:
        """A coroutine method."""
        return await succeed(x + 1)

    def soap_fault(self) -> None:
        """Raise a SOAPFault."""
        raise SOAPFault("Client", "you asked for it", detail="more")

    def soap_boom(self) -> None:
        """Raise something unexpected."""
        raise ZeroDivisionError("boom")


def envelope(inner: str) -> bytes:
    """A SOAP 1.1 request envelope around ``inner``."""
    return (
        f'<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" '
        'xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" '
        f'xmlns:xsi="{XSI}" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f"<SOAP-ENV:Body>{inner}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def post(resource: SOAPPublisher, body: bytes) -> tuple[int, ET.Element]:
    """POST ``body``; return the status and the response's first Body child."""
    s = Served(resource)
    s.send(b"POST /soap HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    [(status, headers, out)] = s.responses(["POST"])
    assert headers["content-type"].startswith("text/xml")
    return status, ET.fromstring(out).find(f"{{{ENV}}}Body")[0]  # type: ignore[index]


def result(resource: SOAPPublisher, inner: str) -> ET.Element:
    """The Result element of a successful call."""
    status, answer = post(resource, envelope(inner))
    assert status == 200, ET.tostring(answer)
    found = answer.find("Result")
    assert found is not None
    return found


def test_figure5_add_encoded() -> None:
    """add(a, b) with xsi:type int arguments answers addResponse/Result 3 in the call's namespace."""
    status, answer = post(
        MySOAP(),
        envelope(
            '<ns:add xmlns:ns="urn:test"><a xsi:type="xsd:int">1</a>'
            '<b xsi:type="xsd:int">2</b></ns:add>'
        ),
    )
    assert status == 200 and answer.tag == "{urn:test}addResponse"
    r = answer.find("Result")
    assert r is not None and r.text == "3" and r.get(f"{{{XSI}}}type") == "xsd:int"


def test_positional_and_string_types() -> None:
    """Arguments with other names are positional; xsd:string and xsd:double decode."""
    r = result(
        MySOAP(),
        '<add><x xsi:type="xsd:string">ab</x><y xsi:type="xsd:string">cd</y></add>',
    )
    assert r.text == "abcd"
    r = result(MySOAP(), '<add><x xsi:type="xsd:double">1.5</x><y xsi:type="xsd:int">2</y></add>')
    assert r.text == "3.5"


def test_literal_arguments_by_annotation() -> None:
    """Untyped (literal) arguments are converted by the method's annotations."""
    data = base64.b64encode(b"\x00\x01").decode()
    r = result(
        MySOAP(),
        "<typed><n>4</n><xs><item>1.5</item><item>2</item></xs><flag>true</flag>"
        f"<data>{data}</data></typed>",
    )
    items = [(i.get(f"{{{XSI}}}type"), i.text) for i in r]
    assert items == [
        ("xsd:int", "4"),
        ("xsd:double", "3.5"),
        ("xsd:boolean", "true"),
        ("xsd:base64Binary", data),
    ]


def test_encoded_array_and_struct() -> None:
    """SOAP-ENC arrays and structs decode; the answer echoes them with array types."""
    r = result(
        MySOAP(),
        '<echo><x xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:int[2]">'
        '<v xsi:type="xsd:int">1</v><v xsi:type="xsd:int">2</v></x></echo>',
    )
    assert r.get(f"{{{XSI}}}type") == "SOAP-ENC:Array" and [i.text for i in r] == ["1", "2"]
    r = result(MySOAP(), '<echo><x><name xsi:type="xsd:string">n</name></x></echo>')
    assert [(c.tag, c.text) for c in r] == [("name", "n")]


def test_nil() -> None:
    """xsi:nil decodes to None and None encodes as xsi:nil."""
    r = result(MySOAP(), '<echo><x xsi:nil="true"/></echo>')
    assert r.get(f"{{{XSI}}}nil") == "true"


def test_deferred_and_coroutine() -> None:
    """A Deferred's result is sent when it fires; a coroutine's result is sent."""
    pub = MySOAP()
    s = Served(pub)
    body = envelope("<later/>")
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert s.transport.value() == b""
    pub.pending[0].callback(7)
    assert b'<Result xsi:type="xsd:int">7</Result>' in s.responses(["POST"])[0][2]
    assert result(MySOAP(), '<coro><x xsi:type="xsd:int">1</x></coro>').text == "2"


def fault(resource: SOAPPublisher, body: bytes) -> tuple[str, str]:
    """(faultcode, faultstring) of a call that must fail with HTTP 500."""
    status, answer = post(resource, body)
    assert status == 500 and answer.tag == f"{{{ENV}}}Fault"
    return answer.findtext("faultcode") or "", answer.findtext("faultstring") or ""


def test_soap_fault() -> None:
    """A raised SOAPFault is sent as SOAP-ENV:Fault with HTTP 500."""
    assert fault(MySOAP(), envelope("<fault/>")) == ("SOAP-ENV:Client", "you asked for it")


def test_unexpected_error_is_server_fault() -> None:
    """Another exception is logged and sent as a Server fault."""
    assert fault(MySOAP(), envelope("<boom/>"))[0] == "SOAP-ENV:Server"
    assert len(flushLoggedErrors(ZeroDivisionError)) == 1


def test_unknown_method() -> None:
    """An unknown method is a Client fault naming it."""
    code, text = fault(MySOAP(), envelope("<nope/>"))
    assert code == "SOAP-ENV:Client" and "nope" in text


def test_bad_arguments() -> None:
    """Too many arguments or an unparseable int is a Client fault."""
    assert fault(MySOAP(), envelope("<coro><a>1</a><b>2</b></coro>"))[0] == "SOAP-ENV:Client"
    assert fault(MySOAP(), envelope("<coro><x>one</x></coro>"))[0] == "SOAP-ENV:Client"


def test_not_an_envelope() -> None:
    """Malformed XML and a non-SOAP document are faults."""
    assert fault(MySOAP(), b"<oops")[0] == "SOAP-ENV:Client"
    assert fault(MySOAP(), b"<a/>")[0] == "SOAP-ENV:VersionMismatch"
    assert fault(MySOAP(), envelope(""))[0] == "SOAP-ENV:Client"


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    + envelope('<echo><x xsi:type="xsd:string">&b;</x></echo>').split(b"?>", 1)[1]
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    + envelope("<echo><x>&e;</x></echo>").split(b"?>", 1)[1]
)


@pytest.mark.parametrize("bomb", [BOMB, EXTERNAL])
def test_xml_bombs_refused(bomb: bytes) -> None:
    """Entity expansion and external entities are refused before parsing."""
    code, text = fault(MySOAP(), bomb)
    assert code == "SOAP-ENV:Client" and "DOCTYPE" in text


def test_body_too_large() -> None:
    """A body over maxBodySize is answered 413."""
    pub = MySOAP()
    pub.maxBodySize = 10
    s = Served(pub)
    body = envelope("<later/>")
    s.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert s.responses(["POST"])[0][0] == 413


def test_wsdl() -> None:
    """GET ?wsdl describes each soap_ method as a document/literal operation with its types."""
    s = Served(MySOAP())
    s.send(b"GET /soap?wsdl HTTP/1.1\r\nHost: example.com:81\r\n\r\n")
    [(status, _, body)] = s.responses()
    assert status == 200
    wsdl = ET.fromstring(body)
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    elements = {e.get("name"): e for e in wsdl.iter(f"{xsd}element") if e.get("name")}
    typed = elements["typed"]
    fields = {e.get("name"): e.get("type") for e in typed.iter(f"{xsd}element") if e is not typed}
    assert fields == {
        "n": "xsd:int",
        "xs": "tns:ArrayOf_double",
        "flag": "xsd:boolean",
        "data": "xsd:base64Binary",
    }
    assert "addResponse" in elements and "fault" in elements
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == "http://example.com:81/soap"


def test_multi_reference() -> None:
    """href="#id" arguments (SOAP 1.1 multi-ref) resolve to the referenced values."""
    r = result(
        MySOAP(),
        '<add><a href="#i1"/><b href="#i1"/></add>'
        '<SOAP-ENC:Array id="i1" SOAP-ENC:arrayType="xsd:int[2]">'
        '<item xsi:type="xsd:int">1</item><item xsi:type="xsd:int">2</item></SOAP-ENC:Array>',
    )
    assert [i.text for i in r] == ["1", "2", "1", "2"]


def test_multi_reference_cycle_and_dangling() -> None:
    """A reference cycle or a dangling href is a Client fault."""
    cycle = envelope(
        '<echo><x href="#a"/></echo><v id="a" xsi:type="SOAP-ENC:Struct"><y href="#a"/></v>'
    )
    assert fault(MySOAP(), cycle)[0] == "SOAP-ENV:Client"
    assert fault(MySOAP(), envelope('<echo><x href="#nope"/></echo>'))[0] == "SOAP-ENV:Client"


def test_multi_reference_no_blowup() -> None:
    """Shared references are decoded once: a 2**25-leaf reference tree answers quickly."""
    layers = "".join(
        f'<v id="l{i}" xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:anyType[2]">'
        f'<item href="#l{i + 1}"/><item href="#l{i + 1}"/></v>'
        for i in range(25)
    )
    body = envelope(
        f'<soapLen><x href="#l0"/></soapLen>{layers}<v id="l25" xsi:type="xsd:int">1</v>'
    )
    code, text = fault(Counting(), body)
    assert (code, text) == ("SOAP-ENV:Server", "depth 26")


class Counting(SOAPPublisher):
    """Reports how deep a shared structure is without walking every path."""

    def soap_soapLen(self, x: Any) -> None:
        """Raise a fault naming the depth of the first path."""
        depth = 0
        while isinstance(x, list):
            x = x[0]
            depth += 1
        raise SOAPFault("Server", f"depth {depth + 1}")
