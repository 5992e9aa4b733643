"""A private X server (Xvfb) for the Tk tests: started on a free display, killed after."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

__all__ = [
    "gtkReactorForTests",
    "qtReactorForTests",
    "sharedDisplay",
    "tkReactorForTests",
    "tkSkipReason",
    "xvfbDisplay",
    "xvfbSkipReason",
]


def xvfbSkipReason() -> str | None:
    """Why no X server can be started here (None: Xvfb is installed)."""
    if shutil.which("Xvfb") is None:
        return "Xvfb is not installed (Debian package xvfb)"
    return None


def tkSkipReason() -> str | None:
    """Why Tk tests cannot run here (None: they can)."""
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return "tkinter is not built into this Python"
    if shutil.which("Xvfb") is None:
        return "Xvfb is not installed (Debian package xvfb)"
    return None


def _freeDisplay() -> int:
    for n in range(90, 400):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number in :90-:399")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5.0
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


@contextmanager
def xvfbDisplay() -> Iterator[str]:
    """Run ``Xvfb :N -screen 0 800x600x24`` on a free N; yields ``":N"``; kills it after.

    Xvfb is started detached (through ``sh -c '... &'``), so it is not this process's child:
    tests that reap every child (``waitpid(-1)``) must not find it.
    """
    for _attempt in range(5):
        n = _freeDisplay()
        command = f"Xvfb :{n} -screen 0 800x600x24 -nolisten tcp >/dev/null 2>&1 & echo $!"
        out = subprocess.run(["sh", "-c", command], capture_output=True, check=True, text=True)
        pid = int(out.stdout.strip())
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and _alive(pid):
            if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                break
            time.sleep(0.02)
        if _alive(pid) and os.path.exists(f"/tmp/.X11-unix/X{n}"):
            break
        _kill(pid)
    else:
        raise RuntimeError("Xvfb did not start")
    try:
        yield f":{n}"
    finally:
        _kill(pid)


_shared: list[object] = []


def sharedDisplay() -> str:
    """One Xvfb for the whole test session (started on first use, killed at exit)."""
    if not _shared:
        manager = xvfbDisplay()
        display = manager.__enter__()
        atexit.register(manager.__exit__, None, None, None)
        _shared.append(display)
    return str(_shared[0])


def tkReactorForTests() -> Any:
    """A ``TkReactor`` on the session's Xvfb; skips the test if Tk cannot run here."""
    reason = tkSkipReason()
    if reason is not None:
        pytest.skip(reason)
    from plait.reactor import TkReactor

    return TkReactor(screenName=sharedDisplay())


def qtReactorForTests() -> Any:
    """A ``QtReactor`` on a ``QCoreApplication``; skips the test without PySide6."""
    if importlib.util.find_spec("PySide6") is None:
        pytest.skip("PySide6 is not installed (pip install 'plait[qt]')")
    from plait.reactor import QtReactor

    return QtReactor()


def gtkReactorForTests() -> Any:
    """A ``GtkReactor`` on GLib's default context; skips the test without PyGObject."""
    if importlib.util.find_spec("gi") is None:
        pytest.skip("PyGObject is not installed (pip install 'plait[gtk]')")
    from plait.reactor import GtkReactor

    return GtkReactor()
