"""FileTransferServer over UnixSFTPFileSystem, driven by FileTransferClient in memory."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.defer import Deferred
from plait.ssh.sftp import (
    FX,
    FXF,
    ClientFile,
    FileAttributes,
    FileTransferClient,
    FileTransferServer,
    SFTPError,
    UnixSFTPFileSystem,
    statusForException,
)
from plait.testing import (
    IOPump,
    StringTransport,
    connect,
    failureResultOf,
    successResultOf,
)
from plait.wire.ssh import sftp as w


class Session:
    """A client and a server connected in memory over a temporary directory."""

    def __init__(self, fileSystem: Any, maxOpenHandles: int = 512) -> None:
        self.server = FileTransferServer(fileSystem, maxOpenHandles=maxOpenHandles)
        self.client = FileTransferClient()
        self.pump: IOPump = connect(self.server, self.client)
        _sessions.append(self)

    def close(self) -> None:
        if self.server.connected:
            self.client.transport.loseConnection()  # type: ignore[union-attr]
            self.pump.flush()

    def run(self, d: Deferred[Any]) -> Any:
        self.pump.flush()
        return successResultOf(d)

    def fail(self, d: Deferred[Any], code: int) -> SFTPError:
        self.pump.flush()
        failure = failureResultOf(d, SFTPError)
        assert failure.value.code == code, failure.value
        return failure.value  # type: ignore[no-any-return]


_sessions: list[Session] = []


@pytest.fixture(autouse=True)
def _closeSessions() -> Iterator[None]:
    """Every session ends with its connection lost, so the server closes its handles."""
    yield
    while _sessions:
        _sessions.pop().close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def s(home: Path) -> Session:
    return Session(UnixSFTPFileSystem(home=home))


def test_version_advertises_extensions(s: Session) -> None:
    """VERSION is 3 and carries OpenSSH's extensions the file system supports."""
    extensions = successResultOf(s.client.whenReady())
    assert s.client.serverVersion == 3
    assert s.server.clientVersion == 3
    for name in (b"posix-rename@openssh.com", b"statvfs@openssh.com", b"limits@openssh.com"):
        assert name in extensions


def test_write_read_close(s: Session, home: Path) -> None:
    """A file written through a handle reads back; reading past the end is EOFError."""
    f = s.run(s.client.openFile(b"a.txt", FXF.WRITE | FXF.CREAT | FXF.TRUNC))
    s.run(f.writeChunk(0, b"hello "))
    s.run(f.writeChunk(6, b"world"))
    s.run(f.close())
    assert (home / "a.txt").read_bytes() == b"hello world"
    f = s.run(s.client.openFile(b"a.txt", FXF.READ))
    assert s.run(f.readChunk(6, 100)) == b"world"
    d = f.readChunk(11, 10)
    s.pump.flush()
    failureResultOf(d, EOFError)
    attrs = s.run(f.getAttrs())
    assert attrs.size == 11
    s.run(f.close())
    assert s.server._handles == {}


def test_open_flags(s: Session, home: Path) -> None:
    """EXCL refuses an existing file, APPEND appends, TRUNC truncates."""
    (home / "x").write_bytes(b"abc")
    s.fail(s.client.openFile(b"x", FXF.WRITE | FXF.CREAT | FXF.EXCL), FX.FAILURE)
    f = s.run(s.client.openFile(b"x", FXF.WRITE | FXF.APPEND))
    s.run(f.writeChunk(0, b"def"))
    s.run(f.close())
    assert (home / "x").read_bytes() == b"abcdef"
    f = s.run(s.client.openFile(b"x", FXF.WRITE | FXF.TRUNC))
    s.run(f.close())
    assert (home / "x").read_bytes() == b""


def test_open_missing_and_directory(s: Session, home: Path) -> None:
    """Opening a missing file is NO_SUCH_FILE; opening a directory is FAILURE."""
    s.fail(s.client.openFile(b"nope", FXF.READ), FX.NO_SUCH_FILE)
    (home / "d").mkdir()
    s.fail(s.client.openFile(b"d", FXF.READ), FX.FAILURE)
    assert s.server._handles == {}


def test_new_file_permissions(s: Session, home: Path) -> None:
    """OPEN with CREAT applies the given permissions (before the umask)."""
    attrs = FileAttributes(permissions=0o600)
    f = s.run(s.client.openFile(b"p", FXF.WRITE | FXF.CREAT, attrs))
    s.run(f.close())
    assert (home / "p").stat().st_mode & 0o777 == 0o600


def test_stat_setstat(s: Session, home: Path) -> None:
    """SETSTAT changes size, permissions and times; STAT reports them."""
    (home / "f").write_bytes(b"0123456789")
    s.run(s.client.setAttrs(b"f", FileAttributes(size=4, permissions=0o640)))
    s.run(s.client.setAttrs(b"f", FileAttributes(atime=1_000_000, mtime=2_000_000)))
    attrs = s.run(s.client.getAttrs(b"f"))
    assert attrs.size == 4
    assert attrs.permissions is not None and attrs.permissions & 0o7777 == 0o640
    assert (attrs.atime, attrs.mtime) == (1_000_000, 2_000_000)
    assert attrs.uid == os.getuid()
    s.fail(s.client.getAttrs(b"missing"), FX.NO_SUCH_FILE)


def test_fsetstat_fsync(s: Session, home: Path) -> None:
    """FSETSTAT truncates through a handle; fsync@openssh.com succeeds."""
    (home / "f").write_bytes(b"0123456789")
    f = s.run(s.client.openFile(b"f", FXF.READ | FXF.WRITE))
    s.run(f.setAttrs(FileAttributes(size=3)))
    s.run(f.fsync())
    s.run(f.close())
    assert (home / "f").read_bytes() == b"012"


def test_directories(s: Session, home: Path) -> None:
    """MKDIR, listing with ls -l longnames, RMDIR; a non-empty RMDIR fails."""
    s.run(s.client.makeDirectory(b"d", FileAttributes(permissions=0o750)))
    assert (home / "d").stat().st_mode & 0o777 == 0o750
    (home / "d" / "one").write_bytes(b"1")
    (home / "d" / "two").write_bytes(b"22")
    entries = s.run(s.client.listDirectory(b"d"))
    names = {e.filename: e for e in entries}
    assert set(names) == {b".", b"..", b"one", b"two"}
    assert names[b"two"].attrs.size == 2
    assert names[b"two"].longname.startswith(b"-rw")
    assert names[b"two"].longname.endswith(b" two")
    assert names[b"."].longname.startswith(b"d")
    s.fail(s.client.removeDirectory(b"d"), FX.FAILURE)
    s.fail(s.client.makeDirectory(b"d"), FX.FAILURE)
    s.run(s.client.removeFile(b"d/one"))
    s.run(s.client.removeFile(b"d/two"))
    s.run(s.client.removeDirectory(b"d"))
    assert not (home / "d").exists()
    s.fail(s.client.openDirectory(b"d"), FX.NO_SUCH_FILE)


def test_readdir_batches(s: Session, home: Path) -> None:
    """A large directory comes in several NAME batches, then EOF."""
    for i in range(250):
        (home / f"f{i:03}").write_bytes(b"")
    directory = s.run(s.client.openDirectory(b"."))
    sizes = []
    while batch := s.run(directory.read()):
        sizes.append(len(batch))
    assert sum(sizes) == 252 and len(sizes) == 3
    s.run(directory.close())


def test_async_iteration(s: Session, home: Path) -> None:
    """``async for`` over a ClientDirectory yields every entry."""
    from plait.defer import ensureDeferred

    (home / "z").write_bytes(b"")
    directory = s.run(s.client.openDirectory(b"."))

    async def collect() -> list[bytes]:
        return [entry.filename async for entry in directory]

    d = ensureDeferred(collect())
    for _ in range(5):
        s.pump.flush()
    assert sorted(successResultOf(d)) == [b".", b"..", b"z"]


def test_rename(s: Session, home: Path) -> None:
    """RENAME refuses to replace; posix-rename replaces."""
    (home / "a").write_bytes(b"A")
    (home / "b").write_bytes(b"B")
    s.fail(s.client.renameFile(b"a", b"b"), FX.FAILURE)
    s.run(s.client.renameFile(b"a", b"c"))
    assert (home / "c").read_bytes() == b"A"
    s.run(s.client.posixRename(b"c", b"b"))
    assert (home / "b").read_bytes() == b"A" and not (home / "c").exists()
    s.fail(s.client.renameFile(b"missing", b"z"), FX.NO_SUCH_FILE)


def test_links(s: Session, home: Path) -> None:
    """SYMLINK, READLINK, LSTAT versus STAT, hardlink@openssh.com."""
    (home / "target").write_bytes(b"data")
    s.run(s.client.makeLink(b"link", b"target"))
    assert os.readlink(home / "link") == "target"
    assert s.run(s.client.readLink(b"link")) == b"target"
    lattrs = s.run(s.client.getAttrs(b"link", followLinks=False))
    attrs = s.run(s.client.getAttrs(b"link"))
    assert lattrs.permissions is not None and (lattrs.permissions & 0o170000) == 0o120000
    assert attrs.size == 4
    s.run(s.client.makeHardLink(b"target", b"hard"))
    assert (home / "hard").stat().st_ino == (home / "target").stat().st_ino
    s.fail(s.client.readLink(b"target"), FX.FAILURE)


def test_realpath(s: Session, home: Path) -> None:
    """REALPATH is absolute and canonical; '.' is the home directory."""
    assert s.run(s.client.realPath(b".")) == os.fsencode(os.path.realpath(home))
    assert s.run(s.client.realPath(b"a/../b")) == os.fsencode(os.path.realpath(home / "b"))
    assert s.run(s.client.realPath(b"")) == os.fsencode(os.path.realpath(home))


def test_statvfs_and_limits(s: Session) -> None:
    """statvfs@openssh.com and limits@openssh.com replies decode."""
    vfs = s.run(s.client.statVFS(b"."))
    assert vfs.bsize > 0 and vfs.namemax > 0
    limits = s.run(s.client.limits())
    assert limits.maxReadLength == 256 * 1024
    assert limits.maxPacketLength == w.MAX_PACKET_LENGTH
    assert limits.maxOpenHandles == 512


def test_copy_data(s: Session, home: Path) -> None:
    """copy-data copies a range, or to the end, between two handles on the server."""
    payload = os.urandom(100_000)
    (home / "src").write_bytes(payload)
    assert b"copy-data" in s.client.serverExtensions
    source = s.run(s.client.openFile(b"src", FXF.READ))
    destination = s.run(s.client.openFile(b"dst", FXF.WRITE | FXF.CREAT))
    s.run(s.client.copyData(source, destination, readOffset=10, length=100, writeOffset=0))
    s.run(s.client.copyData(source, destination, readOffset=0, writeOffset=100))
    s.fail(s.client.copyData(source, ClientFile(s.client, b"nope")), FX.FAILURE)
    s.run(source.close())
    s.run(destination.close())
    assert (home / "dst").read_bytes() == payload[10:110] + payload


def test_unknown_extension(s: Session) -> None:
    """An extension the file system does not know is OP_UNSUPPORTED."""
    s.fail(s.client.extendedRequest(b"nope@example.com", b""), FX.OP_UNSUPPORTED)


def test_handle_limit(home: Path) -> None:
    """Opening more than maxOpenHandles fails until one is closed."""
    s = Session(UnixSFTPFileSystem(home=home), maxOpenHandles=2)
    (home / "f").write_bytes(b"")
    one = s.run(s.client.openFile(b"f", FXF.READ))
    s.run(s.client.openDirectory(b"."))
    error = s.fail(s.client.openFile(b"f", FXF.READ), FX.FAILURE)
    assert "handles" in error.message
    s.run(one.close())
    s.run(s.client.openFile(b"f", FXF.READ))


def test_invalid_handles(s: Session, home: Path) -> None:
    """Reads, closes and READDIRs on handles never issued fail cleanly."""
    from plait.ssh.sftp import ClientDirectory

    bogus = ClientFile(s.client, b"\xff\xff\xff\xff")
    s.fail(bogus.readChunk(0, 1), FX.FAILURE)
    s.fail(bogus.writeChunk(0, b"x"), FX.FAILURE)
    s.fail(bogus.getAttrs(), FX.FAILURE)
    s.fail(bogus.close(), FX.FAILURE)
    s.fail(ClientDirectory(s.client, b"\0\0\0\0").read(), FX.FAILURE)
    directory = s.run(s.client.openDirectory(b"."))
    s.fail(ClientFile(s.client, directory.handle).readChunk(0, 1), FX.FAILURE)


def test_pipelined_requests_each_answered_once(s: Session, home: Path) -> None:
    """Many requests sent before any reply each get exactly their own answer."""
    (home / "f").write_bytes(bytes(range(256)) * 40)
    f = s.run(s.client.openFile(b"f", FXF.READ))
    reads = [f.readChunk(i * 100, 100) for i in range(120)]
    stats = [s.client.getAttrs(b"f") for _ in range(10)]
    missing = s.client.getAttrs(b"missing")
    s.pump.flush()
    data = b"".join(successResultOf(d) for d in reads[:103])
    assert data == (bytes(range(256)) * 40)
    for d in reads[103:]:
        failureResultOf(d, EOFError)
    assert all(successResultOf(d).size == 10240 for d in stats)
    assert failureResultOf(missing, SFTPError).value.code == FX.NO_SUCH_FILE
    assert s.client._pending == {}


def test_streaming_20mb_both_ways(s: Session, home: Path) -> None:
    """A 20 MB file goes up with put and comes back with get, checksums equal."""
    payload = os.urandom(20 * 1024 * 1024 + 12345)
    sent = s.run(s.client.put(io.BytesIO(payload), b"big.bin"))
    assert sent == len(payload)
    assert (
        hashlib.sha256((home / "big.bin").read_bytes()).digest() == hashlib.sha256(payload).digest()
    )
    out = io.BytesIO()
    got = s.run(s.client.get(b"big.bin", out))
    assert got == len(payload)
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(payload).digest()
    assert s.server._handles == {}


def test_get_empty_and_missing(s: Session, home: Path) -> None:
    """get of an empty file copies nothing; get of a missing file fails NO_SUCH_FILE."""
    (home / "empty").write_bytes(b"")
    out = io.BytesIO()
    assert s.run(s.client.get(b"empty", out)) == 0
    s.fail(s.client.get(b"missing", out), FX.NO_SUCH_FILE)
    s.fail(s.client.put(io.BytesIO(b"x"), b"no/such/dir/f"), FX.NO_SUCH_FILE)


# -- fakes: a file system answering later, out of order, in short pieces -------------------------


class SlowFile:
    """A file whose reads answer with Deferreds the test fires, at most ``piece`` bytes."""

    def __init__(self, data: bytes, piece: int) -> None:
        self.data = data
        self.piece = piece
        self.waiting: list[tuple[Deferred[bytes], bytes]] = []
        self.closed = False

    def readChunk(self, offset: int, length: int) -> Deferred[bytes]:
        d: Deferred[bytes] = Deferred()
        self.waiting.append((d, self.data[offset : offset + min(length, self.piece)]))
        return d

    def writeChunk(self, offset: int, data: bytes) -> None:
        raise PermissionError(errno.EACCES, "read-only")

    def getAttrs(self) -> FileAttributes:
        return FileAttributes(size=len(self.data))

    def setAttrs(self, attrs: FileAttributes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True


class SlowFileSystem:
    """Serves one SlowFile for every open; everything else is unsupported."""

    def __init__(self, file: SlowFile) -> None:
        self.file = file

    def openFile(self, filename: bytes, flags: int, attrs: FileAttributes) -> SlowFile:
        return self.file

    def gotVersion(self, otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        return {b"slow@example.com": b"1"}

    def removeFile(self, filename: bytes) -> None:
        raise NotImplementedError


def _fireReversed(s: Session, f: SlowFile) -> None:
    for _ in range(1000):
        s.pump.flush()
        if not f.waiting:
            return
        batch, f.waiting = f.waiting, []
        for d, data in reversed(batch):
            d.callback(data)


def test_get_with_out_of_order_short_reads() -> None:
    """get() reassembles replies that arrive reversed and cut short."""
    payload = os.urandom(300_000)
    f = SlowFile(payload, piece=10_000)
    s = Session(SlowFileSystem(f))
    out = io.BytesIO()
    d = s.client.get(b"any", out, chunkSize=32768, maxInFlight=8)
    _fireReversed(s, f)
    assert successResultOf(d) == len(payload)
    assert out.getvalue() == payload
    assert f.closed


def test_errors_map_to_status() -> None:
    """errno and exception types become the SFTP codes OpenSSH uses."""
    assert statusForException(FileNotFoundError(errno.ENOENT, "x"))[0] == FX.NO_SUCH_FILE
    assert statusForException(PermissionError(errno.EACCES, "x"))[0] == FX.PERMISSION_DENIED
    assert statusForException(OSError(errno.EPERM, "x"))[0] == FX.PERMISSION_DENIED
    assert statusForException(OSError(errno.ENOSPC, "No space"))[1] == "No space"
    assert statusForException(EOFError())[0] == FX.EOF
    assert statusForException(NotImplementedError())[0] == FX.OP_UNSUPPORTED
    assert statusForException(SFTPError(FX.FAILURE, "why")) == (FX.FAILURE, "why")


def test_permission_denied_reaches_client() -> None:
    """A PermissionError from the file system is PERMISSION_DENIED at the client."""
    f = SlowFile(b"", 1)
    s = Session(SlowFileSystem(f))
    handle = s.run(s.client.openFile(b"x", FXF.READ))
    s.fail(handle.writeChunk(0, b"x"), FX.PERMISSION_DENIED)
    s.fail(s.client.removeFile(b"x"), FX.OP_UNSUPPORTED)


def test_connection_lost_closes_handles_and_fails_requests() -> None:
    """Losing the connection closes the server's handles and fails the client's requests."""
    f = SlowFile(b"abc", 3)
    s = Session(SlowFileSystem(f))
    handle = s.run(s.client.openFile(b"x", FXF.READ))
    d = handle.readChunk(0, 3)
    s.pump.flush()
    s.client.transport.loseConnection()  # type: ignore[union-attr]
    s.pump.flush()
    assert f.closed
    assert failureResultOf(d, SFTPError).value.code == FX.CONNECTION_LOST
    f.waiting[0][0].callback(b"abc")  # a late answer goes nowhere
    after = s.client.realPath(b".")
    assert failureResultOf(after, SFTPError).value.code == FX.NO_CONNECTION


def test_file_opened_after_connection_lost_is_closed() -> None:
    """A file whose open completes after the client left is closed, not leaked."""

    class LateFileSystem(SlowFileSystem):
        def __init__(self, file: SlowFile) -> None:
            super().__init__(file)
            self.pending: Deferred[SlowFile] = Deferred()

        def openFile(self, filename: bytes, flags: int, attrs: FileAttributes) -> Any:
            return self.pending

    f = SlowFile(b"", 1)
    fs = LateFileSystem(f)
    s = Session(fs)
    d = s.client.openFile(b"x", FXF.READ)
    s.pump.flush()
    s.close()
    failureResultOf(d, SFTPError)
    fs.pending.callback(f)
    assert f.closed
    assert s.server._handles == {}


def test_eof_waits_for_pending_answers() -> None:
    """After the client's EOF the server still answers what is pending, then closes."""
    f = SlowFile(b"abc", 3)
    server = FileTransferServer(SlowFileSystem(f))
    transport = StringTransport()
    server.makeConnection(transport)
    server.dataReceived(w.encodePacket(w.Init()) + w.encodePacket(w.Open(1, b"x", FXF.READ)))
    handle = _replies(transport)[1]
    assert isinstance(handle, w.Handle)
    server.dataReceived(w.encodePacket(w.Read(2, handle.handle, 0, 3)))
    server.readConnectionLost()
    assert not transport.disconnecting
    f.waiting[0][0].callback(b"abc")
    assert _replies(transport) == [w.Data(2, b"abc")]
    assert transport.disconnecting
    assert transport.producer is None  # unregistered, so a plait transport can finish closing


# -- raw packets ---------------------------------------------------------------------------------


def _raw(home: Path) -> tuple[FileTransferServer, StringTransport]:
    server = FileTransferServer(UnixSFTPFileSystem(home=home))
    transport = StringTransport()
    server.makeConnection(transport)
    return server, transport


def _replies(transport: StringTransport) -> list[w.Message]:
    reader = w.SFTPPacketReader()
    reader.receiveData(transport.value())
    out = []
    while (m := reader.nextMessage()) is not None:
        out.append(m)
    transport.clear()
    return out


def test_server_is_transport_producer(home: Path) -> None:
    """The server registers as a streaming producer and pauses reading when asked."""
    server, transport = _raw(home)
    assert transport.producer is server and transport.streaming
    server.pauseProducing()
    assert transport.producerState == "paused"
    server.resumeProducing()
    assert transport.producerState == "producing"


def test_bad_message_answered_and_session_continues(home: Path) -> None:
    """A malformed request gets BAD_MESSAGE with its id; the next request is served."""
    server, transport = _raw(home)
    server.dataReceived(w.encodePacket(w.Init()))
    bad = struct.pack(">IBI", 7, w.FXP.REMOVE, 42) + b"\0\0"
    server.dataReceived(bad + w.encodePacket(w.RealPath(43, b"/")))
    replies = _replies(transport)
    assert isinstance(replies[0], w.Version)
    assert replies[1] == w.Status(42, FX.BAD_MESSAGE, replies[1].message, "en")  # type: ignore[union-attr]
    assert isinstance(replies[2], w.Name) and replies[2].requestID == 43
    assert not transport.disconnecting


def test_unknown_type_is_unsupported(home: Path) -> None:
    """An unknown packet type with an id gets OP_UNSUPPORTED."""
    server, transport = _raw(home)
    server.dataReceived(w.encodePacket(w.Init()))
    server.dataReceived(struct.pack(">IBI", 5, 99, 7))
    replies = _replies(transport)
    assert isinstance(replies[1], w.Status)
    assert (replies[1].requestID, replies[1].code) == (7, FX.OP_UNSUPPORTED)


@pytest.mark.parametrize(
    "data",
    [
        w.encodePacket(w.RealPath(1, b".")),  # before INIT
        struct.pack(">I", w.MAX_PACKET_LENGTH + 1),  # too long
        b"\0\0\0\0",  # empty
    ],
    ids=["before-init", "oversized", "empty"],
)
def test_stream_errors_lose_connection(home: Path, data: bytes) -> None:
    """A request before INIT, an oversized or empty packet ends the session."""
    server, transport = _raw(home)
    server.dataReceived(data)
    assert transport.disconnecting
    server.dataReceived(w.encodePacket(w.Init()))  # nothing more is read once closing
    assert transport.value() == b""


def test_read_length_capped(home: Path) -> None:
    """A READ longer than 256 KiB is answered with at most 256 KiB."""
    (home / "big").write_bytes(b"x" * (300 * 1024))
    server, transport = _raw(home)
    server.dataReceived(w.encodePacket(w.Init()))
    server.dataReceived(w.encodePacket(w.Open(1, b"big", FXF.READ)))
    handle = _replies(transport)[1]
    assert isinstance(handle, w.Handle)
    server.dataReceived(w.encodePacket(w.Read(2, handle.handle, 0, 1 << 30)))
    (data,) = _replies(transport)
    assert isinstance(data, w.Data) and len(data.data) == 256 * 1024


_SCRIPT = [
    w.Init(),
    w.RealPath(1, b"."),
    w.MkDir(2, b"d"),
    w.Open(3, b"d/f", FXF.WRITE | FXF.CREAT),
    w.Write(4, b"\0\0\0\x01", 0, b"hello" * 50),
    w.Write(5, b"\0\0\0\x01", 250, b"!"),
    w.Close(6, b"\0\0\0\x01"),
    w.Open(7, b"d/f", FXF.READ),
    w.Read(8, b"\0\0\0\x02", 0, 1000),
    w.Read(9, b"\0\0\0\x02", 251, 10),
    w.Close(10, b"\0\0\0\x02"),
    w.Remove(11, b"nope"),
    w.Rename(12, b"d/f", b"d/g"),
    w.ReadLink(13, b"d/g"),
]


def _serveScript(chunks: list[int]) -> list[w.Message]:
    import tempfile

    stream = b"".join(w.encodePacket(m) for m in _SCRIPT)
    with tempfile.TemporaryDirectory() as tmp:
        server, transport = _raw(Path(tmp))
        pos = i = 0
        while pos < len(stream):
            step = chunks[i % len(chunks)]
            server.dataReceived(stream[pos : pos + step])
            pos += step
            i += 1
        replies = _replies(transport)
        server.connectionLost()
    return [
        w.Name(m.requestID, ()) if isinstance(m, w.Name) and m.requestID == 1 else m
        for m in replies
    ]


@settings(deadline=None, max_examples=40)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=10))
def test_requests_in_any_chunking(chunks: list[int]) -> None:
    """The server answers a request stream the same whatever its chunking."""
    assert _serveScript(chunks) == _serveScript([1 << 20])


def test_script_answers() -> None:
    """The scripted session's answers are what SFTP says they are."""
    replies = _serveScript([1 << 20])
    assert isinstance(replies[0], w.Version)
    assert [getattr(r, "requestID", None) for r in replies[1:]] == list(range(1, 14))
    assert replies[8] == w.Data(8, b"hello" * 50 + b"!")
    assert replies[9] == w.Status(9, FX.EOF, "End of file", "en")
    assert isinstance(replies[11], w.Status) and replies[11].code == FX.NO_SUCH_FILE
    assert isinstance(replies[13], w.Status) and replies[13].code == FX.FAILURE


def test_outstanding_requests_bounded() -> None:
    """Past maxOutstanding requests waiting on the file system, the server stops reading
    (the rest stay unread, the transport is paused) and resumes as answers go out."""
    f = SlowFile(b"abcdef", 1)
    server = FileTransferServer(SlowFileSystem(f), maxOutstanding=4)
    transport = StringTransport()
    server.makeConnection(transport)
    server.dataReceived(w.encodePacket(w.Init()) + w.encodePacket(w.Open(1, b"x", FXF.READ)))
    handle = _replies(transport)[1]
    assert isinstance(handle, w.Handle)
    reads = b"".join(w.encodePacket(w.Read(10 + i, handle.handle, i, 1)) for i in range(200))
    server.dataReceived(reads)
    assert len(f.waiting) == 4
    assert transport.producerState == "paused"
    server.resumeProducing()  # the write buffer drained: still too busy to read
    assert transport.producerState == "paused"
    first, f.waiting = f.waiting[0], f.waiting[1:]
    first[0].callback(first[1])
    assert len(f.waiting) == 4  # one answered, one more taken up
    answered = 1
    for _ in range(1000):
        if not f.waiting:
            break
        batch, f.waiting = f.waiting, []
        for d, data in batch:
            d.callback(data)
            answered += 1
    assert answered == 200
    replies = _replies(transport)
    assert sorted(m.requestID for m in replies) == list(range(10, 210))  # type: ignore[attr-defined]
    assert transport.producerState == "producing"


def test_opens_in_progress_count_against_the_handle_limit() -> None:
    """Opens the file system has not answered yet hold their handle slots."""
    pending: list[Deferred[SlowFile]] = []

    class LateOpens(SlowFileSystem):
        def openFile(self, filename: bytes, flags: int, attrs: FileAttributes) -> Any:
            pending.append(Deferred())
            return pending[-1]

    server = FileTransferServer(LateOpens(SlowFile(b"", 1)), maxOpenHandles=2)
    transport = StringTransport()
    server.makeConnection(transport)
    opens = b"".join(w.encodePacket(w.Open(i, b"x", FXF.READ)) for i in range(1, 6))
    server.dataReceived(w.encodePacket(w.Init()) + opens)
    assert len(pending) == 2
    refused = _replies(transport)[1:]
    assert [(m.requestID, m.code) for m in refused] == [  # type: ignore[attr-defined]
        (3, FX.FAILURE),
        (4, FX.FAILURE),
        (5, FX.FAILURE),
    ]
    for d in pending:
        d.callback(SlowFile(b"", 1))
    assert len(server._handles) == 2
    assert all(isinstance(m, w.Handle) for m in _replies(transport))


def test_copy_data_stops_at_the_source_end_as_it_was(s: Session, home: Path) -> None:
    """copy-data "to the end" of a file into itself past its end copies it once (the end
    does not run away), and a non-regular source (/dev/zero: no end) is refused."""
    (home / "f").write_bytes(b"0123456789")
    f = s.run(s.client.openFile(b"f", FXF.READ | FXF.WRITE))
    s.run(s.client.copyData(f, f, readOffset=0, writeOffset=10))
    s.run(s.client.copyData(f, f, readOffset=15, length=100, writeOffset=20))
    s.run(f.close())
    assert (home / "f").read_bytes() == b"0123456789" * 2 + b"56789"
    if os.path.exists("/dev/zero"):
        zero = s.run(s.client.openFile(b"/dev/zero", FXF.READ))
        out = s.run(s.client.openFile(b"out", FXF.WRITE | FXF.CREAT))
        s.fail(s.client.copyData(zero, out), FX.OP_UNSUPPORTED)
        assert (home / "out").read_bytes() == b""


def test_out_of_range_offsets_are_a_status_not_a_logged_failure(home: Path) -> None:
    """Offsets and sizes past 2**63-1 (valid uint64s no system call takes) get FAILURE
    "Value out of range", without an error traceback in the log for each request."""
    from plait.log import globalLogPublisher

    (home / "f").write_bytes(b"abc")
    server, transport = _raw(home)
    server.dataReceived(w.encodePacket(w.Init()) + w.encodePacket(w.Open(1, b"f", FXF.READ)))
    handle = _replies(transport)[1]
    assert isinstance(handle, w.Handle)
    failures: list[Any] = []

    def observe(event: dict[str, Any]) -> None:
        if "log_failure" in event:
            failures.append(event)

    globalLogPublisher.addObserver(observe)
    try:
        big = 2**64 - 1
        server.dataReceived(
            w.encodePacket(w.Read(2, handle.handle, big, 10))
            + w.encodePacket(w.Write(3, handle.handle, big, b"x"))
            + w.encodePacket(w.SetStat(4, b"f", FileAttributes(size=big)))
        )
    finally:
        globalLogPublisher.removeObserver(observe)
    assert [(m.requestID, m.code, m.message) for m in _replies(transport)] == [  # type: ignore[attr-defined]
        (2, FX.FAILURE, "Value out of range"),
        (3, FX.FAILURE, "Value out of range"),
        (4, FX.FAILURE, "Value out of range"),
    ]
    assert failures == []
    assert (home / "f").read_bytes() == b"abc"


def test_get_ignores_data_past_what_each_read_asked() -> None:
    """A server answering a READ with more than was asked cannot shift the download: only
    the bytes asked for at that offset are kept."""

    class Generous(SlowFile):
        def readChunk(self, offset: int, length: int) -> Deferred[bytes]:
            d: Deferred[bytes] = Deferred()
            chunk = self.data[offset : offset + length]
            extra = b"X" * 100 if len(chunk) == length else b""  # a full read, and more
            self.waiting.append((d, chunk + extra))
            return d

    payload = os.urandom(50_000)
    f = Generous(payload, piece=0)
    s = Session(SlowFileSystem(f))
    out = io.BytesIO()
    d = s.client.get(b"any", out, chunkSize=4096, maxInFlight=4)
    _fireReversed(s, f)
    assert successResultOf(d) == len(payload)
    assert out.getvalue() == payload
