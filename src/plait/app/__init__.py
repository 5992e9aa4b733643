"""Running programs (L7): ``react`` and the default reactor for scripts.

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

Errors:

- ``ReactorAlreadyInstalledError`` (``RuntimeError``): ``installReactor`` after a default
  reactor exists.
- ``ValueError``: ``PLAIT_REACTOR`` names no reactor (the message lists the choices); raised by
  the first use of the default reactor.
- ``SystemExit``: ``react`` always ends with it.
"""

from typing import Any

from ._default import ReactorAlreadyInstalledError, getDefaultReactor, installReactor
from ._react import react

__all__ = [
    "ReactorAlreadyInstalledError",
    "getDefaultReactor",
    "installReactor",
    "react",
]


def __getattr__(name: str) -> Any:
    """``plait.app.reactor``: the default reactor, created on first use."""
    if name == "reactor":
        return getDefaultReactor()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
