"""Fixtures for plait.db: a fresh reactor, a bounded run, and a private PostgreSQL server."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from plait.defer import Deferred, Failure, ensureDeferred
from plait.reactor import reactorClassNamed

HARD_TIMEOUT = 30.0


class RunTimedOut(AssertionError):
    """The Deferred the test waited for did not fire within the hard timeout."""


def runUntil(reactor: Any, d: Deferred[Any], timeout: float = HARD_TIMEOUT) -> Any:
    """Run ``reactor`` until ``d`` fires; return its result, raise its failure, or time out."""
    outcome: list[Any] = []
    timedOut: list[bool] = []

    def done(result: object) -> None:
        outcome.append(result)
        if reactor.running:
            reactor.stop()

    def guard() -> None:
        timedOut.append(True)
        reactor.stop()

    reactor.callWhenRunning(d.addBoth, done)
    call = reactor.callLater(timeout, guard)
    reactor.run(installSignalHandlers=False)
    if call.active():
        call.cancel()
    if timedOut or not outcome:
        raise RunTimedOut(f"nothing happened within {timeout}s")
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


def runAsync(reactor: Any, main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run the coroutine function ``main`` on ``reactor`` (started) and return its result."""
    d: Deferred[Any] = Deferred()
    reactor.callWhenRunning(lambda: ensureDeferred(main()).chainDeferred(d))
    return runUntil(reactor, d)


@pytest.fixture
def reactor() -> Iterator[Any]:
    """A fresh, never-run epoll (or poll) reactor, closed after the test."""
    try:
        r = reactorClassNamed("epoll")()
    except Exception:
        r = reactorClassNamed("poll")()
    yield r
    if not r.running:
        r.close()


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster on 127.0.0.1."""

    port: int
    directory: str
    pgctl: str

    def connkw(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect``."""
        return {"host": "127.0.0.1", "port": self.port, "user": "postgres", "dbname": "postgres"}

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is terminated."""
        self._ctl("-m", "fast", "restart", *self._startOptions())

    def _startOptions(self) -> list[str]:
        opts = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        return ["-o", opts, "-l", os.path.join(self.directory, "log")]

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*_asPostgres(), self.pgctl, "-D", os.path.join(self.directory, "data"), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )


def _asPostgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def postgresSkipReason() -> str | None:
    """Why PostgreSQL tests cannot run here (None: they can)."""
    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed (pip install 'plait[postgresql]')"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "PostgreSQL server binaries absent (Debian package: postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser (initdb refuses root)"
    return None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster made with initdb in a temporary directory, stopped at the end."""
    reason = postgresSkipReason()
    if reason is not None:
        pytest.skip(reason)
    bindir = os.path.dirname(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1])
    directory = tempfile.mkdtemp(prefix="plait-pg-")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PostgresServer(_freePort(), directory, os.path.join(bindir, "pg_ctl"))
    subprocess.run(
        [
            *_asPostgres(),
            os.path.join(bindir, "initdb"),
            "-D",
            os.path.join(directory, "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server._ctl("start", *server._startOptions())
    try:
        yield server
    finally:
        try:
            server._ctl("-m", "fast", "stop")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
