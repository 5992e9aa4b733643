"""``PosixReactorBase``: ``ReactorBase`` plus descriptor bookkeeping (``IReactorFDSet``).

A backend subclass provides ``_setInterest(fd, old, new)`` (tell the OS poller what to watch:
masks of ``READ``/``WRITE``) and ``doIteration``. Readers and writers are kept in two dicts
from fd to object, so dispatching an event is one dict lookup, and the reader and the writer
of one fd may be different objects.

Every call into a descriptor has the same error boundary (``_disconnectSelectable``): if
``doRead``/``doWrite`` raises (logged with its traceback) or returns a reason, the descriptor
is removed and its ``connectionLost(Failure)`` called; a ``ConnectionDone`` from ``doRead`` on
a descriptor with ``readConnectionLost`` loses only the read side (half-close).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..defer import Failure
from ..protocol import ConnectionDone, ConnectionLost
from ._base import ReactorBase
from ._process import ProcessReactorMixin
from ._ssl import SSLReactorMixin
from ._tcp import TCPReactorMixin
from ._udp import UDPReactorMixin
from ._unix import SocketReactorMixin, UNIXReactorMixin
from ._unixdgram import UNIXDatagramReactorMixin

if TYPE_CHECKING:
    from ._interfaces import IReadDescriptor, IWriteDescriptor

__all__ = ["READ", "WRITE", "PosixReactorBase"]

READ = 1
WRITE = 2


def _asFailure(why: object) -> Failure:
    if isinstance(why, Failure):
        return why
    if isinstance(why, type) and issubclass(why, BaseException):
        why = why()
    if isinstance(why, BaseException):
        return Failure(why)
    return Failure(ConnectionLost(f"descriptor returned {why!r}"))


class PosixReactorBase(
    TCPReactorMixin,
    SSLReactorMixin,
    UNIXReactorMixin,
    SocketReactorMixin,
    UDPReactorMixin,
    UNIXDatagramReactorMixin,
    ProcessReactorMixin,
    ReactorBase,
):
    """A reactor watching file descriptors; subclasses poll with select, poll or epoll."""

    def __init__(self) -> None:
        self._readers: dict[int, Any] = {}
        self._writers: dict[int, Any] = {}
        self._internalReaders: list[Any] = []
        super().__init__()
        self._addInternalReader(self.waker)

    # -- backend hooks -------------------------------------------------------------------------

    def _setInterest(self, fd: int, old: int, new: int) -> None:
        """Tell the poller that ``fd`` is now watched for ``new`` (was ``old``); 0 = none."""
        raise NotImplementedError

    # -- IReactorFDSet -------------------------------------------------------------------------

    def _addInternalReader(self, reader: Any) -> None:
        self._internalReaders.append(reader)
        self.addReader(reader)

    def _removeInternalReader(self, reader: Any) -> None:
        self.removeReader(reader)
        self._internalReaders = [r for r in self._internalReaders if r is not reader]

    def addReader(self, reader: IReadDescriptor) -> None:
        """Call ``reader.doRead()`` whenever its descriptor is readable."""
        fd = reader.fileno()
        if fd < 0:
            raise ValueError(f"{reader!r} has no open file descriptor")
        readers = self._readers
        current = readers.get(fd)
        if current is reader:
            return
        writing = WRITE if fd in self._writers else 0
        if current is not None:
            # Another object had this fd (a closed descriptor never removed, its number now
            # reused): register again from scratch, the OS may have dropped the old one.
            self._setInterest(fd, READ | writing, 0)
            readers[fd] = reader
            self._setInterest(fd, 0, READ | writing)
            return
        readers[fd] = reader
        self._setInterest(fd, writing, READ | writing)

    def addWriter(self, writer: IWriteDescriptor) -> None:
        """Call ``writer.doWrite()`` whenever its descriptor is writable."""
        fd = writer.fileno()
        if fd < 0:
            raise ValueError(f"{writer!r} has no open file descriptor")
        writers = self._writers
        current = writers.get(fd)
        if current is writer:
            return
        reading = READ if fd in self._readers else 0
        if current is not None:
            self._setInterest(fd, WRITE | reading, 0)
            writers[fd] = writer
            self._setInterest(fd, 0, WRITE | reading)
            return
        writers[fd] = writer
        self._setInterest(fd, reading, WRITE | reading)

    @staticmethod
    def _findFd(table: dict[int, Any], obj: Any) -> int:
        fd: int = obj.fileno()
        if fd >= 0 and table.get(fd) is obj:
            return fd
        # Closed (fileno() is -1) or renumbered: look it up by identity.
        for key, value in table.items():
            if value is obj:
                return key
        return -1

    def removeReader(self, reader: IReadDescriptor) -> None:
        """Stop watching ``reader`` for readability (no error if it was not watched)."""
        fd = self._findFd(self._readers, reader)
        if fd < 0:
            return
        del self._readers[fd]
        writing = WRITE if fd in self._writers else 0
        self._setInterest(fd, READ | writing, writing)

    def removeWriter(self, writer: IWriteDescriptor) -> None:
        """Stop watching ``writer`` for writability (no error if it was not watched)."""
        fd = self._findFd(self._writers, writer)
        if fd < 0:
            return
        del self._writers[fd]
        reading = READ if fd in self._readers else 0
        self._setInterest(fd, WRITE | reading, reading)

    def _isInternal(self, obj: Any) -> bool:
        return any(obj is r for r in self._internalReaders)

    def getReaders(self) -> list[IReadDescriptor]:
        """The watched readers (not the reactor's own wakers)."""
        return [r for r in self._readers.values() if not self._isInternal(r)]

    def getWriters(self) -> list[IWriteDescriptor]:
        """The watched writers."""
        return list(self._writers.values())

    def removeAll(self) -> list[IReadDescriptor | IWriteDescriptor]:
        """Stop watching everything but the reactor's own wakers; return what was watched."""
        removed: list[Any] = []
        seen: set[int] = set()
        for obj in [*self._readers.values(), *self._writers.values()]:
            if self._isInternal(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            removed.append(obj)
            self.removeReader(obj)
            self.removeWriter(obj)
        return removed

    def disconnectAll(self) -> None:
        """At shutdown: remove every descriptor and call its ``connectionLost``."""
        for selectable in self.removeAll():
            try:
                selectable.connectionLost(Failure(ConnectionLost("the reactor shut down")))
            except Exception:
                self._log.failure("Error in connectionLost of {sel!r} at shutdown", sel=selectable)

    # -- the error boundary --------------------------------------------------------------------

    def _disconnectSelectable(self, selectable: Any, why: object, isRead: bool) -> None:
        """Lose ``selectable`` because ``doRead`` (``isRead``) or ``doWrite`` gave ``why``."""
        reason = _asFailure(why)
        try:
            self.removeReader(selectable)
            if (
                isRead
                and reason.check(ConnectionDone)
                and hasattr(selectable, "readConnectionLost")
            ):
                selectable.readConnectionLost(reason)
            else:
                self.removeWriter(selectable)
                selectable.connectionLost(reason)
        except Exception:
            self._log.failure("Error while losing {sel!r}", sel=selectable)

    def _readFailed(self, selectable: Any) -> None:
        """``doRead`` raised (call inside the ``except``): log it and lose the descriptor."""
        reason = Failure()
        self._log.failure("Unhandled error in {sel!r}.doRead", reason, sel=selectable)
        self._disconnectSelectable(selectable, reason, False)

    def _writeFailed(self, selectable: Any) -> None:
        """``doWrite`` raised (call inside the ``except``): log it and lose the descriptor."""
        reason = Failure()
        self._log.failure("Unhandled error in {sel!r}.doWrite", reason, sel=selectable)
        self._disconnectSelectable(selectable, reason, False)

    # -- dispatch (one call per poll, never per event: the loops are the hot path) ------------

    def _dispatchMasks(
        self, events: list[tuple[int, int]], readEvents: int, out: int, hupErr: int
    ) -> None:
        """Dispatch ``(fd, mask)`` pairs from ``poll``/``epoll`` (the masks name the bits)."""
        readers = self._readers
        writers = self._writers
        for fd, event in events:
            if event & readEvents:
                # HUP/ERR go to the reader too: doRead sees the EOF or the error.
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
            if event & out or (event & hupErr and fd not in readers):
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
                    self._setInterest(fd, READ | WRITE, 0)  # nobody wants it: stop the noise

    def _dispatchReads(self, fds: Iterable[int]) -> None:
        """Call ``doRead`` of the reader of each of ``fds`` (gone ones are skipped)."""
        readers = self._readers
        for fd in fds:
            selectable = readers.get(fd)
            if selectable is not None:
                try:
                    why = selectable.doRead()
                except Exception:
                    self._readFailed(selectable)
                    continue
                if why is not None:
                    self._disconnectSelectable(selectable, why, True)

    def _dispatchWrites(self, fds: Iterable[int]) -> None:
        """Call ``doWrite`` of the writer of each of ``fds`` (gone ones are skipped)."""
        writers = self._writers
        for fd in fds:
            selectable = writers.get(fd)
            if selectable is not None:
                try:
                    why = selectable.doWrite()
                except Exception:
                    self._writeFailed(selectable)
                    continue
                if why is not None:
                    self._disconnectSelectable(selectable, why, False)

    def _closeBackend(self) -> None:
        for reader in list(self._internalReaders):
            self._removeInternalReader(reader)
