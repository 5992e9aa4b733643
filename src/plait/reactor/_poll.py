"""``PollReactor``: the reactor on ``poll(2)`` (the default where there is no epoll)."""

from __future__ import annotations

import select
from typing import Any

from ._posixbase import READ, WRITE, PosixReactorBase

__all__ = ["PollReactor"]

_IN = select.POLLIN | select.POLLPRI
_OUT = select.POLLOUT
_HUP_ERR = select.POLLHUP | select.POLLERR | select.POLLNVAL
_READ_EVENTS = _IN | _HUP_ERR
_MASKS = (0, _IN, _OUT, _IN | _OUT)


class PollReactor(PosixReactorBase):
    """A reactor polling with ``select.poll``."""

    def __init__(self) -> None:
        self._poller: Any = select.poll()
        super().__init__()

    def _setInterest(self, fd: int, old: int, new: int) -> None:
        poller = self._poller
        if new:
            poller.register(fd, _MASKS[new])  # poll's register also modifies
        else:
            try:
                poller.unregister(fd)
            except KeyError:
                pass

    def doIteration(self, timeout: float | None) -> None:
        """Wait for events at most ``timeout`` seconds and dispatch them."""
        if timeout is None:
            events = self._poller.poll()
        else:
            # poll takes milliseconds; round up so a timer is not polled for early.
            ms = timeout * 1000.0
            events = self._poller.poll(int(ms) + (ms % 1.0 > 0.0))
        readers = self._readers
        writers = self._writers
        for fd, event in events:
            if event & _READ_EVENTS:
                selectable = readers.get(fd)
                if selectable is not None:
                    try:
                        why = selectable.doRead()
                    except Exception:
                        self._readFailed(selectable)
                        continue
                    if why is not None:
                        self._disconnectSelectable(selectable, why, True)
                        continue
            if event & _OUT or (event & _HUP_ERR and fd not in readers):
                selectable = writers.get(fd)
                if selectable is not None:
                    try:
                        why = selectable.doWrite()
                    except Exception:
                        self._writeFailed(selectable)
                        continue
                    if why is not None:
                        self._disconnectSelectable(selectable, why, False)
                elif fd not in readers:
                    self._setInterest(fd, READ | WRITE, 0)
