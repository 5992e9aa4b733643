"""``ThreadedSFTPFileSystem``: another SFTP file system's calls run in the reactor's threads.

``UnixSFTPFileSystem`` calls the disk directly, which is right for local disks; a file system
that can stall (NFS, FUSE, a slow USB disk) would stall the reactor with it. Wrapping it here
moves every call to the reactor's thread pool. Each open file's operations still run one at a
time and in order (a CLOSE never overtakes a WRITE on the same descriptor, so a descriptor is
never reused under a pending write); different files and path operations run in parallel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from plait.defer import Deferred, DeferredLock
from plait.reactor import deferToThread
from plait.wire.ssh.sftp import FileAttributes, NameEntry

# Optional file-system methods passed through when the wrapped one has them.
_OPTIONAL = ("posixRename", "makeHardLink", "statVFS")


def _listAll(fileSystem: Any, path: bytes) -> list[Any]:
    directory = fileSystem.openDirectory(path)
    try:
        return list(directory)
    finally:
        directory.close()


class _ListedDirectory:
    """A directory listed in a thread, handed out from memory."""

    def __init__(self, entries: list[NameEntry]) -> None:
        self._iterator = iter(entries)

    def __iter__(self) -> Iterator[NameEntry]:
        return self

    def __next__(self) -> NameEntry:
        return next(self._iterator)

    def close(self) -> None:
        """Nothing to release (the real listing was closed in its thread)."""


class ThreadedSFTPFile:
    """An open file whose operations run in threads, one at a time, in order."""

    def __init__(self, file: Any, reactor: Any) -> None:
        self.file = file
        self.reactor = reactor
        self._lock = DeferredLock()
        for name in ("fsync", "statVFS"):
            method = getattr(file, name, None)
            if method is not None:
                setattr(self, name, functools.partial(self._run, method))

    def _run(self, function: Callable[..., Any], *args: Any) -> Deferred[Any]:
        return self._lock.run(deferToThread, self.reactor, function, *args)

    def readChunk(self, offset: int, length: int) -> Deferred[bytes]:
        """``readChunk`` in a thread."""
        return self._run(self.file.readChunk, offset, length)

    def writeChunk(self, offset: int, data: bytes) -> Deferred[None]:
        """``writeChunk`` in a thread."""
        return self._run(self.file.writeChunk, offset, data)

    def getAttrs(self) -> Deferred[FileAttributes]:
        """``getAttrs`` in a thread."""
        return self._run(self.file.getAttrs)

    def setAttrs(self, attrs: FileAttributes) -> Deferred[None]:
        """``setAttrs`` in a thread."""
        return self._run(self.file.setAttrs, attrs)

    def close(self) -> Deferred[None]:
        """``close`` in a thread, after everything queued before it."""
        return self._run(self.file.close)


class ThreadedSFTPFileSystem:
    """``fileSystem`` (an ``ISFTPServer``) with every call run in ``reactor``'s thread pool."""

    def __init__(self, fileSystem: Any, reactor: Any) -> None:
        self.fileSystem = fileSystem
        self.reactor = reactor
        for name in _OPTIONAL:
            method = getattr(fileSystem, name, None)
            if method is not None:
                setattr(self, name, functools.partial(self._defer, method))

    def _defer(self, function: Callable[..., Any], *args: Any) -> Deferred[Any]:
        return deferToThread(self.reactor, function, *args)

    def gotVersion(self, otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        """The wrapped file system's extensions, less copy-data (not offered across threads)."""
        gotVersion = getattr(self.fileSystem, "gotVersion", None)
        extensions = dict(gotVersion(otherVersion, extData)) if gotVersion else {}
        extensions.pop(b"copy-data", None)
        return extensions

    def openFile(self, filename: bytes, flags: int, attrs: FileAttributes) -> Deferred[Any]:
        """``openFile`` in a thread; the file's own calls are threaded too."""
        d = self._defer(self.fileSystem.openFile, filename, flags, attrs)
        return d.addCallback(ThreadedSFTPFile, self.reactor)

    def openDirectory(self, path: bytes) -> Deferred[Any]:
        """The whole listing, read in a thread (directories are read once, then served)."""
        return self._defer(_listAll, self.fileSystem, path).addCallback(_ListedDirectory)

    def removeFile(self, filename: bytes) -> Deferred[None]:
        """In a thread."""
        return self._defer(self.fileSystem.removeFile, filename)

    def renameFile(self, oldPath: bytes, newPath: bytes) -> Deferred[None]:
        """In a thread."""
        return self._defer(self.fileSystem.renameFile, oldPath, newPath)

    def makeDirectory(self, path: bytes, attrs: FileAttributes) -> Deferred[None]:
        """In a thread."""
        return self._defer(self.fileSystem.makeDirectory, path, attrs)

    def removeDirectory(self, path: bytes) -> Deferred[None]:
        """In a thread."""
        return self._defer(self.fileSystem.removeDirectory, path)

    def getAttrs(self, path: bytes, followLinks: bool) -> Deferred[FileAttributes]:
        """In a thread."""
        return self._defer(self.fileSystem.getAttrs, path, followLinks)

    def setAttrs(self, path: bytes, attrs: FileAttributes) -> Deferred[None]:
        """In a thread."""
        return self._defer(self.fileSystem.setAttrs, path, attrs)

    def readLink(self, path: bytes) -> Deferred[bytes]:
        """In a thread."""
        return self._defer(self.fileSystem.readLink, path)

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> Deferred[None]:
        """In a thread."""
        return self._defer(self.fileSystem.makeLink, linkPath, targetPath)

    def realPath(self, path: bytes) -> Deferred[bytes]:
        """In a thread."""
        return self._defer(self.fileSystem.realPath, path)

    def extendedRequest(self, extendedName: bytes, extendedData: bytes) -> Deferred[bytes]:
        """In a thread."""
        return self._defer(self.fileSystem.extendedRequest, extendedName, extendedData)
