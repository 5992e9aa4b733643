"""Choosing a backend at run time (§3): by name, or the best this platform has."""

from __future__ import annotations

import importlib.util
import select
import sys

from ._posixbase import PosixReactorBase

__all__ = ["defaultReactorClass", "reactorClassNamed", "reactorNames"]


def reactorNames() -> list[str]:
    """The descriptor-polling backend names usable on this platform, best first.

    ``reactorClassNamed`` also knows ``'asyncio'`` and ``'uvloop'`` (never the default).
    """
    names = []
    if hasattr(select, "epoll"):
        names.append("epoll")
    if hasattr(select, "poll") and sys.platform != "darwin":  # macOS poll is unreliable
        names.append("poll")
    names.append("select")
    if hasattr(select, "kqueue"):  # pragma: no cover - BSD/macOS; untested, so never default
        names.append("kqueue")
    return names


_GUI = ("tk", "qt", "gtk")


def reactorClassNamed(name: str) -> type[PosixReactorBase]:
    """The reactor class for ``'select'``, ``'poll'``, ``'epoll'``, ``'kqueue'``, ``'asyncio'``
    or ``'uvloop'``; or a GUI loop, ``'tk'``, ``'qt'`` or ``'gtk'`` (by name only, never the
    default).

    Raises ``ValueError`` for an unknown name and ``NotImplementedError`` for a backend this
    platform lacks.
    """
    if name == "epoll":
        if not hasattr(select, "epoll"):
            raise NotImplementedError("epoll is not available on this platform")
        from ._epoll import EPollReactor

        return EPollReactor
    if name == "poll":
        if not hasattr(select, "poll"):
            raise NotImplementedError("poll is not available on this platform")
        from ._poll import PollReactor

        return PollReactor
    if name == "kqueue":
        if not hasattr(select, "kqueue"):
            raise NotImplementedError("kqueue is not available on this platform")
        from ._kqueue import KQueueReactor

        return KQueueReactor
    if name == "select":
        from ._select import SelectReactor

        return SelectReactor
    if name == "asyncio":
        from ._asyncio import AsyncioReactor

        return AsyncioReactor
    if name == "uvloop":
        if importlib.util.find_spec("uvloop") is None:
            raise NotImplementedError("uvloop is not installed (pip install 'plait[uvloop]')")
        from ._asyncio import UVLoopReactor

        return UVLoopReactor
    if name == "tk":
        from ._tk import TkReactor

        return TkReactor
    if name == "qt":
        from ._qt import QtReactor

        return QtReactor
    if name == "gtk":
        from ._gtk import GtkReactor

        return GtkReactor
    # GUI backends are chosen by name only: they need a toolkit (and a display).
    raise ValueError(f"unknown reactor {name!r}: choose one of {[*reactorNames(), *_GUI]}")


def defaultReactorClass() -> type[PosixReactorBase]:
    """EPollReactor on Linux, PollReactor where there is poll, else SelectReactor.

    The default is the fastest backend that passes the conformance suite and needs nothing
    beyond the stdlib. On the scoreboard (``benchmarks/run.py``, server CPU per operation, two
    runs on a 2-CPU VM, 2026-11-26) epoll beats the asyncio backends where plait's own code
    dominates, new connections (epoll 25.5-25.8 us/conn, uvloop 32.3-41.5, asyncio 55.6-60.7),
    is level with them on bulk echo (473-509 us/MB for all three) and within about 10% of
    uvloop on ping-pong, either way. It also holds an idle connection in 0.90 KiB (uvloop:
    1.76). ``'asyncio'``/``'uvloop'`` are for sharing the loop with asyncio libraries, never
    the default.
    """
    return reactorClassNamed(reactorNames()[0])
