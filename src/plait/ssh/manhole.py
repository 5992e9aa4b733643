"""A manhole: a Python prompt into a running server, over SSH (the paper's "multi-user terminal
based application inside a single process").

- ``manholeFactory(reactor, namespace, portal | authorizedKeys=... | passwordFile=...,
  hostKeys=...)``: the SSH server factory to ``listen`` with; as a service of an application,
  ``plait.app.ManholeService(reactor, endpoint, namespace, authorizedKeys=PATH)``.
- ``Manhole``: the line-editing ``>>>`` prompt (a ``LineEditingProtocol``); over any raw-mode
  terminal transport. ``ManholeInterpreter``: compiles and runs input for one connection,
  with output (``print``, tracebacks, values, Deferred results) to that connection only
  (``TerminalFile``). ``ManholeRealm``: an ``IRealm`` giving each user a manhole shell, and
  ``ManholeCommand`` for ``exec`` (``ssh host 'expression'``, status 1 if it raised).

Each connection has its own names (a copy of ``namespace``; the objects are shared). Code runs
in the reactor thread. Errors: ``ValueError`` from ``manholeFactory`` without a way to log in;
errors in typed code are shown to the operator as tracebacks and never reach the server.
"""

from plait.ssh._manhole import (
    Manhole,
    ManholeCommand,
    ManholeInterpreter,
    ManholeRealm,
    TerminalFile,
    manholeFactory,
)

__all__ = [
    "Manhole",
    "ManholeCommand",
    "ManholeInterpreter",
    "ManholeRealm",
    "TerminalFile",
    "manholeFactory",
]
