"""``plait telnet``: a Telnet server running the line-editing demo shell."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["telnetCommand"]


class _TelnetCommand:
    name = "telnet"
    description = "a Telnet server (ECHO, SGA, NAWS, TTYPE) serving a small line-editing shell"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--listen",
            action="append",
            metavar="ENDPOINT",
            help="where to listen (endpoint string; repeatable; default tcp:8023:interface=127.0.0.1)",
        )

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        from plait.endpoints import serverFromString
        from plait.protocol import Factory
        from plait.protocols.telnet import TelnetTransport

        from ._service import MultiService, StreamServerEndpointService
        from ._telnetshell import DemoShell

        class TelnetFactory(Factory):
            def buildProtocol(self, addr: Any) -> Any:
                protocol = TelnetTransport(DemoShell)
                protocol.clock = reactor
                protocol.factory = self
                return protocol

        top = MultiService()
        for description in options.listen or ["tcp:8023:interface=127.0.0.1"]:
            endpoint = serverFromString(reactor, description)
            StreamServerEndpointService(endpoint, TelnetFactory()).setServiceParent(top)
        return top


telnetCommand = _TelnetCommand()
