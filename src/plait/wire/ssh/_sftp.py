"""SFTP version 3 packets (draft-ietf-secsh-filexfer-02, as OpenSSH implements it).

Every packet is ``uint32 length, byte type, ...``; requests after INIT carry a ``uint32 id``
that the reply repeats. ``SFTPPacketReader`` cuts a byte stream (fed in any chunking) into
packets and decodes them into the message dataclasses below; ``encodePacket(message)`` turns a
message back into bytes. Paths and handles are ``bytes`` (version 3 does not say they are UTF-8).

OpenSSH's ``SSH_FXP_SYMLINK`` sends ``targetpath`` before ``linkpath`` (the draft's order is the
reverse); ``SymLink`` follows OpenSSH, the only order real peers use.

Errors: a packet longer than ``MAX_PACKET_LENGTH`` (or empty) is ``SFTPProtocolError`` (the
stream cannot go on); a well-framed packet whose body is malformed is ``SFTPBadMessage``, which
carries the request id (when one could be read) so a server can answer ``SSH_FX_BAD_MESSAGE``
and carry on. Both are ``RemoteProtocolError``\\s.
"""

from __future__ import annotations

import datetime
import enum
import stat as _stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from plait.wire._errors import RemoteProtocolError
from plait.wire.ssh._types import SSHDisconnectError, SSHReader, SSHWriter

SFTP_VERSION = 3
#: The longest packet accepted: 256 KiB of data plus room for the header and a handle.
MAX_PACKET_LENGTH = 256 * 1024 + 1024

_U32 = struct.Struct(">I")
_HEADER = struct.Struct(">IBI")  # length, type, request id
_DATA_HEAD = struct.Struct(">II")  # request id, string length
_WRITE_TAIL = struct.Struct(">QI")  # offset, data length


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
class Init(Message):
    """SSH_FXP_INIT: the client's version and extensions (no request id)."""

    type: ClassVar[FXP] = FXP.INIT
    version: int = SFTP_VERSION
    extensions: tuple[tuple[bytes, bytes], ...] = ()

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.version)
        for name, data in self.extensions:
            w.string(name).string(data)
        return w.bytes()


@dataclass(frozen=True, slots=True)
class Version(Message):
    """SSH_FXP_VERSION: the server's version and extensions (no request id)."""

    type: ClassVar[FXP] = FXP.VERSION
    version: int = SFTP_VERSION
    extensions: tuple[tuple[bytes, bytes], ...] = ()

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.version)
        for name, data in self.extensions:
            w.string(name).string(data)
        return w.bytes()


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
class SetStat(Message):
    """SSH_FXP_SETSTAT: change a path's attributes."""

    type: ClassVar[FXP] = FXP.SETSTAT
    requestID: int
    path: bytes
    attrs: FileAttributes

    def encodeBody(self) -> bytes:
        return SSHWriter().uint32(self.requestID).string(self.path).raw(self.attrs.encode()).bytes()


@dataclass(frozen=True, slots=True)
class MkDir(Message):
    """SSH_FXP_MKDIR with initial attributes."""

    type: ClassVar[FXP] = FXP.MKDIR
    requestID: int
    path: bytes
    attrs: FileAttributes = field(default_factory=FileAttributes)

    def encodeBody(self) -> bytes:
        return SSHWriter().uint32(self.requestID).string(self.path).raw(self.attrs.encode()).bytes()


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
class PosixRename(Message):
    """posix-rename@openssh.com: rename(2), replacing ``newPath`` if it exists."""

    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes] = b"posix-rename@openssh.com"
    requestID: int
    oldPath: bytes
    newPath: bytes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        return w.string(self.oldPath).string(self.newPath).bytes()


@dataclass(frozen=True, slots=True)
class HardLink(Message):
    """hardlink@openssh.com: link(2) ``oldPath`` as ``newPath``."""

    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes] = b"hardlink@openssh.com"
    requestID: int
    oldPath: bytes
    newPath: bytes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        return w.string(self.oldPath).string(self.newPath).bytes()


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
class FStatVFS(Message):
    """fstatvfs@openssh.com: file system statistics for an open handle."""

    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes] = b"fstatvfs@openssh.com"
    requestID: int
    handle: bytes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        return w.string(self.handle).bytes()


@dataclass(frozen=True, slots=True)
class FSync(Message):
    """fsync@openssh.com: fsync(2) an open file handle."""

    type: ClassVar[FXP] = FXP.EXTENDED
    extensionName: ClassVar[bytes] = b"fsync@openssh.com"
    requestID: int
    handle: bytes

    def encodeBody(self) -> bytes:
        w = SSHWriter().uint32(self.requestID).string(self.extensionName)
        return w.string(self.handle).bytes()


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


AnyMessage: TypeAlias = Message


# -- encoding -------------------------------------------------------------------------------------


def encodePacket(message: Message) -> bytes:
    """The framed packet (length, type, body) for ``message``."""
    if isinstance(message, Data):  # the hot path: one join, no intermediate body
        data = message.data
        return b"".join(
            (_HEADER.pack(9 + len(data), FXP.DATA, message.requestID), _U32.pack(len(data)), data)
        )
    body = message.encodeBody()
    packetType = message.packetType if isinstance(message, UnknownPacket) else message.type
    return _U32.pack(len(body) + 1) + bytes((packetType,)) + body


# -- decoding -------------------------------------------------------------------------------------


def _extensionPairs(r: SSHReader) -> tuple[tuple[bytes, bytes], ...]:
    pairs = []
    while r.remaining():
        pairs.append((r.string(), r.string()))
    return tuple(pairs)


def _decodeInit(r: SSHReader) -> Message:
    return Init(r.uint32(), _extensionPairs(r))


def _decodeVersion(r: SSHReader) -> Message:
    return Version(r.uint32(), _extensionPairs(r))


def _decodeName(r: SSHReader, rid: int) -> Message:
    count = r.uint32()
    if count > r.remaining() // 12:  # each entry is at least two lengths and a flags word
        raise SFTPBadMessage("NAME count larger than the packet", rid)
    names = tuple(NameEntry(r.string(), r.string(), FileAttributes.decode(r)) for _ in range(count))
    return Name(rid, names)


def _decodeExtended(r: SSHReader, rid: int) -> Message:
    name = r.string()
    if name == PosixRename.extensionName:
        return PosixRename(rid, r.string(), r.string())
    if name == HardLink.extensionName:
        return HardLink(rid, r.string(), r.string())
    if name == StatVFS.extensionName:
        return StatVFS(rid, r.string())
    if name == FStatVFS.extensionName:
        return FStatVFS(rid, r.string())
    if name == FSync.extensionName:
        return FSync(rid, r.string())
    if name == Limits.extensionName:
        return Limits(rid)
    if name == CopyData.extensionName:
        return CopyData(rid, r.string(), r.uint64(), r.uint64(), r.string(), r.uint64())
    return Extended(rid, name, r.rest())


_Decoder = Callable[[SSHReader, int], Message]

_DECODERS: dict[int, _Decoder] = {
    FXP.OPEN: lambda r, i: Open(i, r.string(), r.uint32(), FileAttributes.decode(r)),
    FXP.CLOSE: lambda r, i: Close(i, r.string()),
    FXP.READ: lambda r, i: Read(i, r.string(), r.uint64(), r.uint32()),
    FXP.WRITE: lambda r, i: Write(i, r.string(), r.uint64(), r.string()),
    FXP.LSTAT: lambda r, i: LStat(i, r.string()),
    FXP.FSTAT: lambda r, i: FStat(i, r.string()),
    FXP.SETSTAT: lambda r, i: SetStat(i, r.string(), FileAttributes.decode(r)),
    FXP.FSETSTAT: lambda r, i: FSetStat(i, r.string(), FileAttributes.decode(r)),
    FXP.OPENDIR: lambda r, i: OpenDir(i, r.string()),
    FXP.READDIR: lambda r, i: ReadDir(i, r.string()),
    FXP.REMOVE: lambda r, i: Remove(i, r.string()),
    FXP.MKDIR: lambda r, i: MkDir(i, r.string(), FileAttributes.decode(r)),
    FXP.RMDIR: lambda r, i: RmDir(i, r.string()),
    FXP.REALPATH: lambda r, i: RealPath(i, r.string()),
    FXP.STAT: lambda r, i: Stat(i, r.string()),
    FXP.RENAME: lambda r, i: Rename(i, r.string(), r.string()),
    FXP.READLINK: lambda r, i: ReadLink(i, r.string()),
    FXP.SYMLINK: lambda r, i: SymLink(i, r.string(), r.string()),
    FXP.STATUS: lambda r, i: _decodeStatus(r, i),
    FXP.HANDLE: lambda r, i: Handle(i, r.string()),
    FXP.DATA: lambda r, i: Data(i, r.string()),
    FXP.NAME: _decodeName,
    FXP.ATTRS: lambda r, i: Attrs(i, FileAttributes.decode(r)),
    FXP.EXTENDED: _decodeExtended,
    FXP.EXTENDED_REPLY: lambda r, i: ExtendedReply(i, r.rest()),
}


def _decodeStatus(r: SSHReader, rid: int) -> Message:
    code = r.uint32()
    if not r.remaining():  # some old servers send the code alone
        return Status(rid, code)
    message = r.string().decode("utf-8", "replace")
    language = r.string().decode("ascii", "replace") if r.remaining() else ""
    return Status(rid, code, message, language)


def decodeMessage(packet: bytes) -> Message:
    """Decode one packet body (type byte onwards, without the length)."""
    if not packet:
        raise SFTPProtocolError("empty SFTP packet")
    packetType = packet[0]
    r = SSHReader(packet, 1)
    rid: int | None = None
    try:
        if packetType == FXP.INIT:
            message = _decodeInit(r)
        elif packetType == FXP.VERSION:
            message = _decodeVersion(r)
        else:
            if r.remaining() < 4:
                raise SFTPBadMessage(f"SFTP packet type {packetType} without a request id")
            rid = r.uint32()
            decoder = _DECODERS.get(packetType)
            if decoder is None:
                return UnknownPacket(packetType, rid, r.rest())
            message = decoder(r, rid)
        r.done()
    except SSHDisconnectError as e:
        name = _typeName(packetType)
        raise SFTPBadMessage(f"malformed SFTP {name}: {e.description}", rid) from None
    except SFTPBadMessage as e:
        if e.requestID is None and rid is not None:
            e.requestID = rid
        raise
    return message


def _typeName(packetType: int) -> str:
    try:
        return FXP(packetType).name
    except ValueError:
        return f"packet type {packetType}"


class SFTPPacketReader:
    """Cuts a byte stream into SFTP packets, in any chunking, and decodes them.

    ``receiveData(data)`` buffers; ``nextMessage()`` returns the next decoded message or None
    when more bytes are needed. ``maxPacketLength`` bounds each packet: a longer one raises
    ``SFTPProtocolError`` (the stream cannot be resynchronised). A malformed body raises
    ``SFTPBadMessage`` for that packet only; the reader stays usable.
    """

    __slots__ = ("_buffer", "_pos", "maxPacketLength")

    def __init__(self, maxPacketLength: int = MAX_PACKET_LENGTH) -> None:
        self._buffer = bytearray()
        self._pos = 0
        self.maxPacketLength = maxPacketLength

    def receiveData(self, data: bytes) -> None:
        """Add bytes from the peer."""
        if self._pos and self._pos == len(self._buffer):
            self._buffer.clear()
            self._pos = 0
        self._buffer += data

    def bufferedBytes(self) -> int:
        """How many received bytes are not yet a whole packet."""
        return len(self._buffer) - self._pos

    def _frame(self) -> int | None:
        """The end of the next whole packet in the buffer, or None; checks its length."""
        buf = self._buffer
        pos = self._pos
        if len(buf) - pos < 4:
            return None
        (length,) = _U32.unpack_from(buf, pos)
        if length == 0 or length > self.maxPacketLength:
            raise SFTPProtocolError(
                f"SFTP packet length {length} outside 1..{self.maxPacketLength}"
            )
        end = pos + 4 + length
        return end if len(buf) >= end else None

    def _consume(self, end: int) -> None:
        buf = self._buffer
        if end == len(buf):
            buf.clear()
            self._pos = 0
        elif end > 1 << 20:  # compact now and then, so the buffer stays bounded and linear
            del buf[:end]
            self._pos = 0
        else:
            self._pos = end

    def nextPacket(self) -> bytes | None:
        """The next whole packet body (type byte onwards), or None."""
        end = self._frame()
        if end is None:
            return None
        packet = bytes(memoryview(self._buffer)[self._pos + 4 : end])
        self._consume(end)
        return packet

    def nextMessage(self) -> Message | None:
        """The next decoded message, or None when more bytes are needed."""
        end = self._frame()
        if end is None:
            return None
        buf = self._buffer
        start = self._pos + 4
        packetType = buf[start]
        # WRITE and DATA carry the bulk: cut their data out of the buffer in one copy.
        if packetType == FXP.DATA and end - start >= 9:
            requestID, n = _DATA_HEAD.unpack_from(buf, start + 1)
            if start + 9 + n == end:
                data = bytes(memoryview(buf)[start + 9 : end])
                self._consume(end)
                return Data(requestID, data)
        elif packetType == FXP.WRITE and end - start >= 9:
            requestID, handleLength = _DATA_HEAD.unpack_from(buf, start + 1)
            at = start + 9 + handleLength
            if at + 12 <= end:
                offset, n = _WRITE_TAIL.unpack_from(buf, at)
                if at + 12 + n == end:
                    view = memoryview(buf)
                    handle = bytes(view[start + 9 : at])
                    data = bytes(view[at + 12 : end])
                    del view
                    self._consume(end)
                    return Write(requestID, handle, offset, data)
        packet = bytes(memoryview(buf)[start:end])
        self._consume(end)
        return decodeMessage(packet)


# -- ls -l ----------------------------------------------------------------------------------------

_SIX_MONTHS = 182 * 24 * 3600


def _modeString(mode: int) -> str:
    return _stat.filemode(mode)


def formatLongname(
    filename: bytes,
    attrs: FileAttributes,
    *,
    owner: str | None = None,
    group: str | None = None,
    links: int = 1,
    now: float | None = None,
) -> bytes:
    """The ``ls -l`` line OpenSSH puts in NAME's longname (``now`` picks the date style; local
    time, as ``ls`` does)."""
    mode = attrs.permissions or 0
    ownerText = owner if owner is not None else str(attrs.uid or 0)
    groupText = group if group is not None else str(attrs.gid or 0)
    mtime = attrs.mtime or 0
    when = datetime.datetime.fromtimestamp(mtime)
    if now is not None and abs(now - mtime) < _SIX_MONTHS:
        date = when.strftime("%b %e %H:%M")
    else:
        date = when.strftime("%b %e  %Y")
    head = (
        f"{_modeString(mode)} {links:>3} {ownerText:<8} {groupText:<8} {attrs.size or 0:>8} {date} "
    )
    return head.encode("utf-8") + filename


def extensionsDict(pairs: tuple[tuple[bytes, bytes], ...]) -> dict[bytes, bytes]:
    """INIT/VERSION extension pairs as a dict (the last of a repeated name wins)."""
    return dict(pairs)
