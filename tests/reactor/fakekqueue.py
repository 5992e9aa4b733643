"""A stand-in for the kqueue parts of ``select``, built on ``poll``, to run KQueueReactor here.

It models what the reactor relies on: per-(fd, filter) registrations added and deleted with
``control(changes, 0)``, deleting an absent filter failing with ENOENT, and ``control(None,
n, timeout)`` returning read/write events (EOF and errors arrive as read events).
"""

from __future__ import annotations

import errno
import os
import select
from collections.abc import Iterable
from typing import Any

KQ_FILTER_READ = -1
KQ_FILTER_WRITE = -2
KQ_EV_ADD = 1
KQ_EV_DELETE = 2


class kevent:
    def __init__(self, ident: int, filter: int = KQ_FILTER_READ, flags: int = KQ_EV_ADD) -> None:
        self.ident = ident
        self.filter = filter
        self.flags = flags


class kqueue:
    def __init__(self) -> None:
        self._poll = select.poll()
        self._filters: dict[int, set[int]] = {}
        self.closed = False

    def _sync(self, fd: int) -> None:
        filters = self._filters.get(fd, set())
        mask = (select.POLLIN if KQ_FILTER_READ in filters else 0) | (
            select.POLLOUT if KQ_FILTER_WRITE in filters else 0
        )
        if mask:
            self._poll.register(fd, mask)
        else:
            self._filters.pop(fd, None)
            try:
                self._poll.unregister(fd)
            except KeyError:
                pass

    def control(
        self, changes: Iterable[kevent] | None, maxevents: int, timeout: float | None = None
    ) -> list[kevent]:
        if self.closed:
            raise ValueError("I/O operation on closed kqueue object")
        for change in changes or ():
            filters = self._filters.setdefault(change.ident, set())
            if change.flags == KQ_EV_ADD:
                os.fstat(change.ident)  # EBADF as the kernel would
                filters.add(change.filter)
            elif change.filter in filters:
                filters.discard(change.filter)
            else:
                raise OSError(errno.ENOENT, "no such filter")
            self._sync(change.ident)
        if maxevents == 0:
            return []
        ms = None if timeout is None else int(timeout * 1000 + 0.999)
        out: list[kevent] = []
        for fd, event in self._poll.poll(ms):
            filters = self._filters.get(fd, set())
            hangup = event & (select.POLLHUP | select.POLLERR)
            if KQ_FILTER_READ in filters and (event & select.POLLIN or hangup):
                out.append(kevent(fd, KQ_FILTER_READ))
            if KQ_FILTER_WRITE in filters and (event & select.POLLOUT or hangup):
                out.append(kevent(fd, KQ_FILTER_WRITE))
        return out[:maxevents]

    def close(self) -> None:
        self.closed = True


class FakeSelectModule:
    """What ``plait.reactor._kqueue`` reads from ``select``."""

    KQ_FILTER_READ = KQ_FILTER_READ
    KQ_FILTER_WRITE = KQ_FILTER_WRITE
    KQ_EV_ADD = KQ_EV_ADD
    KQ_EV_DELETE = KQ_EV_DELETE
    kevent = kevent
    kqueue = kqueue


fakeSelect: Any = FakeSelectModule()
