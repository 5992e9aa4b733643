"""Options and services the server subcommands share: ``--listen``, ``--host-key``, ``--state-dir``.

``addListenArgument(parser, default)`` declares a repeatable ``--listen ENDPOINT`` whose value
is ``[default]`` unless given; ``listenServices(reactor, options.listen, factory)`` makes one
``StreamServerEndpointService`` per endpoint string. ``addHostKeyArguments`` and
``optionHostKeys`` are the host-key options of ``plait sshd`` and ``plait manhole``. This module
imports nothing heavy at top level (``plait --help`` imports the commands that use it).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["addHostKeyArguments", "addListenArgument", "listenServices", "optionHostKeys"]


class _AppendListen(argparse.Action):
    """``append``, except that the first ``--listen`` replaces the default instead of adding."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest, None)
        # argparse puts the default object itself in the namespace: still it means "not given".
        given = [] if current is None or current is self.default else list(current)
        given.append(values)
        setattr(namespace, self.dest, given)


def addListenArgument(parser: argparse.ArgumentParser, default: str, note: str = "") -> None:
    """Declare the repeatable ``--listen ENDPOINT`` option; ``[default]`` when not given.

    ``note`` is added to the help after "endpoint string" (e.g. ``", ssl: too"``).
    """
    parser.add_argument(
        "--listen",
        action=_AppendListen,
        default=[default],
        metavar="ENDPOINT",
        help=f"where to listen (endpoint string{note}; repeatable; default {default})",
    )


def listenServices(
    reactor: Any, descriptions: Iterable[str], factory: Any, parent: Any = None
) -> Any:
    """One ``StreamServerEndpointService`` of ``factory`` per endpoint string, in a MultiService.

    The services join ``parent`` (a ``MultiService``) when given, else a new one; either is
    returned.
    """
    from plait.endpoints import serverFromString

    from ._service import MultiService, StreamServerEndpointService

    top = MultiService() if parent is None else parent
    for description in descriptions:
        endpoint = serverFromString(reactor, description)
        StreamServerEndpointService(endpoint, factory).setServiceParent(top)
    return top


def addHostKeyArguments(parser: argparse.ArgumentParser, stateDirHelp: str) -> None:
    """Declare ``--host-key PATH`` (repeatable) and ``--state-dir DIR`` (help: ``stateDirHelp``)."""
    parser.add_argument(
        "--host-key",
        action="append",
        default=[],
        metavar="PATH",
        help="a private host key file (repeatable; default: the state directory's)",
    )
    parser.add_argument("--state-dir", metavar="DIR", help=stateDirHelp)


def optionHostKeys(options: argparse.Namespace) -> list[Any]:
    """The host keys the options name: ``--host-key`` files, else the state directory's (made
    on first start)."""
    from ._cmd_ssh_unix import hostKeys

    return hostKeys(options.host_key, True, options.state_dir)
