"""Web publishing (L6, paper §6.2.1): an HTTP/1.1 server over a tree of resources.

- ``plait.web.resource``: ``Resource`` (``putChild``, ``getChild``, ``getChildWithDefault``,
  ``isLeaf``, ``render`` dispatching to ``render_GET``/``render_POST``...; ``render_HEAD`` falls
  back to GET; 405 with ``Allow``), ``NoResource`` (404), ``ErrorPage``, ``NOT_DONE_YET``.
  ``render`` returns bytes, ``NOT_DONE_YET`` (then ``request.write``/``finish``), a Deferred or
  a coroutine.
- ``plait.web.server``: ``Site(resource, reactor)`` (a factory), ``Request``, ``Session``.
- ``plait.web.http``: ``HTTPChannel`` (the protocol) and ``Headers``.
- ``plait.web.static``: ``File(path)`` serves a directory tree safely.

Errors: a malformed request is answered with its 4xx status (from
``plait.wire.http.HTTPRequestError``) and the connection closed; an exception from ``render``
is logged and answered with 500; ``Request.write``/``finish`` after ``finish`` raise
``RuntimeError``; a response header with CR, LF or NUL raises ``ValueError`` (answered 500).
"""

from plait.web._headers import Headers
from plait.web._http import HTTPChannel
from plait.web._resource import NOT_DONE_YET, ErrorPage, ForbiddenResource, NoResource, Resource
from plait.web._server import Request, Session, Site

__all__ = [
    "NOT_DONE_YET",
    "ErrorPage",
    "ForbiddenResource",
    "HTTPChannel",
    "Headers",
    "NoResource",
    "Request",
    "Resource",
    "Session",
    "Site",
]
