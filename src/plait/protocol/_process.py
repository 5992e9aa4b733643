"""The protocol of a child process: output, pipes closing, exiting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plait.protocol._protocol import BaseProtocol

if TYPE_CHECKING:
    from plait.defer import Failure
    from plait.protocol._interfaces import IProcessTransport

__all__ = ["ProcessProtocol"]


class ProcessProtocol(BaseProtocol):
    """Events of a child process started with ``spawnProcess``.

    ``childDataReceived`` and ``childConnectionLost`` see every file descriptor and by default
    dispatch the standard ones to ``outReceived``/``errReceived`` and
    ``inConnectionLost``/``outConnectionLost``/``errConnectionLost``. ``processExited`` comes
    when the child exits, ``processEnded`` when also all its pipes are closed.
    """

    transport: IProcessTransport | None = None

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        """The child wrote ``data`` to ``childFD``: 1 goes to ``outReceived``, 2 to
        ``errReceived``, others are ignored unless overridden."""
        if childFD == 1:
            self.outReceived(data)
        elif childFD == 2:
            self.errReceived(data)

    def outReceived(self, data: bytes) -> None:
        """The child wrote ``data`` to its standard output."""

    def errReceived(self, data: bytes) -> None:
        """The child wrote ``data`` to its standard error."""

    def childConnectionLost(self, childFD: int) -> None:
        """The pipe for ``childFD`` closed: 0, 1, 2 go to ``inConnectionLost``,
        ``outConnectionLost``, ``errConnectionLost``."""
        if childFD == 0:
            self.inConnectionLost()
        elif childFD == 1:
            self.outConnectionLost()
        elif childFD == 2:
            self.errConnectionLost()

    def inConnectionLost(self) -> None:
        """The child's standard input was closed."""

    def outConnectionLost(self) -> None:
        """The child closed its standard output."""

    def errConnectionLost(self) -> None:
        """The child closed its standard error."""

    def processExited(self, reason: Failure) -> None:
        """The child exited: ``reason`` wraps ``ProcessDone`` (status 0) or
        ``ProcessTerminated`` (exit code or signal). Pipes may still be open."""

    def processEnded(self, reason: Failure) -> None:
        """The child exited and all its pipes are closed: the last event."""
