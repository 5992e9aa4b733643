"""The waker: a descriptor other threads poke to wake a sleeping loop at once."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..defer import Failure

__all__ = ["Waker"]


class Waker:
    """A readable descriptor the loop watches; ``wakeUp()`` makes it readable.

    An ``eventfd`` on Linux (one fd, a counter that never fills), a non-blocking pipe
    elsewhere. ``wakeUp`` is safe from any thread and from signal handlers. The loop's
    ``doRead`` drains it. Between two drains only the first ``wakeUp`` makes a system call:
    ``pending`` is set before the write and cleared after the drain, and the loop looks at its
    work queue after every drain, so work queued while ``pending`` is set is never missed.
    """

    __slots__ = ("_eventfd", "_r", "_w", "pending")

    _r: int
    _w: int
    _eventfd: bool
    pending: bool

    def __init__(self) -> None:
        self.pending = False
        self._r = self._w = -1
        eventfd = getattr(os, "eventfd", None)
        if eventfd is not None:
            fd = eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._r = self._w = fd
            self._eventfd = True
        else:  # pragma: no cover - non-Linux
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self._r, self._w = r, w
            self._eventfd = False

    def fileno(self) -> int:
        """The descriptor to watch for readability (-1 once closed)."""
        return self._r

    def wakeUp(self) -> None:
        """Make the descriptor readable (no-op once closed or already readable and full)."""
        if self.pending:
            return
        self.pending = True
        w = self._w
        if w < 0:
            return
        try:
            if self._eventfd:
                os.eventfd_write(w, 1)
            else:  # pragma: no cover - non-Linux
                os.write(w, b"x")
        except (BlockingIOError, InterruptedError):
            pass  # a wake is already pending
        except OSError:
            pass  # closed under us at shutdown: nobody is left to wake

    def doRead(self) -> None:
        """Drain pending wakes."""
        r = self._r
        try:
            if self._eventfd:
                os.eventfd_read(r)
            else:  # pragma: no cover - non-Linux
                while os.read(r, 4096):
                    pass
        except (BlockingIOError, InterruptedError):
            pass
        self.pending = False

    def connectionLost(self, reason: Failure) -> None:
        """The reactor dropped the waker: close it."""
        self.close()

    def logPrefix(self) -> str:
        """Name for log lines."""
        return "Waker"

    def close(self) -> None:
        """Close the descriptor(s); idempotent."""
        r, w = self._r, self._w
        self._r = self._w = -1
        if r >= 0:
            os.close(r)
        if w >= 0 and w != r:
            os.close(w)

    def __del__(self) -> None:
        # A reactor made and dropped without close(): do not leak the descriptor.
        try:
            self.close()
        except Exception:
            pass
