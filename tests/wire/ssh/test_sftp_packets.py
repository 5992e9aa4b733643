"""SFTP v3 packet codecs and framing (plait.wire.ssh.sftp)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.wire import RemoteProtocolError
from plait.wire.ssh import sftp
from plait.wire.ssh.sftp import (
    FX,
    FXF,
    FXP,
    FileAttributes,
    NameEntry,
    SFTPBadMessage,
    SFTPPacketReader,
    SFTPProtocolError,
    decodeMessage,
    encodePacket,
)

FULL_ATTRS = FileAttributes(
    size=2**40 + 5,
    uid=1000,
    gid=100,
    permissions=0o100644,
    atime=1_700_000_000,
    mtime=1_700_000_001,
    extended=((b"user.x@example.com", b"\x00v"),),
)

MESSAGES: list[sftp.Message] = [
    sftp.Init(3, ((b"ext@example.com", b"1"),)),
    sftp.Init(),
    sftp.Version(3, ((b"posix-rename@openssh.com", b"1"), (b"limits@openssh.com", b"1"))),
    sftp.Open(1, b"/tmp/f", FXF.READ | FXF.WRITE | FXF.CREAT | FXF.TRUNC, FULL_ATTRS),
    sftp.Open(2, b"f", FXF.READ),
    sftp.Close(3, b"\x00\x00\x00\x01"),
    sftp.Read(4, b"h", 2**33, 32768),
    sftp.Write(5, b"h", 7, b"data" * 100),
    sftp.LStat(6, b"link"),
    sftp.FStat(7, b"h"),
    sftp.SetStat(8, b"p", FileAttributes(permissions=0o755)),
    sftp.FSetStat(9, b"h", FileAttributes(atime=1, mtime=2)),
    sftp.OpenDir(10, b"/"),
    sftp.ReadDir(11, b"d"),
    sftp.Remove(12, b"x"),
    sftp.MkDir(13, b"dir", FileAttributes(permissions=0o700)),
    sftp.RmDir(14, b"dir"),
    sftp.RealPath(15, b"."),
    sftp.Stat(16, b"s"),
    sftp.Rename(17, b"old", b"new"),
    sftp.ReadLink(18, b"l"),
    sftp.SymLink(19, b"target", b"link"),
    sftp.Status(20, FX.NO_SUCH_FILE, "No such file", "en"),
    sftp.Status(21, FX.OK),
    sftp.Handle(22, b"\xff" * 4),
    sftp.Data(23, b"\x00" * 1000),
    sftp.Data(24, b""),
    sftp.Name(
        25,
        (
            NameEntry(b"a", b"-rw-r--r-- 1 u g 0 Jan 1 1970 a", FULL_ATTRS),
            NameEntry(b"b\xff", b"", FileAttributes()),
        ),
    ),
    sftp.Name(26, ()),
    sftp.Attrs(27, FULL_ATTRS),
    sftp.Attrs(28, FileAttributes()),
    sftp.Extended(29, b"other@example.com", b"\x01\x02"),
    sftp.ExtendedReply(30, b"reply-bytes"),
    sftp.PosixRename(31, b"a", b"b"),
    sftp.HardLink(32, b"a", b"b"),
    sftp.StatVFS(33, b"/"),
    sftp.FStatVFS(34, b"h"),
    sftp.FSync(35, b"h"),
    sftp.Limits(36),
    sftp.CopyData(37, b"src", 5, 0, b"dst", 2**40),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(message: sftp.Message) -> None:
    """Every message decodes to itself after encoding."""
    packet = encodePacket(message)
    (length,) = struct.unpack(">I", packet[:4])
    assert length == len(packet) - 4
    assert packet[4:] == bytes([message.type]) + message.encodeBody()  # fast paths agree
    assert decodeMessage(packet[4:]) == message


# Bodies that end in free-form data have no fixed end, so cutting one short is still valid.
FIXED_END = [
    m
    for m in MESSAGES
    if not isinstance(m, (sftp.Init, sftp.Version, sftp.ExtendedReply, sftp.Extended))
]


@pytest.mark.parametrize("message", FIXED_END, ids=lambda m: type(m).__name__)
def test_truncated_body_is_bad_message(message: sftp.Message) -> None:
    """A body cut short is SFTPBadMessage carrying the request id when one was read."""
    body = encodePacket(message)[4:]
    with pytest.raises(SFTPBadMessage) as info:
        decodeMessage(body[:-1])
    assert info.value.requestID == getattr(message, "requestID", None)


def test_symlink_uses_openssh_order() -> None:
    """SYMLINK puts the target first, as OpenSSH does (the draft's reverse)."""
    body = encodePacket(sftp.SymLink(1, b"tgt", b"lnk"))[4:]
    assert body == b"\x14" + b"\0\0\0\x01" + b"\0\0\0\x03tgt" + b"\0\0\0\x03lnk"


def test_attrs_wire_layout() -> None:
    """ATTRS fields follow their flags in the draft's order."""
    attrs = FileAttributes(size=1, uid=2, gid=3, permissions=4, atime=5, mtime=6)
    assert attrs.encode() == struct.pack(">IQIIIII", 0x0F, 1, 2, 3, 4, 5, 6)
    assert FileAttributes().encode() == b"\0\0\0\0"


def test_status_without_message() -> None:
    """A STATUS carrying only its code (old servers) decodes with an empty message."""
    body = bytes([FXP.STATUS]) + struct.pack(">II", 9, FX.EOF)
    assert decodeMessage(body) == sftp.Status(9, FX.EOF)


def test_unknown_packet_type() -> None:
    """An unknown type decodes to UnknownPacket with its request id, and round-trips."""
    message = decodeMessage(b"\x7f\0\0\0\x05rest")
    assert message == sftp.UnknownPacket(0x7F, 5, b"rest")
    assert encodePacket(message)[4:] == b"\x7f\0\0\0\x05rest"


def test_packet_without_request_id() -> None:
    """A request too short to hold its id is SFTPBadMessage with no id."""
    with pytest.raises(SFTPBadMessage) as info:
        decodeMessage(b"\x03\0\0")
    assert info.value.requestID is None
    assert isinstance(info.value, RemoteProtocolError)


def test_trailing_bytes_refused() -> None:
    """Bytes after a complete body are a bad message."""
    body = encodePacket(sftp.Remove(4, b"x"))[4:] + b"!"
    with pytest.raises(SFTPBadMessage, match="REMOVE"):
        decodeMessage(body)


def test_huge_counts_refused_without_allocating() -> None:
    """A NAME or ATTRS count larger than the packet is refused up front."""
    with pytest.raises(SFTPBadMessage, match="count"):
        decodeMessage(bytes([FXP.NAME]) + struct.pack(">II", 1, 0xFFFFFFFF))
    attrs = struct.pack(">II", 0x80000000, 0xFFFFFFFF)
    with pytest.raises(SFTPBadMessage, match="extended"):
        decodeMessage(bytes([FXP.ATTRS]) + struct.pack(">I", 1) + attrs)


def test_empty_packet_refused() -> None:
    """A zero-length packet is a protocol error."""
    reader = SFTPPacketReader()
    reader.receiveData(b"\0\0\0\0")
    with pytest.raises(SFTPProtocolError):
        reader.nextMessage()


def test_oversized_packet_refused_before_buffering() -> None:
    """A length over the limit is refused as soon as the length is read."""
    reader = SFTPPacketReader()
    reader.receiveData(struct.pack(">I", sftp.MAX_PACKET_LENGTH + 1))
    with pytest.raises(SFTPProtocolError, match="length"):
        reader.nextMessage()
    biggest = sftp.Data(1, b"x" * (256 * 1024))
    reader = SFTPPacketReader()
    reader.receiveData(encodePacket(biggest))
    assert reader.nextMessage() == biggest


def test_reader_survives_bad_message() -> None:
    """After a malformed packet the next packet still decodes."""
    reader = SFTPPacketReader()
    bad = b"\0\0\0\x06" + bytes([FXP.REMOVE]) + b"\0\0\0\x01\0"
    reader.receiveData(bad + encodePacket(sftp.Remove(2, b"ok")))
    with pytest.raises(SFTPBadMessage):
        reader.nextMessage()
    assert reader.nextMessage() == sftp.Remove(2, b"ok")
    assert reader.nextMessage() is None
    assert reader.bufferedBytes() == 0


def test_extension_replies() -> None:
    """statvfs and limits reply bodies round-trip; a wrong length is refused."""
    vfs = sftp.StatVFSReply(4096, 4096, 100, 50, 40, 1000, 900, 900, 7, 1, 255)
    assert sftp.StatVFSReply.decode(vfs.encode()) == vfs
    limits = sftp.LimitsReply(262144 + 1024, 262144, 262144, 512)
    assert sftp.LimitsReply.decode(limits.encode()) == limits
    with pytest.raises(SFTPBadMessage):
        sftp.LimitsReply.decode(b"\0" * 31)
    with pytest.raises(SFTPBadMessage):
        sftp.StatVFSReply.decode(b"")


def test_longname_like_ls() -> None:
    """formatLongname reads as an ``ls -l`` line ending in the file name."""
    attrs = FileAttributes(size=1234, uid=0, gid=0, permissions=0o100640, mtime=0)
    line = sftp.formatLongname(b"file.txt", attrs, owner="root", group="wheel", links=2)
    text = line.decode()
    assert text.startswith("-rw-r----- ")
    fields = text.split()
    assert fields[1:5] == ["2", "root", "wheel", "1234"]
    assert fields[-1] == "file.txt"
    directory = sftp.formatLongname(b"d", FileAttributes(permissions=0o040755))
    assert directory.startswith(b"drwxr-xr-x")


def test_extensions_dict() -> None:
    """Extension pairs become a dict."""
    assert sftp.extensionsDict(((b"a", b"1"), (b"b", b"2"))) == {b"a": b"1", b"b": b"2"}


_names = st.binary(max_size=40)
_attrs = st.builds(
    FileAttributes,
    size=st.none() | st.integers(0, 2**64 - 1),
    uid=st.none(),
    gid=st.none(),
    permissions=st.none() | st.integers(0, 2**32 - 1),
    atime=st.none(),
    mtime=st.none(),
    extended=st.lists(st.tuples(_names, _names), max_size=3).map(tuple),
)
_messages = st.one_of(
    st.builds(sftp.Write, st.integers(0, 2**32 - 1), _names, st.integers(0, 2**64 - 1), _names),
    st.builds(
        sftp.Read,
        st.integers(0, 2**32 - 1),
        _names,
        st.integers(0, 2**64 - 1),
        st.integers(0, 2**32 - 1),
    ),
    st.builds(sftp.Open, st.integers(0, 2**32 - 1), _names, st.integers(0, 63), _attrs),
    st.builds(sftp.Data, st.integers(0, 2**32 - 1), st.binary(max_size=300)),
    st.builds(sftp.Attrs, st.integers(0, 2**32 - 1), _attrs),
    st.builds(
        sftp.Name,
        st.integers(0, 2**32 - 1),
        st.lists(st.builds(NameEntry, _names, _names, _attrs), max_size=3).map(tuple),
    ),
    st.builds(sftp.SymLink, st.integers(0, 2**32 - 1), _names, _names),
    st.sampled_from(MESSAGES),
)


@settings(deadline=None)  # timing on 2 shared cores is not what is under test
@given(st.lists(_messages, max_size=8), st.lists(st.integers(1, 64), min_size=1, max_size=20))
def test_framing_any_chunking(messages: list[sftp.Message], cuts: list[int]) -> None:
    """Messages fed in any chunking come out whole and in order."""
    stream = b"".join(encodePacket(m) for m in messages)
    reader = SFTPPacketReader()
    out: list[sftp.Message] = []
    pos = 0
    i = 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        i += 1
        reader.receiveData(stream[pos : pos + step])
        pos += step
        while (m := reader.nextMessage()) is not None:
            out.append(m)
    assert out == messages
    assert reader.bufferedBytes() == 0


@settings(deadline=None)
@given(st.binary(max_size=200))
def test_garbage_only_raises_protocol_errors(data: bytes) -> None:
    """Arbitrary bytes produce messages or RemoteProtocolErrors, nothing else."""
    reader = SFTPPacketReader(maxPacketLength=1000)
    reader.receiveData(data)
    for _ in range(200):
        try:
            if reader.nextMessage() is None:
                break
        except SFTPBadMessage:
            continue
        except SFTPProtocolError:
            break


def test_one_byte_at_a_time() -> None:
    """Every message in the table survives one-byte feeding."""
    stream = b"".join(encodePacket(m) for m in MESSAGES)
    reader = SFTPPacketReader()
    out = []
    for i in range(len(stream)):
        reader.receiveData(stream[i : i + 1])
        while (m := reader.nextMessage()) is not None:
            out.append(m)
    assert out == MESSAGES
