"""ThreadedSFTPFileSystem: calls go to the thread pool; each file's calls stay in order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from plait.defer import Deferred, Failure
from plait.ssh.sftp import (
    FX,
    FXF,
    FileTransferClient,
    FileTransferServer,
    SFTPError,
    ThreadedSFTPFileSystem,
    UnixSFTPFileSystem,
)
from plait.testing import IOPump, connect, failureResultOf, successResultOf


class FakeThreadPool:
    """Keeps each job until the test runs it (as a thread would, later, in any order)."""

    def __init__(self) -> None:
        self.jobs: list[
            tuple[Callable[[bool, Any], None], Callable[..., Any], tuple[Any, ...]]
        ] = []

    def callInThreadWithCallback(
        self, onResult: Callable[[bool, Any], None], f: Callable[..., Any], *args: Any
    ) -> None:
        self.jobs.append((onResult, f, args))

    def runOne(self, index: int = 0) -> None:
        onResult, f, args = self.jobs.pop(index)
        try:
            result = f(*args)
        except Exception:
            onResult(False, Failure())
        else:
            onResult(True, result)


class FakeThreadingReactor:
    """getThreadPool and callFromThread, enough for deferToThread."""

    def __init__(self) -> None:
        self.pool = FakeThreadPool()

    def getThreadPool(self) -> FakeThreadPool:
        return self.pool

    def callFromThread(self, f: Callable[..., Any], *args: Any) -> None:
        f(*args)


class Threaded:
    def __init__(self, home: Path) -> None:
        self.reactor = FakeThreadingReactor()
        fs = ThreadedSFTPFileSystem(UnixSFTPFileSystem(home=home), self.reactor)
        self.server = FileTransferServer(fs)
        self.client = FileTransferClient()
        self.pump: IOPump = connect(self.server, self.client)

    def settle(self) -> None:
        for _ in range(1000):
            self.pump.flush()
            if not self.reactor.pool.jobs:
                return
            self.reactor.pool.runOne()
        raise AssertionError("jobs keep coming")

    def run(self, d: Deferred[Any]) -> Any:
        self.settle()
        return successResultOf(d)

    def close(self) -> None:
        self.client.transport.loseConnection()  # type: ignore[union-attr]
        self.settle()


def test_operations_run_in_the_pool(tmp_path: Path) -> None:
    """Path operations wait for the pool; results and errors come back as usual."""
    t = Threaded(tmp_path)
    d = t.client.makeDirectory(b"d")
    t.pump.flush()
    assert len(t.reactor.pool.jobs) == 1 and not (tmp_path / "d").exists()
    t.run(d)
    assert (tmp_path / "d").is_dir()
    missing = t.client.getAttrs(b"missing")
    t.settle()
    assert failureResultOf(missing, SFTPError).value.code == FX.NO_SUCH_FILE
    (tmp_path / "d" / "x").write_bytes(b"")
    names = sorted(e.filename for e in t.run(t.client.listDirectory(b"d")))
    assert names == [b".", b"..", b"x"]
    t.run(t.client.posixRename(b"d/x", b"d/y"))
    assert (tmp_path / "d" / "y").exists()
    assert b"copy-data" not in t.client.serverExtensions
    t.close()


def test_each_file_in_order(tmp_path: Path) -> None:
    """A file's WRITE, then CLOSE: the close is not handed to a thread before the write ends."""
    t = Threaded(tmp_path)
    f = t.run(t.client.openFile(b"f", FXF.WRITE | FXF.CREAT))
    wrote = f.writeChunk(0, b"data")
    closed = f.close()
    t.pump.flush()
    assert len(t.reactor.pool.jobs) == 1  # only the write: the close waits its turn
    t.reactor.pool.runOne()
    t.pump.flush()
    assert len(t.reactor.pool.jobs) == 1  # now the close
    t.run(closed)
    successResultOf(wrote)
    assert (tmp_path / "f").read_bytes() == b"data"
    f = t.run(t.client.openFile(b"f", FXF.READ))
    assert t.run(f.readChunk(0, 10)) == b"data"
    t.run(f.fsync())
    assert t.run(f.getAttrs()).size == 4
    t.run(f.close())
    t.close()
