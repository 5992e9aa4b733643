"""``plait manhole``: a Python prompt into this process over SSH, for its operators.

    plait manhole --authorized-keys PATH [--password-file PATH] [--listen ENDPOINT ...]
                  [--host-key PATH ...] [--state-dir DIR] [--app FILE.py]

Operators log in with a key from ``--authorized-keys`` (one file for every user name) and/or a
password from ``--password-file`` (``user:hash`` lines; ``plait.auth.hashPassword``) and get a
``>>>`` prompt with line editing (``ssh -p 2200 localhost``). The namespace holds ``reactor``
and ``services`` (the running services); with ``--app FILE.py`` the file's ``application`` runs
in this process too and its names (``application`` among them) are in the namespace. Host
keys: ``--host-key PATH`` (repeatable), or else the state directory's, as ``plait sshd``
keeps them (``--state-dir``; generated on first start). ``--listen`` defaults to
``tcp:2200:interface=127.0.0.1``: a manhole runs code as this process, keep it on loopback.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ._serveroptions import addHostKeyArguments, addListenArgument, listenServices, optionHostKeys

__all__ = ["DEFAULT_LISTEN", "manholeCommand"]

DEFAULT_LISTEN = "tcp:2200:interface=127.0.0.1"


class _ManholeCommand:
    name = "manhole"
    description = "a Python prompt into this process over SSH (for operators; --app FILE.py)"

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        addListenArgument(parser, DEFAULT_LISTEN)
        parser.add_argument(
            "--authorized-keys", metavar="PATH", help="keys allowed in (OpenSSH authorized_keys)"
        )
        parser.add_argument(
            "--password-file", metavar="PATH", help="user:hash lines of passwords allowed in"
        )
        addHostKeyArguments(
            parser, stateDirHelp="where host keys are made on first start (default: plait sshd's)"
        )
        parser.add_argument(
            "--app",
            metavar="FILE.py",
            type=os.path.abspath,
            help="also run this file's application, with its names in the namespace",
        )

    def makeService(self, reactor: Any, options: argparse.Namespace) -> Any:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            raise ValueError(
                "plait manhole needs the ssh extra: pip install 'plait[ssh]'"
            ) from None
        if not options.authorized_keys and not options.password_file:
            raise ValueError("plait manhole needs --authorized-keys or --password-file")
        for path in (options.authorized_keys, options.password_file):
            if path and not os.path.isfile(path):
                raise ValueError(f"{path}: no such file")
        from plait.ssh.manhole import manholeFactory

        from ._service import IService, MultiService

        top = MultiService()
        namespace: dict[str, Any] = {}
        if options.app:
            import runpy

            namespace.update(runpy.run_path(options.app, run_name="__plait_run__"))
            application = namespace.get("application")
            if not isinstance(application, IService):
                raise ValueError(f"{options.app}: 'application' is not a service")
            application.setServiceParent(top)
        namespace.update(reactor=reactor, services=top)
        factory = manholeFactory(
            reactor,
            namespace,
            authorizedKeys=options.authorized_keys,
            passwordFile=options.password_file,
            hostKeys=optionHostKeys(options),
        )
        return listenServices(reactor, options.listen, factory, parent=top)


manholeCommand = _ManholeCommand()
