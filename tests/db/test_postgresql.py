"""plait.db.ConnectionPool against a real PostgreSQL server (psycopg 3), started by the tests."""

from __future__ import annotations

import importlib
import threading
import time
from typing import Any

from plait.db import ConnectionLost, ConnectionPool, Transaction
from plait.defer import gatherResults
from plait.testing import flushLoggedErrors

from .conftest import PostgresServer, runAsync


def pgPool(reactor: Any, server: PostgresServer, **kw: Any) -> ConnectionPool:
    """A psycopg pool on the test server."""
    return ConnectionPool("psycopg", reactor=reactor, **server.connkw(), **kw)


def resetTables(server: PostgresServer) -> None:
    """Fresh tables ``t(k, v)`` and ``counter(n)``."""
    psycopg = importlib.import_module("psycopg")
    with psycopg.connect(**server.connkw(), autocommit=True) as conn:
        conn.execute("drop table if exists t, counter")
        conn.execute("create table t (k text primary key, v integer)")
        conn.execute("create table counter (n integer)")
        conn.execute("insert into counter values (0)")


def test_queryAndInteraction(reactor: Any, postgres: PostgresServer) -> None:
    """runQuery/runOperation/runInteraction work against PostgreSQL with %s parameters."""
    resetTables(postgres)
    pool = pgPool(reactor, postgres)

    def work(txn: Transaction) -> Any:
        txn.execute("insert into t values (%s, %s)", ("b", 2))
        txn.execute("select k, v from t order by k")
        return txn.fetchall()

    async def main() -> Any:
        await pool.runOperation("insert into t values (%s, %s)", ("a", 1))
        rows = await pool.runInteraction(work)
        return rows, await pool.runQuery("select version()")

    rows, version = runAsync(reactor, main)
    assert rows == [("a", 1), ("b", 2)]
    assert "PostgreSQL" in version[0][0]


def test_concurrentIsolatedAndCounted(reactor: Any, postgres: PostgresServer) -> None:
    """200 concurrent interactions read back only their own row; the counter is exactly 200."""
    resetTables(postgres)
    pool = pgPool(reactor, postgres, cp_min=3, cp_max=5)

    def mine(txn: Transaction, key: str, value: int) -> Any:
        txn.execute("insert into t values (%s, %s)", (key, value))
        txn.execute("update counter set n = n + 1")
        txn.execute("select k, v from t where k = %s", (key,))
        return txn.fetchall()

    async def main() -> Any:
        results = await gatherResults([pool.runInteraction(mine, f"k{i}", i) for i in range(200)])
        return results, await pool.runQuery("select n from counter")

    results, total = runAsync(reactor, main)
    assert results == [[(f"k{i}", i)] for i in range(200)]
    assert total == [(200,)]


def test_rollback(reactor: Any, postgres: PostgresServer) -> None:
    """An interaction raising after an insert leaves no row and fails with its exception."""
    resetTables(postgres)
    pool = pgPool(reactor, postgres)

    def failing(txn: Transaction) -> None:
        txn.execute("insert into t values ('gone', 1)")
        raise KeyError("nope")

    async def main() -> Any:
        try:
            await pool.runInteraction(failing)
        except KeyError:
            pass
        else:
            raise AssertionError("no KeyError")
        return await pool.runQuery("select count(*) from t")

    assert runAsync(reactor, main) == [(0,)]


def test_queueingWhenExhausted(reactor: Any, postgres: PostgresServer) -> None:
    """With cp_max=2, at most two pg_sleep interactions run at once."""
    pool = pgPool(reactor, postgres, cp_min=0, cp_max=2)
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def sleeper(txn: Transaction) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        txn.execute("select pg_sleep(0.02)")
        with lock:
            running[0] -= 1

    async def main() -> None:
        await gatherResults([pool.runInteraction(sleeper) for _ in range(8)])

    runAsync(reactor, main)
    assert peak[0] == 2


def test_restartWithReconnect(reactor: Any, postgres: PostgresServer) -> None:
    """After pg_ctl restart, at most one call per connection fails with ConnectionLost; then all work."""
    pool = pgPool(reactor, postgres, cp_min=1, cp_max=1, cp_reconnect=True)
    opened: list[object] = []
    pool.openfun = opened.append

    async def main() -> Any:
        assert await pool.runQuery("select 1") == [(1,)]
        postgres.restart()  # blocks the reactor thread meanwhile: fine here, nothing else runs
        outcomes: list[Any] = []
        for _ in range(3):
            try:
                outcomes.append(await pool.runQuery("select 2"))
            except ConnectionLost as e:
                outcomes.append(type(e).__name__)
        return outcomes

    outcomes = runAsync(reactor, main)
    assert outcomes in ([[(2,)]] * 3, ["ConnectionLost", [(2,)], [(2,)]])
    assert outcomes[0] == "ConnectionLost"  # the old connection was terminated by the restart
    assert len(opened) == 2


def test_restartWithoutReconnectKeepsFailing(reactor: Any, postgres: PostgresServer) -> None:
    """Without cp_reconnect the dead connection keeps failing with the DB-API's error."""
    psycopg = importlib.import_module("psycopg")
    pool = pgPool(reactor, postgres, cp_min=1, cp_max=1)

    async def main() -> Any:
        await pool.runQuery("select 1")
        postgres.restart()
        errors: list[Exception] = []
        for _ in range(2):
            try:
                await pool.runQuery("select 1")
            except psycopg.Error as e:
                errors.append(e)
        return errors

    errors = runAsync(reactor, main)
    assert len(errors) == 2
    assert all(isinstance(e, psycopg.OperationalError) for e in errors)
    assert flushLoggedErrors(psycopg.OperationalError)  # "rollback failed", logged per call


def test_shutdownClosesServerSessions(reactor: Any, postgres: PostgresServer) -> None:
    """After the reactor stops, the pool's server sessions are gone and so are its threads."""
    psycopg = importlib.import_module("psycopg")
    before = set(threading.enumerate())
    pool = pgPool(reactor, postgres, cp_min=3, cp_max=3, application_name="plait-db-test")

    async def main() -> None:
        await gatherResults([pool.runQuery("select pg_sleep(0.01)") for _ in range(6)])

    runAsync(reactor, main)
    assert [t for t in set(threading.enumerate()) - before if t.name.startswith("plait-db")] == []
    with psycopg.connect(**postgres.connkw(), autocommit=True) as conn:
        for _ in range(100):
            (count,) = conn.execute(
                "select count(*) from pg_stat_activity where application_name = 'plait-db-test'"
            ).fetchone()
            if count == 0:
                break
            time.sleep(0.02)
    assert count == 0
