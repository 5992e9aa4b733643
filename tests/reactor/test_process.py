"""Process internals on real children: descriptor shuffling, the fork path (cwd, uid, PTY),
the polling reaper used without pidfds, stdin producers, shutdown with a child running."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Failure
from plait.protocol import ProcessDone, ProcessProtocol, ProcessTerminated
from plait.reactor import PosixReactorBase, Process, PTYProcess, _reaper
from plait.reactor._spawn import findExecutable

from ..conformance._support import childPids
from .conftest import runReactor

PY = sys.executable


class Recorder(ProcessProtocol):
    """Collects output per descriptor; stops the reactor at processEnded."""

    def __init__(self, reactor: PosixReactorBase) -> None:
        self.reactor = reactor
        self.data: dict[int, bytes] = {}
        self.reason: Failure | None = None

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.data[childFD] = self.data.get(childFD, b"") + data

    def processEnded(self, reason: Failure) -> None:
        self.reason = reason
        self.reactor.stop()


def freeFDs(count: int) -> list[int]:
    """``count`` consecutive descriptor numbers not open here."""
    start = 40
    while True:
        numbers = list(range(start, start + count))
        if not any(os.path.exists(f"/proc/self/fd/{n}") for n in numbers):
            return numbers
        start += count


def test_swapped_parent_fds(reactor: PosixReactorBase) -> None:
    """childFDs {n: n+1, n+1: n} swaps two parent descriptors whose numbers are also
    targets."""
    four, five = freeFDs(2)
    aR, aW = os.pipe()
    bR, bW = os.pipe()
    os.dup2(aW, four)
    os.dup2(bW, five)
    os.close(aW)
    os.close(bW)
    proto = Recorder(reactor)
    try:
        reactor.callWhenRunning(
            reactor.spawnProcess,
            proto,
            PY,
            [PY, "-c", f"import os; os.write({four}, b'four\\n'); os.write({five}, b'five\\n')"],
            env=None,
            childFDs={four: five, five: four, 2: "r"},
        )
        runReactor(reactor)
    finally:
        os.close(four)
        os.close(five)
    try:
        assert os.read(aR, 100) == b"five\n"  # child fd 5 was our fd 4 (pipe a)
        assert os.read(bR, 100) == b"four\n"
    finally:
        os.close(aR)
        os.close(bR)
    assert proto.reason is not None and proto.reason.check(ProcessDone)


def test_pty_through_fork(reactor: PosixReactorBase, tmp_path: Path) -> None:
    """A PTY child started through the fork path (a cwd is given) has its controlling tty
    and its working directory."""
    proto = Recorder(reactor)
    script = "import os; print(os.isatty(0), os.getsid(0) == os.getpid(), os.getcwd())"
    transports: list[Any] = []

    def start() -> None:
        t = reactor.spawnProcess(
            proto, PY, [PY, "-c", script], env=None, path=str(tmp_path), usePTY=True
        )
        transports.append(t)

    reactor.callWhenRunning(start)
    runReactor(reactor)
    assert isinstance(transports[0], PTYProcess)
    assert proto.data[1].strip() == f"True True {tmp_path}".encode()
    assert transports[0].status == 0 and transports[0].pid is None


def test_pty_with_child_fds_refused(reactor: PosixReactorBase) -> None:
    """usePTY and childFDs cannot be combined."""
    with pytest.raises(ValueError):
        reactor.spawnProcess(Recorder(reactor), "/bin/true", usePTY=True, childFDs={0: "w"})


def test_bad_child_fd_spec(reactor: PosixReactorBase) -> None:
    """A childFDs value that is not 'r', 'w' or an int is a ValueError; nothing leaks."""
    before = sorted(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError):
        reactor.spawnProcess(Recorder(reactor), "/bin/true", childFDs={0: "w", 1: "x"})
    assert sorted(os.listdir("/proc/self/fd")) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_uid_gid(reactor: PosixReactorBase) -> None:
    """uid and gid are switched to in the child (and its groups reset)."""
    proto = Recorder(reactor)
    reactor.callWhenRunning(
        reactor.spawnProcess,
        proto,
        "/bin/sh",
        ["sh", "-c", "echo $(id -u) $(id -g)"],
        uid=65534,
        gid=65534,
    )
    runReactor(reactor)
    assert proto.data[1] == b"65534 65534\n"


def test_polling_reaper(reactor: PosixReactorBase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pidfds the reactor's children are reaped by polling, several at once."""
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    protos = [Recorder(reactor) for _ in range(5)]
    ended: list[Failure] = []
    before = childPids()

    def processEnded(reason: Failure) -> None:
        ended.append(reason)
        if len(ended) == 5:
            reactor.stop()

    for i, proto in enumerate(protos):
        proto.processEnded = processEnded  # type: ignore[method-assign]
        reactor.callWhenRunning(reactor.spawnProcess, proto, "/bin/sh", ["sh", "-c", f"exit {i}"])
    runReactor(reactor)
    codes = sorted(getattr(r.value, "exitCode", None) for r in ended)
    assert codes == [0, 1, 2, 3, 4]
    assert not reactor._processReaper.children  # type: ignore[attr-defined]
    assert childPids() <= before


def test_reaped_elsewhere(reactor: PosixReactorBase) -> None:
    """A child someone else reaped ends with ProcessTerminated of unknown status."""
    proto = Recorder(reactor)

    def start() -> None:
        t = reactor.spawnProcess(proto, "/bin/true", ["true"])
        assert t.pid is not None
        os.waitpid(t.pid, 0)  # stolen

    reactor.callWhenRunning(start)
    runReactor(reactor)
    assert proto.reason is not None and proto.reason.check(ProcessTerminated)
    assert proto.reason.value.status is None
    assert _reaper._tryReap(1 << 22) == (True, None)  # not our child at all


class CountingProducer:
    """A push producer writing 64 KiB per resume until it has written ``total``."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0
        self.paused = 0
        self.transport: Any = None

    def pauseProducing(self) -> None:
        self.paused += 1

    def resumeProducing(self) -> None:
        while self.sent < self.total:
            self.sent += 65536
            self.transport.write(b"p" * 65536)
            if self.transport.pipes[0].producerPaused:
                return
        self.transport.unregisterProducer()
        self.transport.closeStdin()

    def stopProducing(self) -> None:
        pass


def test_stdin_producer(reactor: PosixReactorBase) -> None:
    """A producer on the child's stdin is paused by a full pipe and resumed as it drains."""
    proto = Recorder(reactor)
    producer = CountingProducer(4 << 20)
    script = "import sys; print(len(sys.stdin.buffer.read()))"

    def start() -> None:
        t = reactor.spawnProcess(proto, PY, [PY, "-c", script], env=None)
        assert isinstance(t, Process)
        producer.transport = t
        t.registerProducer(producer, True)
        producer.resumeProducing()

    reactor.callWhenRunning(start)
    runReactor(reactor, timeout=10)
    assert proto.data[1] == b"%d\n" % (4 << 20)
    assert producer.paused >= 1


def test_shutdown_with_child_running(reactor: PosixReactorBase) -> None:
    """Stopping the reactor with a child running loses its pipes without error; the child
    is left alone (as in Twisted) and can be reaped afterwards."""
    proto = Recorder(reactor)
    lost: list[int] = []
    proto.childConnectionLost = lost.append  # type: ignore[method-assign]
    transports: list[Any] = []

    def start() -> None:
        transports.append(reactor.spawnProcess(proto, "sleep", ["sleep", "30"]))
        reactor.callLater(0.05, reactor.stop)

    reactor.callWhenRunning(start)
    runReactor(reactor)
    pid = transports[0].pid
    assert pid is not None and sorted(lost) == [0, 1, 2]
    os.kill(pid, signal.SIGKILL)
    assert os.waitpid(pid, 0)[0] == pid


def test_find_executable(tmp_path: Path) -> None:
    """Lookup uses the child's PATH when it has one, else ours; a slash means as given."""
    prog = tmp_path / "myprog"
    prog.write_text("#!/bin/sh\n")
    prog.chmod(0o755)
    assert findExecutable("myprog", {b"PATH": os.fsencode(tmp_path)}) == str(prog)
    assert findExecutable("sh", {}).endswith("/sh")
    assert findExecutable("./x", {}) == "./x"
    with pytest.raises(FileNotFoundError):
        findExecutable("myprog", {b"PATH": b"/nonexistent"})
    with pytest.raises(FileNotFoundError):
        findExecutable("", {})
