"""Reaping child processes: each child is waited for by pid, never with ``waitpid(-1)``
(which would steal other libraries' children).

On Linux (``os.pidfd_open``, 5.3+) each child has a pidfd, a descriptor that becomes readable
when the child exits: the reactor watches it like any reader, so exits wake the loop without
SIGCHLD, whatever backend, and children that exited while the reactor was not running are
reaped as soon as it runs. Elsewhere a timer polls the reactor's children with
``waitpid(pid, WNOHANG)`` (every 10 ms, backing off to 100 ms while none exits).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from plait.defer import Failure

__all__ = ["watchChild"]

_ExitCallback = Callable[[int | None], object]


def _tryReap(pid: int) -> tuple[bool, int | None]:
    """(exited, wait status); the status is None if someone else reaped the child."""
    while True:
        try:
            reaped, status = os.waitpid(pid, os.WNOHANG)
        except InterruptedError:
            continue
        except ChildProcessError:
            return True, None  # reaped elsewhere (e.g. SIGCHLD set to SIG_IGN)
        if reaped == 0:
            return False, None
        return True, status


class _PidfdWatcher:
    """A reader on a child's pidfd: readable means exited."""

    def __init__(self, reactor: Any, pid: int, pidfd: int, onExit: _ExitCallback) -> None:
        self.reactor = reactor
        self.pid = pid
        self.fd = pidfd
        self.onExit = onExit
        reactor.addReader(self)

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return "ProcessReaper"

    def doRead(self) -> None:
        exited, status = _tryReap(self.pid)
        if exited:
            self._close()
            self.onExit(status)

    def _close(self) -> None:
        if self.fd >= 0:
            self.reactor.removeReader(self)
            os.close(self.fd)
            self.fd = -1

    def connectionLost(self, reason: Failure) -> None:
        # The reactor is shutting down: reap if we can, else leave the child be.
        self.doRead()
        self._close()


class _PollingReaper:
    """Fallback without pidfds: one timer per reactor polls its children."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.children: dict[int, _ExitCallback] = {}
        self.delay = 0.01
        self.call: Any = None

    def add(self, pid: int, onExit: _ExitCallback) -> None:
        self.children[pid] = onExit
        self.delay = 0.01
        if self.call is None:
            self.call = self.reactor.callLater(0, self.poll)

    def poll(self) -> None:
        self.call = None
        anyExited = False
        for pid, onExit in list(self.children.items()):
            exited, status = _tryReap(pid)
            if exited:
                anyExited = True
                del self.children[pid]
                onExit(status)
        if self.children:
            self.delay = 0.01 if anyExited else min(self.delay * 2, 0.1)
            self.call = self.reactor.callLater(self.delay, self.poll)


def watchChild(reactor: Any, pid: int, onExit: _ExitCallback) -> None:
    """Call ``onExit(waitStatus)`` on the loop once child ``pid`` has exited and is reaped."""
    pidfdOpen = getattr(os, "pidfd_open", None)
    if pidfdOpen is not None:
        try:
            pidfd = pidfdOpen(pid)
        except OSError:
            pass  # an old kernel: poll instead
        else:
            _PidfdWatcher(reactor, pid, pidfd, onExit)
            return
    reaper: _PollingReaper | None = getattr(reactor, "_processReaper", None)
    if reaper is None:
        reaper = reactor._processReaper = _PollingReaper(reactor)
    reaper.add(pid, onExit)
