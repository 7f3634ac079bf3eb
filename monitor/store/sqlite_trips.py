"""SQLite connections that make one trip to their thread per statement, not four (issue 18).

aiosqlite runs each SQLite connection in a thread of its own; every call is a trip there and back: a queue, a
wake-up of that thread, a wake-up of the event loop. SQLAlchemy's adapter makes four per statement: create a
cursor, execute, fetch the rows, close the cursor. A poll of a small advertiser runs a few dozen statements
(the app budget's leases a few more): a `once` of 20 small advertisers made 3,800 trips (and thread switches
twice as many), a large part of its fixed cost; 1,100 with these connections and the polls' fewer statements.

:func:`connect` makes an :class:`aiosqlite.Connection` whose :meth:`~TripConnection.cursor` is a
:class:`TripCursor`: made without a trip, its ``execute`` runs the statement, reads the first rows and closes the
SQLite cursor once they are all read, in one trip; fetching them is then a plain read of the list. A result longer
than :data:`FIRST_ROWS` (a snapshot streamed in slices) keeps its SQLite cursor, and each further fetch is a trip,
as before; closing it is one more. Everything else is aiosqlite's (its thread, its queue, what
:mod:`monitor.store.rollback_first` queues on it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite

_T = TypeVar("_T")

#: Rows read in the trip that executes a statement; a longer result is read on by further trips.
FIRST_ROWS = 256


def connect(database: str, **kwargs: Any) -> TripConnection:
    """What ``aiosqlite.connect`` gives (the arguments SQLAlchemy computed from the URL), with one trip per
    statement; its thread is a daemon, as SQLAlchemy's own adapter makes it."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **kwargs)

    connection = TripConnection(connector, iter_chunk_size=64)
    connection._thread.daemon = True
    return connection


class TripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip per statement (see the module docstring);
    ``trips`` counts the trips to its thread (for tests and bench/)."""

    trips = 0

    def cursor(self) -> Any:  # aiosqlite's is a coroutine: SQLAlchemy only enters it (``async with``)
        return TripCursor(self)

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.trips += 1
        return await super()._execute(fn, *args, **kwargs)

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(sqlite3_connection, *args)`` in the connection's thread: one trip, for work done there whole (a
        transaction of plain sqlite3 calls: monitor.store.budget_sqlite)."""
        result: _T = await self._execute(fn, self._conn, *args)
        return result


class TripCursor:
    """The part of :class:`aiosqlite.Cursor` SQLAlchemy's adapter uses, one trip per statement."""

    def __init__(self, connection: TripConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None  # open only while a long result is being read
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> TripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> TripCursor:
        await self._close_cursor()
        done = await self._connection._execute(_execute, self._connection._conn, sql, parameters or ())
        self._cursor, self._rows, self.description, self.rowcount, self.lastrowid = done
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> TripCursor:
        await self._close_cursor()
        done = await self._connection._execute(_execute_many, self._connection._conn, sql, parameters)
        self._cursor, self._rows, self.description, self.rowcount, self.lastrowid = done
        return self

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        if len(self._rows) < size and self._cursor is not None:
            await self._more(size - len(self._rows))
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        if self._cursor is not None:
            await self._more(None)
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []
        await self._close_cursor()

    async def _more(self, size: int | None) -> None:
        """Read on from the open SQLite cursor (``size`` rows, None: all), closing it once it is exhausted."""
        cursor = self._cursor
        assert cursor is not None
        more, exhausted, self.rowcount = await self._connection._execute(_read_on, cursor, size)
        self._rows.extend(more)
        if exhausted:
            self._cursor = None

    async def _close_cursor(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            await self._connection._execute(cursor.close)


Done = tuple[sqlite3.Cursor | None, list[Any], Any, int, int | None]


def _execute(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> Done:
    """In the connection's thread: execute, read the first rows; the cursor is closed unless more remain."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchmany(FIRST_ROWS) if description is not None else []
    except BaseException:
        cursor.close()
        raise
    if len(rows) < FIRST_ROWS:
        cursor.close()
        return None, rows, description, cursor.rowcount, cursor.lastrowid
    return cursor, rows, description, cursor.rowcount, cursor.lastrowid


def _execute_many(connection: sqlite3.Connection, sql: str, parameters: Iterable[Sequence[Any]]) -> Done:
    cursor = connection.cursor()
    try:
        cursor.executemany(sql, parameters)
        return None, [], cursor.description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _read_on(cursor: sqlite3.Cursor, size: int | None) -> tuple[list[Any], bool, int]:
    rows = cursor.fetchall() if size is None else cursor.fetchmany(max(size, FIRST_ROWS))
    exhausted = size is None or len(rows) < max(size, FIRST_ROWS)
    rowcount = cursor.rowcount
    if exhausted:
        cursor.close()
    return rows, exhausted, rowcount
