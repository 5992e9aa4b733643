"""``plait web``: serve a directory (or a Python resource) over HTTP/HTTPS.

    plait web --path DIR --listen tcp:8080 --listen ssl:8443:certKey=server.pem
    plait web --resource mypackage.site:root

The plumbing lives here, not in ``plait.web``, because ``plait.web`` (L6) may not import
``plait.app`` (L7). Heavy imports happen inside ``makeService``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from ._serveroptions import addListenArgument, listenServices

__all__ = ["webCommand"]


def loadResource(spec: str) -> Any:
    """The object ``module:attr`` names; a class or factory is called with no arguments."""
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"--resource wants module:attr, not {spec!r}")
    try:
        value: Any = importlib.import_module(module)
    except ImportError as e:
        raise ValueError(f"--resource {spec}: cannot import {module}: {e}") from e
    for name in attr.split("."):
        try:
            value = getattr(value, name)
        except AttributeError:
            raise ValueError(f"--resource {spec}: {module} has no {attr}") from None
    from plait.web import Resource

    if not isinstance(value, Resource) and callable(value):
        value = value()
    if not isinstance(value, Resource):
        raise ValueError(f"--resource {spec} is not a plait.web Resource: {value!r}")
    return value


class _WebCommand:
    name = "web"
    description = "an HTTP/1.1 server for a directory (--path) or a Python resource (--resource)"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--path", default=".", metavar="DIR", help="directory to serve")
        parser.add_argument(
            "--resource", metavar="MODULE:ATTR", help="serve this plait.web Resource instead"
        )
        addListenArgument(parser, "tcp:8080", note=", ssl: too")
        parser.add_argument("--access-log", metavar="FILE", help="also append the access log here")
        parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
        parser.add_argument(
            "--show-hidden",
            action="store_true",
            help="list and serve names starting with '.' (.git/, .env: hidden, 404, by default)",
        )

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        import os

        from plait.log import Logger
        from plait.web import Site
        from plait.web.static import File

        log = Logger("plait.web")
        if options.resource:
            resource = loadResource(options.resource)
            what = options.resource
        else:
            if not os.path.isdir(options.path):
                raise ValueError(f"--path {options.path}: not a directory")
            resource = File(options.path, showHidden=options.show_hidden)
            what = os.path.abspath(options.path)
        site = Site(
            resource,
            reactor,
            accessLog=not options.no_access_log,
            logPath=options.access_log,
        )
        top = listenServices(reactor, options.listen, site)
        for description, service in zip(options.listen, top, strict=True):
            scheme = "https" if description.split(":", 1)[0] in ("ssl", "tls") else "http"

            def listening(port: Any, scheme: str = scheme) -> None:
                host = port.getHost()
                address = getattr(host, "host", str(host))
                if ":" in address:
                    address = f"[{address}]"
                where = f"{address}:{host.port}" if hasattr(host, "port") else address
                log.info("Serving {what} on {url}", what=what, url=f"{scheme}://{where}/")

            service.whenListening().addCallbacks(listening, lambda failure: None)
        return top


webCommand = _WebCommand()
