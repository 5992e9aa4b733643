"""Asynchronous access to DB-API databases (§5.1): ``ConnectionPool``.

DB-API calls block, so ``ConnectionPool`` runs them on its own thread pool and hands the
results back to the reactor thread as Deferreds (awaitable from ``async def`` code)::

    pool = ConnectionPool("sqlite3", "app.db", reactor=reactor)
    rows = await pool.runQuery("select name from users where id = ?", (7,))

    def transfer(txn, a, b):                  # runs in a pool thread, one transaction
        txn.execute("update acct set n = n - 1 where id = ?", (a,))
        txn.execute("update acct set n = n + 1 where id = ?", (b,))
    await pool.runInteraction(transfer, 1, 2)  # committed; rolled back if it raised

Parameters use the DB-API module's own paramstyle (``?`` for sqlite3, ``%s`` for psycopg).
Each pool thread keeps one connection; with SQLite ``":memory:"`` that means one private
database per thread, so use a file.

Error tree
----------
::

    Exception
    +-- ConnectionPoolError      plait.db's own errors
        +-- ConnectionLost       (cp_reconnect) the connection was dead: discarded, call not
        |                        retried; the next call reconnects
        +-- ConnectionPoolClosed a call on a closed pool

Errors from the DB-API module (``IntegrityError``...) and from interactions reach the
Deferred's errback unchanged.
"""

from plait.db._pool import (
    Connection,
    ConnectionLost,
    ConnectionPool,
    ConnectionPoolClosed,
    ConnectionPoolError,
    Transaction,
)

__all__ = [
    "Connection",
    "ConnectionLost",
    "ConnectionPool",
    "ConnectionPoolClosed",
    "ConnectionPoolError",
    "Transaction",
]
