"""Pieces of the ``plait`` command without processes: pid files, plugin discovery, systemd."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plait.app import AlreadyRunningError, PIDFile
from plait.app._cli import _pluginsIn, _workerArgv, subcommands
from plait.app._systemd import inheritedDescriptors, parseSystemdServer
from plait.testing import MemoryReactor


def test_pidfile_roundtrip(tmp_path: Path) -> None:
    """write puts this pid in the file; remove deletes it."""
    pidfile = PIDFile(str(tmp_path / "p.pid"))
    assert pidfile.read() is None
    pidfile.write()
    assert pidfile.read() == os.getpid()
    pidfile.remove()
    assert not (tmp_path / "p.pid").exists()


def test_pidfile_stale_replaced(tmp_path: Path) -> None:
    """A pid of no live process is replaced by write."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    path = tmp_path / "p.pid"
    path.write_text(f"{dead.pid}\n")
    pidfile = PIDFile(str(path))
    pidfile.write()
    assert pidfile.read() == os.getpid()


def test_pidfile_live_refused(tmp_path: Path) -> None:
    """A live pid (not ours) makes check and write raise AlreadyRunningError."""
    path = tmp_path / "p.pid"
    path.write_text(f"{os.getppid()}\n")
    pidfile = PIDFile(str(path))
    with pytest.raises(AlreadyRunningError, match="already running"):
        pidfile.write()
    assert path.read_text() == f"{os.getppid()}\n"


def test_pidfile_remove_leaves_someone_elses(tmp_path: Path) -> None:
    """remove leaves a file that another process has since rewritten."""
    path = tmp_path / "p.pid"
    pidfile = PIDFile(str(path))
    pidfile.write()
    path.write_text("1\n")
    pidfile.remove()
    assert path.read_text() == "1\n"


def test_subcommands_include_builtins() -> None:
    """echo and run are always available."""
    found = subcommands()
    assert found["echo"] == "plait.app._commands:echoCommand"
    assert found["run"] == "plait.app._commands:runCommand"


def test_plugins_parsed_from_entry_points_file(tmp_path: Path) -> None:
    """Only the plait.plugins section of an entry_points.txt is read, extras stripped."""
    path = tmp_path / "entry_points.txt"
    path.write_text(
        "[console_scripts]\nx = a:b\n\n[plait.plugins]\n# comment\nweb = pkg.mod:cmd [extra]\n"
    )
    assert _pluginsIn(str(path)) == {"web": "pkg.mod:cmd"}


def test_worker_argv_drops_master_options() -> None:
    """Workers run the same command without --workers, --daemon and --pidfile."""
    argv = ["--workers", "2", "--daemon", "--pidfile=/p", "--pidfile", "/q", "--workers=3", "echo"]
    assert _workerArgv([*argv, "--listen", "tcp:0"]) == ["echo", "--listen", "tcp:0"]


def test_inherited_descriptors_need_our_pid() -> None:
    """LISTEN_FDS counts only when LISTEN_PID is this process."""
    mine = str(os.getpid())
    assert inheritedDescriptors({"LISTEN_PID": mine, "LISTEN_FDS": "2"}) == [3, 4]
    assert inheritedDescriptors({"LISTEN_PID": "1", "LISTEN_FDS": "2"}) == []
    assert inheritedDescriptors({"LISTEN_FDS": "2"}) == []


def test_systemd_parser_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad domains, indexes and missing sockets are ValueErrors naming the problem."""
    reactor = MemoryReactor()
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    monkeypatch.setenv("LISTEN_FDS", "1")
    with pytest.raises(ValueError, match="domain"):
        parseSystemdServer(reactor, domain="IPX")
    with pytest.raises(ValueError, match="index"):
        parseSystemdServer(reactor, index="one")
    with pytest.raises(ValueError, match="no inherited socket number 1"):
        parseSystemdServer(reactor, index="1")
    endpoint = parseSystemdServer(reactor, domain="INET6", index="0")
    assert endpoint.fileno == 3
