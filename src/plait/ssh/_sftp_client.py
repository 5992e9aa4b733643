"""``FileTransferClient``: the SFTP v3 client as a ``Protocol`` over any byte stream.

Every operation returns a Deferred; a refusal fails it with ``SFTPError`` (its ``code`` an
``FX``). Requests made before the server's VERSION are queued and sent when it arrives.
``get``/``put`` stream a whole file with many requests in flight (64 x 32 KiB by default),
which is what makes SFTP fast over a link with latency.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import IO, TypeVar

from plait.defer import Deferred, Failure
from plait.log import Logger
from plait.protocol import Protocol
from plait.wire.ssh import sftp as w

from ._sftp_interfaces import SFTPError
from ._sftp_stream import Download, Upload

_T = TypeVar("_T")
_Handler = Callable[[w.Message], None]


def _statusError(reply: w.Message) -> SFTPError:
    if isinstance(reply, w.Status):
        return SFTPError(reply.code, reply.message, reply.language)
    return SFTPError(w.FX.BAD_MESSAGE, f"unexpected reply {type(reply).__name__}")


def _expectOK(reply: w.Message) -> None:
    if isinstance(reply, w.Status) and reply.code == w.FX.OK:
        return None
    raise _statusError(reply)


def _expectAttrs(reply: w.Message) -> w.FileAttributes:
    if isinstance(reply, w.Attrs):
        return reply.attrs
    raise _statusError(reply)


def _expectHandle(reply: w.Message) -> bytes:
    if isinstance(reply, w.Handle):
        return reply.handle
    raise _statusError(reply)


def _expectOneName(reply: w.Message) -> bytes:
    if isinstance(reply, w.Name) and len(reply.names) == 1:
        return reply.names[0].filename
    raise _statusError(reply)


def _expectExtended(reply: w.Message) -> bytes:
    if isinstance(reply, w.ExtendedReply):
        return reply.data
    raise _statusError(reply)


class ClientFile:
    """A remote open file (from ``FileTransferClient.openFile``)."""

    def __init__(self, client: FileTransferClient, handle: bytes) -> None:
        self.client = client
        self.handle = handle

    def readChunk(self, offset: int, length: int) -> Deferred[bytes]:
        """Up to ``length`` bytes at ``offset``; fails with ``EOFError`` at the end."""

        def convert(reply: w.Message) -> bytes:
            if isinstance(reply, w.Data):
                return reply.data
            if isinstance(reply, w.Status) and reply.code == w.FX.EOF:
                raise EOFError()
            raise _statusError(reply)

        return self.client._request(lambda i: w.Read(i, self.handle, offset, length), convert)

    def writeChunk(self, offset: int, data: bytes) -> Deferred[None]:
        """Write ``data`` at ``offset``."""
        return self.client._request(lambda i: w.Write(i, self.handle, offset, data), _expectOK)

    def getAttrs(self) -> Deferred[w.FileAttributes]:
        """FSTAT."""
        return self.client._request(lambda i: w.FStat(i, self.handle), _expectAttrs)

    def setAttrs(self, attrs: w.FileAttributes) -> Deferred[None]:
        """FSETSTAT."""
        return self.client._request(lambda i: w.FSetStat(i, self.handle, attrs), _expectOK)

    def fsync(self) -> Deferred[None]:
        """fsync@openssh.com."""
        return self.client._request(lambda i: w.FSync(i, self.handle), _expectOK)

    def close(self) -> Deferred[None]:
        """CLOSE the handle."""
        return self.client._request(lambda i: w.Close(i, self.handle), _expectOK)


class ClientDirectory:
    """A remote open directory (from ``FileTransferClient.openDirectory``).

    ``read()`` returns the next batch of names (``[]`` at the end); ``async for entry in
    directory`` walks them all (inside ``ensureDeferred``/``inlineCallbacks`` code).
    """

    def __init__(self, client: FileTransferClient, handle: bytes) -> None:
        self.client = client
        self.handle = handle

    def read(self) -> Deferred[list[w.NameEntry]]:
        """The next batch of names; ``[]`` once the listing is exhausted."""

        def convert(reply: w.Message) -> list[w.NameEntry]:
            if isinstance(reply, w.Name):
                return list(reply.names)
            if isinstance(reply, w.Status) and reply.code == w.FX.EOF:
                return []
            raise _statusError(reply)

        return self.client._request(lambda i: w.ReadDir(i, self.handle), convert)

    async def __aiter__(self) -> AsyncIterator[w.NameEntry]:
        while True:
            batch = await self.read()
            if not batch:
                return
            for entry in batch:
                yield entry

    def close(self) -> Deferred[None]:
        """CLOSE the handle."""
        return self.client._request(lambda i: w.Close(i, self.handle), _expectOK)


class FileTransferClient(Protocol):
    """The SFTP client side; connect it to a stream that reaches an SFTP server.

    ``extensions`` go in INIT. ``serverVersion`` and ``serverExtensions`` are set when the
    server's VERSION arrives; ``whenReady()`` fires then (with the extensions).
    """

    log = Logger()

    def __init__(self, extensions: dict[bytes, bytes] | None = None) -> None:
        self.extensions = dict(extensions or {})
        self.serverVersion: int | None = None
        self.serverExtensions: dict[bytes, bytes] = {}
        self._reader = w.SFTPPacketReader()
        self._pending: dict[int, _Handler] = {}
        self._queued: list[bytes] | None = []
        self._nextID = 0
        self._readyWaiters: list[Deferred[dict[bytes, bytes]]] = []
        self._lostReason: Failure | None = None

    # -- connection -----------------------------------------------------------------------------

    def connectionMade(self) -> None:
        """Send INIT."""
        assert self.transport is not None
        self.transport.write(w.encodePacket(w.Init(w.SFTP_VERSION, tuple(self.extensions.items()))))

    def whenReady(self) -> Deferred[dict[bytes, bytes]]:
        """Fires with the server's extensions once its VERSION arrived."""
        d: Deferred[dict[bytes, bytes]] = Deferred()
        if self._lostReason is not None:
            d.errback(SFTPError(w.FX.CONNECTION_LOST, "Connection lost"))
        elif self.serverVersion is not None:
            d.callback(self.serverExtensions)
        else:
            self._readyWaiters.append(d)
        return d

    def gotServerVersion(self, serverVersion: int, extData: dict[bytes, bytes]) -> None:
        """The server's VERSION arrived (override to look at its extensions)."""

    def dataReceived(self, data: bytes) -> None:
        """Decode replies and hand each to its request."""
        reader = self._reader
        reader.receiveData(data)
        while self._lostReason is None:
            try:
                message = reader.nextMessage()
            except (w.SFTPBadMessage, w.SFTPProtocolError) as e:
                self.log.warn("bad SFTP reply: {error}", error=str(e))
                if self.transport is not None:
                    self.transport.loseConnection()
                return
            if message is None:
                return
            self._messageReceived(message)

    def _messageReceived(self, message: w.Message) -> None:
        if isinstance(message, w.Version):
            if self.serverVersion is not None:
                self.log.warn("second SFTP VERSION ignored")
                return
            self.serverVersion = message.version
            self.serverExtensions = w.extensionsDict(message.extensions)
            self.gotServerVersion(message.version, dict(self.serverExtensions))
            queued, self._queued = self._queued, None
            if queued and self.transport is not None:
                self.transport.writeSequence(queued)
            waiters, self._readyWaiters = self._readyWaiters, []
            for d in waiters:
                d.callback(self.serverExtensions)
            return
        requestID = getattr(message, "requestID", None)
        handler = None if requestID is None else self._pending.pop(requestID, None)
        if handler is None:
            self.log.warn("SFTP reply to no request: {message!r}", message=message)
            return
        handler(message)

    def connectionLost(self, reason: Failure | None = None) -> None:
        """Fail every outstanding request with SFTPError(CONNECTION_LOST)."""
        self._lostReason = reason if reason is not None else Failure(ConnectionError())
        pending, self._pending = self._pending, {}
        for requestID, handler in pending.items():
            handler(w.Status(requestID, w.FX.CONNECTION_LOST, "Connection lost"))
        waiters, self._readyWaiters = self._readyWaiters, []
        for d in waiters:
            d.errback(SFTPError(w.FX.CONNECTION_LOST, "Connection lost"))

    # -- requests -------------------------------------------------------------------------------

    def _sendRequest(self, build: Callable[[int], w.Message], handler: _Handler) -> None:
        """Send ``build(requestID)``; ``handler`` gets the reply (or a CONNECTION_LOST status)."""
        requestID = self._nextID
        self._nextID = (requestID + 1) & 0xFFFFFFFF
        if self._lostReason is not None:
            handler(w.Status(requestID, w.FX.NO_CONNECTION, "No connection"))
            return
        self._pending[requestID] = handler
        packet = w.encodePacket(build(requestID))
        if self._queued is not None:
            self._queued.append(packet)
        else:
            assert self.transport is not None
            self.transport.write(packet)

    def _request(
        self, build: Callable[[int], w.Message], convert: Callable[[w.Message], _T]
    ) -> Deferred[_T]:
        d: Deferred[_T] = Deferred()

        def handler(reply: w.Message) -> None:
            try:
                value = convert(reply)
            except Exception:
                d.errback(Failure())
                return
            d.callback(value)

        self._sendRequest(build, handler)
        return d

    def openFile(
        self, filename: bytes, flags: int, attrs: w.FileAttributes | None = None
    ) -> Deferred[ClientFile]:
        """OPEN ``filename`` with ``flags`` (``FXF``); a ``ClientFile``."""
        attrs = attrs or w.FileAttributes()
        return self._request(
            lambda i: w.Open(i, filename, flags, attrs),
            lambda r: ClientFile(self, _expectHandle(r)),
        )

    def openDirectory(self, path: bytes) -> Deferred[ClientDirectory]:
        """OPENDIR; a ``ClientDirectory``."""
        return self._request(
            lambda i: w.OpenDir(i, path), lambda r: ClientDirectory(self, _expectHandle(r))
        )

    def listDirectory(self, path: bytes) -> Deferred[list[w.NameEntry]]:
        """Every entry of ``path`` (OPENDIR, READDIR until the end, CLOSE)."""
        entries: list[w.NameEntry] = []
        result: Deferred[list[w.NameEntry]] = Deferred()

        def opened(directory: ClientDirectory) -> None:
            def batch(names: list[w.NameEntry]) -> None:
                if names:
                    entries.extend(names)
                    directory.read().addCallbacks(batch, failed)
                else:
                    directory.close().addCallbacks(lambda _: result.callback(entries), failed)

            def failed(failure: Failure) -> None:
                directory.close().addBoth(lambda _: result.errback(failure))

            directory.read().addCallbacks(batch, failed)

        self.openDirectory(path).addCallbacks(opened, result.errback)
        return result

    def getAttrs(self, path: bytes, followLinks: bool = True) -> Deferred[w.FileAttributes]:
        """STAT (or LSTAT without ``followLinks``)."""
        if followLinks:
            return self._request(lambda i: w.Stat(i, path), _expectAttrs)
        return self._request(lambda i: w.LStat(i, path), _expectAttrs)

    def setAttrs(self, path: bytes, attrs: w.FileAttributes) -> Deferred[None]:
        """SETSTAT."""
        return self._request(lambda i: w.SetStat(i, path, attrs), _expectOK)

    def removeFile(self, filename: bytes) -> Deferred[None]:
        """REMOVE."""
        return self._request(lambda i: w.Remove(i, filename), _expectOK)

    def renameFile(self, oldPath: bytes, newPath: bytes) -> Deferred[None]:
        """RENAME (the server refuses to replace ``newPath``; see ``posixRename``)."""
        return self._request(lambda i: w.Rename(i, oldPath, newPath), _expectOK)

    def posixRename(self, oldPath: bytes, newPath: bytes) -> Deferred[None]:
        """posix-rename@openssh.com: rename, replacing ``newPath``."""
        return self._request(lambda i: w.PosixRename(i, oldPath, newPath), _expectOK)

    def makeHardLink(self, oldPath: bytes, newPath: bytes) -> Deferred[None]:
        """hardlink@openssh.com."""
        return self._request(lambda i: w.HardLink(i, oldPath, newPath), _expectOK)

    def makeDirectory(self, path: bytes, attrs: w.FileAttributes | None = None) -> Deferred[None]:
        """MKDIR."""
        attrs = attrs or w.FileAttributes()
        return self._request(lambda i: w.MkDir(i, path, attrs), _expectOK)

    def removeDirectory(self, path: bytes) -> Deferred[None]:
        """RMDIR."""
        return self._request(lambda i: w.RmDir(i, path), _expectOK)

    def readLink(self, path: bytes) -> Deferred[bytes]:
        """READLINK: the symlink's target."""
        return self._request(lambda i: w.ReadLink(i, path), _expectOneName)

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> Deferred[None]:
        """SYMLINK: make ``linkPath`` point at ``targetPath``."""
        return self._request(lambda i: w.SymLink(i, targetPath, linkPath), _expectOK)

    def realPath(self, path: bytes) -> Deferred[bytes]:
        """REALPATH: the canonical absolute path."""
        return self._request(lambda i: w.RealPath(i, path), _expectOneName)

    def statVFS(self, path: bytes) -> Deferred[w.StatVFSReply]:
        """statvfs@openssh.com."""
        return self._request(
            lambda i: w.StatVFS(i, path), lambda r: w.StatVFSReply.decode(_expectExtended(r))
        )

    def limits(self) -> Deferred[w.LimitsReply]:
        """limits@openssh.com."""
        return self._request(w.Limits, lambda r: w.LimitsReply.decode(_expectExtended(r)))

    def copyData(
        self,
        source: ClientFile,
        destination: ClientFile,
        readOffset: int = 0,
        length: int = 0,
        writeOffset: int = 0,
    ) -> Deferred[None]:
        """copy-data: the server copies ``length`` bytes (0: to the end) between two handles."""
        return self._request(
            lambda i: w.CopyData(
                i, source.handle, readOffset, length, destination.handle, writeOffset
            ),
            _expectOK,
        )

    def extendedRequest(self, extendedName: bytes, extendedData: bytes) -> Deferred[bytes]:
        """Any EXTENDED request; the EXTENDED_REPLY body."""
        return self._request(lambda i: w.Extended(i, extendedName, extendedData), _expectExtended)

    # -- streaming ------------------------------------------------------------------------------

    def get(
        self,
        remotePath: bytes,
        localFile: IO[bytes],
        chunkSize: int = 32 * 1024,
        maxInFlight: int = 64,
    ) -> Deferred[int]:
        """Copy the remote file into ``localFile`` (written in order); the byte count."""
        return Download(self, remotePath, localFile, chunkSize, maxInFlight).start()

    def put(
        self,
        localFile: IO[bytes],
        remotePath: bytes,
        chunkSize: int = 32 * 1024,
        maxInFlight: int = 64,
        attrs: w.FileAttributes | None = None,
    ) -> Deferred[int]:
        """Copy ``localFile`` (read to its end) to ``remotePath``, created or truncated."""
        return Upload(self, localFile, remotePath, chunkSize, maxInFlight, attrs).start()
