"""Engines from a URL, connection settings, transactions (schema versions and upgrades: :mod:`monitor.store.migrate`).

* ``sqlite:///monitor.db`` (the default) becomes ``sqlite+aiosqlite:///monitor.db``; every connection gets
  WAL journaling (readers never block the writer), a busy timeout (writers queue instead of failing),
  ``foreign_keys=ON`` and ``synchronous=FULL`` (a committed poll survives power loss; one commit per poll makes
  the cost negligible); ``None`` and booleans are bound without the sqlite3 module's adaptation lookups
  (:func:`bind_plain_values_directly`). SQLAlchemy, not the sqlite3 module, emits BEGIN, so reads are consistent
  and DDL is transactional; write transactions use ``BEGIN IMMEDIATE`` so they queue for the lock up front. A connection
  is rolled back before it is closed (:mod:`monitor.store.rollback_first`): one closed under a cancelled
  statement would otherwise keep its transaction, and the write lock, until the garbage collector came by. A
  pooled connection is not pinged, and its reset on return is a rollback queued in aiosqlite's thread that runs
  only if a transaction is open: a transaction costs its statements and BEGIN/COMMIT, no more round trips. Each
  statement is one trip to aiosqlite's thread, not four (:mod:`monitor.store.sqlite_trips`).
* ``postgresql://`` becomes ``postgresql+asyncpg://``; ``postgresql+psycopg://`` is used as given (install the
  ``psycopg`` extra). An optional schema puts the tables in their own ``search_path``.
* ``read_only=True`` (``once --dry-run``, ``explain``) refuses every write at the database itself: SQLite opens
  an existing file only (``mode=rw``, never creating it) with ``query_only``, PostgreSQL sessions get
  ``default_transaction_read_only``.

All database work is async (aiosqlite runs SQLite in its own thread), so the event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_only, in_greenlet

from monitor.store import sqlite_trips
from monitor.store.errors import StoreError, StoreFullError, StoreUnavailableError
from monitor.store.rollback_first import roll_back_before_close, roll_back_on_return
from monitor.store.urls import normalize_url

log = logging.getLogger(__name__)

#: PostgreSQL's SQLSTATE of a full disk (class 53, insufficient resources: disk_full).
PG_DISK_FULL = "53100"
#: SQLite's text of SQLITE_FULL (also what ``PRAGMA max_page_count`` gives at its limit).
SQLITE_FULL_TEXT = "database or disk is full"
SQLITE_FULL = 13  # its primary result code
#: SQLite's ``synchronous`` for the store's writes: a COMMIT waits for the disk (the budget's leases alone do
#: not: monitor.store.budget_sqlite, which sets this one back after each).
SYNCHRONOUS = "FULL"


def create_engine(
    url: str,
    *,
    schema: str | None = None,
    busy_timeout: float = 30.0,
    read_only: bool = False,
    max_bytes: int | None = None,
) -> AsyncEngine:
    """An async engine for ``url`` with the connection settings described in the module docstring.

    ``busy_timeout`` (SQLite) is how long a writer waits for another writer before giving up; it must exceed the
    longest write transaction (one poll's commit). ``schema`` (PostgreSQL) is created when missing (by
    :func:`monitor.store.migrate.upgrade`). ``read_only``: every write fails in the database (see the module
    docstring); a SQLite file must exist then. ``max_bytes`` (SQLite, ``[storage] max_size``) caps the database
    file with ``PRAGMA max_page_count`` on every connection: a write beyond it fails as a full disk
    (:class:`StoreFullError`).
    """
    target = normalize_url(url)
    connect_args: dict[str, Any] = {}
    if read_only:
        target, connect_args = _read_only(target)
    # A SQLite connection is a file opened in this process: it never goes stale, so it is not pinged, and it is
    # rolled back on its return to the pool in aiosqlite's thread only if a transaction is still open (the pool's
    # own rollback would be one more round trip to that thread per transaction; see rollback_first).
    sqlite = sa.engine.make_url(target).get_backend_name() == "sqlite"
    pooling: dict[str, Any] = (
        {"pool_pre_ping": False, "pool_reset_on_return": None} if sqlite else {"pool_pre_ping": True}
    )
    try:
        engine = create_async_engine(target, connect_args=connect_args, **pooling)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"storage url needs the {exc.name} driver, which is not installed "
            f"(for postgresql+psycopg:// install tiktok-ads-monitor[psycopg])"
        ) from exc
    sync_engine = engine.sync_engine
    if engine.dialect.name == "sqlite":
        if schema:
            raise StoreError("storage schema is for PostgreSQL; SQLite keeps one database per file")
        database = engine.url.database
        if database and not read_only and database != ":memory:" and not Path(database).parent.is_dir():
            # Said here, clearly, rather than as "unable to open database file" from the driver.
            raise StoreError(f"the directory of the SQLite database {database} does not exist")
        _sqlite_settings(sync_engine, int(busy_timeout * 1000), read_only=read_only, max_bytes=max_bytes)
        bind_plain_values_directly()
        _one_trip_per_statement(sync_engine)
        roll_back_before_close(sync_engine)  # a cancelled statement must not leave its transaction behind
        roll_back_on_return(sync_engine)
    elif max_bytes is not None:
        raise StoreError("storage max_size is for SQLite; size a PostgreSQL database with its own disk or quota")
    elif schema:
        _search_path(sync_engine, engine.dialect.identifier_preparer.quote(schema))
    return engine


def _read_only(url: str) -> tuple[str, dict[str, Any]]:
    """The URL and connect arguments of a connection that cannot write (see the module docstring)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or not Path(database).is_file():
            raise StoreError(f"the SQLite database {database} does not exist (a read-only open creates nothing)")
        path = Path(database).resolve().as_posix()
        # mode=rw: never creates the file. Not mode=ro: a read-only connection cannot remove the -wal and -shm
        # files a WAL database needs while open, so it would leave them behind; query_only refuses the writes.
        return f"sqlite+{parsed.get_driver_name()}:///file:{path}?mode=rw&uri=true", {}
    if parsed.get_driver_name() == "psycopg":
        return url, {"options": "-c default_transaction_read_only=on"}
    return url, {"server_settings": {"default_transaction_read_only": "on"}}


def _sqlite_settings(
    sync_engine: sa.Engine, busy_ms: int, *, read_only: bool = False, max_bytes: int | None = None
) -> None:
    # read-only: no journal_mode change (a write), and query_only as a second lock on the door
    pragmas = (
        ("query_only=ON", f"busy_timeout={busy_ms}")
        if read_only
        else (
            f"busy_timeout={busy_ms}",  # first: the pragmas after it wait up to the configured timeout
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"synchronous={SYNCHRONOUS}",
        )
    )

    @sa.event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see on_begin)
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            if pragma == "journal_mode=WAL":
                _enter_wal(cursor, busy_ms)
            else:
                cursor.execute(f"PRAGMA {pragma}")
        if max_bytes is not None:
            cursor.execute("PRAGMA page_size")
            page_size = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count={max(1, max_bytes // page_size)}")
        cursor.close()

    @sa.event.listens_for(sync_engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("store_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enter_wal(
    cursor: Any,
    busy_ms: int,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """``PRAGMA journal_mode=WAL``, retried on "database is locked" for up to ``busy_ms``.

    Why: on a new database (still in rollback mode) the change needs an exclusive lock, and when two connections
    ask at once SQLite answers one of them SQLITE_BUSY without calling its busy handler (waiting could deadlock
    two readers that each want to write). Two processes opening a new file together (``once`` beside ``run``, a
    daemon and a test's reader) failed that way about once in ten tries; the loser retries here instead. It waits
    with ``sleep`` (default :func:`_pause`: the event loop's sleep when called from an async engine's connect).
    """
    sleep = sleep or _pause
    deadline = clock() + busy_ms / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or clock() + pause > deadline:
                raise
        sleep(pause)
        pause = min(pause * 2, 0.1)


def _pause(seconds: float) -> None:
    """Wait between two tries of :func:`_enter_wal`: an async engine connects inside SQLAlchemy's greenlet on the
    event loop's thread, where a blocking sleep would stop the whole daemon; elsewhere (a plain thread) block."""
    if in_greenlet():
        await_only(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


def bind_plain_values_directly() -> None:
    """Let the sqlite3 module bind ``None`` and booleans without its slow path (process-wide, idempotent).

    It binds an ``int``, ``float`` or ``str`` by its exact type; any other value, ``None`` and ``True`` included,
    first goes through its adaptation protocol: a registry lookup, then two attribute lookups that fail
    (``__adapt__``, ``__conform__``), before the value is bound as it is. That is about 0.3 us a value, a third
    of binding an ``entities`` row (an ad's ``present``, ``budget`` and ``budget_mode``), of which a poll of a
    large account writes 100,000s. An adapter in the registry is found at once; these give back what would have
    been bound anyway (``None`` is NULL, a boolean the integer 1 or 0), so no stored value changes. The registry
    is the sqlite3 module's, shared by every SQLite connection of the process."""
    import sqlite3  # loaded with the driver anyway

    sqlite3.register_adapter(type(None), _itself)
    sqlite3.register_adapter(bool, int)


def _itself(value: None) -> None:
    return value


def _one_trip_per_statement(sync_engine: sa.Engine) -> None:
    """Connections of :mod:`monitor.store.sqlite_trips`: one trip to aiosqlite's thread per statement."""

    @sa.event.listens_for(sync_engine, "do_connect")
    def on_do_connect(dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        return dialect.dbapi.connect(*cargs, async_creator_fn=sqlite_trips.connect, **cparams)


def _search_path(sync_engine: sa.Engine, quoted_schema: str) -> None:
    @sa.event.listens_for(sync_engine, "connect", insert=True)
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET SESSION search_path TO {quoted_schema}")
        cursor.close()
        dbapi_connection.autocommit = autocommit


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn driver failures into the store's errors: connection trouble and locks are transient, the rest not."""
    try:
        yield
    except (sa.exc.DBAPIError, OSError, TimeoutError) as exc:
        if is_full(exc):
            text = short_error(exc)
            raise StoreFullError(text if SQLITE_FULL_TEXT in text else f"{SQLITE_FULL_TEXT}: {text}") from exc
        if is_transient(exc):
            raise StoreUnavailableError(f"database unavailable: {short_error(exc)}") from exc
        raise StoreError(f"database error: {short_error(exc)}") from exc


def is_full(exc: BaseException) -> bool:
    """The database or its disk is full: SQLite's SQLITE_FULL, PostgreSQL's SQLSTATE 53100, or ENOSPC."""
    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if (getattr(orig, "sqlite_errorcode", None) or 0) & 0xFF == SQLITE_FULL or SQLITE_FULL_TEXT in str(orig).lower():
        return True
    return PG_DISK_FULL in (getattr(orig, "sqlstate", None), getattr(orig, "pgcode", None))


def is_transient(exc: BaseException) -> bool:
    """Worth retrying later: cannot connect, connection lost, database locked or busy."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
        return True
    if isinstance(exc, sa.exc.OperationalError):
        # SQLite reports SQL mistakes as OperationalError too; only locks and I/O trouble are transient there.
        text = str(exc.orig).lower()
        return not _is_sqlite(exc) or any(w in text for w in ("locked", "busy", "unable to open", "disk i/o"))
    return False


def _is_sqlite(exc: sa.exc.DBAPIError) -> bool:
    return type(exc.orig).__module__.startswith(("sqlite3", "aiosqlite"))


def short_error(exc: BaseException) -> str:
    """The first line of a driver's error (at most 300 characters), for messages."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One write transaction: commits when the block ends, rolls back if it raises."""
    async with translate_errors(), engine.connect() as conn:
        await conn.execution_options(store_write=True)
        async with conn.begin():
            yield conn


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One read transaction that sees a single consistent state of the database across its statements."""
    async with translate_errors(), engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn
