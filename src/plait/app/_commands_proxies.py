"""``plait socks`` and ``plait portforward``: the proxies of ``plait.protocols``.

Command objects in the shape of ``plait.app._commands`` (``name``, ``description``,
``addArguments``, ``makeService``), registered in the ``plait.plugins`` entry-point group.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._serveroptions import addListenArgument, listenServices

__all__ = ["portforwardCommand", "socksCommand"]


class _SOCKSCommand:
    name = "socks"
    description = (
        "a SOCKS4/4a/5 proxy (CONNECT only); every destination is refused unless --allow admits it"
    )

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        addListenArgument(parser, "tcp:1080:interface=127.0.0.1")
        parser.add_argument(
            "--allow",
            action="append",
            default=[],
            metavar="CIDR",
            help="admit destinations in this network (repeatable); none means refuse all",
        )
        parser.add_argument(
            "--users",
            metavar="FILE",
            help="require SOCKS5 username/password (RFC 1929) from FILE's user:password lines",
        )
        parser.add_argument(
            "--handshake-timeout",
            type=float,
            default=30.0,
            metavar="SECONDS",
            help="close clients that have not started relaying after this long (default 30)",
        )

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        from pathlib import Path

        from plait.log import Logger
        from plait.protocols.socks import SOCKSFactory, parseUsers

        users = parseUsers(Path(options.users).read_text()) if options.users else None
        factory = SOCKSFactory(
            reactor, options.allow, users, handshakeTimeout=options.handshake_timeout
        )
        if not factory.allow:
            Logger(namespace="plait.socks").warn(
                "plait socks: no --allow rule, so every request will be refused"
            )
        return listenServices(reactor, options.listen, factory)


class _PortforwardCommand:
    name = "portforward"
    description = "forward every TCP connection on --listen to a new one on --connect"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--listen", required=True, metavar="ENDPOINT", help="where to listen (endpoint string)"
        )
        parser.add_argument(
            "--connect",
            required=True,
            metavar="ENDPOINT",
            help="where to connect (client endpoint string, e.g. tcp:host=example.org:port=80)",
        )

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        from plait.endpoints import clientFromString, serverFromString
        from plait.protocols.portforward import ProxyFactory

        from ._service import StreamServerEndpointService

        target = clientFromString(reactor, options.connect)
        return StreamServerEndpointService(
            serverFromString(reactor, options.listen), ProxyFactory(target)
        )


socksCommand = _SOCKSCommand()
portforwardCommand = _PortforwardCommand()
