"""SOAP 1.1 RPC publishing and the generated WSDL (see ``plait.web.soap``)."""

from __future__ import annotations

import base64
import inspect
import math
import re
import types
import typing
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from plait.defer import Failure, ensureDeferred, maybeDeferred
from plait.log import Logger
from plait.web._resource import NOT_DONE_YET, Resource
from plait.web._server import Request
from plait.web._xmlrpc import refuseDeclarations

__all__ = ["SOAPFault", "SOAPPublisher", "generateWSDL"]

_log = Logger("plait.web.soap")

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"

_INTS = {"int", "integer", "long", "short", "byte", "unsignedInt", "unsignedLong",
         "unsignedShort", "unsignedByte", "nonNegativeInteger", "positiveInteger",
         "negativeInteger", "nonPositiveInteger"}  # fmt: skip
_FLOATS = {"double", "float", "decimal"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_XSD_NAMES: dict[object, str] = {
    int: "int",
    float: "double",
    str: "string",
    bool: "boolean",
    bytes: "base64Binary",
}


class SOAPFault(Exception):
    """A SOAP fault: raise it from a ``soap_`` method to answer with this fault.

    ``faultcode`` is ``"Server"`` or ``"Client"`` (qualified with the envelope prefix when
    sent) or an already qualified name.
    """

    def __init__(self, faultcode: str, faultstring: str, detail: str | None = None) -> None:
        super().__init__(faultcode, faultstring)
        self.faultcode = faultcode
        self.faultstring = faultstring
        self.detail = detail


# -- decoding ----------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _qname(elem: ET.Element, value: str) -> tuple[str | None, str]:
    """Split ``prefix:name``; the prefix is matched by name only (ElementTree drops xmlns)."""
    prefix, _, name = value.rpartition(":")
    return (prefix or None), name


def _decodeScalar(kind: str, text: str) -> Any:
    if kind in _INTS:
        return int(text.strip())
    if kind in _FLOATS:
        return float(text.strip())
    if kind == "boolean":
        return text.strip() in ("true", "1")
    if kind in ("base64", "base64Binary"):
        return base64.b64decode(text.strip(), validate=False)
    return text


def _hintArgs(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _hintArgs(args[0]) if len(args) == 1 else (Any, ())
    return (origin or hint), typing.get_args(hint)


class _Decoded:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_PENDING = object()


def decode(
    elem: ET.Element, hint: Any = Any, refs: dict[str, Any] | None = None, depth: int = 0
) -> Any:
    """The Python value of one SOAP-encoded (``xsi:type``) or literal element.

    ``refs`` maps ``id`` attributes to elements, for SOAP 1.1 multi-reference values
    (``href="#id"``); each is decoded once and shared, a cycle is refused, and nesting
    (references included) is bounded at 64 levels.
    """
    if depth > 64:
        raise ValueError("value nested too deeply (or a reference cycle)")
    href = elem.get("href")
    if href is not None:
        key = href[1:]
        entry = refs.get(key) if refs is not None and href.startswith("#") else None
        if entry is None:
            raise ValueError(f"unresolved reference {href!r}")
        if entry is _PENDING:
            raise ValueError(f"reference cycle through {href!r}")
        if isinstance(entry, _Decoded):  # each referenced value is decoded once (no blow-up)
            return entry.value
        assert refs is not None
        refs[key] = _PENDING
        value = decode(entry, hint, refs, depth + 1)
        refs[key] = _Decoded(value)
        return value
    if elem.get(f"{{{XSI}}}nil") in ("true", "1"):
        return None
    children = list(elem)
    text = elem.text or ""
    xsiType = elem.get(f"{{{XSI}}}type")
    base, args = _hintArgs(hint)
    if xsiType is not None:
        kind = _qname(elem, xsiType)[1]
        if kind == "Array" or elem.get(f"{{{ENC}}}arrayType") is not None:
            item = args[0] if base is list and args else Any
            return [decode(c, item, refs, depth + 1) for c in children]
        if kind == "Struct":
            return {_local(c.tag): decode(c, Any, refs, depth + 1) for c in children}
        if not children and kind != "anyType":
            return _decodeScalar(kind, text)
    if base is list:
        item = args[0] if args else Any
        return [decode(c, item, refs, depth + 1) for c in children]
    if base in _XSD_NAMES and not children:
        return _decodeScalar(_XSD_NAMES[base], text)
    if children:
        if elem.get(f"{{{ENC}}}arrayType") is not None or (
            base is not dict and all(_local(c.tag) == "item" for c in children)
        ):
            return [decode(c, Any, refs, depth + 1) for c in children]
        return {_local(c.tag): decode(c, Any, refs, depth + 1) for c in children}
    return text


# -- encoding ----------------------------------------------------------------------------------


def _scalar(value: Any) -> tuple[str, str] | None:
    if isinstance(value, bool):
        return "xsd:boolean", "true" if value else "false"
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return "xsd:int", str(value)
        return ("xsd:long" if -(2**63) <= value < 2**63 else "xsd:integer"), str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "xsd:double", "NaN"
        if math.isinf(value):
            return "xsd:double", "INF" if value > 0 else "-INF"
        return "xsd:double", repr(value)
    if isinstance(value, str):
        if _NOT_XML.search(value):
            raise ValueError("string holds characters XML 1.0 cannot carry")
        # A raw CR would come back as LF (XML end-of-line handling): send it as a reference.
        return "xsd:string", escape(value).replace("\r", "&#13;")
    if isinstance(value, bytes | bytearray):
        return "xsd:base64Binary", base64.b64encode(value).decode("ascii")
    return None


def encode(name: str, value: Any, encoded: bool, depth: int = 0) -> str:
    """One element named ``name`` holding ``value``; ``encoded`` adds SOAP-ENC array types."""
    if depth > 64:
        raise ValueError("value nested too deeply")
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    scalar = _scalar(value)
    if scalar is not None:
        return f'<{name} xsi:type="{scalar[0]}">{scalar[1]}</{name}>'
    if isinstance(value, list | tuple):
        inner = "".join(encode("item", v, encoded, depth + 1) for v in value)
        attrs = (
            f' xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:anyType[{len(value)}]"'
            if encoded
            else ""
        )
        return f"<{name}{attrs}>{inner}</{name}>"
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or not _NAME.fullmatch(key):
                raise ValueError(f"struct member name {key!r} is not an XML name")
        inner = "".join(encode(k, v, encoded, depth + 1) for k, v in value.items())
        attrs = ' xsi:type="SOAP-ENC:Struct"' if encoded else ""
        return f"<{name}{attrs}>{inner}</{name}>"
    raise TypeError(f"cannot encode {type(value).__name__} in SOAP")


def envelope(body: str) -> bytes:
    """A SOAP 1.1 envelope around ``body``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:SOAP-ENC="{ENC}" '
        f'xmlns:xsi="{XSI}" xmlns:xsd="{XSD}" SOAP-ENV:encodingStyle="{ENC}">'
        f"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def faultBody(fault: SOAPFault) -> str:
    """The ``SOAP-ENV:Fault`` element for ``fault``."""
    code = fault.faultcode if ":" in fault.faultcode else "SOAP-ENV:" + fault.faultcode
    detail = "" if fault.detail is None else f"<detail>{escape(fault.detail)}</detail>"
    return (
        f"<SOAP-ENV:Fault><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(fault.faultstring)}</faultstring>{detail}</SOAP-ENV:Fault>"
    )


# -- the resource ------------------------------------------------------------------------------


class SOAPPublisher(Resource):
    """A resource publishing its ``soap_NAME`` methods as SOAP 1.1 RPC operations.

    A method returns a value, a Deferred or a coroutine; its answer is
    ``<NAMEResponse><Result>...</Result></NAMEResponse>``. Raising ``SOAPFault`` answers with
    that fault; another exception is logged and answered with a ``Server`` fault; an unknown
    method or a malformed envelope is a ``Client`` fault (all with HTTP 500). ``GET ?wsdl``
    returns a document/literal-wrapped WSDL built from the methods' type annotations.
    """

    isLeaf = True
    maxBodySize = 10 * 1024 * 1024
    #: The WSDL's target namespace (and the answer's, when a call names none).
    namespace: str | None = None

    def getNamespace(self) -> str:
        """The target namespace (``urn:`` + class name unless ``namespace`` is set)."""
        return self.namespace or f"urn:{type(self).__name__}"

    def lookupFunction(self, name: str) -> Callable[..., Any] | None:
        """The published callable for operation ``name``, or None."""
        f = getattr(self, "soap_" + name, None)
        return f if callable(f) else None

    def operations(self) -> list[str]:
        """The published operation names, sorted."""
        return sorted(
            n[5:] for n in dir(self) if n.startswith("soap_") and callable(getattr(self, n))
        )

    def render_GET(self, request: Request) -> bytes:
        """The WSDL for ``?wsdl``; otherwise 405-like help text."""
        if b"wsdl" in request.args or request.uri.lower().endswith(b"?wsdl"):
            host = request.getHeader(b"host") or b"localhost"
            scheme = b"https" if request.isSecure() else b"http"
            location = (scheme + b"://" + host + request.path).decode("latin-1")
            request.setHeader(b"content-type", b"text/xml; charset=utf-8")
            return generateWSDL(self, location).encode("utf-8")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"SOAP endpoint: POST a SOAP 1.1 envelope, or GET ?wsdl\n"

    def render_POST(self, request: Request) -> Any:
        """Parse the envelope, call the method, write the response (or fault)."""
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        data = request.content.read(self.maxBodySize + 1)
        if len(data) > self.maxBodySize:
            request.setResponseCode(413)
            return b""
        try:
            call = self._parse(data)
        except SOAPFault as fault:
            request.setResponseCode(500)
            return envelope(faultBody(fault))
        name, namespace, function, args, kwargs, encoded = call
        d = maybeDeferred(function, *args, **kwargs)
        d.addCallback(_awaited)
        d.addCallback(self._response, name, namespace, encoded)
        d.addErrback(self._failed, name, request)
        d.addCallback(self._write, request)
        return NOT_DONE_YET

    def _parse(
        self, data: bytes
    ) -> tuple[str, str, Callable[..., Any], list[Any], dict[str, Any], bool]:
        refused = refuseDeclarations(data)
        if refused is not None:
            raise SOAPFault("Client", refused)
        try:
            root = ET.fromstring(data, parser=ET.XMLParser())
        except ET.ParseError as e:
            raise SOAPFault("Client", f"malformed XML: {e}")
        if root.tag != f"{{{ENV}}}Envelope":
            raise SOAPFault("VersionMismatch", "not a SOAP 1.1 envelope")
        body = root.find(f"{{{ENV}}}Body")
        if body is None or len(body) == 0:
            raise SOAPFault("Client", "no SOAP body")
        method = body[0]
        refs: dict[str, Any] = {e.get("id", ""): e for e in body.iter() if e.get("id") is not None}
        namespace, _, name = (
            method.tag[1:].rpartition("}") if method.tag[0] == "{" else ("", "", method.tag)
        )
        function = self.lookupFunction(name)
        if function is None:
            raise SOAPFault("Client", f"Method {name} not found")
        hints = _typeHints(function)
        params = [
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        children = list(method)
        encoded = any(e.get(f"{{{XSI}}}type") is not None for e in method.iter())
        names = [_local(c.tag) for c in children]
        try:
            if names and set(names) <= set(params) and len(set(names)) == len(names):
                kwargs = {
                    n: decode(c, hints.get(n, Any), refs)
                    for n, c in zip(names, children, strict=True)
                }
                inspect.signature(function).bind(**kwargs)
                return name, namespace or self.getNamespace(), function, [], kwargs, encoded
            args = [
                decode(c, hints.get(params[i], Any) if i < len(params) else Any, refs)
                for i, c in enumerate(children)
            ]
            inspect.signature(function).bind(*args)
        except (ValueError, TypeError) as e:
            raise SOAPFault("Client", f"bad arguments for {name}: {e}")
        return name, namespace or self.getNamespace(), function, args, {}, encoded

    def _response(self, result: Any, name: str, namespace: str, encoded: bool) -> bytes:
        ns = quoteattr(namespace)
        inner = encode("Result", result, encoded)
        return envelope(f"<ns1:{name}Response xmlns:ns1={ns}>{inner}</ns1:{name}Response>")

    def _failed(self, failure: Failure, name: str, request: Request) -> bytes:
        fault = failure.value
        if not isinstance(fault, SOAPFault):
            _log.failure("SOAP method {name} failed", failure, name=name)
            fault = SOAPFault("Server", "Method failed")
        if not request.finished:
            request.setResponseCode(500)
        return envelope(faultBody(fault))

    def _write(self, data: bytes, request: Request) -> None:
        if request.finished:
            return
        try:
            request.write(data)
            request.finish()
        except RuntimeError:  # the client went away meanwhile
            pass


def _awaited(result: Any) -> Any:
    return ensureDeferred(result) if inspect.isawaitable(result) else result  # type: ignore[call-overload]


def _typeHints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # unresolvable annotations: treat the arguments as untyped
        return {}


# -- WSDL --------------------------------------------------------------------------------------


class _Schema:
    """Collects the XML Schema types the operations need (arrays as ``ArrayOf_X``)."""

    def __init__(self) -> None:
        self.complexTypes: dict[str, str] = {}

    def typeName(self, hint: Any) -> str:
        base, args = _hintArgs(hint)
        if base in _XSD_NAMES:
            return "xsd:" + _XSD_NAMES[base]
        if base is list:
            item = self.typeName(args[0] if args else Any)
            name = "ArrayOf_" + item.partition(":")[2]
            if name not in self.complexTypes:
                self.complexTypes[name] = (
                    f'<xsd:complexType name="{name}"><xsd:sequence>'
                    f'<xsd:element name="item" type="{item}" minOccurs="0" '
                    'maxOccurs="unbounded" nillable="true"/></xsd:sequence></xsd:complexType>'
                )
            return "tns:" + name
        return "xsd:anyType"

    def element(self, name: str, hint: Any) -> str:
        optional = type(None) in typing.get_args(hint) or hint is type(None)
        extra = ' minOccurs="0" nillable="true"' if optional else ""
        if hint is type(None):
            return f'<xsd:element name="{name}" type="xsd:anyType"{extra}/>'
        return f'<xsd:element name="{name}" type="{self.typeName(hint)}"{extra}/>'


def generateWSDL(publisher: SOAPPublisher, location: str) -> str:
    """A document/literal-wrapped WSDL 1.1 for ``publisher``'s ``soap_`` methods."""
    tns = publisher.getNamespace()
    service = type(publisher).__name__
    schema = _Schema()
    elements: list[str] = []
    messages: list[str] = []
    portOps: list[str] = []
    bindingOps: list[str] = []
    for op in publisher.operations():
        function = publisher.lookupFunction(op)
        assert function is not None
        hints = _typeHints(function)
        params = [
            p
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        fields = "".join(schema.element(p.name, hints.get(p.name, Any)) for p in params)
        result = schema.element("Result", hints.get("return", Any))
        elements.append(
            f'<xsd:element name="{op}"><xsd:complexType><xsd:sequence>{fields}'
            f"</xsd:sequence></xsd:complexType></xsd:element>"
            f'<xsd:element name="{op}Response"><xsd:complexType><xsd:sequence>{result}'
            f"</xsd:sequence></xsd:complexType></xsd:element>"
        )
        messages.append(
            f'<wsdl:message name="{op}Input"><wsdl:part name="parameters" element="tns:{op}"/>'
            f'</wsdl:message><wsdl:message name="{op}Output"><wsdl:part name="parameters" '
            f'element="tns:{op}Response"/></wsdl:message>'
        )
        doc = escape(inspect.getdoc(function) or "")
        portOps.append(
            f'<wsdl:operation name="{op}"><wsdl:documentation>{doc}</wsdl:documentation>'
            f'<wsdl:input message="tns:{op}Input"/><wsdl:output message="tns:{op}Output"/>'
            "</wsdl:operation>"
        )
        bindingOps.append(
            f'<wsdl:operation name="{op}"><soap:operation soapAction="{op}" style="document"/>'
            '<wsdl:input><soap:body use="literal"/></wsdl:input>'
            '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        )
    q = quoteattr
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<wsdl:definitions name="{service}" targetNamespace={q(tns)} xmlns:tns={q(tns)} '
        f'xmlns:wsdl="{WSDL}" xmlns:soap="{WSDL_SOAP}" xmlns:xsd="{XSD}">'
        f'<wsdl:types><xsd:schema targetNamespace={q(tns)} elementFormDefault="unqualified">'
        + "".join(schema.complexTypes.values())
        + "".join(elements)
        + "</xsd:schema></wsdl:types>"
        + "".join(messages)
        + f'<wsdl:portType name="{service}PortType">'
        + "".join(portOps)
        + f'</wsdl:portType><wsdl:binding name="{service}Binding" type="tns:{service}PortType">'
        '<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        + "".join(bindingOps)
        + f'</wsdl:binding><wsdl:service name="{service}">'
        f'<wsdl:port name="{service}Port" binding="tns:{service}Binding">'
        f"<soap:address location={q(location)}/></wsdl:port></wsdl:service></wsdl:definitions>"
    )
