"""plait.db.ConnectionPool on SQLite (a file database) and a real reactor."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from plait.db import (
    Connection,
    ConnectionLost,
    ConnectionPool,
    ConnectionPoolClosed,
    Transaction,
)
from plait.defer import Deferred, DeferredList, gatherResults

from .conftest import runAsync, runUntil


def makePool(reactor: Any, path: Path, **kw: Any) -> ConnectionPool:
    """A sqlite3 pool on ``path`` with a table ``t(k, v)`` and a counter row."""
    with sqlite3.connect(path) as setup:
        setup.execute("create table if not exists t (k text primary key, v integer)")
        setup.execute("create table if not exists counter (n integer)")
        setup.execute("insert into counter values (0)")
    setup.close()
    kw.setdefault("timeout", 30)
    return ConnectionPool("sqlite3", str(path), reactor=reactor, **kw)


def test_reactorIsRequired(tmp_path: Path) -> None:
    """Without reactor= the pool refuses to be made, saying why."""
    with pytest.raises(TypeError, match="reactor"):
        ConnectionPool("sqlite3", str(tmp_path / "db"))


def test_badSizes(reactor: Any, tmp_path: Path) -> None:
    """cp_min above cp_max is a ValueError."""
    with pytest.raises(ValueError, match="cp_min"):
        ConnectionPool("sqlite3", str(tmp_path / "db"), cp_min=4, cp_max=2, reactor=reactor)


def test_runQueryAndOperation(reactor: Any, tmp_path: Path) -> None:
    """runOperation commits and fires None; runQuery fires with fetchall()'s rows."""
    pool = makePool(reactor, tmp_path / "db")

    async def main() -> Any:
        fired: list[object] = []
        await pool.runOperation("insert into t values (?, ?)", ("a", 1)).addCallback(fired.append)
        assert fired == [None]
        await pool.runOperation("insert into t values (?, ?)", ("b", 2))
        return await pool.runQuery("select k, v from t order by k")

    assert runAsync(reactor, main) == [("a", 1), ("b", 2)]
    with sqlite3.connect(tmp_path / "db") as check:
        assert check.execute("select count(*) from t").fetchone() == (2,)
    check.close()


def test_threadsNamedAndBounded(reactor: Any, tmp_path: Path) -> None:
    """Calls run in threads named plait-db-..., never on the reactor thread, at most cp_max."""
    pool = makePool(reactor, tmp_path / "db", cp_min=1, cp_max=3)
    names: set[str] = set()

    def where(txn: Transaction) -> None:
        names.add(threading.current_thread().name)
        time.sleep(0.01)

    async def main() -> None:
        await gatherResults([pool.runInteraction(where) for _ in range(30)])

    runAsync(reactor, main)
    assert names and all(n.startswith(pool.name + "-") for n in names)
    assert pool.name.startswith("plait-db-")
    assert 1 <= len(names) <= 3


def test_concurrentInteractionsIsolated(reactor: Any, tmp_path: Path) -> None:
    """200 concurrent interactions each read back exactly their own row; counters add up."""
    pool = makePool(reactor, tmp_path / "db", cp_min=2, cp_max=5)

    def mine(txn: Transaction, key: str, value: int) -> list[Any]:
        txn.execute("insert into t values (?, ?)", (key, value))
        txn.execute("update counter set n = n + 1")
        txn.execute("select k, v from t where k = ?", (key,))
        return txn.fetchall()

    async def main() -> Any:
        results = await gatherResults([pool.runInteraction(mine, f"k{i}", i) for i in range(200)])
        total = await pool.runQuery("select n from counter")
        count = await pool.runQuery("select count(*) from t")
        return results, total, count

    results, total, count = runAsync(reactor, main)
    assert results == [[(f"k{i}", i)] for i in range(200)]
    assert total == [(200,)]
    assert count == [(200,)]


def test_rollbackOnException(reactor: Any, tmp_path: Path) -> None:
    """An interaction that raises is rolled back; the Failure carries the original exception."""
    pool = makePool(reactor, tmp_path / "db")

    class Boom(Exception):
        pass

    def failing(txn: Transaction) -> None:
        txn.execute("insert into t values ('gone', 1)")
        raise Boom("no")

    async def main() -> Any:
        try:
            await pool.runInteraction(failing)
        except Boom as e:
            caught: Any = e
        return caught, await pool.runQuery("select * from t where k = 'gone'")

    caught, rows = runAsync(reactor, main)
    assert isinstance(caught, Boom)
    assert rows == []


def test_failureTypeIsTheDBAPIs(reactor: Any, tmp_path: Path) -> None:
    """A DB-API error reaches the errback as a Failure of the module's exception class."""
    pool = makePool(reactor, tmp_path / "db")
    failures: list[Any] = []

    async def main() -> None:
        await pool.runOperation("insert into t values ('x', 1)")
        d = pool.runOperation("insert into t values ('x', 2)")
        d.addErrback(failures.append)
        await d

    runAsync(reactor, main)
    assert len(failures) == 1
    assert failures[0].check(sqlite3.IntegrityError)


def test_queueingWhenExhausted(reactor: Any, tmp_path: Path) -> None:
    """With cp_max=2 at most two blocking interactions run at once, the rest wait in order."""
    pool = makePool(reactor, tmp_path / "db", cp_min=0, cp_max=2)
    lock = threading.Lock()
    running = [0]
    peak = [0]
    order: list[int] = []

    def blocking(txn: Transaction, i: int) -> None:
        with lock:
            order.append(i)
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    async def main() -> None:
        await gatherResults([pool.runInteraction(blocking, i) for i in range(10)])

    runAsync(reactor, main)
    assert peak[0] == 2
    assert sorted(order) == list(range(10))


def test_fifoOrderSingleThread(reactor: Any, tmp_path: Path) -> None:
    """With one thread, queued calls run in the order they were made."""
    pool = makePool(reactor, tmp_path / "db", cp_min=1, cp_max=1)
    order: list[int] = []

    async def main() -> None:
        await gatherResults(
            [pool.runInteraction(lambda txn, i=i: order.append(i)) for i in range(50)]
        )

    runAsync(reactor, main)
    assert order == list(range(50))


def test_runWithConnectionCommitAndRollback(reactor: Any, tmp_path: Path) -> None:
    """runWithConnection commits after success and rolls back after an exception."""
    pool = makePool(reactor, tmp_path / "db")

    def good(conn: Connection) -> str:
        cursor = conn.cursor()
        cursor.execute("insert into t values ('kept', 1)")
        cursor.close()
        return "ok"

    def bad(conn: Connection) -> None:
        cursor = conn.cursor()
        cursor.execute("insert into t values ('dropped', 1)")
        raise ValueError("oops")

    async def main() -> Any:
        result = await pool.runWithConnection(good)
        with pytest.raises(ValueError, match="oops"):
            await pool.runWithConnection(bad)
        return result, await pool.runQuery("select k from t order by k")

    assert runAsync(reactor, main) == ("ok", [("kept",)])


def test_transactionSurface(reactor: Any, tmp_path: Path) -> None:
    """Transaction offers executemany, fetchone/fetchmany, rowcount, lastrowid, description."""
    pool = makePool(reactor, tmp_path / "db")

    def work(txn: Transaction) -> Any:
        txn.executemany("insert into t values (?, ?)", [("a", 1), ("b", 2), ("c", 3)])
        inserted = txn.rowcount
        txn.execute("insert into t values ('d', 4)")
        rowid = txn.lastrowid
        txn.execute("select k, v from t order by k")
        names = [c[0] for c in txn.description]
        first = txn.fetchone()
        two = txn.fetchmany(2)
        rest = txn.fetchall()
        return inserted, rowid, names, first, two, rest, isinstance(txn.connection, Connection)

    result = runAsync(reactor, lambda: pool.runInteraction(work))  # type: ignore[arg-type,return-value]
    assert result == (3, 4, ["k", "v"], ("a", 1), [("b", 2), ("c", 3)], [("d", 4)], True)


def test_openfunPerConnection(reactor: Any, tmp_path: Path) -> None:
    """cp_openfun runs once on each new connection, in that connection's thread."""
    pool = makePool(reactor, tmp_path / "db", cp_min=3, cp_max=3)
    opened: list[tuple[int, str]] = []
    ready = threading.Barrier(3, timeout=10)

    def openfun(conn: Any) -> None:
        opened.append((id(conn), threading.current_thread().name))
        conn.execute("pragma user_version = 7")

    pool.openfun = openfun

    def interaction(txn: Transaction) -> Any:
        ready.wait()  # make all three threads take one call each
        txn.execute("pragma user_version")
        return txn.fetchone()

    async def main() -> Any:
        first = await gatherResults([pool.runInteraction(interaction) for _ in range(3)])
        ready.reset()
        second = await gatherResults([pool.runInteraction(interaction) for _ in range(3)])
        return first + second

    assert runAsync(reactor, main) == [(7,)] * 6
    assert len(opened) == 3
    assert len({name for _, name in opened}) == 3


def test_memoryDatabaseIsPerThread(reactor: Any) -> None:
    """With ':memory:' each pool thread has its own database (the documented caveat)."""
    pool = ConnectionPool("sqlite3", ":memory:", cp_min=2, cp_max=2, reactor=reactor)
    ready = threading.Barrier(2, timeout=10)

    def create(txn: Transaction) -> None:
        ready.wait()
        txn.execute("create table m (x)")  # would fail the second time on a shared database

    async def main() -> None:
        await gatherResults([pool.runInteraction(create) for _ in range(2)])

    runAsync(reactor, main)


def test_closeWhileInFlight(reactor: Any, tmp_path: Path) -> None:
    """close() lets running and queued calls finish, closes the pool; later calls fail clearly."""
    pool = makePool(reactor, tmp_path / "db", cp_min=1, cp_max=2)
    started = threading.Event()

    def slow(txn: Transaction, i: int) -> int:
        started.set()
        time.sleep(0.05)
        txn.execute("insert into t values (?, ?)", (f"s{i}", i))
        return i

    async def main() -> Any:
        calls = [pool.runInteraction(slow, i) for i in range(5)]
        started.wait(10)
        pool.close()
        assert not [t for t in threading.enumerate() if t.name.startswith(pool.name)]
        results = await gatherResults(calls)
        late = pool.runQuery("select 1")
        try:
            await late
        except ConnectionPoolClosed as e:
            return results, str(e)
        return results, None

    results, error = runAsync(reactor, main)
    assert results == [0, 1, 2, 3, 4]
    assert error is not None and "closed" in error
    with sqlite3.connect(tmp_path / "db") as check:
        assert check.execute("select count(*) from t").fetchone() == (5,)
    check.close()


def test_poolMadeWhileRunningStartsAtOnce(reactor: Any, tmp_path: Path) -> None:
    """A pool made on a running reactor is started immediately and works."""
    pools: list[ConnectionPool] = []

    async def main() -> Any:
        pools.append(makePool(reactor, tmp_path / "db"))
        assert pools[0].running
        return await pools[0].runQuery("select 3")

    assert runAsync(reactor, main) == [(3,)]
    assert pools[0].closed  # by the reactor's shutdown


def test_callsBeforeStartRunOnceRunning(reactor: Any, tmp_path: Path) -> None:
    """Calls made before the reactor runs wait, then run when it starts the pool."""
    pool = makePool(reactor, tmp_path / "db")
    d = pool.runQuery("select 42")
    assert not pool.running
    assert runUntil(reactor, d) == [(42,)]


def test_closeBeforeStartFailsQueuedCalls(reactor: Any, tmp_path: Path) -> None:
    """Calls queued on a pool closed before it ever started fail with ConnectionPoolClosed."""
    pool = makePool(reactor, tmp_path / "db")
    failures: list[Any] = []
    pool.runQuery("select 1").addErrback(failures.append)
    pool.close()
    assert len(failures) == 1 and failures[0].check(ConnectionPoolClosed)


def test_shutdownLeavesNoThreads(reactor: Any, tmp_path: Path) -> None:
    """Stopping the reactor closes the pool: its threads are gone afterwards."""
    before = set(threading.enumerate())
    pool = makePool(reactor, tmp_path / "db", cp_min=3, cp_max=5)

    async def main() -> Any:
        await gatherResults([pool.runQuery("select 1") for _ in range(20)])
        return [t.name for t in threading.enumerate() if t.name.startswith(pool.name)]

    during = runAsync(reactor, main)
    assert len(during) >= 3
    assert pool.closed
    left = [t for t in set(threading.enumerate()) - before if t.name.startswith("plait-db")]
    assert left == []


def test_connectionErrorWithoutReconnectPassesThrough(reactor: Any, tmp_path: Path) -> None:
    """Without cp_reconnect an OperationalError reaches the caller as itself."""
    pool = makePool(reactor, tmp_path / "db", cp_reconnect=False)
    failures: list[Any] = []

    async def main() -> None:
        d = pool.runQuery("select * from missing_table")
        d.addErrback(failures.append)
        await d

    runAsync(reactor, main)
    assert failures[0].check(sqlite3.OperationalError)


def test_reconnectKeepsGoodConnection(reactor: Any, tmp_path: Path) -> None:
    """With cp_reconnect, an OperationalError on a healthy connection is not ConnectionLost."""
    pool = makePool(reactor, tmp_path / "db", cp_min=1, cp_max=1, cp_reconnect=True)
    opened: list[object] = []
    pool.openfun = opened.append

    async def main() -> None:
        with pytest.raises(sqlite3.OperationalError):
            await pool.runQuery("select * from missing_table")
        assert await pool.runQuery("select 1") == [(1,)]

    runAsync(reactor, main)
    assert len(opened) == 1


def test_reconnectAfterDeadConnection(reactor: Any, tmp_path: Path) -> None:
    """A dead connection gives ConnectionLost for that call (not retried); the next call works."""
    pool = makePool(reactor, tmp_path / "db", cp_min=1, cp_max=1, cp_reconnect=True)
    opened: list[object] = []
    pool.openfun = opened.append

    def useClosed(txn: Transaction) -> None:
        txn.connection.close()
        raise sqlite3.OperationalError("server closed the connection")

    async def main() -> Any:
        with pytest.raises(ConnectionLost):
            await pool.runInteraction(useClosed)
        return await pool.runQuery("select 5")

    assert runAsync(reactor, main) == [(5,)]
    assert len(opened) == 2


def test_awaitInCoroutine(reactor: Any, tmp_path: Path) -> None:
    """The pool's Deferreds are awaitable from async def code, results and exceptions alike."""
    pool = makePool(reactor, tmp_path / "db")

    async def main() -> Any:
        await pool.runOperation("insert into t values ('z', 26)")
        (row,) = await pool.runQuery("select v from t where k = ?", ("z",))
        try:
            await pool.runQuery("select nonsense from")
        except sqlite3.OperationalError:
            return row[0]
        return None

    assert runAsync(reactor, main) == 26


def test_deferredListOfQueries(reactor: Any, tmp_path: Path) -> None:
    """runQuery results combine with DeferredList like any Deferred."""
    pool = makePool(reactor, tmp_path / "db")
    d: Deferred[Any] = DeferredList([pool.runQuery(f"select {i}") for i in range(5)])
    result = runUntil(reactor, d)
    assert result == [(True, [(i,)]) for i in range(5)]


def test_openfunFailureFailsTheCallOnly(reactor: Any, tmp_path: Path) -> None:
    """If cp_openfun raises, that call fails with its error and the next call connects again."""
    pool = makePool(reactor, tmp_path / "db", cp_min=1, cp_max=1)
    attempts: list[object] = []

    def openfun(conn: Any) -> None:
        attempts.append(conn)
        if len(attempts) == 1:
            raise RuntimeError("setup failed")

    pool.openfun = openfun

    async def main() -> Any:
        with pytest.raises(RuntimeError, match="setup failed"):
            await pool.runQuery("select 1")
        return await pool.runQuery("select 1")

    assert runAsync(reactor, main) == [(1,)]
    assert len(attempts) == 2
