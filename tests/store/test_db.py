"""Engines and connections: URL handling, SQLite pragmas, error classification, naive times refused."""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.util.concurrency import greenlet_spawn

from monitor.store import StoreError, StoreUnavailableError
from monitor.store.db import _enter_wal, _pause, create_engine, normalize_url, writing
from monitor.store.errors import MonitorError
from monitor.store.models import AdvertiserRow, EntityRow

from .conftest import ADV, T0, Database, latest_snapshot, state


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///monitor.db", "sqlite+aiosqlite:///monitor.db"),
        ("sqlite:////var/lib/monitor/monitor.db", "sqlite+aiosqlite:////var/lib/monitor/monitor.db"),
        ("sqlite+aiosqlite:///m.db", "sqlite+aiosqlite:///m.db"),
        ("postgresql://u:p@db/monitor", "postgresql+asyncpg://u:p@db/monitor"),
        ("postgres://u:p@db/monitor", "postgresql+asyncpg://u:p@db/monitor"),
        ("postgresql+asyncpg://u@/m?host=/var/run/postgresql", "postgresql+asyncpg://u@/m?host=/var/run/postgresql"),
        ("postgresql+psycopg://u:p@db/monitor", "postgresql+psycopg://u:p@db/monitor"),
    ],
)
def test_urls_get_an_async_driver(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


@pytest.mark.parametrize("url", ["mysql://u:secret@db/m", "sqlite+pysqlite:///m.db", "monitor.db"])
def test_unsupported_urls_are_refused_without_leaking_passwords(url: str) -> None:
    with pytest.raises(StoreError) as refused:
        normalize_url(url)
    assert "secret" not in str(refused.value)
    assert isinstance(refused.value, MonitorError)


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}", busy_timeout=12.5)
    try:
        async with engine.connect() as conn:
            pragma = {}
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous"):
                pragma[name] = (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
            await conn.rollback()
        assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 12500, "synchronous": 2}
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(database: Database) -> None:
    store = await database.open()
    try:
        row = {"advertiser_id": "nobody", "level": "ad", "entity_id": "a1", "present": True, "metrics": "{}"}
        with pytest.raises(StoreError, match=r"(?i)foreign key"):
            async with writing(store.engine) as conn:
                await conn.execute(sa.insert(EntityRow.__table__), [{**row, "first_seen_poll": 1, "changed_poll": 1}])
    finally:
        await store.close()


async def test_a_writer_waits_for_another_instead_of_failing(database: Database) -> None:
    """SQLite: busy_timeout queues the second writer; PostgreSQL: row locks do."""
    first, second = await database.open(), await database.open()
    try:
        await first.upsert_advertisers([], T0)
        async with first.poll(ADV, T0) as poll:
            poll.save([state("a1")])

        async def hold_write_lock() -> None:
            async with writing(first.engine) as conn:
                await conn.execute(sa.update(AdvertiserRow.__table__).values(name="held"))
                await asyncio.sleep(0.3)

        holder = asyncio.create_task(hold_write_lock())
        await asyncio.sleep(0.1)
        async with second.poll(ADV, T0 + timedelta(minutes=5)) as poll:
            poll.save([state("a1", name="second")])
        await holder
        latest = await latest_snapshot(first, ADV)
        assert latest is not None and latest.get("ad", "a1").name == "second"  # type: ignore[union-attr]
    finally:
        await first.close()
        await second.close()


async def test_an_unreachable_server_is_a_transient_error_without_the_password() -> None:
    engine = create_engine("postgresql://monitor:hunter2@127.0.0.1:1/monitor")
    try:
        with pytest.raises(StoreUnavailableError) as unavailable:
            async with writing(engine) as conn:
                await conn.execute(sa.text("SELECT 1"))
        assert unavailable.value.transient
        assert "hunter2" not in str(unavailable.value)
    finally:
        await engine.dispose()


async def test_a_sqlite_file_in_a_missing_directory_is_refused_clearly(tmp_path: Path) -> None:
    from monitor.store import Store

    with pytest.raises(StoreError, match=r"directory of the SQLite database .*missing-dir.* does not exist"):
        await Store.open(f"sqlite:///{tmp_path / 'missing-dir' / 'm.db'}")


async def test_sqlite_has_no_schemas(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="PostgreSQL"):
        create_engine(f"sqlite:///{tmp_path / 'm.db'}", schema="monitor")


async def test_times_come_back_aware_utc_whatever_zone_went_in(database: Database) -> None:
    store = await database.open()
    try:
        tokyo = timezone(timedelta(hours=9))
        async with store.poll(ADV, T0.astimezone(tokyo)) as poll:
            poll.save([state("a1")])
        latest = await latest_snapshot(store, ADV)
        assert latest is not None
        assert latest.taken_at == T0 and latest.taken_at.tzinfo == UTC
        with pytest.raises(ValueError, match="naive"):
            await store.prune(datetime(2026, 1, 1))
    finally:
        await store.close()


def test_a_missing_driver_is_named_with_the_extra_to_install() -> None:
    if importlib.util.find_spec("psycopg") is not None:
        pytest.skip("psycopg is installed here, so nothing is missing")
    with pytest.raises(StoreError, match=r"psycopg driver.*tiktok-ads-monitor\[psycopg\]"):
        create_engine("postgresql+psycopg://monitor:secret@db/monitor")


async def test_sqlite_binds_none_and_booleans_through_the_registry_as_null_and_integers(tmp_path: Path) -> None:
    """A SQLite engine registers adapters for None and booleans (the sqlite3 module's fast way to bind them, not
    its lookups of __adapt__ and __conform__); what is stored is what it always was: NULL, 1 and 0."""
    import sqlite3

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        assert {type(None), bool} <= {kind for kind, _ in sqlite3.adapters}
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (v)")
            await conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", [(None,), (True,), (False,), (0,), (2.5,)])
            got = (await conn.exec_driver_sql("SELECT v, typeof(v) FROM t ORDER BY rowid")).all()
        assert [tuple(row) for row in got] == [
            (None, "null"),
            (1, "integer"),
            (0, "integer"),
            (0, "integer"),
            (2.5, "real"),
        ]
    finally:
        await engine.dispose()


async def test_two_connections_opening_a_new_sqlite_file_at_once_both_get_wal(tmp_path: Path) -> None:
    # Changing a new file's journal mode needs an exclusive lock, and SQLite answers one of two connections asking
    # at once "database is locked" without waiting (about one try in ten without the retry): both must open.
    for trial in range(40):
        path = tmp_path / f"new-{trial}.db"
        engines = [create_engine(f"sqlite:///{path}") for _ in range(2)]

        async def mode(engine: sa.ext.asyncio.AsyncEngine) -> str:
            async with engine.connect() as conn:
                return str((await conn.exec_driver_sql("PRAGMA journal_mode")).scalar())

        try:
            assert await asyncio.gather(*(mode(e) for e in engines)) == ["wal", "wal"], f"trial {trial}"
        finally:
            for engine in engines:
                await engine.dispose()


class _LockedCursor:
    """A cursor whose journal-mode change finds the file locked ``times`` times (then succeeds), or fails with
    ``error``."""

    def __init__(self, times: int, error: str = "database is locked") -> None:
        self.times, self.error, self.tries = times, error, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode=WAL"
        self.tries += 1
        if self.tries <= self.times:
            raise sqlite3.OperationalError(self.error)


def test_entering_wal_retries_a_locked_file_within_the_busy_timeout() -> None:
    cursor = _LockedCursor(times=3)
    _enter_wal(cursor, 5_000)
    assert cursor.tries == 4


def test_entering_wal_gives_up_at_the_busy_timeout_and_at_once_on_other_errors() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 0.05  # each look at the clock: 50 ms later
        return now[0]

    locked = _LockedCursor(times=1_000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _enter_wal(locked, 1_000, clock=clock)
    assert 5 <= locked.tries <= 20  # about a second of 50 ms steps, not forever
    broken = _LockedCursor(times=1_000, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _enter_wal(broken, 1_000)
    assert broken.tries == 1


def test_entering_wal_waits_out_a_file_another_connection_holds(tmp_path: Path) -> None:
    # the real thing: a new file (still in rollback mode) locked by another connection answers a journal-mode
    # change "database is locked" at once (no busy timeout here); the retry waits until it is let go
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    loser = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            loser.execute("PRAGMA journal_mode=WAL")
        release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
        release.start()
        _enter_wal(loser.cursor(), 5_000, sleep=time.sleep)
        release.join()
        assert loser.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        loser.close()
        holder.close()


async def test_the_pause_between_tries_leaves_the_event_loop_free() -> None:
    # an async engine connects in SQLAlchemy's greenlet on the loop's thread: a blocking sleep there would stop
    # every other task of the daemon for the whole wait
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(tick())
    try:
        await greenlet_spawn(_pause, 0.2)
    finally:
        ticking.cancel()
    assert ticks >= 5
