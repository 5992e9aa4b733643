"""The ``plait`` command as a subprocess: serving, signals, pid files, daemon, workers, logs."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TIMEOUT = 15.0
CLI = [sys.executable, "-m", "plait.app._cli"]
LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")


class Running:
    """A ``plait`` child in its own process group; lines of its stdout arrive on a queue."""

    def __init__(self, args: list[str], prefix: list[str] = CLI, **kwargs: object) -> None:
        self.process = subprocess.Popen(
            [*prefix, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            **kwargs,  # type: ignore[call-overload]
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def waitFor(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first output line matching ``pattern`` (fails after TIMEOUT or at EOF)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no {pattern.pattern!r} in {self.seen}") from None
            if line is None:
                raise AssertionError(f"exited without {pattern.pattern!r}: {self.seen}")
            self.seen.append(line)
            m = pattern.search(line)
            if m:
                return m

    def port(self) -> int:
        """The port from the "Listening on" log line."""
        return int(self.waitFor(LISTENING).group(1))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` to the process and return its exit status."""
        self.process.send_signal(sig)
        return self.process.wait(TIMEOUT)

    def kill(self) -> None:
        """Kill the whole process group (no orphans)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(TIMEOUT)
        self.reader.join(TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def spawn() -> Iterator[list[Running]]:
    """Started ``plait`` processes, killed (by process group) after the test."""
    started: list[Running] = []
    yield started
    for r in started:
        r.kill()


def start(spawned: list[Running], *args: str, **kwargs: object) -> Running:
    r = Running(list(args), **kwargs)
    spawned.append(r)
    return r


def echoes(port: int, payload: bytes = b"hello plait") -> bool:
    """Whether an echo server on ``port`` sends ``payload`` back."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    return got == payload


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=TIMEOUT)


LISTEN = ["echo", "--listen", "tcp:0:interface=127.0.0.1"]


def test_help_lists_subcommands() -> None:
    """``plait --help`` exits 0 and lists echo and run."""
    result = run("--help")
    assert result.returncode == 0
    assert "echo" in result.stdout and "run" in result.stdout


def test_usage_errors_exit_2() -> None:
    """An unknown subcommand, a missing one and an unknown reactor are usage errors (2)."""
    assert run("nosuch").returncode == 2
    assert run().returncode == 2
    result = run("--reactor", "nope", *LISTEN)
    assert result.returncode == 2
    assert "epoll" in result.stderr or "select" in result.stderr


def test_echo_serves_and_stops_on_sigterm(spawn: list[Running]) -> None:
    """``plait echo`` serves on its logged port and exits 0 on SIGTERM."""
    r = start(spawn, *LISTEN)
    assert echoes(r.port())
    assert r.stop() == 0


def test_sigint_stops_cleanly(spawn: list[Running]) -> None:
    """SIGINT also stops with status 0, on the select reactor too."""
    r = start(spawn, "--reactor", "select", *LISTEN)
    assert echoes(r.port())
    assert r.stop(signal.SIGINT) == 0


def test_listen_failure_exits_1() -> None:
    """A port that cannot be bound is a one-line startup error with status 1."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("echo", "--listen", f"tcp:{port}:interface=127.0.0.1")
    assert result.returncode == 1
    assert "plait: error: cannot start echo" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_endpoint_exits_1() -> None:
    """A bad endpoint description is a startup error naming it."""
    result = run("echo", "--listen", "nosuchkind:1")
    assert result.returncode == 1
    assert "nosuchkind" in result.stderr


def test_json_log_format(spawn: list[Running]) -> None:
    """``--log-format json`` writes one JSON object per line."""
    r = start(spawn, "--log-format", "json", *LISTEN)
    line = r.waitFor(re.compile(r"Listening on")).string
    event = json.loads(line)
    assert event["log_namespace"] == "plait.app.service"
    assert r.stop() == 0


def test_log_file_and_level(spawn: list[Running], tmp_path: Path) -> None:
    """``--log-file`` gets the log; ``--log-level warn`` leaves out info events."""
    log = tmp_path / "plait.log"
    r = start(spawn, "--log-file", str(log), *LISTEN)
    deadline = time.monotonic() + TIMEOUT
    while "Listening on" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    port = int(LISTENING.findall(log.read_text())[0])
    assert echoes(port)
    assert r.stop() == 0
    quiet = tmp_path / "quiet.log"
    r2 = start(spawn, "--log-level", "warn", "--log-file", str(quiet), *LISTEN)
    time.sleep(0.5)
    assert r2.stop() == 0
    assert "Listening on" not in quiet.read_text()


def test_sighup_reopens_log_file(spawn: list[Running], tmp_path: Path) -> None:
    """After the log file is moved away, SIGHUP makes plait write a new one at the path."""
    log = tmp_path / "plait.log"
    r = start(spawn, "--log-file", str(log), *LISTEN)
    deadline = time.monotonic() + TIMEOUT
    while "running" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    log.rename(tmp_path / "plait.log.1")
    r.process.send_signal(signal.SIGHUP)
    while "reopened" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert r.stop() == 0


def test_pidfile_written_and_removed(spawn: list[Running], tmp_path: Path) -> None:
    """The pid file holds the server's pid while it runs and is removed at exit."""
    pidfile = tmp_path / "plait.pid"
    r = start(spawn, "--pidfile", str(pidfile), *LISTEN)
    r.port()
    assert int(pidfile.read_text()) == r.process.pid
    assert r.stop() == 0
    assert not pidfile.exists()


def test_stale_pidfile_replaced(spawn: list[Running], tmp_path: Path) -> None:
    """A pid file naming no live process is replaced."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(TIMEOUT)
    pidfile = tmp_path / "plait.pid"
    pidfile.write_text(f"{dead.pid}\n")
    r = start(spawn, "--pidfile", str(pidfile), *LISTEN)
    r.port()
    assert int(pidfile.read_text()) == r.process.pid
    assert r.stop() == 0


def test_live_pidfile_refused(tmp_path: Path) -> None:
    """A pid file naming a live process refuses to start: status 1, a clear message."""
    pidfile = tmp_path / "plait.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    result = run("--pidfile", str(pidfile), *LISTEN)
    assert result.returncode == 1
    assert "already running" in result.stderr
    assert int(pidfile.read_text()) == os.getpid()


def test_run_file(spawn: list[Running], tmp_path: Path) -> None:
    """``plait run FILE.py`` runs the file's ``application``."""
    script = tmp_path / "app.py"
    script.write_text(
        "from plait.app import Application, StreamServerEndpointService, reactor\n"
        "from plait.endpoints import serverFromString\n"
        "from plait.protocol import Factory, Protocol\n"
        "class Upper(Protocol):\n"
        "    def dataReceived(self, data):\n"
        "        self.transport.write(data.upper())\n"
        "application = Application('upper')\n"
        "StreamServerEndpointService(serverFromString(reactor, 'tcp:0:interface=127.0.0.1'),"
        " Factory.forProtocol(Upper)).setServiceParent(application)\n"
    )
    r = start(spawn, "run", str(script))
    with socket.create_connection(("127.0.0.1", r.port()), timeout=TIMEOUT) as s:
        s.sendall(b"abc")
        assert s.recv(10) == b"ABC"
    assert r.stop() == 0


def test_run_file_without_application(tmp_path: Path) -> None:
    """A file without ``application`` is a startup error (status 1)."""
    script = tmp_path / "empty.py"
    script.write_text("x = 1\n")
    result = run("run", str(script))
    assert result.returncode == 1
    assert "defines no 'application'" in result.stderr


def _waitForFile(path: Path, pattern: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while True:
        text = path.read_text() if path.exists() else ""
        if re.search(pattern, text):
            return text
        assert time.monotonic() < deadline, f"no {pattern!r} in {path}: {text!r}"
        time.sleep(0.05)


def test_daemon(tmp_path: Path) -> None:
    """``--daemon`` detaches; the pid file holds the daemon's pid and it serves."""
    pidfile = tmp_path / "plait.pid"
    log = tmp_path / "plait.log"
    result = run("--daemon", "--pidfile", str(pidfile), "--log-file", str(log), *LISTEN)
    assert result.returncode == 0
    text = _waitForFile(log, r"Listening on 127\.0\.0\.1:\d+")
    pid = int(_waitForFile(pidfile, r"\d+"))
    try:
        assert echoes(int(LISTENING.findall(text)[0]))
        # A new session, but not its leader (the double fork), so no terminal can return.
        assert os.getsid(pid) not in (os.getsid(0), pid)
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            assert "Umask:\t0077" in status.read_text()
            assert os.readlink(f"/proc/{pid}/cwd") == "/"
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + TIMEOUT
    while pidfile.exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)


WORKER = re.compile(r"worker (\d+) started \(pid (\d+)\)")


def test_workers_share_port_and_restart(spawn: list[Running]) -> None:
    """``--workers 2`` serves one port from two workers; a killed worker is replaced."""
    r = start(spawn, "--workers", "2", *LISTEN)
    pids = {}
    for _ in range(2):
        m = r.waitFor(WORKER)
        pids[int(m.group(1))] = int(m.group(2))
    port = r.port()
    assert set(pids) == {0, 1}
    for _ in range(10):
        assert echoes(port)
    os.kill(pids[0], signal.SIGKILL)
    m = r.waitFor(WORKER)
    assert int(m.group(1)) == 0 and int(m.group(2)) != pids[0]
    for _ in range(10):
        assert echoes(port)
    assert r.stop() == 0
    for pid in (pids[1], int(m.group(2))):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_systemd_socket_activation(spawn: list[Running]) -> None:
    """``systemd:domain=INET:index=0`` adopts descriptor 3 when LISTEN_PID is this process."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    shim = (
        "import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ['LISTEN_FDS'] = '1';"
        "os.environ['LISTEN_PID'] = str(os.getpid());"
        "os.execv(sys.executable, [sys.executable, '-m', 'plait.app._cli', 'echo',"
        " '--listen', 'systemd:domain=INET:index=0'])"
    )
    r = Running(
        ["-c", shim, str(listener.fileno())], prefix=[sys.executable], pass_fds=[listener.fileno()]
    )
    spawn.append(r)
    listener.close()
    r.waitFor(re.compile("running"))
    assert echoes(port)
    assert r.stop() == 0


def test_systemd_without_sockets_exits_1() -> None:
    """A systemd endpoint with no inherited sockets is a startup error."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    result = subprocess.run(
        [*CLI, "echo", "--listen", "systemd:domain=INET:index=0"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )
    assert result.returncode == 1
    assert "LISTEN_FDS" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
def test_uid_gid_drop_after_binding(spawn: list[Running]) -> None:
    """As root, ``--uid/--gid`` bind first, then run as that user and group."""
    r = start(spawn, "--uid", "65534", "--gid", "65534", *LISTEN)
    port = r.port()
    r.waitFor(re.compile("running"))
    status = Path(f"/proc/{r.process.pid}/status").read_text()
    assert re.search(r"^Uid:\s+65534\s+65534", status, re.M)
    assert re.search(r"^Gid:\s+65534\s+65534", status, re.M)
    assert echoes(port)
    assert r.stop() == 0


def test_graceful_stop_drains_until_deadline(spawn: list[Running]) -> None:
    """On SIGTERM listening stops at once; an open connection is served until the deadline."""
    r = start(spawn, "--shutdown-timeout", "1", *LISTEN)
    port = r.port()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        began = time.monotonic()
        r.process.send_signal(signal.SIGTERM)
        r.waitFor(re.compile("Stopping factory"))  # the port is closed
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
        s.sendall(b"y")
        assert s.recv(1) == b"y"
        r.waitFor(re.compile(r"dropping 1 open connections"))
        assert s.recv(1) == b""
        assert r.process.wait(TIMEOUT) == 0
        assert time.monotonic() - began >= 0.9


def test_workers_pass_on_sighup(spawn: list[Running], tmp_path: Path) -> None:
    """SIGHUP to the master makes it and every worker reopen the log file."""
    log = tmp_path / "plait.log"
    r = start(spawn, "--workers", "2", "--log-file", str(log), *LISTEN)
    text = _waitForFile(log, r"(?s)running.*running")
    assert echoes(int(LISTENING.findall(text)[0]))
    log.rename(tmp_path / "plait.log.1")
    r.process.send_signal(signal.SIGHUP)
    _waitForFile(log, r"(?s)reopened.*reopened")
    assert r.stop() == 0


def test_daemon_startup_error_reported(tmp_path: Path) -> None:
    """With ``--daemon`` a startup error still reaches the caller: status 1 and the message."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        pidfile = tmp_path / "plait.pid"
        result = run(
            "--daemon",
            "--pidfile",
            str(pidfile),
            "echo",
            "--listen",
            f"tcp:{port}:interface=127.0.0.1",
        )
    assert result.returncode == 1
    assert "plait: error: cannot start echo" in result.stderr
    assert not pidfile.exists()
