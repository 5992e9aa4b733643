"""SFTP version 3 numbers, structures and messages (see ``plait.wire.ssh._sftp`` for framing).

Each message is a frozen dataclass whose ``encodeBody()`` is its packet after the type byte;
``plait.wire.ssh._sftp`` frames and decodes them.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import ClassVar

from plait.wire._errors import RemoteProtocolError
from plait.wire.ssh._types import SSHReader, SSHWriter

SFTP_VERSION = 3
#: The longest packet accepted: 256 KiB of data plus room for the header and a handle.
MAX_PACKET_LENGTH = 256 * 1024 + 1024

_U32 = struct.Struct(">I")


class FXP(enum.IntEnum):
    """SFTP packet types."""

    INIT = 1
    VERSION = 2
    OPEN = 3
    CLOSE = 4
    READ = 5
    WRITE = 6
    LSTAT = 7
    FSTAT = 8
    SETSTAT = 9
    FSETSTAT = 10
    OPENDIR = 11
    READDIR = 12
    REMOVE = 13
    MKDIR = 14
    RMDIR = 15
    REALPATH = 16
    STAT = 17
    RENAME = 18
    READLINK = 19
    SYMLINK = 20
    STATUS = 101
    HANDLE = 102
    DATA = 103
    NAME = 104
    ATTRS = 105
    EXTENDED = 200
    EXTENDED_REPLY = 201


class FX(enum.IntEnum):
    """SSH_FXP_STATUS codes."""

    OK = 0
    EOF = 1
    NO_SUCH_FILE = 2
    PERMISSION_DENIED = 3
    FAILURE = 4
    BAD_MESSAGE = 5
    NO_CONNECTION = 6
    CONNECTION_LOST = 7
    OP_UNSUPPORTED = 8


#: The default message OpenSSH sends with each status code.
STATUS_MESSAGES: dict[int, str] = {
    FX.OK: "Success",
    FX.EOF: "End of file",
    FX.NO_SUCH_FILE: "No such file",
    FX.PERMISSION_DENIED: "Permission denied",
    FX.FAILURE: "Failure",
    FX.BAD_MESSAGE: "Bad message",
    FX.NO_CONNECTION: "No connection",
    FX.CONNECTION_LOST: "Connection lost",
    FX.OP_UNSUPPORTED: "Operation unsupported",
}


class FXF(enum.IntFlag):
    """SSH_FXP_OPEN pflags."""

    READ = 0x01
    WRITE = 0x02
    APPEND = 0x04
    CREAT = 0x08
    TRUNC = 0x10
    EXCL = 0x20


class ATTR(enum.IntFlag):
    """Which fields an ATTRS structure carries."""

    SIZE = 0x01
    UIDGID = 0x02
    PERMISSIONS = 0x04
    ACMODTIME = 0x08
    EXTENDED = 0x80000000


class SFTPProtocolError(RemoteProtocolError):
    """The peer's byte stream is not SFTP (a packet too long or empty): it cannot go on."""


class SFTPBadMessage(RemoteProtocolError):
    """A well-framed packet with a malformed body; ``requestID`` is None when unreadable."""

    def __init__(self, message: str, requestID: int | None = None) -> None:
        super().__init__(message)
        self.requestID = requestID


@dataclass(frozen=True, slots=True)
class FileAttributes:
    """An ATTRS structure: each field is None when absent (uid and gid travel together)."""

    size: int | None = None
    uid: int | None = None
    gid: int | None = None
    permissions: int | None = None
    atime: int | None = None
    mtime: int | None = None
    extended: tuple[tuple[bytes, bytes], ...] = ()

    @property
    def flags(self) -> int:
        """The ATTR flags for the fields present."""
        flags = 0
        if self.size is not None:
            flags |= ATTR.SIZE
        if self.uid is not None or self.gid is not None:
            flags |= ATTR.UIDGID
        if self.permissions is not None:
            flags |= ATTR.PERMISSIONS
        if self.atime is not None or self.mtime is not None:
            flags |= ATTR.ACMODTIME
        if self.extended:
            flags |= ATTR.EXTENDED
        return flags

    def encode(self) -> bytes:
        """The wire form."""
        w = SSHWriter().uint32(self.flags)
        if self.size is not None:
            w.uint64(self.size)
        if self.uid is not None or self.gid is not None:
            w.uint32(self.uid or 0).uint32(self.gid or 0)
        if self.permissions is not None:
            w.uint32(self.permissions)
        if self.atime is not None or self.mtime is not None:
            w.uint32(self.atime or 0).uint32(self.mtime or 0)
        if self.extended:
            w.uint32(len(self.extended))
            for name, value in self.extended:
                w.string(name).string(value)
        return w.bytes()

    @classmethod
    def decode(cls, r: SSHReader) -> FileAttributes:
        """Read one ATTRS structure from ``r``."""
        flags = r.uint32()
        size = r.uint64() if flags & ATTR.SIZE else None
        uid = gid = None
        if flags & ATTR.UIDGID:
            uid, gid = r.uint32(), r.uint32()
        permissions = r.uint32() if flags & ATTR.PERMISSIONS else None
        atime = mtime = None
        if flags & ATTR.ACMODTIME:
            atime, mtime = r.uint32(), r.uint32()
        extended: tuple[tuple[bytes, bytes], ...] = ()
        if flags & ATTR.EXTENDED:
            count = r.uint32()
            if count > r.remaining() // 8:  # each pair takes at least two lengths
                raise SFTPBadMessage("too many extended attributes")
            extended = tuple((r.string(), r.string()) for _ in range(count))
        return cls(size, uid, gid, permissions, atime, mtime, extended)


@dataclass(frozen=True, slots=True)
class NameEntry:
    """One SSH_FXP_NAME entry: a file name, its ``ls -l`` line and its attributes."""

    filename: bytes
    longname: bytes = b""
    attrs: FileAttributes = field(default_factory=FileAttributes)


# -- messages -------------------------------------------------------------------------------------


class Message:
    """Base of every SFTP message; ``type`` is its FXP number."""

    __slots__ = ()
    type: ClassVar[FXP]

    def encodeBody(self) -> bytes:  # pragma: no cover - every subclass defines it
        """The packet after its type byte."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Hello(Message):
    version: int = SFTP_VERSION
    extensions: tuple[tuple[bytes, bytes], ...] = ()

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.version)
        for name, data in self.extensions:
            w.string(name).string(data)
        return w.bytes()


@dataclass(frozen=True, slots=True)
class Init(_Hello):
    """SSH_FXP_INIT: the client's version and extensions (no request id)."""

    type: ClassVar[FXP] = FXP.INIT


@dataclass(frozen=True, slots=True)
class Version(_Hello):
    """SSH_FXP_VERSION: the server's version and extensions (no request id)."""

    type: ClassVar[FXP] = FXP.VERSION


@dataclass(frozen=True, slots=True)
class Open(Message):
    """SSH_FXP_OPEN: open ``filename`` with ``pflags`` (FXF), creating it with ``attrs``."""

    type: ClassVar[FXP] = FXP.OPEN
    requestID: int
    filename: bytes
    pflags: int
    attrs: FileAttributes = field(default_factory=FileAttributes)

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.filename).uint32(self.pflags)
        return w.raw(self.attrs.encode()).bytes()


@dataclass(frozen=True, slots=True)
class _HandleRequest(Message):
    requestID: int
    handle: bytes

    def encodeBody(self) -> bytes:
        return _U32.pack(self.requestID) + _U32.pack(len(self.handle)) + self.handle


@dataclass(frozen=True, slots=True)
class Close(_HandleRequest):
    """SSH_FXP_CLOSE a file or directory handle."""

    type: ClassVar[FXP] = FXP.CLOSE


@dataclass(frozen=True, slots=True)
class FStat(_HandleRequest):
    """SSH_FXP_FSTAT: the attributes of an open file."""

    type: ClassVar[FXP] = FXP.FSTAT


@dataclass(frozen=True, slots=True)
class ReadDir(_HandleRequest):
    """SSH_FXP_READDIR: the next batch of names from a directory handle."""

    type: ClassVar[FXP] = FXP.READDIR


@dataclass(frozen=True, slots=True)
class Read(Message):
    """SSH_FXP_READ up to ``length`` bytes at ``offset``."""

    type: ClassVar[FXP] = FXP.READ
    requestID: int
    handle: bytes
    offset: int
    length: int

    def encodeBody(self) -> bytes:
        h = self.handle
        return struct.pack(f">II{len(h)}sQI", self.requestID, len(h), h, self.offset, self.length)


@dataclass(frozen=True, slots=True)
class Write(Message):
    """SSH_FXP_WRITE ``data`` at ``offset``."""

    type: ClassVar[FXP] = FXP.WRITE
    requestID: int
    handle: bytes
    offset: int
    data: bytes

    def encodeBody(self) -> bytes:
        h = self.handle
        head = struct.pack(
            f">II{len(h)}sQI", self.requestID, len(h), h, self.offset, len(self.data)
        )
        return head + self.data


@dataclass(frozen=True, slots=True)
class _PathRequest(Message):
    requestID: int
    path: bytes

    def encodeBody(self) -> bytes:
        return _U32.pack(self.requestID) + _U32.pack(len(self.path)) + self.path


@dataclass(frozen=True, slots=True)
class LStat(_PathRequest):
    """SSH_FXP_LSTAT: attributes without following a final symlink."""

    type: ClassVar[FXP] = FXP.LSTAT


@dataclass(frozen=True, slots=True)
class Stat(_PathRequest):
    """SSH_FXP_STAT: attributes, following symlinks."""

    type: ClassVar[FXP] = FXP.STAT


@dataclass(frozen=True, slots=True)
class OpenDir(_PathRequest):
    """SSH_FXP_OPENDIR."""

    type: ClassVar[FXP] = FXP.OPENDIR


@dataclass(frozen=True, slots=True)
class Remove(_PathRequest):
    """SSH_FXP_REMOVE a file."""

    type: ClassVar[FXP] = FXP.REMOVE


@dataclass(frozen=True, slots=True)
class RmDir(_PathRequest):
    """SSH_FXP_RMDIR."""

    type: ClassVar[FXP] = FXP.RMDIR


@dataclass(frozen=True, slots=True)
class RealPath(_PathRequest):
    """SSH_FXP_REALPATH: the canonical absolute form of a path."""

    type: ClassVar[FXP] = FXP.REALPATH


@dataclass(frozen=True, slots=True)
class ReadLink(_PathRequest):
    """SSH_FXP_READLINK."""

    type: ClassVar[FXP] = FXP.READLINK


@dataclass(frozen=True, slots=True)
class _PathAttrsRequest(Message):
    requestID: int
    path: bytes
    attrs: FileAttributes

    def encodeBody(self) -> bytes:
        return SSHWriter().uint32(self.requestID).string(self.path).raw(self.attrs.encode()).bytes()


@dataclass(frozen=True, slots=True)
class SetStat(_PathAttrsRequest):
    """SSH_FXP_SETSTAT: change a path's attributes."""

    type: ClassVar[FXP] = FXP.SETSTAT


@dataclass(frozen=True, slots=True)
class MkDir(_PathAttrsRequest):
    """SSH_FXP_MKDIR with initial attributes."""

    type: ClassVar[FXP] = FXP.MKDIR
    attrs: FileAttributes = field(default_factory=FileAttributes)


@dataclass(frozen=True, slots=True)
class FSetStat(Message):
    """SSH_FXP_FSETSTAT: change an open file's attributes."""

    type: ClassVar[FXP] = FXP.FSETSTAT
    requestID: int
    handle: bytes
    attrs: FileAttributes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.handle)
        return w.raw(self.attrs.encode()).bytes()


@dataclass(frozen=True, slots=True)
class _TwoPathRequest(Message):
    requestID: int

    def _paths(self) -> tuple[bytes, bytes]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def encodeBody(self) -> bytes:
        first, second = self._paths()
        return SSHWriter().uint32(self.requestID).string(first).string(second).bytes()


@dataclass(frozen=True, slots=True)
class Rename(_TwoPathRequest):
    """SSH_FXP_RENAME (OpenSSH refuses to replace an existing file; see PosixRename)."""

    type: ClassVar[FXP] = FXP.RENAME
    oldPath: bytes
    newPath: bytes

    def _paths(self) -> tuple[bytes, bytes]:
        return self.oldPath, self.newPath


@dataclass(frozen=True, slots=True)
class SymLink(_TwoPathRequest):
    """SSH_FXP_SYMLINK: make ``linkPath`` point at ``targetPath`` (OpenSSH's wire order:
    target first)."""

    type: ClassVar[FXP] = FXP.SYMLINK
    targetPath: bytes
    linkPath: bytes

    def _paths(self) -> tuple[bytes, bytes]:
        return self.targetPath, self.linkPath


@dataclass(frozen=True, slots=True)
class Status(Message):
    """SSH_FXP_STATUS: a request's outcome (``code`` from FX)."""

    type: ClassVar[FXP] = FXP.STATUS
    requestID: int
    code: int
    message: str = ""
    language: str = ""

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).uint32(self.code)
        return w.string(self.message).string(self.language).bytes()


@dataclass(frozen=True, slots=True)
class Handle(Message):
    """SSH_FXP_HANDLE: the handle of a newly opened file or directory."""

    type: ClassVar[FXP] = FXP.HANDLE
    requestID: int
    handle: bytes

    def encodeBody(self) -> bytes:
        return _U32.pack(self.requestID) + _U32.pack(len(self.handle)) + self.handle


@dataclass(frozen=True, slots=True)
class Data(Message):
    """SSH_FXP_DATA: bytes read."""

    type: ClassVar[FXP] = FXP.DATA
    requestID: int
    data: bytes

    def encodeBody(self) -> bytes:
        return _U32.pack(self.requestID) + _U32.pack(len(self.data)) + self.data


@dataclass(frozen=True, slots=True)
class Name(Message):
    """SSH_FXP_NAME: a list of names (READDIR, REALPATH, READLINK)."""

    type: ClassVar[FXP] = FXP.NAME
    requestID: int
    names: tuple[NameEntry, ...]

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).uint32(len(self.names))
        for entry in self.names:
            w.string(entry.filename).string(entry.longname).raw(entry.attrs.encode())
        return w.bytes()


@dataclass(frozen=True, slots=True)
class Attrs(Message):
    """SSH_FXP_ATTRS: the reply to STAT, LSTAT and FSTAT."""

    type: ClassVar[FXP] = FXP.ATTRS
    requestID: int
    attrs: FileAttributes

    def encodeBody(self) -> bytes:
        return _U32.pack(self.requestID) + self.attrs.encode()


@dataclass(frozen=True, slots=True)
class Extended(Message):
    """SSH_FXP_EXTENDED with an extension this module does not decode further."""

    type: ClassVar[FXP] = FXP.EXTENDED
    requestID: int
    name: bytes
    data: bytes = b""

    def encodeBody(self) -> bytes:
        return SSHWriter().uint32(self.requestID).string(self.name).raw(self.data).bytes()


@dataclass(frozen=True, slots=True)
class ExtendedReply(Message):
    """SSH_FXP_EXTENDED_REPLY: its body depends on the request (see ``StatVFSReply``...)."""

    type: ClassVar[FXP] = FXP.EXTENDED_REPLY
    requestID: int
    data: bytes = b""

    def encodeBody(self) -> bytes:
        return _U32.pack(self.requestID) + self.data


# -- OpenSSH extensions (each is an EXTENDED request on the wire) ----------------------------------


@dataclass(frozen=True, slots=True)
class _LinkExtension(Message):
    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes]
    requestID: int
    oldPath: bytes
    newPath: bytes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        return w.string(self.oldPath).string(self.newPath).bytes()


@dataclass(frozen=True, slots=True)
class PosixRename(_LinkExtension):
    """posix-rename@openssh.com: rename(2), replacing ``newPath`` if it exists."""

    extensionName: ClassVar[bytes] = b"posix-rename@openssh.com"


@dataclass(frozen=True, slots=True)
class HardLink(_LinkExtension):
    """hardlink@openssh.com: link(2) ``oldPath`` as ``newPath``."""

    extensionName: ClassVar[bytes] = b"hardlink@openssh.com"


@dataclass(frozen=True, slots=True)
class StatVFS(Message):
    """statvfs@openssh.com: file system statistics for ``path`` (reply: StatVFSReply)."""

    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes] = b"statvfs@openssh.com"
    requestID: int
    path: bytes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        return w.string(self.path).bytes()


@dataclass(frozen=True, slots=True)
class _HandleExtension(Message):
    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes]
    requestID: int
    handle: bytes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        return w.string(self.handle).bytes()


@dataclass(frozen=True, slots=True)
class FStatVFS(_HandleExtension):
    """fstatvfs@openssh.com: file system statistics for an open handle."""

    extensionName: ClassVar[bytes] = b"fstatvfs@openssh.com"


@dataclass(frozen=True, slots=True)
class FSync(_HandleExtension):
    """fsync@openssh.com: fsync(2) an open file handle."""

    extensionName: ClassVar[bytes] = b"fsync@openssh.com"


@dataclass(frozen=True, slots=True)
class Limits(Message):
    """limits@openssh.com: the server's packet/read/write/handle limits (reply: LimitsReply)."""

    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes] = b"limits@openssh.com"
    requestID: int

    def encodeBody(self) -> bytes:
        return SSHWriter().uint32(self.requestID).string(self.extensionName).bytes()


@dataclass(frozen=True, slots=True)
class CopyData(Message):
    """copy-data: copy ``length`` bytes (0: to the end) from one open handle to another,
    server-side (OpenSSH's ``sftp`` uses it for ``cp``)."""

    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes] = b"copy-data"
    requestID: int
    readHandle: bytes
    readOffset: int
    length: int
    writeHandle: bytes
    writeOffset: int

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        w.string(self.readHandle).uint64(self.readOffset).uint64(self.length)
        return w.string(self.writeHandle).uint64(self.writeOffset).bytes()


@dataclass(frozen=True, slots=True)
class StatVFSReply:
    """The body of statvfs@openssh.com's EXTENDED_REPLY (statvfs(3) fields, ``flag`` bit 1 =
    read-only, bit 2 = nosuid)."""

    bsize: int
    frsize: int
    blocks: int
    bfree: int
    bavail: int
    files: int
    ffree: int
    favail: int
    fsid: int
    flag: int
    namemax: int

    _FORMAT: ClassVar[struct.Struct] = struct.Struct(">11Q")

    def encode(self) -> bytes:
        """The reply body."""
        return self._FORMAT.pack(
            self.bsize,
            self.frsize,
            self.blocks,
            self.bfree,
            self.bavail,
            self.files,
            self.ffree,
            self.favail,
            self.fsid,
            self.flag,
            self.namemax,
        )

    @classmethod
    def decode(cls, data: bytes) -> StatVFSReply:
        """Parse a reply body."""
        if len(data) != cls._FORMAT.size:
            raise SFTPBadMessage("statvfs reply of the wrong length")
        return cls(*cls._FORMAT.unpack(data))


@dataclass(frozen=True, slots=True)
class LimitsReply:
    """The body of limits@openssh.com's EXTENDED_REPLY (0 means no limit)."""

    maxPacketLength: int
    maxReadLength: int
    maxWriteLength: int
    maxOpenHandles: int

    _FORMAT: ClassVar[struct.Struct] = struct.Struct(">4Q")

    def encode(self) -> bytes:
        """The reply body."""
        return self._FORMAT.pack(
            self.maxPacketLength, self.maxReadLength, self.maxWriteLength, self.maxOpenHandles
        )

    @classmethod
    def decode(cls, data: bytes) -> LimitsReply:
        """Parse a reply body."""
        if len(data) != cls._FORMAT.size:
            raise SFTPBadMessage("limits reply of the wrong length")
        return cls(*cls._FORMAT.unpack(data))


@dataclass(frozen=True, slots=True)
class UnknownPacket(Message):
    """A packet whose type this module does not know (``requestID`` None if too short)."""

    type: ClassVar[FXP] = FXP.EXTENDED  # not used: ``packetType`` is the real one
    packetType: int
    requestID: int | None
    data: bytes

    def encodeBody(self) -> bytes:
        head = b"" if self.requestID is None else _U32.pack(self.requestID)
        return head + self.data
