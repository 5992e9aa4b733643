"""SSHReader: RFC 4251 reads round-trip with SSHWriter; every short read is a protocol error."""

from __future__ import annotations

import pytest

from plait.wire.ssh.types import DisconnectReason, SSHDisconnectError, SSHReader, SSHWriter


def test_reads_round_trip_writer() -> None:
    """Values written by SSHWriter read back in order, and the reader ends exactly at the end."""
    data = SSHWriter(5).uint32(0xDEADBEEF).string(b"abc").string(b"").uint64(7).bytes()
    reader = SSHReader(data)
    assert reader.byte() == 5
    assert reader.uint32() == 0xDEADBEEF
    assert reader.string() == b"abc"
    assert reader.string() == b""
    assert reader.uint64() == 7
    reader.done()


def test_reader_starts_at_offset() -> None:
    """A reader built with pos reads from there."""
    reader = SSHReader(b"\xff" + SSHWriter().string(b"xy").bytes(), 1)
    assert reader.string() == b"xy"
    assert reader.remaining() == 0


@pytest.mark.parametrize(
    ("data", "read"),
    [
        (b"\x00\x00\x01", "uint32"),
        (b"", "uint32"),
        (b"\x00\x00", "string"),
        (b"\x00\x00\x00\x05abcd", "string"),
        (b"\xff\xff\xff\xff", "string"),
        (b"\x00\x00\x00\x02a", "nameList"),
        (b"\x00\x00\x00\x09\x01", "mpint"),
    ],
)
def test_short_reads_raise_protocol_error(data: bytes, read: str) -> None:
    """A read past the end raises SSHDisconnectError(PROTOCOL_ERROR) and leaves the position."""
    reader = SSHReader(data)
    with pytest.raises(SSHDisconnectError) as info:
        getattr(reader, read)()
    assert info.value.reason == DisconnectReason.PROTOCOL_ERROR
    assert reader.remaining() == len(data)
