"""``PollReactor``: the reactor on ``poll(2)`` (the default where there is no epoll)."""

from __future__ import annotations

import select
from typing import Any

from ._posixbase import PosixReactorBase

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
        self._dispatchMasks(events, _READ_EVENTS, _OUT, _HUP_ERR)
