"""``EPollReactor``: the reactor on Linux's ``epoll`` (the default there)."""

from __future__ import annotations

import errno
import select
from typing import Any

from ._posixbase import PosixReactorBase

__all__ = ["EPollReactor"]

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
_HUP_ERR = select.EPOLLHUP | select.EPOLLERR
_READ_EVENTS = _IN | _HUP_ERR
# What the OS is asked to watch, by (READ | WRITE) mask.
_MASKS = (0, _IN, _OUT, _IN | _OUT)


class EPollReactor(PosixReactorBase):
    """A reactor polling with ``select.epoll`` (level-triggered)."""

    def __init__(self) -> None:
        self._poller: Any = select.epoll()
        super().__init__()

    def _setInterest(self, fd: int, old: int, new: int) -> None:
        poller = self._poller
        try:
            if not new:
                poller.unregister(fd)
            elif not old:
                poller.register(fd, _MASKS[new])
            else:
                poller.modify(fd, _MASKS[new])
        except FileExistsError:  # registered by an fd number's previous owner
            poller.modify(fd, _MASKS[new])
        except FileNotFoundError:
            if new:  # the OS dropped it when the old descriptor closed
                poller.register(fd, _MASKS[new])
        except OSError as e:
            if e.errno != errno.EBADF or new:
                raise
        except ValueError:  # the poller is closed
            if new:
                raise

    def doIteration(self, timeout: float | None) -> None:
        """Wait for events at most ``timeout`` seconds and dispatch them."""
        self._dispatchMasks(
            self._poller.poll(-1 if timeout is None else timeout), _READ_EVENTS, _OUT, _HUP_ERR
        )

    def _closeBackend(self) -> None:
        super()._closeBackend()
        self._poller.close()
