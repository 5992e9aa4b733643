"""``ConnectionPool``: DB-API calls on a dedicated thread pool, results as Deferreds (§5.1)."""

from __future__ import annotations

import importlib
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..defer import Deferred, Failure, fail
from ..log import Logger, LogLevel

__all__ = [
    "Connection",
    "ConnectionLost",
    "ConnectionPool",
    "ConnectionPoolClosed",
    "ConnectionPoolError",
    "Transaction",
]

_T = TypeVar("_T")
_log = Logger("plait.db")
_poolNumbers = itertools.count(1)
_REQUIRED: Any = object()

# Job kinds: the fast path for runQuery/runOperation, and the two general ones.
_QUERY, _OPERATION, _INTERACTION, _WITH_CONNECTION = range(4)
# What a worker takes from the queue: (deferred, kind, func, args, kw), or None: exit.
_Job = tuple[Deferred[Any], int, Any, tuple[Any, ...], dict[str, Any]] | None


class ConnectionPoolError(Exception):
    """The base of plait.db's own errors (DB-API errors pass through unchanged)."""


class ConnectionLost(ConnectionPoolError):
    """The database connection was found dead; it was discarded and the call not retried."""


class ConnectionPoolClosed(ConnectionPoolError):
    """The pool was closed: it takes no more calls."""


class _Worker:
    """One pool thread and the DB-API connection it owns (opened lazily)."""

    __slots__ = ("connection", "thread")

    def __init__(self) -> None:
        self.connection: Any = None
        self.thread: threading.Thread | None = None


class Connection:
    """The worker thread's DB-API connection, as ``runWithConnection`` hands it to ``func``.

    ``cursor()``, ``commit()`` and ``rollback()`` act on the live connection (opening it if
    needed); any other attribute is the DB-API connection's own.
    """

    def __init__(self, pool: ConnectionPool, worker: _Worker) -> None:
        self._pool = pool
        self._worker = worker

    def _raw(self) -> Any:
        raw = self._worker.connection
        return raw if raw is not None else self._pool._open(self._worker)

    def cursor(self) -> Any:
        """A new DB-API cursor."""
        return self._raw().cursor()

    def commit(self) -> None:
        """Commit the current transaction."""
        self._raw().commit()

    def rollback(self) -> None:
        """Roll the current transaction back."""
        self._raw().rollback()

    def reconnect(self) -> None:
        """Close this connection (quietly) and open a fresh one."""
        self._pool._discard(self._worker)
        self._pool._open(self._worker)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw(), name)


class Transaction:
    """A cursor on the worker's connection, as ``runInteraction`` hands it to ``func``.

    The pool commits when ``func`` returns and rolls back when it raises.
    """

    def __init__(self, pool: ConnectionPool, connection: Connection) -> None:
        self._pool = pool
        self._connection = connection
        self._cursor: Any = connection.cursor()

    @property
    def connection(self) -> Connection:
        """The ``Connection`` this transaction runs on."""
        return self._connection

    def execute(self, *args: Any, **kw: Any) -> Any:
        """``cursor.execute(sql, params)``; the paramstyle is the DB-API module's."""
        return self._cursor.execute(*args, **kw)

    def executemany(self, *args: Any, **kw: Any) -> Any:
        """``cursor.executemany(sql, seq_of_params)``."""
        return self._cursor.executemany(*args, **kw)

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        return list(self._cursor.fetchall())

    def fetchmany(self, *args: Any) -> list[Any]:
        """Up to ``size`` more rows."""
        return list(self._cursor.fetchmany(*args))

    @property
    def rowcount(self) -> int:
        """Rows affected (or returned) by the last execute."""
        return int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> Any:
        """The row id of the last inserted row, where the DB-API module reports one."""
        return getattr(self._cursor, "lastrowid", None)

    @property
    def description(self) -> Any:
        """The DB-API description of the last result's columns."""
        return self._cursor.description

    def reopen(self) -> None:
        """Replace the cursor with a fresh one."""
        self.close()
        self._cursor = self._connection.cursor()

    def close(self) -> None:
        """Close the cursor (errors ignored: the connection may be gone)."""
        try:
            self._cursor.close()
        except Exception:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class ConnectionPool:
    """A DB-API module driven from a dedicated thread pool; every call returns a Deferred.

    ``dbapiName`` is the module's name (``"sqlite3"``, ``"psycopg"``), imported with importlib;
    ``connargs``/``connkw`` go to its ``connect()``. SQL parameters use the module's own
    paramstyle (``?`` for sqlite3, ``%s`` for psycopg): plait does not translate.

    Each pool thread (``cp_min``..``cp_max`` of them, named ``plait-db-N-K``) owns one
    connection, opened on its first call, after which ``cp_openfun(connection)`` runs. So
    SQLite's ``check_same_thread`` holds, but note that ``":memory:"`` gives every thread its
    own empty database: use a file. At most ``cp_max`` calls run at once; the rest wait in
    FIFO order.

    With ``cp_reconnect=True``, a call failing with the module's ``OperationalError`` or
    ``InterfaceError`` makes the pool test its connection with ``cp_good_sql`` (default
    ``"select 1"``); if that fails too the connection is discarded and the call fails with
    ``ConnectionLost`` (it is *not* retried: it may have had effects), and the next call
    connects afresh. Each pooled connection is found dead on its own next use, so after a
    server restart up to one call per pool thread may fail this way.

    The pool starts when ``reactor`` runs (or now, if it is running) and closes at its
    shutdown; ``close()`` closes it earlier. ``reactor`` is required: there is no global one.
    """

    def __init__(
        self,
        dbapiName: str,
        *connargs: Any,
        cp_min: int = 3,
        cp_max: int = 5,
        cp_noisy: bool = False,
        cp_openfun: Callable[[Any], object] | None = None,
        cp_reconnect: bool = False,
        cp_good_sql: str | None = None,
        reactor: Any = _REQUIRED,
        **connkw: Any,
    ) -> None:
        if reactor is _REQUIRED:
            raise TypeError(
                "ConnectionPool() needs the reactor as a keyword argument: "
                "ConnectionPool(dbapiName, ..., reactor=reactor)"
            )
        if cp_min < 0 or cp_max < 1 or cp_min > cp_max:
            raise ValueError(f"bad pool size: cp_min={cp_min}, cp_max={cp_max}")
        self.dbapiName = dbapiName
        self.dbapi: Any = importlib.import_module(dbapiName)
        self.connargs = connargs
        self.connkw = connkw
        self.min = cp_min
        self.max = cp_max
        self.noisy = cp_noisy
        self.openfun = cp_openfun
        self.reconnect = cp_reconnect
        self.good_sql = "select 1" if cp_good_sql is None else cp_good_sql
        self.reactor = reactor
        self.name = f"plait-db-{next(_poolNumbers)}"
        self.running = False
        self.closed = False
        self._connectionErrors: tuple[type[BaseException], ...] = tuple(
            e
            for e in (
                getattr(self.dbapi, "OperationalError", None),
                getattr(self.dbapi, "InterfaceError", None),
            )
            if isinstance(e, type)
        )
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._idle = 0
        self._backlog = 0
        self._serial = itertools.count(1)
        self._shutdownID: Any = None
        self._startID: Any = reactor.callWhenRunning(self._start)

    # -- life cycle ----------------------------------------------------------------------------

    def _start(self) -> None:
        self._startID = None
        self.start()

    def start(self) -> None:
        """Start the threads (``cp_min``, plus enough for calls already queued)."""
        if self.running:
            return
        if self.closed:
            raise ConnectionPoolClosed(f"connection pool {self.name} is closed")
        with self._lock:
            self.running = True
            want = max(self.min, min(self.max, self._backlog))
            while len(self._workers) < want:
                self._spawnLocked()
        self._shutdownID = self.reactor.addSystemEventTrigger("during", "shutdown", self.finalClose)

    def finalClose(self) -> None:
        """Close at reactor shutdown (the pool's 'during shutdown' trigger)."""
        self._shutdownID = None
        self.close()

    def close(self) -> None:
        """Finish the calls already made, close every connection in its thread, stop the threads.

        Returns once no pool thread remains; the Deferreds of the calls that were in flight
        fire on the reactor's next iteration. Later calls fail with ``ConnectionPoolClosed``.
        Calls that must wait for the reactor thread would deadlock here: don't make them from
        interactions that may be in flight at close time.
        """
        if self.closed:
            return
        self.closed = True
        for attr in ("_startID", "_shutdownID"):
            triggerID = getattr(self, attr)
            setattr(self, attr, None)
            if triggerID is not None:
                try:
                    self.reactor.removeSystemEventTrigger(triggerID)
                except ValueError:
                    pass  # already run (we may be that trigger)
        with self._lock:
            self.running = False
            workers = list(self._workers)
            for _ in workers:
                self._queue.put(None)
        current = threading.current_thread()
        for worker in workers:
            if worker.thread is not None and worker.thread is not current:
                worker.thread.join()
        # Calls queued before the pool ever started have no thread to run them.
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].errback(Failure(ConnectionPoolClosed(f"connection pool {self.name} closed")))

    # -- threads -------------------------------------------------------------------------------

    def _spawnLocked(self) -> None:
        worker = _Worker()
        worker.thread = thread = threading.Thread(
            target=self._work, args=(worker,), name=f"{self.name}-{next(self._serial)}", daemon=True
        )
        self._workers.append(worker)
        thread.start()

    def _submit(self, kind: int, func: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        if self.closed:
            return fail(ConnectionPoolClosed(f"connection pool {self.name} is closed"))
        d: Deferred[Any] = Deferred()
        with self._lock:
            self._backlog += 1
            self._queue.put((d, kind, func, args, kw))
            if self.running and self._backlog > self._idle and len(self._workers) < self.max:
                self._spawnLocked()
        return d

    def _work(self, worker: _Worker) -> None:
        get = self._queue.get
        lock = self._lock
        callFromThread = self.reactor.callFromThread
        execute = self._execute
        try:
            while True:
                with lock:
                    self._idle += 1
                job = get()
                with lock:
                    self._idle -= 1
                    if job is not None:
                        self._backlog -= 1
                if job is None:
                    return
                d, kind, func, args, kw = job
                del job
                try:
                    result = execute(worker, kind, func, args, kw)
                except BaseException:
                    callFromThread(d.errback, Failure())
                else:
                    callFromThread(d.callback, result)
                del d, func, args, kw
        finally:
            self._discard(worker)
            with lock:
                self._workers.remove(worker)

    # -- connections (pool threads only) -------------------------------------------------------

    def connect(self) -> Any:
        """Open a new DB-API connection and run ``cp_openfun`` on it (any thread)."""
        raw = self.dbapi.connect(*self.connargs, **self.connkw)
        if self.noisy:
            _log.info("{pool} opened a connection", pool=self.name)
        if self.openfun is not None:
            try:
                self.openfun(raw)
            except BaseException:
                _close(raw)
                raise
        return raw

    def _open(self, worker: _Worker) -> Any:
        worker.connection = raw = self.connect()
        return raw

    def _discard(self, worker: _Worker) -> None:
        raw, worker.connection = worker.connection, None
        if raw is not None:
            if self.noisy:
                _log.info("{pool} closing a connection", pool=self.name)
            _close(raw)

    def _execute(
        self, worker: _Worker, kind: int, func: Any, args: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        raw = worker.connection
        if raw is None:
            raw = self._open(worker)
        try:
            if kind <= _OPERATION:
                cursor = raw.cursor()
                try:
                    cursor.execute(*args, **kw)
                    result = cursor.fetchall() if kind == _QUERY else None
                finally:
                    cursor.close()
            elif kind == _INTERACTION:
                transaction = Transaction(self, Connection(self, worker))
                result = func(transaction, *args, **kw)
                transaction.close()
            else:
                result = func(Connection(self, worker), *args, **kw)
            raw = worker.connection  # func may have reconnected
            if raw is not None:
                raw.commit()
            return result
        except BaseException as e:
            self._recover(worker, e)
            raise

    def _recover(self, worker: _Worker, error: BaseException) -> None:
        """After a failed call: roll back, or (reconnecting) replace a dead connection."""
        raw = worker.connection
        if raw is None:
            return
        if self.reconnect and isinstance(error, self._connectionErrors):
            if not self._isGood(raw):
                _log.info(
                    "{pool}: connection lost ({error}); reconnecting", pool=self.name, error=error
                )
                self._discard(worker)
                raise ConnectionLost(f"database connection lost: {error}") from error
            return  # _isGood rolled back
        try:
            raw.rollback()
        except Exception:
            _log.failure("{pool}: rollback failed", pool=self.name, level=LogLevel.error)

    def _isGood(self, raw: Any) -> bool:
        try:
            raw.rollback()
            cursor = raw.cursor()
            try:
                cursor.execute(self.good_sql)
                cursor.fetchall()
            finally:
                cursor.close()
            raw.rollback()
        except Exception:
            return False
        return True

    # -- the API -------------------------------------------------------------------------------

    def runQuery(self, sql: str, *args: Any, **kw: Any) -> Deferred[list[Any]]:
        """Execute ``sql`` (with the parameters in ``args``) and fire with ``fetchall()``."""
        result: Deferred[list[Any]] = self._submit(_QUERY, None, (sql, *args), kw)
        return result

    def runOperation(self, sql: str, *args: Any, **kw: Any) -> Deferred[None]:
        """Execute ``sql`` and commit; fire with None."""
        result: Deferred[None] = self._submit(_OPERATION, None, (sql, *args), kw)
        return result

    def runInteraction(self, interaction: Callable[..., _T], *args: Any, **kw: Any) -> Deferred[_T]:
        """Run ``interaction(transaction, *args, **kw)`` in a pool thread, in one transaction.

        Commits when it returns (firing with its result) and rolls back when it raises (the
        Deferred fails with that exception).
        """
        result: Deferred[_T] = self._submit(_INTERACTION, interaction, args, kw)
        return result

    def runWithConnection(self, func: Callable[..., _T], *args: Any, **kw: Any) -> Deferred[_T]:
        """Run ``func(connection, *args, **kw)`` in a pool thread; commit after, or roll back."""
        result: Deferred[_T] = self._submit(_WITH_CONNECTION, func, args, kw)
        return result

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("running" if self.running else "idle")
        return (
            f"<ConnectionPool {self.name} {self.dbapiName!r} {state} threads={len(self._workers)}>"
        )


def _close(raw: Any) -> None:
    try:
        raw.close()
    except Exception:
        _log.failure("error closing a database connection")
