"""``SelectReactor``: the reactor on ``select(2)``, the portable last resort."""

from __future__ import annotations

import errno
import os
import select

from ..protocol import ConnectionFdescWentAway
from ._posixbase import PosixReactorBase

__all__ = ["SelectReactor"]


class SelectReactor(PosixReactorBase):
    """A reactor polling with ``select.select`` (descriptors below ``FD_SETSIZE`` only)."""

    def _setInterest(self, fd: int, old: int, new: int) -> None:
        pass  # select is handed the readers and writers afresh every iteration

    def doIteration(self, timeout: float | None) -> None:
        """Wait for events at most ``timeout`` seconds and dispatch them."""
        readers = self._readers
        writers = self._writers
        try:
            readable, writable, _ = select.select(list(readers), list(writers), [], timeout)
        except OSError as e:
            if e.errno != errno.EBADF:
                raise
            self._dropBadDescriptors()
            return
        self._dispatchReads(readable)
        self._dispatchWrites(writable)

    def _dropBadDescriptors(self) -> None:
        # select failed for the whole set: find the closed descriptors and lose them alone.
        for table, isRead in ((self._readers, True), (self._writers, False)):
            for fd, selectable in list(table.items()):
                try:
                    os.fstat(fd)
                    if selectable.fileno() == fd:
                        continue
                except OSError:
                    pass
                self._disconnectSelectable(
                    selectable, ConnectionFdescWentAway("file descriptor closed"), isRead
                )
