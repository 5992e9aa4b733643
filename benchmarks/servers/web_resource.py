"""The "Hello, world!" resource ``plait web --resource web_resource:hello`` serves (web.workers).

The web.workers row puts this directory on PYTHONPATH and runs ``plait [--workers N] web``.
"""

from __future__ import annotations

from plait.web import Resource
from plait.web.server import Request


class Hello(Resource):
    """Every GET answers the 13-byte ``Hello, world!``."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"Hello, world!"


hello = Hello()
