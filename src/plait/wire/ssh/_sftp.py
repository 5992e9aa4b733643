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
import stat as _stat
import struct
from collections.abc import Callable

from plait.wire.ssh._sftp_messages import (
    FXP,
    MAX_PACKET_LENGTH,
    Attrs,
    Close,
    CopyData,
    Data,
    Extended,
    ExtendedReply,
    FileAttributes,
    FSetStat,
    FStat,
    FStatVFS,
    FSync,
    Handle,
    HardLink,
    Init,
    Limits,
    LStat,
    Message,
    MkDir,
    Name,
    NameEntry,
    Open,
    OpenDir,
    PosixRename,
    Read,
    ReadDir,
    ReadLink,
    RealPath,
    Remove,
    Rename,
    RmDir,
    SetStat,
    SFTPBadMessage,
    SFTPProtocolError,
    Stat,
    Status,
    StatVFS,
    SymLink,
    UnknownPacket,
    Version,
    Write,
)
from plait.wire.ssh._types import SSHDisconnectError, SSHReader

_U32 = struct.Struct(">I")
_HEADER = struct.Struct(">IBI")  # length, type, request id
_DATA_HEAD = struct.Struct(">II")  # request id, string length
_WRITE_TAIL = struct.Struct(">QI")  # offset, data length


# -- encoding -------------------------------------------------------------------------------------


def encodePacket(message: Message) -> bytes:
    """The framed packet (length, type, body) for ``message``."""
    # The bulk carriers get one join and no intermediate body.
    if isinstance(message, Data):
        data = message.data
        return b"".join(
            (_HEADER.pack(9 + len(data), FXP.DATA, message.requestID), _U32.pack(len(data)), data)
        )
    if isinstance(message, Write):
        data, handle = message.data, message.handle
        head = _HEADER.pack(21 + len(handle) + len(data), FXP.WRITE, message.requestID)
        tail = _WRITE_TAIL.pack(message.offset, len(data))
        return b"".join((head, _U32.pack(len(handle)), handle, tail, data))
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
