"""spawnProcess on every backend with real children: pipes, exit codes, signals, PTYs,
extra descriptors, no descriptor leaks, no zombies, environment and working directory."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from plait.defer import Deferred, Failure
from plait.protocol import (
    ProcessDone,
    ProcessExitedAlready,
    ProcessProtocol,
    ProcessTerminated,
)
from plait.reactor import (
    IReactorProcess,
    UnexpectedErrorOutput,
    getProcessOutput,
    getProcessOutputAndValue,
    getProcessValue,
)

from ._support import childPids
from .conftest import runUntil

PY = sys.executable


class Recorder(ProcessProtocol):
    """Records every event; ``ended`` fires with the ``processEnded`` reason."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.data: dict[int, bytes] = {}
        self.exited: Failure | None = None
        # Fires with [reason]: a Deferred fired with a Failure would be an errback.
        self.ended: Deferred[list[Failure]] = Deferred()

    def connectionMade(self) -> None:
        self.events.append("connectionMade")

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.data[childFD] = self.data.get(childFD, b"") + data
        super().childDataReceived(childFD, data)

    def childConnectionLost(self, childFD: int) -> None:
        self.events.append(f"lost{childFD}")
        super().childConnectionLost(childFD)

    def processExited(self, reason: Failure) -> None:
        self.events.append("processExited")
        self.exited = reason

    def processEnded(self, reason: Failure) -> None:
        self.events.append("processEnded")
        self.ended.callback([reason])

    def out(self, fd: int = 1) -> bytes:
        return self.data.get(fd, b"")


def waitEnded(reactor: Any, proto: Recorder) -> Failure:
    """Run ``reactor`` until ``proto`` has ended; the ``processEnded`` reason."""
    [reason] = runUntil(reactor, proto.ended)
    return reason


def test_reactor_provides_process(reactor: Any) -> None:
    """Every backend is an IReactorProcess."""
    assert isinstance(reactor, IReactorProcess)


def test_cat_round_trip(reactor: Any) -> None:
    """What is written to cat comes back; closeStdin ends it with ProcessDone."""
    proto = Recorder()
    chunks = [b"hello ", b"world\n", b"x" * 300_000]  # more than a pipe holds

    def start() -> None:
        transport = reactor.spawnProcess(proto, "cat", ["cat"])
        transport.write(chunks[0])
        transport.writeSequence(chunks[1:])
        transport.closeStdin()

    reactor.callWhenRunning(start)
    reason = waitEnded(reactor, proto)
    assert proto.out() == b"".join(chunks)
    assert reason.check(ProcessDone)
    assert reason.value.exitCode == 0 and reason.value.status == 0
    assert proto.exited is not None and proto.exited.check(ProcessDone)
    assert proto.events[0] == "connectionMade"
    assert proto.events[-1] == "processEnded"
    assert sorted(e for e in proto.events if e.startswith("lost")) == ["lost0", "lost1", "lost2"]


def test_exit_code(reactor: Any) -> None:
    """A non-zero exit is ProcessTerminated with that exitCode and no signal."""
    proto = Recorder()
    reactor.callWhenRunning(reactor.spawnProcess, proto, "/bin/sh", ["sh", "-c", "exit 3"])
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessTerminated)
    assert reason.value.exitCode == 3 and reason.value.signal is None


def test_killed_by_signal(reactor: Any) -> None:
    """signalProcess('KILL') ends the child with ProcessTerminated(signal=9); pid is None
    after, and signalling again raises ProcessExitedAlready."""
    proto = Recorder()
    transports: list[Any] = []

    def start() -> None:
        transport = reactor.spawnProcess(proto, "sleep", ["sleep", "30"])
        transports.append(transport)
        assert isinstance(transport.pid, int)
        transport.signalProcess("KILL")

    reactor.callWhenRunning(start)
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessTerminated)
    assert reason.value.signal == 9 and reason.value.exitCode is None
    transport = transports[0]
    assert transport.pid is None
    with pytest.raises(ProcessExitedAlready):
        transport.signalProcess("TERM")


def test_signal_by_number_and_name(reactor: Any) -> None:
    """signalProcess takes a number or a name with or without SIG."""
    proto = Recorder()

    def start() -> None:
        transport = reactor.spawnProcess(proto, "sleep", ["sleep", "30"])
        with pytest.raises(ValueError):
            transport.signalProcess("NOSUCHSIGNAL")
        transport.signalProcess(15)

    reactor.callWhenRunning(start)
    reason = waitEnded(reactor, proto)
    assert reason.value.signal == 15


def test_many_processes_no_zombies(reactor: Any) -> None:
    """100 children started at once all end and are all reaped."""
    protos = [Recorder() for _ in range(100)]
    before = childPids()

    def start() -> None:
        for proto in protos:
            reactor.spawnProcess(proto, "/bin/true", ["true"])

    from plait.defer import gatherResults

    reactor.callWhenRunning(start)
    reasons = [r for [r] in runUntil(reactor, gatherResults([p.ended for p in protos]))]
    assert len(reasons) == 100
    assert all(r.check(ProcessDone) for r in reasons)
    assert childPids() <= before


def test_child_exited_before_reactor_ran(reactor: Any) -> None:
    """A child that exited while the reactor was not running is reaped once it runs."""
    proto = Recorder()
    reactor.spawnProcess(proto, "/bin/true", ["true"])
    assert proto.events == ["connectionMade"]
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessDone)


PTY_CHILD = """
import os, signal, sys
winched = []
signal.signal(signal.SIGWINCH, lambda *a: winched.append(1))
print("ready", flush=True)
line = sys.stdin.readline().strip()
size = os.get_terminal_size(0)
print("got", line, size.lines, size.columns, "winch" if winched else "nowinch",
      os.isatty(0), os.getsid(0) == os.getpid(), flush=True)
"""


def test_pty_window_size(reactor: Any) -> None:
    """A PTY child is a session leader on a tty, reads a line and sees the window size
    set with setWindowSize (and gets SIGWINCH)."""
    proto = Recorder()

    def outReceived(data: bytes) -> None:
        if b"ready" in proto.out() and not sent:
            sent.append(True)
            proto.transport.setWindowSize(40, 100)  # type: ignore[union-attr]
            proto.transport.write(b"hello\n")  # type: ignore[union-attr]

    sent: list[bool] = []
    proto.outReceived = outReceived  # type: ignore[method-assign]
    reactor.callWhenRunning(
        reactor.spawnProcess, proto, PY, [PY, "-c", PTY_CHILD], env=None, usePTY=True
    )
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessDone)
    assert b"got hello 40 100 winch True True" in proto.out()
    assert proto.out().count(b"hello") == 2  # the tty echoed the line, then the child
    assert "lost1" in proto.events


def test_pty_lose_connection_hangs_up(reactor: Any) -> None:
    """loseConnection on a PTY closes the master: the child gets SIGHUP."""
    proto = Recorder()

    def outReceived(data: bytes) -> None:
        proto.transport.loseConnection()  # type: ignore[union-attr]

    proto.outReceived = outReceived  # type: ignore[method-assign]
    script = "import sys; print('up', flush=True); sys.stdin.read()"
    reactor.callWhenRunning(
        reactor.spawnProcess, proto, PY, [PY, "-c", script], env=None, usePTY=True
    )
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessTerminated)
    assert reason.value.signal == 1 or reason.value.exitCode != 0


def test_stdin_eof_propagates(reactor: Any) -> None:
    """closeStdin after a large write: the child reads everything, then sees EOF."""
    proto = Recorder()
    script = "import sys; print(len(sys.stdin.buffer.read()))"

    def start() -> None:
        transport = reactor.spawnProcess(proto, PY, [PY, "-c", script], env=None)
        transport.write(b"a" * 1_000_000)
        transport.closeStdin()

    reactor.callWhenRunning(start)
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessDone)
    assert proto.out() == b"1000000\n"


def test_extra_child_fd(reactor: Any) -> None:
    """childFDs with fd 3 'r': what the child writes there comes to childDataReceived(3)."""
    proto = Recorder()
    reactor.callWhenRunning(
        reactor.spawnProcess,
        proto,
        "/bin/sh",
        ["sh", "-c", "echo three >&3; echo one"],
        childFDs={0: "w", 1: "r", 2: "r", 3: "r"},
    )
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessDone)
    assert proto.out(3) == b"three\n" and proto.out(1) == b"one\n"
    assert "lost3" in proto.events


def test_child_fd_from_parent_and_write_to_child(reactor: Any, tmp_path: Path) -> None:
    """childFDs can hand the child a parent descriptor, and writeToChild feeds a 'w' fd."""
    target = tmp_path / "out"
    proto = Recorder()
    with open(target, "wb") as f:

        def start() -> None:
            transport = reactor.spawnProcess(
                proto,
                "/bin/sh",
                ["sh", "-c", "cat <&4 >&1"],
                childFDs={1: f.fileno(), 4: "w"},
            )
            transport.writeToChild(4, b"via four\n")
            with pytest.raises(KeyError):
                transport.writeToChild(1, b"no")
            transport.closeChildFD(4)

        reactor.callWhenRunning(start)
        reason = waitEnded(reactor, proto)
    assert reason.check(ProcessDone)
    assert target.read_bytes() == b"via four\n"


def test_unlisted_fds_closed(reactor: Any) -> None:
    """Only the mapped descriptors reach the child, even inheritable ones of ours."""
    proto = Recorder()
    r, w = os.pipe()
    leak = 57
    os.dup2(w, leak, inheritable=True)
    script = "import os; print(sorted(int(x) for x in os.listdir('/proc/self/fd')))"
    try:
        reactor.callWhenRunning(
            reactor.spawnProcess,
            proto,
            PY,
            [PY, "-c", script],
            None,
            None,
            None,
            None,
            False,
            {1: "r"},
        )
        reason = waitEnded(reactor, proto)
    finally:
        for fd in (r, w, leak):
            os.close(fd)
    assert reason.check(ProcessDone)
    fds = eval(proto.out())
    assert fds == [0, 1]  # fd 1, and listdir's own (the lowest free number)


@pytest.mark.parametrize("how", ["posix_spawn", "cwd", "fork"])
def test_no_fd_leak(reactor: Any, how: str, tmp_path: Path) -> None:
    """The child sees exactly 0, 1, 2 (plus its own listing fd), through posix_spawn, through
    the spawner used with a working directory, and through the fork fallback (a uid)."""
    proto = Recorder()
    null = os.open(os.devnull, os.O_RDONLY)
    leak = 57
    os.dup2(null, leak, inheritable=True)
    os.close(null)
    script = "import os; print(sorted(int(x) for x in os.listdir('/proc/self/fd')))"
    try:
        reactor.callWhenRunning(
            reactor.spawnProcess,
            proto,
            PY,
            [PY, "-c", script],
            env=None,
            path=str(tmp_path) if how == "cwd" else None,
            uid=os.getuid() if how == "fork" else None,
        )
        reason = waitEnded(reactor, proto)
    finally:
        os.close(leak)
    assert reason.check(ProcessDone), proto.out(2)
    fds = eval(proto.out())
    assert fds == [0, 1, 2, 3]  # 3 is listdir's own


@pytest.mark.parametrize("forked", [False, True])
def test_executable_not_found(reactor: Any, forked: bool, tmp_path: Path) -> None:
    """A missing executable is a FileNotFoundError from spawnProcess; the protocol is never
    connected."""
    proto = Recorder()
    path = str(tmp_path) if forked else None
    with pytest.raises(FileNotFoundError):
        reactor.spawnProcess(proto, "no-such-program-plait", ["x"], path=path)
    with pytest.raises(FileNotFoundError):
        reactor.spawnProcess(proto, "/nonexistent/prog", ["x"], path=path)
    assert proto.events == []


def test_not_executable_and_bad_path(reactor: Any, tmp_path: Path) -> None:
    """A non-executable file is a PermissionError; a missing working directory is a
    FileNotFoundError naming it (both from the forked child, reported to the parent)."""
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    proto = Recorder()
    before = childPids()
    with pytest.raises(PermissionError):
        reactor.spawnProcess(proto, str(script), ["x"], path=str(tmp_path))
    with pytest.raises(PermissionError):
        reactor.spawnProcess(proto, str(script), ["x"])
    with pytest.raises(FileNotFoundError) as info:
        reactor.spawnProcess(proto, "/bin/true", ["true"], path=str(tmp_path / "missing"))
    assert info.value.filename == str(tmp_path / "missing")
    assert proto.events == []
    assert childPids() <= before


def test_env_exact(reactor: Any) -> None:
    """The child's environment is exactly ``env``."""
    proto = Recorder()
    reactor.callWhenRunning(
        reactor.spawnProcess, proto, "/usr/bin/env", ["env"], env={"FOO": "bar", "X": "1"}
    )
    waitEnded(reactor, proto)
    assert sorted(proto.out().splitlines()) == [b"FOO=bar", b"X=1"]


def test_env_none_inherits(reactor: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """env=None gives the child our environment."""
    monkeypatch.setenv("PLAIT_TEST_MARKER", "inherited")
    proto = Recorder()
    reactor.callWhenRunning(reactor.spawnProcess, proto, "env", ["env"], env=None)
    waitEnded(reactor, proto)
    assert b"PLAIT_TEST_MARKER=inherited" in proto.out().splitlines()


def test_path_is_cwd(reactor: Any, tmp_path: Path) -> None:
    """``path`` is the child's working directory."""
    proto = Recorder()
    reactor.callWhenRunning(
        reactor.spawnProcess, proto, "/bin/sh", ["sh", "-c", "pwd -P"], path=str(tmp_path)
    )
    waitEnded(reactor, proto)
    assert proto.out().strip() == str(tmp_path.resolve()).encode()


def test_sigpipe_default_in_child(reactor: Any) -> None:
    """The child gets SIGPIPE back at its default action (Python ignores it)."""
    proto = Recorder()
    reactor.callWhenRunning(
        reactor.spawnProcess, proto, "/bin/sh", ["sh", "-c", "grep SigIgn /proc/$$/status"]
    )
    waitEnded(reactor, proto)
    mask = int(proto.out().split()[1], 16)
    assert not mask & (1 << (signal.SIGPIPE - 1))


def test_lose_connection_closes_pipes(reactor: Any) -> None:
    """loseConnection closes stdin, stdout and stderr; cat then ends."""
    proto = Recorder()

    def start() -> None:
        transport = reactor.spawnProcess(proto, "cat", ["cat"])
        transport.loseConnection()

    reactor.callWhenRunning(start)
    reason = waitEnded(reactor, proto)
    assert reason.check(ProcessDone)
    assert {"lost0", "lost1", "lost2"} <= set(proto.events)


def test_process_exited_before_pipes_closed(reactor: Any) -> None:
    """processEnded waits for a grandchild still holding stdout; processExited does not."""
    proto = Recorder()
    order: list[str] = []

    def processExited(reason: Failure) -> None:
        order.append("late" if b"late" in proto.out() else "not yet")

    proto.processExited = processExited  # type: ignore[method-assign]
    reactor.callWhenRunning(
        reactor.spawnProcess,
        proto,
        "/bin/sh",
        ["sh", "-c", "(sleep 0.3; echo late) & echo early"],
    )
    waitEnded(reactor, proto)
    assert order == ["not yet"]
    assert proto.out() == b"early\nlate\n"


def test_get_process_output(reactor: Any) -> None:
    """getProcessOutput gives stdout; args come after the program name."""
    d = getProcessOutput(reactor, "/bin/echo", ["a", "b"])
    assert runUntil(reactor, d) == b"a b\n"


def test_get_process_output_stderr(reactor: Any) -> None:
    """Output on stderr fails getProcessOutput with UnexpectedErrorOutput."""
    d = getProcessOutput(reactor, "/bin/sh", ["-c", "echo oops >&2"])
    with pytest.raises(UnexpectedErrorOutput) as info:
        runUntil(reactor, d)
    assert b"oops" in str(info.value).encode()


def test_get_process_output_errortoo(reactor: Any) -> None:
    """errortoo mixes stderr into the output."""
    d = getProcessOutput(reactor, "/bin/sh", ["-c", "echo out; echo err >&2"], errortoo=True)
    assert sorted(runUntil(reactor, d).splitlines()) == [b"err", b"out"]


def test_get_process_value(reactor: Any) -> None:
    """getProcessValue gives the exit code."""
    assert runUntil(reactor, getProcessValue(reactor, "/bin/sh", ["-c", "exit 7"])) == 7


def test_get_process_output_and_value(reactor: Any, tmp_path: Path) -> None:
    """getProcessOutputAndValue gives (out, err, code), honouring env and path."""
    d = getProcessOutputAndValue(
        reactor,
        "/bin/sh",
        ["-c", 'echo "$V"; pwd -P >&2; exit 2'],
        env={"V": "val"},
        path=str(tmp_path),
    )
    out, err, code = runUntil(reactor, d)
    assert (out, err.strip(), code) == (b"val\n", str(tmp_path.resolve()).encode(), 2)


def test_get_process_output_and_value_signal(reactor: Any) -> None:
    """A child killed by a signal fails getProcessOutputAndValue with ProcessTerminated."""
    d = getProcessOutputAndValue(reactor, "/bin/sh", ["-c", "kill -9 $$"])
    with pytest.raises(ProcessTerminated) as info:
        runUntil(reactor, d)
    assert info.value.signal == 9


def test_get_process_output_not_found(reactor: Any) -> None:
    """A missing program fails the Deferred with FileNotFoundError."""
    d = getProcessValue(reactor, "no-such-program-plait")
    with pytest.raises(FileNotFoundError):
        runUntil(reactor, d)
