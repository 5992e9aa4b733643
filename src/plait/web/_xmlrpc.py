"""XML-RPC publishing and a client (see ``plait.web.xmlrpc``).

Marshalling is the stdlib's (``xmlrpc.client.loads``/``dumps``, an expat parser). Untrusted
bodies are checked first: bounded size, and any DOCTYPE or entity declaration is refused so
entity expansion (billion laughs) and external entities never reach the parser.
"""

from __future__ import annotations

import inspect
import xmlrpc.client
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from plait.defer import Deferred, Failure, ensureDeferred, maybeDeferred
from plait.log import Logger
from plait.protocol import Protocol
from plait.web._client_agent import Agent, HTTPConnectionPool
from plait.web._client_errors import ResponseDone, ResponseFailed
from plait.web._client_protocol import BytesBodyProducer
from plait.web._headers import Headers
from plait.web._resource import NOT_DONE_YET, Resource
from plait.web._server import Request

__all__ = [
    "XMLRPC",
    "Binary",
    "DateTime",
    "Fault",
    "NoSuchFunction",
    "Proxy",
    "XMLRPCIntrospection",
    "addIntrospection",
    "withRequest",
]

_log = Logger("plait.web.xmlrpc")

Fault = xmlrpc.client.Fault
Binary = xmlrpc.client.Binary
DateTime = xmlrpc.client.DateTime

MAX_BODY = 10 * 1024 * 1024


def refuseDeclarations(data: bytes) -> str | None:
    """Why ``data`` must not be parsed (a DOCTYPE or ENTITY declaration), or None."""
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        return "DOCTYPE and entity declarations are not allowed"
    return None


_F = TypeVar("_F", bound=Callable[..., Any])


def withRequest(f: _F) -> _F:
    """Decorate an ``xmlrpc_`` method to receive the ``Request`` before the call's arguments."""
    f.withRequest = True  # type: ignore[attr-defined]
    return f


class NoSuchFunction(Fault):
    """The procedure named in a call does not exist."""


class XMLRPC(Resource):
    """A resource publishing its ``xmlrpc_NAME`` methods as XML-RPC procedures.

    A method returns a value, a Deferred or a coroutine; raising (or returning) a ``Fault``
    answers with that fault; any other exception is logged and answered with ``FAILURE``.
    ``putSubHandler(prefix, handler)`` publishes another ``XMLRPC``'s methods as
    ``prefix.NAME``. ``allowNone`` lets ``None`` be marshalled (``<nil/>``); ``useDateTime``
    unmarshals dates as ``datetime`` instead of ``DateTime``.
    """

    isLeaf = True
    separator = "."
    NOT_FOUND = 8001
    FAILURE = 8002
    maxBodySize = MAX_BODY

    def __init__(self, allowNone: bool = False, useDateTime: bool = False) -> None:
        super().__init__()
        self.allowNone = allowNone
        self.useDateTime = useDateTime
        self.subHandlers: dict[str, XMLRPC] = {}

    def putSubHandler(self, prefix: str, handler: XMLRPC) -> None:
        """Publish ``handler``'s procedures as ``prefix.NAME``."""
        self.subHandlers[prefix] = handler

    def getSubHandler(self, prefix: str) -> XMLRPC | None:
        """The sub-handler published under ``prefix``, or None."""
        return self.subHandlers.get(prefix)

    def getSubHandlerPrefixes(self) -> list[str]:
        """The prefixes of every sub-handler."""
        return list(self.subHandlers)

    def lookupProcedure(self, procedurePath: str) -> Callable[..., Any]:
        """The callable for ``procedurePath``; raises ``NoSuchFunction``."""
        if self.separator in procedurePath:
            prefix, rest = procedurePath.split(self.separator, 1)
            handler = self.getSubHandler(prefix)
            if handler is None:
                raise NoSuchFunction(self.NOT_FOUND, f"no such subHandler {prefix}")
            return handler.lookupProcedure(rest)
        f = getattr(self, "xmlrpc_" + procedurePath, None)
        if f is None or not callable(f):
            raise NoSuchFunction(self.NOT_FOUND, f"procedure {procedurePath} not found")
        return f  # type: ignore[no-any-return]

    def listProcedures(self) -> list[str]:
        """The names of this resource's own procedures (without sub-handlers)."""
        return sorted(n[len("xmlrpc_") :] for n in dir(self) if n.startswith("xmlrpc_"))

    def render_POST(self, request: Request) -> Any:
        """Parse the call, run the procedure and write its response (or fault)."""
        body = request.content.read(self.maxBodySize + 1)
        if len(body) > self.maxBodySize:
            request.setResponseCode(413)
            return b"request body too large\n"
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        refused = refuseDeclarations(body)
        if refused is not None:
            return self._dump(Fault(self.FAILURE, f"Can't deserialize input: {refused}"))
        try:
            args, name = xmlrpc.client.loads(body, use_datetime=self.useDateTime)
        except Exception as e:
            return self._dump(Fault(self.FAILURE, f"Can't deserialize input: {e}"))
        if name is None:
            return self._dump(Fault(self.FAILURE, "Can't deserialize input: no methodName"))
        try:
            function = self.lookupProcedure(name)
        except Fault as f:
            return self._dump(f)
        callArgs: tuple[Any, ...] = args
        if getattr(function, "withRequest", False):
            callArgs = (request, *args)
        d = maybeDeferred(function, *callArgs)
        d.addCallback(self._awaitResult)
        d.addCallbacks(self._dump, self._failed, errbackArgs=(name,))
        d.addCallback(self._write, request)
        return NOT_DONE_YET

    def _awaitResult(self, result: Any) -> Any:
        if inspect.isawaitable(result):
            return ensureDeferred(result)  # type: ignore[call-overload]
        return result

    def _failed(self, failure: Failure, name: str) -> bytes:
        if isinstance(failure.value, Fault):
            return self._dump(failure.value)
        _log.failure("XML-RPC procedure {name} failed", failure, name=name)
        return self._dump(Fault(self.FAILURE, "error"))

    def _dump(self, result: Any) -> bytes:
        try:
            if isinstance(result, Fault):
                text = xmlrpc.client.dumps(result, allow_none=self.allowNone)
            else:
                text = xmlrpc.client.dumps(
                    (result,), methodresponse=True, allow_none=self.allowNone
                )
        except Exception:
            _log.failure("cannot marshal XML-RPC result {result!r}", result=result)
            text = xmlrpc.client.dumps(Fault(self.FAILURE, "can't serialize output"))
        return text.encode("utf-8")

    def _write(self, data: bytes, request: Request) -> None:
        if request.finished:
            return
        try:
            request.write(data)
            request.finish()
        except RuntimeError:  # the client went away meanwhile
            pass


class XMLRPCIntrospection(XMLRPC):
    """The ``system.*`` introspection procedures for another ``XMLRPC`` resource."""

    def __init__(self, parent: XMLRPC) -> None:
        super().__init__()
        self._parent = parent

    def xmlrpc_listMethods(self) -> list[str]:
        """Return a list of the method names implemented by this server."""
        names: list[str] = []
        todo: list[tuple[XMLRPC, str]] = [(self._parent, "")]
        seen: set[int] = set()
        while todo:
            handler, prefix = todo.pop(0)
            if id(handler) in seen:
                continue
            seen.add(id(handler))
            names.extend(prefix + n for n in handler.listProcedures())
            for sub in handler.getSubHandlerPrefixes():
                child = handler.getSubHandler(sub)
                if child is not None:
                    todo.append((child, prefix + sub + handler.separator))
        return sorted(names)

    xmlrpc_listMethods.signature = [["array"]]  # type: ignore[attr-defined]

    def xmlrpc_methodHelp(self, method: str) -> str:
        """Return a documentation string describing the use of the given method."""
        return inspect.getdoc(self._parent.lookupProcedure(method)) or ""

    xmlrpc_methodHelp.signature = [["string", "string"]]  # type: ignore[attr-defined]

    def xmlrpc_methodSignature(self, method: str) -> Any:
        """Return a list of type signatures (or "" when unknown) for the given method."""
        return getattr(self._parent.lookupProcedure(method), "signature", None) or ""

    xmlrpc_methodSignature.signature = [["array", "string"], ["string", "string"]]  # type: ignore[attr-defined]


def addIntrospection(xmlrpc: XMLRPC) -> None:
    """Publish ``system.listMethods``, ``system.methodHelp`` and ``system.methodSignature``."""
    xmlrpc.putSubHandler("system", XMLRPCIntrospection(xmlrpc))


# -- client ------------------------------------------------------------------------------------


class _ResponseTooLarge(Exception):
    """The server's response exceeded the client's limit."""


class _FixedTLS:
    """A TLS policy that uses one given context factory for every host."""

    def __init__(self, contextFactory: Any) -> None:
        self._contextFactory = contextFactory

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        return self._contextFactory


class _BoundedBody(Protocol):
    """Collects a response body; past ``limit`` bytes it gives up and drops the connection."""

    def __init__(self, limit: int, finished: Deferred[bytes]) -> None:
        self._limit = limit
        self._finished = finished
        self._chunks: list[bytes] = []
        self._size = 0

    def dataReceived(self, data: bytes) -> None:
        if self._finished.called:
            return
        self._size += len(data)
        if self._size > self._limit:
            self._chunks = []
            self._finished.errback(_ResponseTooLarge("XML-RPC response too large"))
            assert self.transport is not None
            self.transport.stopProducing()  # type: ignore[attr-defined]
            return
        self._chunks.append(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self._finished.called:
            return
        if reason is not None and reason.check(ResponseDone):
            self._finished.callback(b"".join(self._chunks))
        else:
            self._finished.errback(reason if reason is not None else Failure(ResponseFailed([])))


class Proxy:
    """A client for an XML-RPC server at ``url`` (``http://`` or ``https://``).

    ``callRemote(method, *args)`` returns a Deferred firing with the result, or failing with
    the server's ``Fault`` (or the connection or HTTP error). Calls go through
    ``plait.web.client.Agent``: connections are kept alive and reused (a pool of at most
    ``maxPersistentPerHost``), connecting is bounded by ``connectTimeout`` and a silent
    response by ``readTimeout``; https verifies the certificate and host name against the
    system trust store, or uses ``contextFactory`` (e.g. ``plait.tls.clientOptions(host,
    trustRoots)``) when given. ``agent`` replaces the whole client (anything with Agent's
    ``request``). Responses over ``maxResponseSize`` bytes fail the call.
    """

    maxResponseSize = MAX_BODY

    def __init__(
        self,
        url: bytes | str,
        reactor: Any,
        allowNone: bool = False,
        useDateTime: bool = False,
        connectTimeout: float = 30.0,
        contextFactory: Any = None,
        readTimeout: float | None = None,
        agent: Any = None,
        maxPersistentPerHost: int = 2,
    ) -> None:
        text = url.decode("ascii") if isinstance(url, bytes) else url
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {text!r}")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.secure else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        self.path = path.encode("ascii")
        netloc = parts.netloc.rpartition("@")[2]  # user:password@ is not sent
        self.url = f"{parts.scheme}://{netloc}{path}".encode("ascii")
        self.reactor = reactor
        self.allowNone = allowNone
        self.useDateTime = useDateTime
        self.connectTimeout = connectTimeout
        self.contextFactory = contextFactory
        if agent is None:
            pool = HTTPConnectionPool(reactor, maxPersistentPerHost=maxPersistentPerHost)
            policy = None if contextFactory is None else _FixedTLS(contextFactory)
            agent = Agent(
                reactor,
                connectTimeout=connectTimeout,
                pool=pool,
                tlsPolicy=policy,
                readTimeout=readTimeout,
            )
        self.agent = agent

    def callRemote(self, method: str, *args: Any) -> Deferred[Any]:
        """Call ``method`` with ``args`` on the server."""
        payload = xmlrpc.client.dumps(args, method, allow_none=self.allowNone).encode("utf-8")
        headers = Headers({b"content-type": [b"text/xml"], b"user-agent": [b"plait XML-RPC"]})
        d: Deferred[Any] = self.agent.request(
            b"POST", self.url, headers, BytesBodyProducer(payload)
        )
        d.addCallback(self._responseReceived)
        return d

    def closeCachedConnections(self) -> None:
        """Close the kept-alive connections (call before stopping the reactor)."""
        pool = getattr(self.agent, "_pool", None)
        if pool is not None:
            pool.closeCachedConnections()

    def _responseReceived(self, response: Any) -> Deferred[Any]:
        finished: Deferred[bytes] = Deferred()
        response.deliverBody(_BoundedBody(self.maxResponseSize, finished))

        def parse(body: bytes) -> Any:
            if response.code != 200:
                phrase = response.phrase.decode("latin-1")
                raise ValueError(f"XML-RPC server answered {response.code} {phrase}")
            (result,), _ = xmlrpc.client.loads(_checked(body), use_datetime=self.useDateTime)
            return result

        return finished.addCallback(parse)


def _checked(body: bytes) -> bytes:
    refused = refuseDeclarations(body)
    if refused is not None:
        raise ValueError(refused)
    return body
