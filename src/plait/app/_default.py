"""The default reactor for scripts: created on first use, chosen by ``PLAIT_REACTOR``.

Library code never uses this (it takes a reactor as a parameter); it exists so that programs in
the paper's style (``from plait.app import reactor``) work.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from plait import reactor as reactors

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "ReactorAlreadyInstalledError",
    "getDefaultReactor",
    "installReactor",
]

ENVIRONMENT_VARIABLE = "PLAIT_REACTOR"

_lock = threading.Lock()
_installed: Any = None


class ReactorAlreadyInstalledError(RuntimeError):
    """``installReactor`` was called after a default reactor was installed or created."""


def _reactorFromEnvironment() -> Any:
    """A new reactor of the class ``PLAIT_REACTOR`` names (or the platform's best)."""
    name = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not name:
        return reactors.defaultReactorClass()()
    try:
        cls = reactors.reactorClassNamed(name)
    except (ValueError, NotImplementedError) as e:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={name!r} names no reactor usable here ({e}); "
            f"choose one of: {', '.join(reactors.reactorNames())}"
        ) from None
    return cls()


def getDefaultReactor() -> Any:
    """The default reactor, created on first use (``PLAIT_REACTOR`` picks its class)."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = _reactorFromEnvironment()
        return _installed


def installReactor(reactor: Any) -> None:
    """Make ``reactor`` the default; ``ReactorAlreadyInstalledError`` if there already is one."""
    global _installed
    with _lock:
        if _installed is not None:
            raise ReactorAlreadyInstalledError(
                f"a default reactor is already installed: {_installed!r}"
            )
        _installed = reactor


def _uninstall() -> None:
    """Forget the default reactor (for tests)."""
    global _installed
    with _lock:
        _installed = None
