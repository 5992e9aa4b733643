"""The SFTP server's pluggable file system (Conch's ``ISFTPServer`` shape) and ``SFTPError``.

Every method may return its result directly or a ``Deferred`` of it (or an awaitable), and
may raise (or fail with) ``SFTPError``, an ``OSError`` (mapped from its errno), ``EOFError``
or ``NotImplementedError``; the server turns each into the matching SSH_FXP_STATUS.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any, Protocol

from plait.wire.ssh.sftp import FX, STATUS_MESSAGES, FileAttributes, NameEntry


class SFTPError(Exception):
    """An SFTP request failed with status ``code`` (an ``FX``) and ``message``."""

    def __init__(self, code: int, message: str = "", language: str = "") -> None:
        self.code = code
        self.message = message or STATUS_MESSAGES.get(code, "Failure")
        self.language = language
        super().__init__(code, self.message)

    def __str__(self) -> str:
        try:
            name = FX(self.code).name
        except ValueError:
            name = str(self.code)
        return f"SFTP {name}: {self.message}"


def statusForException(exc: BaseException) -> tuple[int, str]:
    """The (FX code, message) an exception from a file system becomes (as OpenSSH maps errno)."""
    if isinstance(exc, SFTPError):
        return exc.code, exc.message
    if isinstance(exc, EOFError):
        return FX.EOF, STATUS_MESSAGES[FX.EOF]
    if isinstance(exc, NotImplementedError):
        return FX.OP_UNSUPPORTED, STATUS_MESSAGES[FX.OP_UNSUPPORTED]
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.ENOENT:
            return FX.NO_SUCH_FILE, STATUS_MESSAGES[FX.NO_SUCH_FILE]
        if exc.errno in (errno.EACCES, errno.EPERM):
            return FX.PERMISSION_DENIED, STATUS_MESSAGES[FX.PERMISSION_DENIED]
        return FX.FAILURE, exc.strerror or STATUS_MESSAGES[FX.FAILURE]
    if isinstance(exc, OverflowError):
        # an offset or size no system call takes (a uint64 past 2**63-1): the client's error
        return FX.FAILURE, "Value out of range"
    return FX.FAILURE, str(exc) or STATUS_MESSAGES[FX.FAILURE]


class ISFTPFile(Protocol):
    """An open file (returned by ``ISFTPServer.openFile``)."""

    def readChunk(self, offset: int, length: int) -> Any:
        """Up to ``length`` bytes at ``offset``; ``b""`` (or ``EOFError``) at the end."""

    def writeChunk(self, offset: int, data: bytes) -> Any:
        """Write ``data`` at ``offset``."""

    def getAttrs(self) -> Any:
        """The file's ``FileAttributes``."""

    def setAttrs(self, attrs: FileAttributes) -> Any:
        """Change the file's attributes."""

    def close(self) -> Any:
        """Close the file."""


class ISFTPDirectory(Protocol):
    """An open directory: an iterator of ``NameEntry`` (returned by ``openDirectory``)."""

    def __iter__(self) -> Iterator[NameEntry]: ...

    def __next__(self) -> NameEntry: ...

    def close(self) -> Any:
        """Stop listing."""


class ISFTPServer(Protocol):
    """The file system an SFTP server serves (one instance per session/user).

    Optional extras a file system may also define, each enabling the OpenSSH extension of the
    same purpose: ``posixRename(oldPath, newPath)``, ``makeHardLink(oldPath, newPath)``,
    ``statVFS(path) -> StatVFSReply``; and on its files ``fsync()`` and ``statVFS()``.
    """

    def gotVersion(self, otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        """The client's INIT arrived; return extra extensions to advertise in VERSION."""

    def openFile(self, filename: bytes, flags: int, attrs: FileAttributes) -> Any:
        """Open ``filename`` with ``flags`` (``FXF``); an ``ISFTPFile``."""

    def removeFile(self, filename: bytes) -> Any:
        """Remove a file."""

    def renameFile(self, oldPath: bytes, newPath: bytes) -> Any:
        """Rename; fail if ``newPath`` exists (SSH_FXP_RENAME's meaning)."""

    def makeDirectory(self, path: bytes, attrs: FileAttributes) -> Any:
        """Make a directory."""

    def removeDirectory(self, path: bytes) -> Any:
        """Remove an empty directory."""

    def openDirectory(self, path: bytes) -> Any:
        """An ``ISFTPDirectory`` listing ``path``."""

    def getAttrs(self, path: bytes, followLinks: bool) -> Any:
        """``FileAttributes`` of ``path`` (stat, or lstat without ``followLinks``)."""

    def setAttrs(self, path: bytes, attrs: FileAttributes) -> Any:
        """Change ``path``'s attributes."""

    def readLink(self, path: bytes) -> Any:
        """The target of the symlink ``path`` (bytes)."""

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> Any:
        """Make ``linkPath`` a symlink to ``targetPath``."""

    def realPath(self, path: bytes) -> Any:
        """The canonical absolute form of ``path`` (bytes)."""

    def extendedRequest(self, extendedName: bytes, extendedData: bytes) -> Any:
        """An unknown EXTENDED request: the reply body (bytes), or raise
        ``NotImplementedError`` for SSH_FX_OP_UNSUPPORTED."""
