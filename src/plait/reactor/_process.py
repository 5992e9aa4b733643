"""Child processes as transports: ``spawnProcess`` (``IReactorProcess``) and its transports.

``spawnProcess(protocol, executable, args, env, path, uid, gid, usePTY, childFDs)`` starts the
child (see ``_spawn``) and returns its transport, a ``Process`` (pipes) or a ``PTYProcess``.
Semantics, as in Twisted:

- ``env`` is exactly the child's environment; ``None`` means a copy of ``os.environ``. The
  executable is looked up on the ``PATH`` in ``env`` (else ours). ``args`` is the whole
  argv (``args[0]`` is the program name); empty ``args`` means ``[executable]``.
- ``path`` is the child's working directory; ``uid``/``gid`` are switched to in the child.
- ``childFDs`` maps a child descriptor to ``'r'`` (the parent reads what the child writes
  there), ``'w'`` (the parent writes, the child reads) or a parent descriptor number the
  child gets a copy of. The default is ``{0: 'w', 1: 'r', 2: 'r'}``. Descriptors not in the
  map are closed in the child.
- A child that cannot be started (executable not found, not executable, bad ``path``) is an
  ``OSError`` raised by ``spawnProcess`` itself; the protocol is then never connected. (Twisted
  reports a failed exec as the child exiting with code 1; failing loudly and at once is
  clearer and cannot be mistaken for the program's own exit code.)

Events: ``makeConnection`` (before any data), ``childDataReceived(fd, data)``,
``childConnectionLost(fd)`` for each pipe, ``processExited(reason)`` when the child has exited
and been reaped, and ``processEnded(reason)`` once it has exited *and* every pipe is closed.
``reason`` wraps ``ProcessDone`` (exit status 0) or ``ProcessTerminated`` (``exitCode``,
``signal``, ``status``). Children are reaped promptly (``_reaper``); ``pid`` is None after.

With ``usePTY=True`` the child gets a new pseudo-terminal as its controlling tty and as fds 0,
1 and 2; the transport reads and writes the master (``childDataReceived(1, ...)``) and
``setWindowSize(rows, cols)`` resizes it (the child gets SIGWINCH). As in Twisted, ``usePTY``
may instead be a ``(master, slave, ttyName)`` tuple (from ``os.openpty()``): the caller can then
set the terminal up (size, modes, owner) before the child starts; the transport takes both
descriptors (the slave is closed in the parent once the child runs).
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import termios
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from plait.defer import Failure
from plait.log import Logger
from plait.protocol import ProcessDone, ProcessExitedAlready, ProcessTerminated

from ._fdtransport import FDReader, FDReaderWriterMixin, FDWriter, PipeAddress
from ._reaper import watchChild
from ._spawn import findExecutable, spawn

__all__ = ["PTYProcess", "Process", "ProcessReactorMixin"]

_log = Logger("plait.reactor")

_StrOrBytes = str | bytes


def _signalNumber(signalID: str | int) -> int:
    if isinstance(signalID, int):
        return signalID
    name = signalID.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    number = getattr(signal, name, None)
    if not isinstance(number, int):
        raise ValueError(f"unknown signal {signalID!r}")
    return number


def _exitReason(status: int | None) -> Failure:
    if status is None:  # reaped by someone else: the outcome is unknown
        return Failure(ProcessTerminated(None, None, None))
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code == 0:
            return Failure(ProcessDone(status))
        return Failure(ProcessTerminated(code, None, status))
    if os.WIFSIGNALED(status):
        return Failure(ProcessTerminated(None, os.WTERMSIG(status), status))
    return Failure(ProcessTerminated(None, None, status))  # pragma: no cover


class _BaseProcess:
    """What both process transports share: the pid, signals, exit and end bookkeeping."""

    pid: int | None
    status: int | None

    def __init__(self, reactor: Any, proto: Any) -> None:
        self.reactor = reactor
        self.proto = proto
        self.pid = None
        self.status = None
        self._exited = False
        self._ended = False
        self._exitReason: Failure | None = None

    def logPrefix(self) -> str:
        """The protocol's class name."""
        return type(self.proto).__name__

    def _started(self, pid: int) -> None:
        self.pid = pid
        watchChild(self.reactor, pid, self._childExited)

    def signalProcess(self, signalID: str | int) -> None:
        """Send ``signalID`` (``'TERM'``, ``'KILL'``, ``'INT'``, ``'HUP'``... or a number);
        ``ProcessExitedAlready`` once the child has been reaped."""
        number = _signalNumber(signalID)
        if self.pid is None:
            raise ProcessExitedAlready()
        try:
            os.kill(self.pid, number)
        except ProcessLookupError:
            raise ProcessExitedAlready() from None

    def _childExited(self, status: int | None) -> None:
        self.status = status
        self.pid = None
        self._exited = True
        reason = self._exitReason = _exitReason(status)
        try:
            self.proto.processExited(reason)
        except Exception:
            _log.failure("Unhandled error in processExited of {proto!r}", proto=self.proto)
        self._maybeEnd()

    def _pipesOpen(self) -> bool:
        raise NotImplementedError

    def _maybeEnd(self) -> None:
        if self._ended or not self._exited or self._pipesOpen():
            return
        self._ended = True
        assert self._exitReason is not None
        try:
            self.proto.processEnded(self._exitReason)
        except Exception:
            _log.failure("Unhandled error in processEnded of {proto!r}", proto=self.proto)

    def _childConnectionLost(self, childFD: int) -> None:
        try:
            self.proto.childConnectionLost(childFD)
        except Exception:
            _log.failure("Unhandled error in childConnectionLost of {proto!r}", proto=self.proto)
        self._maybeEnd()

    def getHost(self) -> PipeAddress:
        """A ``PipeAddress``."""
        return PipeAddress()

    def getPeer(self) -> PipeAddress:
        """A ``PipeAddress``."""
        return PipeAddress()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} status={self.status}>"


class Process(_BaseProcess):
    """A child process connected by pipes (``IProcessTransport``).

    ``pipes`` maps each child descriptor the parent talks to ('r' or 'w' in ``childFDs``) to
    its ``FDReader``/``FDWriter``; a pipe leaves the map when it closes.
    """

    def __init__(
        self,
        reactor: Any,
        executable: str,
        args: Sequence[_StrOrBytes],
        env: Mapping[bytes, bytes],
        path: str | bytes | None,
        proto: Any,
        uid: int | None,
        gid: int | None,
        childFDs: Mapping[int, int | str],
    ) -> None:
        super().__init__(reactor, proto)
        self.pipes: dict[int, FDReader | FDWriter] = {}
        fdmap: dict[int, int] = {}
        childEnds: list[int] = []
        parentEnds: dict[int, tuple[str, int]] = {}
        try:
            for childFD, how in childFDs.items():
                if how == "r":
                    readEnd, writeEnd = os.pipe()
                    parentEnds[childFD] = ("r", readEnd)
                    childEnds.append(writeEnd)
                    fdmap[childFD] = writeEnd
                elif how == "w":
                    readEnd, writeEnd = os.pipe()
                    parentEnds[childFD] = ("w", writeEnd)
                    childEnds.append(readEnd)
                    fdmap[childFD] = readEnd
                elif isinstance(how, int) and not isinstance(how, bool):
                    fdmap[childFD] = how
                else:
                    raise ValueError(f"childFDs[{childFD}] must be 'r', 'w' or an fd: {how!r}")
            pid = spawn(executable, args, env, fdmap, path, uid, gid)
        except BaseException:
            for _, fd in parentEnds.values():
                os.close(fd)
            raise
        finally:
            for fd in childEnds:
                os.close(fd)
        for childFD, (how, fd) in parentEnds.items():
            os.set_blocking(fd, False)
            if how == "r":
                self.pipes[childFD] = FDReader(
                    reactor, fd, self._dataFrom(childFD), self._lostFrom(childFD)
                )
            else:
                self.pipes[childFD] = FDWriter(
                    reactor, fd, self._lostFrom(childFD), watchForClose=True
                )
        self._started(pid)
        proto.makeConnection(self)
        for pipe in list(self.pipes.values()):
            if isinstance(pipe, FDReader):
                pipe.startReading()

    def _dataFrom(self, childFD: int) -> Any:
        received = self.proto.childDataReceived

        def dataReceived(data: bytes) -> None:
            received(childFD, data)

        return dataReceived

    def _lostFrom(self, childFD: int) -> Any:
        def lost(reason: Failure) -> None:
            if self.pipes.pop(childFD, None) is not None:
                self._childConnectionLost(childFD)

        return lost

    def _pipesOpen(self) -> bool:
        return bool(self.pipes)

    # -- IProcessTransport ---------------------------------------------------------------------

    def writeToChild(self, childFD: int, data: bytes) -> None:
        """Write ``data`` to the child's descriptor ``childFD`` (one mapped to 'w')."""
        pipe = self.pipes.get(childFD)
        if not isinstance(pipe, FDWriter):
            raise KeyError(f"child fd {childFD} is not a pipe the parent writes to")
        pipe.write(data)

    def write(self, data: bytes) -> None:
        """Write ``data`` to the child's standard input (dropped once it is closed)."""
        pipe = self.pipes.get(0)
        if isinstance(pipe, FDWriter):
            pipe.write(data)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        """Write each chunk of ``iovec`` to the child's standard input."""
        self.write(b"".join(iovec))

    def closeChildFD(self, childFD: int) -> None:
        """Close the pipe to or from ``childFD`` (a write pipe after flushing)."""
        pipe = self.pipes.get(childFD)
        if isinstance(pipe, FDWriter):
            pipe.loseConnection()
        elif pipe is not None:
            pipe.connectionLost(Failure(ProcessDone(None)))

    def closeStdin(self) -> None:
        """Close the child's standard input once what was written is flushed."""
        self.closeChildFD(0)

    def closeStdout(self) -> None:
        """Stop reading the child's standard output and close the pipe."""
        self.closeChildFD(1)

    def closeStderr(self) -> None:
        """Stop reading the child's standard error and close the pipe."""
        self.closeChildFD(2)

    def loseConnection(self) -> None:
        """Close standard input (after flushing), output and error."""
        self.closeStdin()
        self.closeStderr()
        self.closeStdout()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Attach a producer to the child's standard input."""
        pipe = self.pipes.get(0)
        if isinstance(pipe, FDWriter):
            pipe.registerProducer(producer, streaming)
        else:
            producer.stopProducing()

    def unregisterProducer(self) -> None:
        """Detach the producer of the child's standard input."""
        pipe = self.pipes.get(0)
        if isinstance(pipe, FDWriter):
            pipe.unregisterProducer()

    def pauseProducing(self) -> None:
        """Stop reading the child's output pipes."""
        for pipe in self.pipes.values():
            if isinstance(pipe, FDReader):
                pipe.stopReading()

    def resumeProducing(self) -> None:
        """Read the child's output pipes again."""
        for pipe in self.pipes.values():
            if isinstance(pipe, FDReader):
                pipe.startReading()

    def stopProducing(self) -> None:
        """Close every pipe."""
        self.loseConnection()


class PTYProcess(FDReaderWriterMixin, _BaseProcess):
    """A child process on a pseudo-terminal: one master descriptor, read and written.

    What the child writes to its tty arrives as ``childDataReceived(1, data)``; the end of the
    tty (every slave descriptor closed: ``EIO`` on the master) is ``childConnectionLost(1)``.
    A tty has no separate input to close: ``closeStdin`` does nothing, as in Twisted (write the
    terminal's EOF character, ``b"\\x04"`` by default, for a child reading in canonical mode).
    """

    def __init__(
        self,
        reactor: Any,
        executable: str,
        args: Sequence[_StrOrBytes],
        env: Mapping[bytes, bytes],
        path: str | bytes | None,
        proto: Any,
        uid: int | None,
        gid: int | None,
        pty: tuple[int, int, str] | None = None,
    ) -> None:
        super().__init__(reactor, proto)
        master, slave = os.openpty() if pty is None else pty[:2]
        try:
            pid = spawn(executable, args, env, {}, path, uid, gid, ptySlave=slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self.fd = master
        self._open = True
        self._reader = FDReader(reactor, master, self._dataReceived, self._readLost, False)
        self._writer = FDWriter(reactor, master, self._writeLost, False)
        self._started(pid)
        proto.makeConnection(self)
        if self._open:
            self._reader.startReading()

    def _dataReceived(self, data: bytes) -> None:
        self.proto.childDataReceived(1, data)

    def _readLost(self, reason: Failure) -> None:
        self._closeMaster()

    def _writeLost(self, reason: Failure) -> None:
        self._closeMaster()

    def _closeMaster(self) -> None:
        if not self._open:
            return
        self._open = False
        self._reader.connectionLost(Failure(ProcessDone(None)))
        self._writer.connectionLost(Failure(ProcessDone(None)))
        os.close(self.fd)
        self.fd = -1
        self._childConnectionLost(1)

    def _pipesOpen(self) -> bool:
        return self._open

    def setWindowSize(self, rows: int, cols: int) -> None:
        """Resize the terminal (``TIOCSWINSZ``); the child gets SIGWINCH."""
        if self._open:
            fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def write(self, data: bytes) -> None:
        """Type ``data`` into the terminal."""
        if self._open:
            self._writer.write(data)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        """Type each chunk of ``iovec`` into the terminal."""
        self.write(b"".join(iovec))

    def writeToChild(self, childFD: int, data: bytes) -> None:
        """Write to the terminal (every child descriptor is the same tty)."""
        self.write(data)

    def closeStdin(self) -> None:
        """Nothing: a tty cannot be half-closed (see the class docstring)."""

    def closeStdout(self) -> None:
        """Nothing: a tty cannot be half-closed."""

    def closeStderr(self) -> None:
        """Nothing: a tty cannot be half-closed."""

    def closeChildFD(self, descriptor: int) -> None:
        """Nothing: a tty cannot be half-closed."""

    def loseConnection(self) -> None:
        """Close the master once what was written is flushed (the child gets SIGHUP)."""
        if self._open:
            self._reader.stopReading()
            self._writer.loseConnection()

    # registerProducer, unregisterProducer, pauseProducing, stopProducing: FDReaderWriterMixin.

    def resumeProducing(self) -> None:
        """Read the terminal again."""
        if self._open:
            self._reader.startReading()


_DEFAULT_CHILD_FDS: Mapping[int, int | str] = {0: "w", 1: "r", 2: "r"}


class ProcessReactorMixin:
    """``IReactorProcess`` for the POSIX reactors (see the module docstring)."""

    def spawnProcess(
        self,
        processProtocol: Any,
        executable: bytes | str,
        args: Sequence[bytes | str] = (),
        env: Mapping[str, str] | None = {},
        path: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool | tuple[int, int, str] = False,
        childFDs: Mapping[int, int | str] | None = None,
    ) -> Process | PTYProcess:
        """Start ``executable`` with ``args``; events go to ``processProtocol``.

        Returns the transport (``Process``, or ``PTYProcess`` with ``usePTY``). Raises
        ``OSError`` when the child cannot be started (e.g. ``FileNotFoundError``).
        """
        source: Mapping[Any, Any] = os.environ if env is None else env
        environment = {os.fsencode(k): os.fsencode(v) for k, v in source.items()}
        program = findExecutable(executable, environment)
        argv: list[_StrOrBytes] = list(args) if args else [executable]
        if usePTY:
            if childFDs is not None:
                raise ValueError("usePTY and childFDs cannot be combined")
            pty = usePTY if isinstance(usePTY, tuple) else None
            return PTYProcess(
                self, program, argv, environment, path, processProtocol, uid, gid, pty
            )
        return Process(
            self,
            program,
            argv,
            environment,
            path,
            processProtocol,
            uid,
            gid,
            _DEFAULT_CHILD_FDS if childFDs is None else childFDs,
        )
