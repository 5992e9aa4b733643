"""The resource tree: ``Resource``, ``NoResource``, ``ErrorPage``, ``NOT_DONE_YET``."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from plait.web._server import Request

__all__ = [
    "NOT_DONE_YET",
    "ErrorPage",
    "ForbiddenResource",
    "NoResource",
    "Resource",
    "getChildForRequest",
]

NOT_DONE_YET: Final = 1
"""Returned by ``render``: the resource answers later with ``request.write``/``finish``."""

_METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"TRACE")
_RENDER_NAMES = {m: "render_" + m.decode() for m in _METHODS}


class Resource:
    """A node of the published object tree (paper §6.2.1).

    A request for ``/a/b`` asks the root ``getChildWithDefault(b"a", request)``, then that
    child for ``b"b"``, unless a resource on the way sets ``isLeaf``; the last one renders.
    ``render`` calls ``render_<METHOD>`` (``render_HEAD`` falls back to ``render_GET``), which
    returns bytes, ``NOT_DONE_YET``, a Deferred or a coroutine (both firing with bytes or None).
    """

    isLeaf: bool = False

    def __init__(self) -> None:
        self.children: dict[bytes, Resource] = {}

    def putChild(self, path: bytes, child: Resource) -> None:
        """Publish ``child`` under the path segment ``path`` (``b""`` for a trailing slash)."""
        if not isinstance(path, bytes):
            raise TypeError(f"path must be bytes, not {type(path).__name__}")
        self.children[path] = child

    def getChildWithDefault(self, path: bytes, request: Request) -> Resource:
        """A child put with ``putChild``, else ``getChild(path, request)``."""
        child = self.children.get(path)
        if child is not None:
            return child
        return self.getChild(path, request)

    def getChild(self, path: bytes, request: Request) -> Resource:
        """A dynamic child for ``path``; by default ``NoResource`` (404)."""
        return NoResource()

    def allowedMethods(self) -> list[bytes]:
        """The methods this resource implements (``HEAD`` if it implements ``GET``)."""
        allowed = [m for m in _METHODS if getattr(self, "render_" + m.decode(), None)]
        if b"GET" in allowed and b"HEAD" not in allowed:
            allowed.insert(allowed.index(b"GET") + 1, b"HEAD")
        return allowed

    def render(self, request: Request) -> Any:
        """Dispatch to ``render_<METHOD>``; 405 with ``Allow`` when there is none."""
        method = request.method
        name = _RENDER_NAMES.get(method)
        if name is None:
            name = "render_" + method.decode("ascii", "replace")
        handler = getattr(self, name, None)
        if handler is None:
            if method == b"HEAD":
                handler = getattr(self, "render_GET", None)
            if handler is None:
                allowed = self.allowedMethods()
                request.setHeader(b"allow", b", ".join(allowed))
                if method not in _METHODS:
                    return ErrorPage(501, "Not Implemented", "Unknown method.").render(request)
                return ErrorPage(
                    405, "Method Not Allowed", "Allowed: " + ", ".join(m.decode() for m in allowed)
                ).render(request)
        return handler(request)


def getChildForRequest(resource: Resource, request: Request) -> Resource:
    """Walk ``request.postpath`` down from ``resource`` (moving segments to ``prepath``)."""
    postpath = request.postpath
    prepath = request.prepath
    while postpath and not resource.isLeaf:
        segment = postpath.pop(0)
        prepath.append(segment)
        resource = resource.getChildWithDefault(segment, request)
    return resource


class ErrorPage(Resource):
    """Answers every method with ``code`` and a small HTML page (``brief``, ``detail``)."""

    isLeaf = True

    def __init__(self, code: int, brief: str, detail: str) -> None:
        super().__init__()
        self.code = code
        self.brief = brief
        self.detail = detail

    def render(self, request: Request) -> bytes:
        """The error page (its status set on ``request``)."""
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        brief = escape(self.brief)
        return (
            f"<html><head><title>{self.code} - {brief}</title></head>"
            f"<body><h1>{brief}</h1><p>{escape(self.detail)}</p></body></html>\n"
        ).encode()

    def getChild(self, path: bytes, request: Request) -> Resource:
        """Every child is this page too."""
        return self


class NoResource(ErrorPage):
    """404 Not Found."""

    def __init__(self, message: str = "Sorry. No luck finding that resource.") -> None:
        super().__init__(404, "No Such Resource", message)


class ForbiddenResource(ErrorPage):
    """403 Forbidden."""

    def __init__(self, message: str = "Sorry, resource is forbidden.") -> None:
        super().__init__(403, "Forbidden Resource", message)
