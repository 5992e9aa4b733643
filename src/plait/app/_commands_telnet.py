"""``plait telnet``: a Telnet server running the line-editing demo shell."""

from __future__ import annotations

import argparse
from typing import Any

from ._serveroptions import addListenArgument, listenServices

__all__ = ["telnetCommand"]


class _TelnetCommand:
    name = "telnet"
    description = "a Telnet server (ECHO, SGA, NAWS, TTYPE) serving a small line-editing shell"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        addListenArgument(parser, "tcp:8023:interface=127.0.0.1")

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        from plait.protocol import Factory
        from plait.protocols.telnet import TelnetTransport

        from ._telnetshell import DemoShell

        class TelnetFactory(Factory):
            def buildProtocol(self, addr: Any) -> Any:
                protocol = TelnetTransport(DemoShell)
                protocol.clock = reactor
                protocol.factory = self
                return protocol

        return listenServices(reactor, options.listen, TelnetFactory())


telnetCommand = _TelnetCommand()
