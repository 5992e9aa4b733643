"""``FileTransferServer``: the SFTP v3 server as a ``Protocol`` over any byte stream.

It reads requests with ``plait.wire.ssh.sftp``, calls an ``ISFTPServer`` file system and
writes the replies. Requests are handled as they arrive: a file system that answers with a
Deferred has its replies sent when they fire, so pipelined requests may be answered in any
order, each exactly once. While the transport's write buffer is full the server stops
reading requests (it registers itself as the transport's producer), so a client that sends
requests without reading replies cannot grow the server's buffers; and while
``maxOutstanding`` requests wait on the file system it stops reading too, so a client cannot
queue unbounded work on a slow (threaded) file system either.

``runStdioServer(reactor)`` serves standard input/output (what ``python -m plait.ssh.sftp``,
``sftp -D`` and an sshd ``Subsystem`` line run).
"""

from __future__ import annotations

import argparse
import inspect
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from plait.defer import Deferred, Failure, ensureDeferred
from plait.log import Logger, LogLevel
from plait.protocol import Protocol
from plait.wire.ssh import sftp as w

from ._sftp_interfaces import ISFTPServer, SFTPError, statusForException
from ._sftp_threaded import ThreadedSFTPFileSystem
from ._sftp_unix import UnixSFTPFileSystem

#: The longest READ the server answers in full (longer ones are cut; clients must cope).
MAX_READ_LENGTH = 256 * 1024
#: Names per READDIR reply.
READDIR_BATCH = 100

# The extensions advertised in VERSION, with the file-system method each needs.
_EXTENSIONS: tuple[tuple[bytes, bytes, str | None], ...] = (
    (b"posix-rename@openssh.com", b"1", "posixRename"),
    (b"statvfs@openssh.com", b"2", "statVFS"),
    (b"fstatvfs@openssh.com", b"2", None),
    (b"hardlink@openssh.com", b"1", "makeHardLink"),
    (b"fsync@openssh.com", b"1", None),
    (b"limits@openssh.com", b"1", None),
)


class _Directory:
    """A directory handle's state: the listing (to close) and its iterator."""

    __slots__ = ("iterator", "listing")

    def __init__(self, listing: Any) -> None:
        self.listing = listing
        self.iterator = iter(listing)


class FileTransferServer(Protocol):
    """The SFTP server side for one session, serving ``fileSystem`` (an ``ISFTPServer``).

    ``maxOpenHandles`` bounds the files and directories one client may hold open (opens
    still in progress count); ``maxOutstanding`` bounds the requests waiting on Deferreds
    from the file system (more are left unread until some are answered).
    """

    log = Logger()

    def __init__(
        self, fileSystem: ISFTPServer, maxOpenHandles: int = 512, maxOutstanding: int = 64
    ) -> None:
        self.fileSystem = fileSystem
        self.maxOpenHandles = maxOpenHandles
        self.maxOutstanding = maxOutstanding
        self.clientVersion: int | None = None
        self.clientExtensions: dict[bytes, bytes] = {}
        self._reader = w.SFTPPacketReader()
        self._handles: dict[bytes, Any] = {}
        self._nextHandle = 0
        self._lostWaiters: list[Deferred[None]] = []
        self._registered = False
        self._outstanding = 0  # requests waiting on a Deferred from the file system
        self._opening = 0  # opens among them: they will hold handles
        self._writePaused = False  # the transport's write buffer is full
        self._readingPaused = False  # we asked the transport to stop reading
        self._dispatching = False
        self._closeWhenAnswered = False
        self._closing = False
        self._dispatch: dict[type, Callable[[Any], None]] = {
            w.Open: self._open,
            w.Close: self._close,
            w.Read: self._read,
            w.Write: self._write,
            w.LStat: lambda m: self._attrs(m, self.fileSystem.getAttrs, m.path, False),
            w.Stat: lambda m: self._attrs(m, self.fileSystem.getAttrs, m.path, True),
            w.FStat: self._fstat,
            w.SetStat: lambda m: self._status(m, self.fileSystem.setAttrs, m.path, m.attrs),
            w.FSetStat: self._fsetstat,
            w.OpenDir: self._opendir,
            w.ReadDir: self._readdir,
            w.Remove: lambda m: self._status(m, self.fileSystem.removeFile, m.path),
            w.MkDir: lambda m: self._status(m, self.fileSystem.makeDirectory, m.path, m.attrs),
            w.RmDir: lambda m: self._status(m, self.fileSystem.removeDirectory, m.path),
            w.RealPath: lambda m: self._name(m, self.fileSystem.realPath, m.path),
            w.ReadLink: lambda m: self._name(m, self.fileSystem.readLink, m.path),
            w.Rename: lambda m: self._status(m, self.fileSystem.renameFile, m.oldPath, m.newPath),
            w.SymLink: lambda m: self._status(
                m, self.fileSystem.makeLink, m.linkPath, m.targetPath
            ),
            w.PosixRename: lambda m: self._optional(m, "posixRename", m.oldPath, m.newPath),
            w.HardLink: lambda m: self._optional(m, "makeHardLink", m.oldPath, m.newPath),
            w.StatVFS: self._statvfs,
            w.FStatVFS: self._fstatvfs,
            w.FSync: self._fsync,
            w.Limits: self._limits,
            w.CopyData: self._copydata,
            w.Extended: self._extended,
        }

    # -- connection -----------------------------------------------------------------------------

    def connectionMade(self) -> None:
        """Become the transport's producer, so a full write buffer pauses reading."""
        register = getattr(self.transport, "registerProducer", None)
        if register is not None:
            register(self, True)
            self._registered = True

    def _unregister(self) -> None:
        # plait's transports finish loseConnection only once no producer is registered.
        if self._registered and self.transport is not None:
            self._registered = False
            self.transport.unregisterProducer()  # type: ignore[attr-defined]

    def readConnectionLost(self) -> None:
        """The client closed its end (EOF on stdin or the channel): answer what is pending,
        then close."""
        self._closeWhenAnswered = True
        if not self._outstanding:
            self._lose()

    def writeConnectionLost(self) -> None:
        """Nothing more can be sent: close."""
        self.readConnectionLost()

    def pauseProducing(self) -> None:
        """The transport's write buffer is full: stop reading requests."""
        self._writePaused = True
        self._updateReading()

    def resumeProducing(self) -> None:
        """The write buffer drained: read requests again (unless too many are pending)."""
        self._writePaused = False
        self._updateReading()

    def _busy(self) -> bool:
        return self._outstanding >= self.maxOutstanding

    def _updateReading(self) -> None:
        """Read from the transport unless its write buffer is full or we are too busy."""
        pause = self._writePaused or self._busy()
        if pause == self._readingPaused:
            return
        self._readingPaused = pause
        method = getattr(self.transport, "pauseProducing" if pause else "resumeProducing", None)
        if method is not None:
            method()

    def stopProducing(self) -> None:
        """The transport is going away (``connectionLost`` cleans up)."""

    def whenConnectionLost(self) -> Deferred[None]:
        """A Deferred that fires when the connection is lost."""
        d: Deferred[None] = Deferred()
        self._lostWaiters.append(d)
        return d

    def connectionLost(self, reason: Failure | None = None) -> None:
        """Close every handle the client left open."""
        self.connected = 0
        self._registered = False
        handles, self._handles = self._handles, {}
        for obj in handles.values():
            closer = obj.listing.close if isinstance(obj, _Directory) else obj.close
            try:
                result = closer()
                if isinstance(result, Deferred):
                    result.addErrback(lambda f: None)
            except Exception:
                self.log.failure("closing an SFTP handle after the connection was lost")
        waiters, self._lostWaiters = self._lostWaiters, []
        for d in waiters:
            d.callback(None)

    def dataReceived(self, data: bytes) -> None:
        """Decode and dispatch every whole request."""
        if self._closing:
            return  # the session is over: nothing more is read
        self._reader.receiveData(data)
        self._processBuffered()

    def _processBuffered(self) -> None:
        """Dispatch the whole requests read so far, while not too many are pending."""
        if self._dispatching:
            return  # an answer fired synchronously inside a dispatch: the loop goes on
        self._dispatching = True
        try:
            self._dispatchLoop()
        finally:
            self._dispatching = False
        self._updateReading()

    def _dispatchLoop(self) -> None:
        reader = self._reader
        while not self._closing and self.connected and not self._busy():
            try:
                message = reader.nextMessage()
            except w.SFTPBadMessage as e:
                self.log.warn("bad SFTP request: {error}", error=str(e))
                if e.requestID is None or self.clientVersion is None:
                    self._lose()
                    return
                self._sendStatus(e.requestID, w.FX.BAD_MESSAGE, str(e))
                continue
            except w.SFTPProtocolError as e:
                self.log.warn("SFTP stream broken: {error}", error=str(e))
                self._lose()
                return
            if message is None:
                return
            self._messageReceived(message)

    def _messageReceived(self, message: w.Message) -> None:
        if self.clientVersion is None:
            if not isinstance(message, w.Init):
                self.log.warn("SFTP request before INIT")
                self._lose()
                return
            self._init(message)
            return
        handler = self._dispatch.get(type(message))
        if handler is not None:
            handler(message)
            return
        requestID = getattr(message, "requestID", None)
        if isinstance(message, w.Init) or requestID is None:
            self.log.warn("unexpected SFTP packet {message!r}", message=message)
            self._lose()
            return
        self._sendStatus(requestID, w.FX.OP_UNSUPPORTED, "Operation unsupported")

    def _lose(self) -> None:
        self._closing = True
        self._unregister()
        if self.transport is not None:
            self.transport.loseConnection()

    # -- replies --------------------------------------------------------------------------------

    def _send(self, message: w.Message) -> None:
        if self.connected and self.transport is not None:
            self.transport.write(w.encodePacket(message))

    def _sendStatus(self, requestID: int, code: int, message: str = "") -> None:
        self._send(w.Status(requestID, code, message or w.STATUS_MESSAGES.get(code, ""), "en"))

    def _sendError(self, requestID: int, error: BaseException) -> None:
        code, text = statusForException(error)
        if code == w.FX.FAILURE and not isinstance(error, (SFTPError, OSError, OverflowError)):
            # A bug in the file system, not a refusal: the operator wants the traceback.
            self.log.failure("SFTP file system failed", Failure(error), level=LogLevel.error)
        self._sendStatus(requestID, code, text)

    def _call(
        self,
        requestID: int,
        function: Callable[..., Any],
        args: Sequence[Any],
        reply: Callable[[Any], w.Message | None],
        opening: bool = False,
    ) -> None:
        """Call the file system; send ``reply(result)`` or the error's status, exactly once.

        ``opening``: the request opens a handle (counted against ``maxOpenHandles`` while
        the file system works on it)."""
        try:
            result = function(*args)
            if inspect.iscoroutine(result):
                result = ensureDeferred(result)
        except Exception as e:
            self._sendError(requestID, e)
            return
        if isinstance(result, Deferred):
            self._outstanding += 1
            self._opening += opening

            def answered() -> None:
                self._outstanding -= 1
                self._opening -= opening
                if self.connected and not self._closing:
                    self._processBuffered()  # requests left unread while too many pended
                if self._closeWhenAnswered and not self._outstanding:
                    self._lose()

            def ok(value: Any) -> None:
                try:
                    answer = reply(value)
                except Exception as e:
                    self._sendError(requestID, e)
                else:
                    if answer is not None:
                        self._send(answer)
                answered()

            def failed(failure: Failure) -> None:
                self._sendError(requestID, failure.value)
                answered()

            result.addCallbacks(ok, failed)
            return
        try:
            answer = reply(result)
        except Exception as e:
            self._sendError(requestID, e)
            return
        if answer is not None:
            self._send(answer)

    def _status(self, m: Any, function: Callable[..., Any], *args: Any) -> None:
        rid = m.requestID
        self._call(rid, function, args, lambda _: w.Status(rid, w.FX.OK, "Success", "en"))

    def _attrs(self, m: Any, function: Callable[..., Any], *args: Any) -> None:
        rid = m.requestID
        self._call(rid, function, args, lambda attrs: w.Attrs(rid, attrs))

    def _name(self, m: Any, function: Callable[..., Any], *args: Any) -> None:
        rid = m.requestID

        def reply(path: bytes) -> w.Message:
            attrs = w.FileAttributes()
            return w.Name(rid, (w.NameEntry(path, path, attrs),))

        self._call(rid, function, args, reply)

    def _optional(self, m: Any, method: str, *args: Any) -> None:
        function = getattr(self.fileSystem, method, None)
        if function is None:
            self._sendStatus(m.requestID, w.FX.OP_UNSUPPORTED)
            return
        self._status(m, function, *args)

    # -- handles --------------------------------------------------------------------------------

    def _newHandle(self, obj: Any) -> bytes:
        while True:
            self._nextHandle = (self._nextHandle + 1) & 0xFFFFFFFF
            handle = self._nextHandle.to_bytes(4, "big")
            if handle not in self._handles:
                self._handles[handle] = obj
                return handle

    def _handleReply(self, requestID: int, obj: Any, close: Callable[[], Any]) -> w.Message | None:
        if not self.connected:
            # Opened after the client went away (a Deferred fired late): nobody will close it.
            result = close()
            if isinstance(result, Deferred):
                result.addErrback(lambda f: None)
            return None
        return w.Handle(requestID, self._newHandle(obj))

    def _file(self, handle: bytes) -> Any:
        obj = self._handles.get(handle)
        if obj is None or isinstance(obj, _Directory):
            raise SFTPError(w.FX.FAILURE, "Invalid handle")
        return obj

    def _handleSlotFree(self, requestID: int) -> bool:
        if len(self._handles) + self._opening >= self.maxOpenHandles:
            self._sendStatus(requestID, w.FX.FAILURE, "Too many open handles")
            return False
        return True

    # -- requests -------------------------------------------------------------------------------

    def _init(self, m: w.Init) -> None:
        self.clientVersion = m.version
        self.clientExtensions = w.extensionsDict(m.extensions)
        extensions = [
            (name, data)
            for name, data, method in _EXTENSIONS
            if method is None or hasattr(self.fileSystem, method)
        ]
        gotVersion = getattr(self.fileSystem, "gotVersion", None)
        if gotVersion is not None:
            extensions.extend(gotVersion(m.version, dict(self.clientExtensions)).items())
        self._send(w.Version(w.SFTP_VERSION, tuple(extensions)))

    def _open(self, m: w.Open) -> None:
        if not self._handleSlotFree(m.requestID):
            return
        rid = m.requestID
        self._call(
            rid,
            self.fileSystem.openFile,
            (m.filename, m.pflags, m.attrs),
            lambda f: self._handleReply(rid, f, f.close),
            opening=True,
        )

    def _opendir(self, m: w.OpenDir) -> None:
        if not self._handleSlotFree(m.requestID):
            return
        rid = m.requestID
        self._call(
            rid,
            self.fileSystem.openDirectory,
            (m.path,),
            lambda listing: self._handleReply(rid, _Directory(listing), listing.close),
            opening=True,
        )

    def _close(self, m: w.Close) -> None:
        obj = self._handles.pop(m.handle, None)
        if obj is None:
            self._sendStatus(m.requestID, w.FX.FAILURE, "Invalid handle")
            return
        closer = obj.listing.close if isinstance(obj, _Directory) else obj.close
        self._status(m, closer)

    def _read(self, m: w.Read) -> None:
        rid = m.requestID

        def reply(data: bytes) -> w.Message:
            if not data:
                return w.Status(rid, w.FX.EOF, "End of file", "en")
            return w.Data(rid, data)

        try:
            f = self._file(m.handle)
        except SFTPError as e:
            self._sendError(rid, e)
            return
        self._call(rid, f.readChunk, (m.offset, min(m.length, MAX_READ_LENGTH)), reply)

    def _write(self, m: w.Write) -> None:
        try:
            f = self._file(m.handle)
        except SFTPError as e:
            self._sendError(m.requestID, e)
            return
        self._status(m, f.writeChunk, m.offset, m.data)

    def _fstat(self, m: w.FStat) -> None:
        try:
            f = self._file(m.handle)
        except SFTPError as e:
            self._sendError(m.requestID, e)
            return
        self._attrs(m, f.getAttrs)

    def _fsetstat(self, m: w.FSetStat) -> None:
        try:
            f = self._file(m.handle)
        except SFTPError as e:
            self._sendError(m.requestID, e)
            return
        self._status(m, f.setAttrs, m.attrs)

    def _readdir(self, m: w.ReadDir) -> None:
        obj = self._handles.get(m.handle)
        if not isinstance(obj, _Directory):
            self._sendStatus(m.requestID, w.FX.FAILURE, "Invalid handle")
            return
        names: list[w.NameEntry] = []
        try:
            for entry in obj.iterator:
                if not isinstance(entry, w.NameEntry):  # Conch-style (name, longname, attrs)
                    entry = w.NameEntry(*entry)
                names.append(entry)
                if len(names) >= READDIR_BATCH:
                    break
        except Exception as e:
            if not names:
                self._sendError(m.requestID, e)
                return
        if not names:
            self._sendStatus(m.requestID, w.FX.EOF, "End of file")
            return
        self._send(w.Name(m.requestID, tuple(names)))

    def _statvfs(self, m: w.StatVFS) -> None:
        function = getattr(self.fileSystem, "statVFS", None)
        if function is None:
            self._sendStatus(m.requestID, w.FX.OP_UNSUPPORTED)
            return
        rid = m.requestID
        self._call(rid, function, (m.path,), lambda r: w.ExtendedReply(rid, r.encode()))

    def _fileExtra(self, m: Any, method: str) -> Callable[..., Any] | None:
        try:
            f = self._file(m.handle)
        except SFTPError as e:
            self._sendError(m.requestID, e)
            return None
        function = getattr(f, method, None)
        if function is None:
            self._sendStatus(m.requestID, w.FX.OP_UNSUPPORTED)
        return function

    def _fstatvfs(self, m: w.FStatVFS) -> None:
        function = self._fileExtra(m, "statVFS")
        if function is not None:
            rid = m.requestID
            self._call(rid, function, (), lambda r: w.ExtendedReply(rid, r.encode()))

    def _fsync(self, m: w.FSync) -> None:
        function = self._fileExtra(m, "fsync")
        if function is not None:
            self._status(m, function)

    def _copydata(self, m: w.CopyData) -> None:
        try:
            source = self._file(m.readHandle)
            destination = self._file(m.writeHandle)
        except SFTPError as e:
            self._sendError(m.requestID, e)
            return
        function = getattr(source, "copyData", None)
        if function is None:
            self._sendStatus(m.requestID, w.FX.OP_UNSUPPORTED)
            return
        self._status(m, function, m.readOffset, m.length, destination, m.writeOffset)

    def _limits(self, m: w.Limits) -> None:
        limits = w.LimitsReply(
            w.MAX_PACKET_LENGTH, MAX_READ_LENGTH, MAX_READ_LENGTH, self.maxOpenHandles
        )
        self._send(w.ExtendedReply(m.requestID, limits.encode()))

    def _extended(self, m: w.Extended) -> None:
        rid = m.requestID
        self._call(
            rid,
            self.fileSystem.extendedRequest,
            (m.name, m.data),
            lambda data: w.ExtendedReply(rid, data),
        )


def runStdioServer(
    reactor: Any, fileSystem: ISFTPServer | None = None, stdin: int = 0, stdout: int = 1
) -> Deferred[None]:
    """Serve SFTP on standard input/output (an sshd subsystem, ``sftp -D``).

    ``fileSystem`` defaults to ``UnixSFTPFileSystem()`` rooted nowhere, starting in the
    current directory (OpenSSH's sftp-server starts in the user's home, which is where sshd
    runs it). Returns a Deferred that fires when the client goes away.
    """
    from plait.reactor import StandardIO

    if fileSystem is None:
        fileSystem = UnixSFTPFileSystem(home=os.getcwd())
    server = FileTransferServer(fileSystem)
    done = server.whenConnectionLost()
    StandardIO(server, stdin, stdout, reactor=reactor)
    return done


def stdioServerCommand(home: str | None = None, root: str | None = None) -> bytes:
    """The shell command that runs this SFTP server on stdin/stdout, for an ``exec`` of the
    user's shell under the user's uid (how OpenSSH runs an external subsystem too):
    ``avatar.execCommand(session, stdioServerCommand())`` from a ``subsystemLookup`` entry."""
    argv = [sys.executable, "-m", "plait.ssh.sftp"]
    if home is not None:
        argv += ["-d", home]
    if root is not None:
        argv += ["-r", root]
    return os.fsencode(shlex.join(argv))


def inProcessSubsystem(avatar: Any) -> FileTransferServer:
    """A ``subsystemLookup[b"sftp"]`` factory serving ``avatar.home`` in this process.

    The files are touched with this process's permissions: use it only where that is right
    (a server run by the user it serves, or virtual users confined by ``avatar.sftpRoot``);
    a root sshd serving system accounts runs ``stdioServerCommand()`` as the user instead.
    """
    root = getattr(avatar, "sftpRoot", None)
    home = getattr(avatar, "home", None)
    return FileTransferServer(UnixSFTPFileSystem(home=home, root=root))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m plait.ssh.sftp [-d HOME] [-r ROOT] [-R] [-u UMASK] [-T]``: an SFTP server
    on stdin/stdout (``-R`` read-only and ``-u`` as OpenSSH's ``sftp-server``; ``-T`` does the
    file I/O in threads)."""
    from plait.reactor import defaultReactorClass

    parser = argparse.ArgumentParser(
        prog="python -m plait.ssh.sftp", description="An SFTP server on stdin/stdout."
    )
    parser.add_argument("-d", "--home", help="start directory (default: the current one)")
    parser.add_argument("-r", "--root", help="confine the client to this directory")
    parser.add_argument("-R", "--read-only", action="store_true", help="refuse every change")
    parser.add_argument("-u", "--umask", help="octal umask for new files and directories")
    parser.add_argument(
        "-T", "--threads", action="store_true", help="do file I/O in threads (slow disks)"
    )
    args = parser.parse_args(argv)
    if args.umask is not None:
        try:
            os.umask(int(args.umask, 8))
        except ValueError:
            parser.error(f"bad umask {args.umask!r}")
    home = args.home if args.home is not None else (None if args.root else os.getcwd())
    fileSystem: ISFTPServer = UnixSFTPFileSystem(home=home, root=args.root, readOnly=args.read_only)
    reactor = defaultReactorClass()()
    if args.threads:
        fileSystem = ThreadedSFTPFileSystem(fileSystem, reactor)
    done = runStdioServer(reactor, fileSystem)
    done.addBoth(lambda _: reactor.stop())
    reactor.run()
    return 0
