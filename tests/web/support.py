"""Helpers for the web tests: a site on a StringTransport, responses parsed by http.client."""

from __future__ import annotations

import http.client
import io
from typing import Any

from plait.testing import Clock, StringTransport
from plait.web import HTTPChannel, Resource, Site


class _Unclosable(io.BytesIO):
    def close(self) -> None:
        """http.client closes the file after each response; keep reading the next one."""


class _Sock:
    def __init__(self, data: bytes) -> None:
        self.file = _Unclosable(data)

    def makefile(self, mode: str) -> _Unclosable:
        return self.file


def parseResponses(
    data: bytes, methods: list[str] | None = None
) -> list[tuple[int, dict[str, str], bytes]]:
    """Every response in ``data``: (status, headers with lower-case names, body)."""
    sock = _Sock(data)
    out = []
    i = 0
    while sock.file.tell() < len(data):
        response = http.client.HTTPResponse(
            sock, method=(methods or [])[i] if methods and i < len(methods) else "GET"
        )  # type: ignore[arg-type]
        response.begin()
        body = response.read()
        out.append((response.status, {k.lower(): v for k, v in response.getheaders()}, body))
        i += 1
    return out


class Served:
    """A site on a StringTransport with a Clock."""

    def __init__(self, resource: Resource, **site: Any) -> None:
        self.clock = Clock()
        self.site = Site(resource, self.clock, accessLog=False)
        for name, value in site.items():
            setattr(self.site, name, value)
        self.transport = StringTransport()
        self.channel: HTTPChannel = self.site.buildProtocol(None)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        """Deliver ``data`` from the client."""
        self.channel.dataReceived(data)

    def responses(
        self, methods: list[str] | None = None
    ) -> list[tuple[int, dict[str, str], bytes]]:
        """The responses written so far (parsed)."""
        return parseResponses(self.transport.value(), methods)


class Hello(Resource):
    """``Hello, world!`` on GET; echoes the body on POST."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"Hello, world!"

    def render_POST(self, request: Any) -> bytes:
        return request.content.read()  # type: ignore[no-any-return]
