"""DB-API pool rows: ``SELECT 1`` round trips through plait.db vs Twisted's adbapi.

Each implementation runs its epoll reactor once per process and takes every sample inside
that run (the first round warms up and is dropped). A round issues ``runQuery("SELECT 1")``
from N callers (1 = sequential: the next query starts when the previous result arrived; 8 =
eight such chains at once) for ``ctx.seconds`` and counts completed queries. Both pools use
cp_min=3, cp_max=5. SQLite uses a file database; PostgreSQL a private cluster that each
measuring process makes (initdb in a temporary directory, pg_ctl start, and stop -m fast at the
end) on 127.0.0.1 and a free port, or the PG rows say why they are not available (Debian
package ``postgresql``; psycopg in the benchmark venv).

Where the time goes (plait, sequential, SQLite): the DB-API call (cursor, execute, fetchall,
close, commit) is ~1-2 us and creating and firing the Deferred ~1-2 us; the rest of a ~20 us
round trip is the two thread hand-offs (queue put waking a pool thread, callFromThread waking
the reactor) with their GIL switches. On PostgreSQL each runQuery is three server round trips
(BEGIN, SELECT, COMMIT; ~70 us from one thread here), and the server shares the 2 CPUs.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import Context, Impl, Measure, Row, Target, Unavailable
from ._micro import OPS_PER_CPU_SECOND

_SQL = "SELECT 1"


def _asPostgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def _postgres(ctx: Context) -> Iterator[dict[str, Any]]:
    """A running PostgreSQL cluster; yields psycopg.connect keyword arguments."""
    try:
        import psycopg  # noqa: F401
    except ImportError as e:
        raise Unavailable(f"psycopg not in the benchmark venv ({e}): pip install psycopg[binary]")
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        raise Unavailable("no PostgreSQL server binaries (Debian package: postgresql)")
    bindir = os.path.dirname(initdbs[-1])
    base = Path(tempfile.mkdtemp(prefix="plait-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data = base / "data"
    subprocess.run(
        [*_asPostgres(), f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctl = [*_asPostgres(), f"{bindir}/pg_ctl", "-D", str(data), "-w"]
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [*ctl, "-o", opts, "-l", str(base / "log"), "start"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield {"host": "127.0.0.1", "port": port, "user": "postgres", "dbname": "postgres"}
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def _sqlite(ctx: Context) -> Iterator[dict[str, Any]]:
    base = Path(tempfile.mkdtemp(prefix="plait-bench-sqlite-"))
    try:
        yield {"database": str(base / "bench.db")}
    finally:
        shutil.rmtree(base, ignore_errors=True)


_BACKENDS = {"sqlite": ("sqlite3", _sqlite), "pg": ("psycopg", _postgres)}


def _plaitSetup(module: str, connkw: dict[str, Any]) -> tuple[Any, Any]:
    try:
        from plait.db import ConnectionPool
        from plait.reactor import EPollReactor
    except ImportError as e:
        raise Unavailable(f"plait.db: {e}") from e
    reactor = EPollReactor()
    pool = ConnectionPool(module, cp_min=3, cp_max=5, reactor=reactor, **connkw)
    return reactor, pool


def _twistedSetup(module: str, connkw: dict[str, Any]) -> tuple[Any, Any]:
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.enterprise import adbapi
    from twisted.internet import reactor

    if module == "sqlite3":
        connkw = {**connkw, "check_same_thread": False}  # adbapi's documented advice
    pool = adbapi.ConnectionPool(module, cp_min=3, cp_max=5, **connkw)
    return reactor, pool


_SETUPS: dict[str, Callable[[str, dict[str, Any]], tuple[Any, Any]]] = {
    "plait": _plaitSetup,
    "twisted": _twistedSetup,
}


def _roundTrips(impl: str, backend: str, callers: int) -> Measure:
    def measure(ctx: Context) -> list[float]:
        module, cluster = _BACKENDS[backend]
        with cluster(ctx) as connkw:
            reactor, pool = _SETUPS[impl](module, connkw)
            samples: list[float] = []
            cpus: list[float] = []
            errors: list[Any] = []
            rounds = ctx.samples + 1
            state = {"n": 0, "active": 0, "end": 0.0, "start": 0.0, "cpu": 0.0}
            perf = time.perf_counter

            def issue() -> None:
                pool.runQuery(_SQL).addCallbacks(got, failed)

            def got(rows: Any) -> None:
                state["n"] += 1
                if perf() < state["end"]:
                    issue()
                    return
                state["active"] -= 1
                if state["active"] == 0:
                    elapsed = perf() - state["start"]
                    samples.append(state["n"] / elapsed)
                    cpus.append(state["n"] / (time.process_time() - state["cpu"]))
                    if len(samples) < rounds:
                        reactor.callLater(0, startRound)
                    else:
                        reactor.stop()

            def failed(f: Any) -> None:
                errors.append(f)
                if reactor.running:
                    reactor.stop()

            def startRound() -> None:
                state.update(n=0, active=callers, cpu=time.process_time())
                state["start"] = perf()
                state["end"] = state["start"] + ctx.seconds
                for _ in range(callers):
                    issue()

            reactor.callWhenRunning(startRound)
            guard = reactor.callLater(60 + rounds * ctx.seconds * 4, reactor.stop)
            reactor.run(installSignalHandlers=False)
            if guard.active():
                guard.cancel()
            if errors:
                raise RuntimeError(f"query failed: {errors[0].getErrorMessage()}")
            if len(samples) != rounds:
                raise AssertionError(f"only {len(samples)} of {rounds} rounds completed")
            for value in cpus[1:]:
                ctx.record(OPS_PER_CPU_SECOND, value)
            return samples[1:]

    return measure


def _row(backend: str, callers: int, title: str) -> Row:
    return Row(
        id=f"db.{backend}.{'seq' if callers == 1 else f'conc{callers}'}",
        title=title,
        unit="queries/s",
        impls=tuple(Impl(n, _roundTrips(n, backend, callers)) for n in _SETUPS),
        targets=(Target("twisted", 1.0, source="issue 9: not slower than adbapi"),),
        seconds=(1.0, 0.5),
        timeout=lambda ctx: 120 + ctx.samples * ctx.seconds * 3,
    )


ROWS = [
    _row("sqlite", 1, "SQLite file: sequential runQuery('SELECT 1') through the pool"),
    _row("sqlite", 8, "SQLite file: 8 concurrent runQuery('SELECT 1') callers"),
    _row("pg", 1, "PostgreSQL (loopback): sequential runQuery('SELECT 1')"),
    _row("pg", 8, "PostgreSQL (loopback): 8 concurrent runQuery('SELECT 1') callers"),
]
