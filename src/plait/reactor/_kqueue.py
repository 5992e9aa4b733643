"""``KQueueReactor``: the reactor on BSD/macOS ``kqueue``.

Written to the same contract as the other backends but untested here (no kqueue on Linux), so
it is available by name (``reactorClassNamed('kqueue')``) and never chosen by default.
"""

from __future__ import annotations

import errno
import select
from typing import Any

from ._posixbase import READ, WRITE, PosixReactorBase

__all__ = ["KQueueReactor"]

_select: Any = select  # the kqueue names exist only on BSD-like platforms


class KQueueReactor(PosixReactorBase):
    """A reactor polling with ``select.kqueue`` (read and write filters per descriptor)."""

    def __init__(self) -> None:
        self._kq: Any = _select.kqueue()
        super().__init__()

    def _setInterest(self, fd: int, old: int, new: int) -> None:
        changes = []
        for flag, kqFilter in ((READ, _select.KQ_FILTER_READ), (WRITE, _select.KQ_FILTER_WRITE)):
            if (old ^ new) & flag:
                action = _select.KQ_EV_ADD if new & flag else _select.KQ_EV_DELETE
                changes.append(_select.kevent(fd, kqFilter, action))
        if not changes:
            return
        try:
            self._kq.control(changes, 0, 0)
        except OSError as e:
            # Deleting the filter of a descriptor already closed: the kernel dropped it.
            if new or e.errno not in (errno.EBADF, errno.ENOENT):
                raise
        except ValueError:  # the kqueue is closed
            if new:
                raise

    def doIteration(self, timeout: float | None) -> None:
        """Wait for events at most ``timeout`` seconds and dispatch them."""
        readers = self._readers
        writers = self._writers
        events = self._kq.control(None, max(1, len(readers) + len(writers)), timeout)
        readFilter = _select.KQ_FILTER_READ
        # EV_EOF arrives as a read event: doRead sees the EOF itself.
        self._dispatchReads([event.ident for event in events if event.filter == readFilter])
        self._dispatchWrites([event.ident for event in events if event.filter != readFilter])

    def _closeBackend(self) -> None:
        super()._closeBackend()
        self._kq.close()
