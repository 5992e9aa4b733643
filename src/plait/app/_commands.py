"""Built-in ``plait`` subcommands: ``run`` and ``echo``.

Each is a small object (``name``, ``description``, ``addArguments``, ``makeService``); heavy
imports happen inside ``makeService`` so ``plait --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._serveroptions import addListenArgument, listenServices

__all__ = ["echoCommand", "runCommand"]


class _EchoCommand:
    name = "echo"
    description = "an echo server (RFC 862): sends back every byte it receives"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        addListenArgument(parser, "tcp:7")

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        from plait.protocol import Factory, Protocol

        class Echo(Protocol):
            def dataReceived(self, data: bytes) -> None:
                assert self.transport is not None
                self.transport.write(data)

        return listenServices(reactor, options.listen, Factory.forProtocol(Echo))


class _RunCommand:
    name = "run"
    description = "run FILE.py, a file that defines application (an IService)"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        import os

        parser.add_argument(
            "file", metavar="FILE.py", type=os.path.abspath, help="a file defining application"
        )

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        import runpy

        from ._service import IService

        namespace = runpy.run_path(options.file, run_name="__plait_run__")
        application = namespace.get("application")
        if application is None:
            raise ValueError(f"{options.file} defines no 'application'")
        if not isinstance(application, IService):
            raise ValueError(f"{options.file}: 'application' is not a service: {application!r}")
        return application


echoCommand = _EchoCommand()
runCommand = _RunCommand()
