"""XML-RPC (paper §6.2.1, §7): publish ``xmlrpc_NAME`` methods; call servers with ``Proxy``.

- ``XMLRPC(allowNone=False, useDateTime=False)``: a leaf resource answering POSTed calls;
  ``putSubHandler(prefix, handler)`` publishes ``prefix.NAME``; ``addIntrospection(r)`` adds
  ``system.listMethods``/``methodHelp``/``methodSignature``; ``@withRequest`` passes the
  ``Request`` to a method before its arguments.
- ``Proxy(url, reactor, allowNone=False, connectTimeout=30, contextFactory=None,
  readTimeout=None, agent=None)``: ``callRemote(method, *args) -> Deferred``, over
  ``plait.web.client.Agent``: kept-alive pooled connections (``closeCachedConnections()``),
  https verified against the system trust store unless ``contextFactory`` says otherwise.

Errors: ``Fault(faultCode, faultString)`` (the stdlib's); an unknown procedure is
``NoSuchFunction`` (code ``XMLRPC.NOT_FOUND`` = 8001); an exception in a procedure is logged
and answered with code ``XMLRPC.FAILURE`` (8002), as is unparseable input or a body with a
DOCTYPE/entity declaration; a body over ``XMLRPC.maxBodySize`` (10 MiB) is answered 413.
"""

from plait.web._xmlrpc import (
    XMLRPC,
    Binary,
    DateTime,
    Fault,
    NoSuchFunction,
    Proxy,
    XMLRPCIntrospection,
    addIntrospection,
    withRequest,
)

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
