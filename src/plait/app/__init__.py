"""Running programs (L7): ``react``, the default reactor, services and the ``plait`` command.

- ``react(main, argv=())`` calls ``main(reactor, *argv)`` (which may return a Deferred or a
  coroutine), runs the reactor until that finishes and exits: status 0, or 1 with the traceback
  logged, or the code of a ``SystemExit`` from ``main``.
- ``from plait.app import reactor`` gives the default reactor, created on first use: importing
  ``plait.app`` creates nothing. Its class is chosen by the environment variable
  ``PLAIT_REACTOR`` (``select``, ``poll`` or ``epoll``; unset means the platform's best,
  ``plait.reactor.defaultReactorClass()``). ``reactor`` is not in ``__all__``, so a star import
  does not create one.
- ``installReactor(reactor)`` makes a given reactor the default before first use;
  ``getDefaultReactor()`` returns (and if need be creates) it.
- Services: ``IService``, ``Service``, ``MultiService``, ``Application``,
  ``StreamServerEndpointService``, ``TimerService``, ``ClientService`` (with ``backoffPolicy``).
  ``privilegedStartService`` binds ports before privileges drop; ``stopService`` may return a
  Deferred. Services that need a reactor take it as an argument. ``ManholeService(reactor,
  endpoint, namespace, authorizedKeys=PATH)`` serves ``plait.ssh.manhole`` (a Python prompt
  into the process over SSH; needs the ``ssh`` extra).
- ``PIDFile`` and ``AlreadyRunningError``: the pid file ``plait --pidfile`` uses.
- The ``plait`` command (``plait.app._cli``): ``plait [--reactor NAME] [--log-format text|json]
  [--log-file PATH] [--log-level LEVEL] [--pidfile PATH] [--daemon] [--uid N] [--gid N]
  [--workers N] [--shutdown-timeout S] SUBCOMMAND ...``; built-ins ``run FILE.py`` and
  ``echo --listen ENDPOINT``. The ``systemd:domain=INET:index=0`` server endpoint kind adopts a
  socket systemd passed (``LISTEN_FDS``/``LISTEN_PID``).

Adding a subcommand (for ``web``, ``telnet``, ``socks``...): write a small object with
``name``, ``description`` (one line), ``addArguments(parser)`` (argparse) and
``makeService(reactor, options) -> IService``, in a module that imports nothing heavy at top
level (``plait --help`` imports it; import your implementation inside ``makeService``), and
declare it in ``pyproject.toml``::

    [project.entry-points."plait.plugins"]
    web = "plait.web._command:webCommand"

Raise ``ValueError`` (or ``OSError``) with a clear message for bad input: ``plait`` prints it
on one line and exits with status 1. Listen through ``StreamServerEndpointService`` so
``--uid``, ``--workers`` and the "Listening on HOST:PORT" log line work for you.

Errors:

- ``ReactorAlreadyInstalledError`` (``RuntimeError``): ``installReactor`` after a default
  reactor exists.
- ``ValueError``: ``PLAIT_REACTOR`` names no reactor (the message lists the choices); raised by
  the first use of the default reactor.
- ``SystemExit``: ``react`` always ends with it.
- ``RuntimeError``: two children of a ``MultiService`` with one name; renaming a parented
  service. ``AlreadyRunningError`` (``RuntimeError``): a pid file names a live process.
- ``StreamServerEndpointService.startService`` raises what listening failed with
  (``CannotListenError``).

Importing ``plait.app`` is light (names load on first use), so ``plait --help`` starts fast.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing costs ~10 ms to import; mypy still reads the block below
if TYPE_CHECKING:
    from typing import Any

    from ._default import ReactorAlreadyInstalledError, getDefaultReactor, installReactor
    from ._manhole import ManholeService
    from ._pidfile import AlreadyRunningError, PIDFile
    from ._react import react
    from ._service import (
        Application,
        ClientService,
        IService,
        MultiService,
        Service,
        StreamServerEndpointService,
        TimerService,
        backoffPolicy,
    )

_WHERE = {
    "ReactorAlreadyInstalledError": "_default",
    "getDefaultReactor": "_default",
    "installReactor": "_default",
    "react": "_react",
    "ManholeService": "_manhole",
    "AlreadyRunningError": "_pidfile",
    "PIDFile": "_pidfile",
    "Application": "_service",
    "ClientService": "_service",
    "IService": "_service",
    "MultiService": "_service",
    "Service": "_service",
    "StreamServerEndpointService": "_service",
    "TimerService": "_service",
    "backoffPolicy": "_service",
}

__all__ = [
    "AlreadyRunningError",
    "Application",
    "ClientService",
    "IService",
    "ManholeService",
    "MultiService",
    "PIDFile",
    "ReactorAlreadyInstalledError",
    "Service",
    "StreamServerEndpointService",
    "TimerService",
    "backoffPolicy",
    "getDefaultReactor",
    "installReactor",
    "react",
]


def __getattr__(name: str) -> Any:
    """Public names load on first use; ``plait.app.reactor`` is the default reactor."""
    if name == "reactor":
        return importlib.import_module("._default", __name__).getDefaultReactor()
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
